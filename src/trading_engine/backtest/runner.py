"""``run_backtest``: the same engine, services and strategy code as live, on simulated time.

The simulated terminal replays generated prices (or a history file), a ``SimClock`` stands in for
the wall clock, and the orchestrator's driver moves it to the next deadline whenever every task
waits, so bars go through the pipeline as fast as the machine allows while every order still
goes out at the simulated instant a live engine would send it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from trading_engine.backtest.report import BacktestReport, build_report
from trading_engine.clock import SimClock
from trading_engine.config import SystemConfig
from trading_engine.journal.store import Journal
from trading_engine.orchestrator import TradingOrchestrator
from trading_engine.terminal.factory import fit_start_to_history

__all__ = ["run_backtest"]


async def run_backtest(
    config: SystemConfig,
    *,
    max_bars: int,
    history_file: Path | None = None,
    journal_path: Path | str | None = None,
    **engine_options: Any,
) -> BacktestReport:
    """Run ``max_bars`` bars through the engine and report on the trades.

    The journal goes to ``journal_path`` (default: the configuration's), ``history_file``
    replaces the generated prices of the first symbol.
    """
    journal_update: dict[str, Any] = {"durable_orders": False}  # no fsync needed in a backtest
    if journal_path is not None:
        journal_update["path"] = Path(journal_path)
    updates: dict[str, Any] = {"journal": config.journal.model_copy(update=journal_update)}
    sim_update: dict[str, Any] = {"persist": False}  # a backtest's account ends with it
    if history_file is not None:
        sim_update["history_file"] = history_file
    sim = config.terminal.sim.model_copy(update=sim_update)
    updates["terminal"] = config.terminal.model_copy(update={"sim": sim})
    config = fit_start_to_history(config.model_copy(update=updates))
    clock = SimClock(config.terminal.sim.start.timestamp())
    engine = TradingOrchestrator.from_config(
        config, clock=clock, max_bars=max_bars, **engine_options
    )
    started = time.perf_counter()
    async with engine:
        summary = await engine.run()
    elapsed = time.perf_counter() - started
    with Journal.open(config.journal.path) as journal:
        return build_report(journal, summary, elapsed)
