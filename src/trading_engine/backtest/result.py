"""What a backtest returns (``BacktestResult``), the same for the fast engine and the pipeline.

Trades come from the terminal's deals through the booking rule the trader uses
(``execution/booking.py``): one ``ClosedTrade`` per closed position, its figures from the deals
(server times, prices, profit, commission, swap), its strategy from the order that opened it
and its reason from the closing deal (``sl``, ``tp``, ``stop_out``) or the engine (``signal`` …).
The equity curve has one row per bar of the base stream (first symbol, smallest timeframe),
sampled at the bar's close: the balance after every deal up to then, plus the open positions
marked to that close (longs at the bid close, shorts at the close plus the bar's spread).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from trading_engine.execution.booking import book_close
from trading_engine.model.mt5 import OPENING_ENTRIES, DealType

__all__ = ["EQUITY_DTYPE", "BacktestResult", "ClosedTrade", "equity_curve", "trades_from_deals"]

EQUITY_DTYPE = np.dtype([("time", "<i8"), ("balance", "<f8"), ("equity", "<f8")])


@dataclass(slots=True)
class ClosedTrade:
    """One closed position."""

    symbol: str
    strategy: str
    side: str  # "buy" | "sell"
    volume: float
    open_time: int  # server time, epoch seconds (MT5 convention)
    close_time: int
    open_price: float
    close_price: float
    sl: float | None
    tp: float | None
    close_reason: str  # "signal" | "sl" | "tp" | "stop_out" | ...
    profit: float
    commission: float
    swap: float
    position: int = 0
    """The terminal's position ticket."""

    @property
    def net(self) -> float:
        return self.profit + self.commission + self.swap


@dataclass(slots=True)
class BacktestResult:
    """Everything a backtest produced (see ``CONTRACT``: read by statistics and reports)."""

    trades: list[ClosedTrade]
    equity: npt.NDArray[np.void]
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
    fingerprint: str = ""
    closes: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    open_positions: int = 0

    @property
    def bars_per_second(self) -> float:
        return self.bars / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def final_balance(self) -> float:
        return float(self.equity["balance"][-1]) if len(self.equity) else self.initial_balance

    @property
    def final_equity(self) -> float:
        return float(self.equity["equity"][-1]) if len(self.equity) else self.initial_balance


def _side(deal: Any) -> str:
    return "buy" if int(deal.type) == DealType.BUY else "sell"


def trades_from_deals(
    deals: Iterable[Any],
    *,
    magic: int,
    strategies: Mapping[int, str],
    reasons: Mapping[int, str],
    stops: Mapping[int, tuple[float | None, float | None]],
) -> list[ClosedTrade]:
    """One ``ClosedTrade`` per position of ``magic`` that has closing deals, in close order.

    ``strategies``, ``reasons`` and ``stops`` (by position ticket) are what the engine knows:
    the strategy that opened it, the reason it closed it for (overridden by a stop, target or
    stop-out of the server) and its last stops.
    """
    by_position: dict[int, list[Any]] = {}
    for deal in deals:
        if int(deal.type) in (DealType.BUY, DealType.SELL) and int(deal.magic) == magic:
            by_position.setdefault(int(deal.position_id), []).append(deal)
    trades: list[ClosedTrade] = []
    for position, mine in by_position.items():
        booked = book_close(mine)
        if not booked.closing:
            continue
        opening = [d for d in mine if int(d.entry) in OPENING_ENTRIES]
        first = opening[0] if opening else mine[0]
        reason = booked.reason
        if reason not in ("sl", "tp", "stop_out"):
            reason = reasons.get(position, "signal")
        sl, tp = stops.get(position, (None, None))
        trades.append(
            ClosedTrade(
                symbol=str(first.symbol),
                strategy=strategies.get(position, ""),
                side=_side(first),
                volume=round(booked.volume, 8),
                open_time=int(first.time),
                close_time=int(booked.time or 0),
                open_price=float(first.price),
                close_price=float(booked.price or 0.0),
                sl=sl,
                tp=tp,
                close_reason=reason,
                profit=round(booked.profit, 2),
                commission=round(booked.fees, 2),
                swap=round(booked.swap, 2),
                position=position,
            )
        )
    trades.sort(key=lambda t: (t.close_time, t.position))
    return trades


def equity_curve(
    times: npt.NDArray[np.int64],
    closes: npt.NDArray[np.float64],
    spreads: npt.NDArray[np.float64],
    *,
    bar_seconds: int,
    initial_balance: float,
    deals: Iterable[Any],
    magic: int,
    value_per_price: float,
) -> npt.NDArray[np.void]:
    """Balance and equity at each base bar's close (see the module docstring).

    ``spreads`` are in price units; ``value_per_price`` converts a price move of one lot to the
    account currency (contract size × conversion rate; positions of other symbols are marked
    at their opening price, i.e. count as flat, between their deals).
    """
    out = np.zeros(len(times), dtype=EQUITY_DTYPE)
    out["time"] = times
    close_at = times + bar_seconds
    money: list[tuple[int, float]] = []
    legs: list[tuple[int, int, float, float]] = []  # open, close, signed volume, open price
    symbol: str | None = None
    opens: dict[int, Any] = {}
    closing_of: dict[int, int] = {}
    for deal in deals:
        kind = int(deal.type)
        if kind not in (DealType.BUY, DealType.SELL):
            continue
        value = float(deal.profit) + float(deal.commission) + float(deal.swap) + float(deal.fee)
        money.append((int(deal.time), value))
        if int(deal.magic) != magic:
            continue
        if int(deal.entry) in OPENING_ENTRIES and int(deal.position_id) not in opens:
            opens[int(deal.position_id)] = deal
        else:
            closing_of[int(deal.position_id)] = int(deal.time)
    if opens:
        symbol = str(next(iter(opens.values())).symbol)
    for position, deal in opens.items():
        if str(deal.symbol) != symbol:
            continue
        sign = 1.0 if int(deal.type) == DealType.BUY else -1.0
        end = closing_of.get(position, 2**62)
        legs.append((int(deal.time), end, sign * float(deal.volume), float(deal.price)))
    balance = np.full(len(times), initial_balance)
    if money:
        money.sort()
        at = np.array([t for t, _ in money], dtype=np.int64)
        cum = np.cumsum([v for _, v in money])
        idx = np.searchsorted(at, close_at, side="right") - 1
        balance = balance + np.where(idx >= 0, cum[np.maximum(idx, 0)], 0.0)
    floating = np.zeros(len(times))
    for opened, closed, signed, price in legs:
        lo = int(np.searchsorted(close_at, opened, side="right"))
        hi = int(np.searchsorted(close_at, closed, side="right"))
        if hi <= lo:
            continue
        mark = closes[lo:hi] if signed > 0 else closes[lo:hi] + spreads[lo:hi]
        floating[lo:hi] += (mark - price) * signed * value_per_price
    out["balance"] = balance
    out["equity"] = balance + floating
    return out
