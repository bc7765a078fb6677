"""``SimConfig``: everything that shapes one simulated terminal, its account and its market."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal

from trading_engine.mt5sim.faults import Fault
from trading_engine.mt5sim.market.servertime import ServerTime
from trading_engine.mt5sim.spec.constants import (
    ACCOUNT_MARGIN_MODE_RETAIL_HEDGING,
    ACCOUNT_STOPOUT_MODE_PERCENT,
    ACCOUNT_TRADE_MODE_DEMO,
)
from trading_engine.mt5sim.spec.symbols import DEFAULT_SYMBOLS, SymbolSpec

__all__ = ["SimConfig"]


@dataclasses.dataclass(frozen=True, slots=True)
class SimConfig:
    """One terminal's market, account and execution model.

    Market: ``symbols`` (specifications), prices generated from ``seed`` starting
    ``history_days`` before ``start`` (an aware UTC datetime; None = the clock's time at
    construction), or read from ``history_files`` (symbol → one MT5-exported CSV or Parquet
    file) when given; ``market_mode`` "ticks" generates ticks and builds bars from them, "m1"
    draws M1 bars and serves ticks synthesised from them (faster, for long backtests);
    ``server_time`` is the broker's wall clock (default EET/EEST);
    ``market_watch`` the symbols in Market Watch at start (None = all; ``symbol_info_tick``
    needs a symbol there).

    Account: ``balance`` (the start deposit, a balance deal), ``leverage``, ``currency``,
    ``margin_mode`` (ACCOUNT_MARGIN_MODE_RETAIL_HEDGING or _RETAIL_NETTING), stop-out levels
    (``margin_so_mode``, ``margin_so_call``, ``margin_so_so``), ``limit_orders`` (pending
    orders allowed, 0 = no limit; else 10033), ``limit_positions`` (open positions allowed,
    0 = no limit; else 10040), ``commission_per_lot`` (account currency per lot per deal,
    booked as a negative deal commission).

    Terminal: ``trade_allowed`` (the AutoTrading button at start), ``comment_limit`` (a longer
    comment is an argument error), ``maxbars`` (caps every ``copy_rates_*`` answer),
    ``login``/``password``/``server`` (``password=None`` accepts any password).

    Execution: ``slippage_points`` (market/exchange execution: each fill is up to that many
    points worse, drawn from the seeded generator), ``requote_probability`` (instant/request
    execution: chance of a requote even within the deviation), ``liquidity`` (lots fillable at
    once by one order; None = unlimited: FOK above it is rejected with 10006, IOC/RETURN fill
    partially with 10010), ``pending_when_closed`` ("reject": a pending order sent while the
    market is closed gets 10018; "async_reject": it is placed (10008) and the server rejects
    it on the next call).

    Faults: ``faults`` (scripted ``Fault`` windows), ``latency`` (seconds per call, spent
    through the terminal's ``sleep``), ``history_sync_short`` (the first ``copy_rates_*`` call
    per symbol and timeframe returns a short answer), ``no_prices_after_open`` (seconds after a
    session opens during which trade requests get 10021).
    """

    symbols: Sequence[SymbolSpec] | Mapping[str, SymbolSpec] = tuple(DEFAULT_SYMBOLS.values())
    seed: int = 1
    start: datetime | None = None
    history_days: int = 5
    history_files: Mapping[str, str | Path] | None = None
    market_mode: Literal["ticks", "m1"] = "ticks"
    market_watch: Sequence[str] | None = None
    server_time: ServerTime | None = None

    login: int = 5_000_001
    password: str | None = None
    server: str = "MetaQuotes-Sim"
    name: str = "Simulated Trader"
    company: str = "trading-engine mt5sim"
    account_trade_mode: int = ACCOUNT_TRADE_MODE_DEMO
    balance: float = 10_000.0
    leverage: int = 100
    currency: str = "USD"
    currency_digits: int = 2
    margin_mode: int = ACCOUNT_MARGIN_MODE_RETAIL_HEDGING
    margin_so_mode: int = ACCOUNT_STOPOUT_MODE_PERCENT
    margin_so_call: float = 50.0
    margin_so_so: float = 30.0
    limit_orders: int = 200
    limit_positions: int = 0
    commission_per_lot: float = 0.0

    trade_allowed: bool = True
    comment_limit: int = 31
    maxbars: int = 100_000
    terminal_build: int = 5430
    terminal_release: str = "14 Nov 2025"

    slippage_points: int = 0
    requote_probability: float = 0.0
    liquidity: float | None = None
    pending_when_closed: Literal["reject", "async_reject"] = "reject"

    faults: Sequence[Fault] = ()
    latency: float = 0.0
    history_sync_short: bool = False
    no_prices_after_open: float = 0.0

    def specs(self) -> dict[str, SymbolSpec]:
        """The symbol specifications by name."""
        items = self.symbols.values() if isinstance(self.symbols, Mapping) else self.symbols
        return {s.name: s for s in items}

    def __post_init__(self) -> None:
        if self.leverage <= 0:
            raise ValueError(f"leverage must be > 0, got {self.leverage}")
        if self.balance < 0:
            raise ValueError(f"balance must be >= 0, got {self.balance}")
        if not 0.0 <= self.requote_probability <= 1.0:
            raise ValueError("requote_probability must be within [0, 1]")
        if self.liquidity is not None and self.liquidity <= 0:
            raise ValueError("liquidity must be > 0 or None")
        if self.start is not None and self.start.tzinfo is None:
            raise ValueError("start must be an aware datetime")
        if self.comment_limit < 0 or self.maxbars <= 0:
            raise ValueError("comment_limit must be >= 0 and maxbars > 0")
