"""Building a ``BacktestResult`` from a finished engine: the same code for both engines.

Everything comes from places both engines fill the same way: the terminal's deal history (trades,
balance), the journal (strategy, close reason and stops of each position, rejected orders), the
engine's counters (``ExecutionStats``, ``StrategyState``, ``DataState``) and the events seen on
the hub during the run (risk refusals by rule; risk state changes as the refusals report them:
a state change with no entry refused is not seen).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from loguru import logger

from trading_engine.backtest.fingerprint import fingerprint
from trading_engine.backtest.result import BacktestResult, equity_curve, trades_from_deals
from trading_engine.events import OrderRejectedEvent, TradingBlockedEvent
from trading_engine.journal.store import Journal
from trading_engine.orchestrator import TradingOrchestrator
from trading_engine.timeframes import fixed_seconds, timeframe_name

__all__ = ["RunProbe", "build_result", "collect"]

_KNOWN_REASONS = frozenset({"sl", "tp", "stop_out", "reversal", "end"})


@dataclass
class RunProbe:
    """What the hub showed during the run; each risk state change and each rejected order is
    also one warning line with its simulated server time."""

    refusals: dict[str, int] = field(default_factory=dict)
    risk_events: list[tuple[int, str, str]] = field(default_factory=list)
    """(engine clock time, UTC; new state; reason)."""
    state: str = "ACTIVE"
    to_server: Callable[[float], float] | None = None

    def server_time(self, utc: float) -> int:
        return int(self.to_server(utc) if self.to_server is not None else utc)

    def blocked(self, event: TradingBlockedEvent) -> None:
        self.refusals[event.rule] = self.refusals.get(event.rule, 0) + 1
        if event.state != self.state:
            self.state = event.state
            when = self.server_time(event.timestamp)
            self.risk_events.append((when, event.state, event.reason))
            _log.warning("risk state {} at {}: {}", event.state, _stamp(when), event.reason)

    def rejected(self, event: OrderRejectedEvent) -> None:
        when = _stamp(self.server_time(event.timestamp))
        code = f" (retcode {event.retcode})" if event.retcode else ""
        reason = event.reason.removeprefix(f"{event.symbol}: ")  # the normaliser names it too
        _log.warning("order rejected at {}: {}{}: {}", when, event.symbol, code, reason)


_log = logger.bind(service="backtest")


def _stamp(server_seconds: int) -> str:
    return f"{datetime.fromtimestamp(server_seconds, tz=UTC):%Y-%m-%d %H:%M:%S} (server)"


def collect(engine: TradingOrchestrator) -> RunProbe:
    """Subscribe a probe to the engine's hub (before the run)."""
    market = getattr(engine.terminal, "market", None)
    probe = RunProbe(to_server=market.server_time.to_server if market is not None else None)
    engine.subscribe(TradingBlockedEvent, probe.blocked)
    engine.subscribe(OrderRejectedEvent, probe.rejected)
    return probe


def build_result(
    engine: TradingOrchestrator,
    terminal: Any,
    probe: RunProbe,
    *,
    engine_name: str,
    elapsed: float,
    first_times: dict[tuple[str, int], int | None],
    journal: Journal | None = None,
) -> BacktestResult:
    """The result of a finished run (``journal``: an open journal when the engine's is closed)."""
    cfg = engine.config
    book = journal if journal is not None else engine.journal
    if book is None:
        raise ValueError("the run's journal is not open")
    magic = cfg.trading.magic
    strategies: dict[int, str] = {}
    reasons: dict[int, str] = {}
    stops: dict[int, tuple[float | None, float | None]] = {}
    for row in book.closed_positions() + book.open_positions():
        strategies[row.ticket] = row.strategy or ""
        reason = row.close_reason or "signal"
        reasons[row.ticket] = reason if reason in _KNOWN_REASONS else "signal"
        stops[row.ticket] = (row.sl, row.tp)
    rejections: dict[str, int] = {}
    for order in book.orders(["rejected"]):
        key = str(order.retcode) if order.retcode else (order.error or "unknown").split(":")[0]
        rejections[key] = rejections.get(key, 0) + 1
    deals = terminal.history_deals_get(0, 2**40) or ()
    trades = trades_from_deals(
        deals, magic=magic, strategies=strategies, reasons=reasons, stops=stops
    )
    symbol = cfg.trading.symbols[0]
    base_tf = min(cfg.trading.timeframes, key=lambda tf: fixed_seconds(tf) or 10**9)
    seconds = fixed_seconds(base_tf) or 86_400
    market = terminal.market
    now = engine.clock.time() + 1
    start_time = first_times.get((symbol, base_tf)) or 0
    last_time = engine.data_state.validator((symbol, base_tf)).last_time or start_time
    base = market.copy_rates_range(symbol, base_tf, start_time + 1, last_time, now)
    info = terminal.symbol_info(symbol)
    account = terminal.account_info()
    initial = float(cfg.terminal.sim.balance)
    point = float(info.point)
    per_price = float(info.trade_tick_value) / float(info.trade_tick_size)
    equity = equity_curve(
        base["time"].astype(np.int64),
        base["close"].astype(np.float64),
        base["spread"].astype(np.float64) * point,
        bar_seconds=seconds,
        initial_balance=initial,
        deals=deals,
        magic=magic,
        value_per_price=per_price,
    )
    closes: dict[str, Any] = {}
    for sym in cfg.trading.symbols:
        rates = market.copy_rates_range(sym, base_tf, start_time + 1, last_time, now)
        closes[sym] = rates["close"].astype(np.float64)
    stats = engine.execution_stats
    state = engine.strategy_state
    end_time = int(last_time) + seconds
    result = BacktestResult(
        trades=trades,
        equity=equity,
        counts={
            "bars": engine.data_state.emitted,
            "signals": state.signals,
            "orders": stats.orders_sent,
            "fills": stats.fills,
            "rejections": stats.rejected,
            "risk_refusals": stats.blocked,
            "positions_closed": stats.positions_closed,
            "strategy_errors": sum(state.errors.values()),
        },
        rejections=rejections,
        risk_refusals=dict(sorted(probe.refusals.items())),
        risk_events=list(probe.risk_events),
        disabled_strategies=[
            _disabled(name, state.disabled_at.get(name), state.errors.get(name, 0), end_time, probe)
            for name in sorted(state.disabled)
        ],
        initial_balance=initial,
        currency=str(account.currency) if account is not None else "USD",
        symbols=list(cfg.trading.symbols),
        timeframe=timeframe_name(base_tf),
        modelling=str(cfg.terminal.sim.market_mode),
        start=int(start_time) + seconds,
        end=end_time,
        warmup_bars=engine.warmup_bars,
        bars=engine.data_state.emitted,
        elapsed=elapsed,
        engine=engine_name,
        closes=closes,
        open_positions=len(engine.portfolio),
    )
    result.fingerprint = fingerprint(result)
    return result


def _disabled(
    name: str, at: tuple[float, str] | None, errors: int, end_time: int, probe: RunProbe
) -> tuple[str, int, str]:
    """(name, server time, reason) of a disabled strategy: when it was disabled and its last
    error (the run's end and the error count when unknown)."""
    if at is None:
        return name, end_time, f"disabled after {errors} errors"
    when, error = at
    return name, probe.server_time(when), f"disabled after {errors} errors; last: {error}"
