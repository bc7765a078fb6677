"""Helpers of the integration tests: real engines on the simulated terminal and a ``SimClock``.

Every engine here runs the four real services over real channels against an ``mt5sim.Terminal``
(the engine's default), on a ``SimClock`` driven by the orchestrator, with its journal under the
test's ``tmp_path``. Settings keep each run small: EURUSD M1 from a Wednesday (two days of
generated history, 300 warm-up bars), bar-timed polls retried every 5 s (``fetch_interval``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from trading_engine import mt5sim
from trading_engine.clock import SimClock
from trading_engine.config import ConfigLoader, SystemConfig
from trading_engine.journal.store import Journal
from trading_engine.orchestrator import TradingOrchestrator
from trading_engine.strategy.base import Strategy

STRATEGIES = Path(__file__).with_name("strategies.py")
START = "2024-01-10T00:00:00Z"
"""A Wednesday: Monday and Tuesday make the generated history."""
MAGIC = 20261125


def strategy(name: str, cls: str, **params: Any) -> dict[str, Any]:
    """A ``strategies:`` entry for a class of ``strategies.py`` (loaded by file path)."""
    return {"name": name, "class_path": f"{STRATEGIES}:{cls}", "params": params}


def make_config(journal: Path, strategies: list[dict[str, Any]], **overrides: Any) -> SystemConfig:
    """A small configuration; ``overrides`` use dotted keys (``risk.max_positions=1`` as
    ``**{"risk.max_positions": 1}``)."""
    base: dict[str, Any] = {
        "trading.symbols": ["EURUSD"],
        "trading.timeframes": ["M1"],
        "trading.magic": MAGIC,
        "journal.path": str(journal),
        "services.data_fetching.fetch_interval": 5,
        "services.strategy_evaluation.min_rows_required": 1,
        "terminal.sim.start": START,
        "terminal.sim.history_days": 2,
        "terminal.sim.seed": 7,
        "risk.daily_loss_limit": 5_000.0,
        "risk.max_drawdown_pct": 50.0,
        "strategies": strategies,
    }
    base.update(overrides)
    return ConfigLoader.load(None, overrides=base, environ={})


def sim_clock(config: SystemConfig) -> SimClock:
    return SimClock(config.terminal.sim.start.timestamp())


def engine(
    config: SystemConfig,
    *,
    max_bars: int | None = 60,
    clock: SimClock | None = None,
    terminal: Any | None = None,
    warmup_bars: int = 300,
) -> TradingOrchestrator:
    """An engine on a ``SimClock`` (the given one, else a fresh one at the configured start)."""
    return TradingOrchestrator.from_config(
        config,
        clock=clock if clock is not None else sim_clock(config),
        terminal=terminal,
        in_process=True if terminal is not None else None,
        max_bars=max_bars,
        warmup_bars=warmup_bars,
    )


def sim_terminal(config: SystemConfig, clock: SimClock, **changes: Any) -> mt5sim.Terminal:
    """The terminal the engine would build for ``config``, with ``SimConfig`` fields changed."""
    from trading_engine.terminal.factory import open_terminal

    built, _ = open_terminal(config.terminal, clock, config.trading.symbols)
    if not changes:
        return built
    import dataclasses

    return mt5sim.Terminal(
        dataclasses.replace(built.config, **changes), clock=clock.time, sleep=clock.advance
    )


def strategy_of(engine: TradingOrchestrator, name: str) -> Strategy[Any]:
    """The running instance of strategy ``name``."""
    for binding in engine.bindings:
        if binding.strategy.name == name:
            return binding.strategy
    raise KeyError(name)


def collect(eng: Any, *types: type) -> list[Any]:
    """The events of ``types`` that ``eng`` publishes, in order, as they come."""
    seen: list[Any] = []
    for kind in types:
        eng.subscribe(kind, seen.append)
    return seen


def our_deals(terminal: Any, magic: int = MAGIC) -> list[Any]:
    """Every deal of the terminal's history made by orders with our ``magic``."""
    assert terminal.initialize()  # the engine shut its connection down when it stopped
    deals = terminal.history_deals_get(0, 2**31 - 1)
    assert deals is not None, terminal.last_error()
    return [d for d in deals if int(d.magic) == magic]


def check_books(journal_path: Path, terminal: Any, magic: int = MAGIC) -> None:
    """Journal and terminal agree.

    Each filled journal order is exactly one terminal deal (same order ticket, the client id's
    tag in the comment, same volume) and each deal of an order we sent is one journal order; each
    deal of a stop (SL, TP, stop-out: orders the server made) is journaled with the position it
    closed; the terminal's open positions of ours are the journal's open positions.
    """
    with Journal.open(journal_path) as journal:
        orders = journal.orders()
        open_rows = journal.open_positions()
        journal_deals = {d.ticket: d for d in journal.deals_for()}
        closed = {p.ticket: p for p in journal.closed_positions()}
    deals = our_deals(terminal, magic)
    sent = [d for d in deals if int(d.reason) not in STOP_REASONS]
    stops = [d for d in deals if int(d.reason) in STOP_REASONS]
    filled = [o for o in orders if o.filled_volume > 0]
    assert len({o.client_id for o in orders}) == len(orders)
    assert sorted(int(d.order) for d in sent) == sorted(o.order_ticket or 0 for o in filled)
    by_order = {int(d.order): d for d in sent}
    for order in filled:
        deal = by_order[order.order_ticket or 0]
        assert deal.comment == order.comment, (deal.comment, order.comment)
        assert float(deal.volume) == pytest.approx(order.filled_volume)
    for deal in stops:
        assert int(deal.ticket) in journal_deals, deal
        row = closed[int(deal.position_id)]
        assert row.close_reason == STOP_REASONS[int(deal.reason)]
    live = terminal.positions_get()  # connected by our_deals
    assert live is not None
    assert sorted(int(p.ticket) for p in live if int(p.magic) == magic) == sorted(
        row.ticket for row in open_rows
    )


STOP_REASONS = {4: "sl", 5: "tp", 6: "stop_out"}
"""DEAL_REASON_SL, _TP, _SO: deals of orders the trade server made, not the engine."""
