"""Building a ``BacktestResult`` from a finished engine: the same code for both engines.

Everything comes from places both engines fill the same way: the terminal's deal history (trades,
balance), the journal (strategy, close reason and stops of each position, rejected orders), the
engine's counters (``ExecutionStats``, ``StrategyState``, ``DataState``) and the events seen on
the hub during the run (risk refusals by rule; risk state changes as the refusals report them:
a state change with no entry refused is not seen).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trading_engine.backtest.fingerprint import fingerprint
from trading_engine.backtest.result import BacktestResult, equity_curve, trades_from_deals
from trading_engine.events import TradingBlockedEvent
from trading_engine.journal.store import Journal
from trading_engine.orchestrator import TradingOrchestrator
from trading_engine.timeframes import fixed_seconds, timeframe_name

__all__ = ["RunProbe", "build_result", "collect"]

_KNOWN_REASONS = frozenset({"sl", "tp", "stop_out", "reversal", "end"})


@dataclass
class RunProbe:
    """What the hub showed during the run."""

    refusals: dict[str, int] = field(default_factory=dict)
    risk_events: list[tuple[float, str, str]] = field(default_factory=list)
    """(engine clock time, UTC; new state; reason)."""
    state: str = "ACTIVE"

    def blocked(self, event: TradingBlockedEvent) -> None:
        self.refusals[event.rule] = self.refusals.get(event.rule, 0) + 1
        if event.state != self.state:
            self.state = event.state
            self.risk_events.append((event.timestamp, event.state, event.reason))


def collect(engine: TradingOrchestrator) -> RunProbe:
    """Subscribe a probe to the engine's hub (before the run)."""
    probe = RunProbe()
    engine.subscribe(TradingBlockedEvent, probe.blocked)
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
        risk_events=[
            (int(market.server_time.to_server(at)), state_name, reason)
            for at, state_name, reason in probe.risk_events
        ],
        disabled_strategies=[  # the time is the run's end: the state does not keep the instant
            (name, end_time, f"disabled after {state.errors.get(name, 0)} errors")
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
