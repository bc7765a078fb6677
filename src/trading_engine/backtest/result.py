"""What a backtest produced: closed trades, equity per bar, counts (see CONTRACT: issue 11)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["EQUITY_DTYPE", "BacktestResult", "ClosedTrade"]

EQUITY_DTYPE: Final = np.dtype([("time", "<i8"), ("balance", "<f8"), ("equity", "<f8")])
"""One row per bar close of the base timeframe: server epoch seconds, balance, equity."""


@dataclass(slots=True)
class ClosedTrade:
    """One closed position (or partial close); times are server epoch seconds."""

    symbol: str
    strategy: str
    side: str  # "buy" | "sell"
    volume: float
    open_time: int
    close_time: int
    open_price: float
    close_price: float
    sl: float | None
    tp: float | None
    close_reason: str  # "signal" | "sl" | "tp" | "stop_out" | "reversal" | "end" | ...
    profit: float
    commission: float
    swap: float


@dataclass(slots=True)
class BacktestResult:
    """Everything a report needs about one backtest."""

    trades: list[ClosedTrade]
    equity: npt.NDArray[np.void]  # EQUITY_DTYPE
    counts: dict[str, int]
    rejections: dict[str, int]
    risk_refusals: dict[str, int]
    risk_events: list[tuple[int, str, str]]
    disabled_strategies: list[tuple[str, int, str]]
    initial_balance: float
    currency: str
    symbols: list[str]
    timeframe: str
    modelling: str
    start: int
    end: int
    warmup_bars: int
    bars: int
    elapsed: float
    engine: str
    fingerprint: str
    closes: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)
