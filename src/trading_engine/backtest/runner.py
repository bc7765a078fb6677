"""``run_backtest``: one call, either engine, the same ``BacktestResult``.

- ``engine="fast"`` (default): :class:`BacktestEngine`, one synchronous loop over the history.
- ``engine="pipeline"``: the four asyncio services, channels and supervisor of a live run, on a
  ``SimClock`` that the orchestrator moves to the next deadline whenever every task waits.

Both replay the same simulated terminal (generated prices, or ``history`` files) from
``start`` (default: the configuration's ``terminal.sim.start``) for ``bars`` candles (all streams
together, as the data service counts them) or until ``end``; the pipeline needs ``bars``.
``run_backtest`` runs its own event loop for the pipeline: from async code, await
:func:`run_pipeline` instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from loguru import logger

from trading_engine.backtest.engine import BacktestEngine
from trading_engine.backtest.result import BacktestResult
from trading_engine.backtest.summary import build_result, collect
from trading_engine.clock import SimClock
from trading_engine.config import SystemConfig, fit_start_to_history
from trading_engine.errors import ConfigError
from trading_engine.journal.store import MEMORY
from trading_engine.orchestrator import TradingOrchestrator
from trading_engine.timeframes import fixed_seconds

__all__ = ["run_backtest", "run_pipeline"]

_LOOK_AHEAD = (4, 11, 32, 60)  # days the guard looks ahead for the next tick: a weekend and a
# holiday, then further for a history file's gaps (as far as the budget and the fast engine do)


def _configure(
    config: SystemConfig,
    history: Mapping[str, Path] | None,
    start: datetime | None,
) -> SystemConfig:
    sim_update: dict[str, Any] = {}
    if start is not None:
        sim_update["start"] = start
    if history:
        symbols = config.trading.symbols
        unknown = sorted(set(history) - set(symbols))
        if unknown:
            raise ConfigError(
                f"history for unknown symbol {unknown[0]!r} (trading.symbols: "
                f"{', '.join(symbols)})",
                key="history",
            )
        sim_update["history_files"] = {s: Path(p) for s, p in history.items()}
        sim_update["history_file"] = None
    if not sim_update:
        return config
    sim = config.terminal.sim.model_copy(update=sim_update)
    terminal = config.terminal.model_copy(update={"sim": sim})
    return config.model_copy(update={"terminal": terminal})


def run_backtest(
    config: SystemConfig,
    *,
    history: Mapping[str, Path] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    bars: int | None = None,
    engine: Literal["fast", "pipeline"] = "fast",
    journal: Path | None = None,
    config_dir: Path | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> BacktestResult:
    """Backtest ``config`` (see the module docstring); ``journal``: keep the journal there;
    ``progress(done, total, now_utc)`` is called as the fast engine goes (not the pipeline)."""
    cfg = _configure(config, history, start)
    if engine == "fast":
        return BacktestEngine(
            cfg,
            bars=bars,
            end=end.timestamp() if end is not None else None,
            journal=journal,
            config_dir=config_dir,
            progress=progress,
        ).run()
    if engine != "pipeline":
        raise ConfigError(f"unknown engine {engine!r} (fast or pipeline)", key="engine")
    if bars is None:
        raise ConfigError("the pipeline engine needs a bar budget", key="bars")
    last = end.timestamp() if end is not None else None
    return asyncio.run(
        run_pipeline(cfg, bars=bars, end=last, journal=journal, config_dir=config_dir)
    )


async def run_pipeline(
    config: SystemConfig,
    *,
    bars: int,
    end: float | None = None,
    journal: Path | None = None,
    config_dir: Path | None = None,
    **engine_options: Any,
) -> BacktestResult:
    """The pipeline backtest inside the running event loop, until ``bars`` bars are emitted.
    ``end`` (UTC): the data ends there; should fewer than ``bars`` bars close by then (a bar
    closes only with the next one's first tick), the run stops once the data service's polls
    have passed it, with a warning (``backtest`` plans an exact budget: ``period.py``)."""
    # nobody reads a journal that is not kept: in memory (no file, no WAL checkpoints)
    path = journal if journal is not None else Path(MEMORY)
    jcfg = config.journal.model_copy(update={"path": path, "durable_orders": False})
    sim = config.terminal.sim.model_copy(update={"persist": False})  # ends with the backtest
    terminal = config.terminal.model_copy(update={"sim": sim})
    cfg = fit_start_to_history(config.model_copy(update={"journal": jcfg, "terminal": terminal}))
    clock = SimClock(cfg.terminal.sim.start.timestamp())
    engine = TradingOrchestrator.from_config(
        cfg,
        clock=clock,
        max_bars=bars,
        config_dir=config_dir,
        # On the simulated clock the loop has nothing else to do while a row is written,
        # and time must not move meanwhile: the journal writes at once, as the fast engine's.
        journal_thread=False,
        **engine_options,
    )
    probe = collect(engine)
    started = time.perf_counter()
    async with engine:
        first_times = {s: engine.data_state.validator(s).last_time for s in engine.streams}
        watch = None if end is None else asyncio.create_task(_end_of_data(engine, clock, end))
        try:
            await engine.run()
        finally:
            if watch is not None:
                watch.cancel()
        elapsed = time.perf_counter() - started
        return build_result(
            engine,
            engine.terminal,
            probe,
            engine_name="pipeline",
            elapsed=elapsed,
            first_times=first_times,
        )


async def _end_of_data(engine: TradingOrchestrator, clock: SimClock, end: float) -> None:
    """A guard: the bar budget counts exactly the bars the run emits (``period.closing_bars``),
    so the budget ends the run. Should it ever count a bar that never comes, this ends the run
    once the data service's polls have passed the close of the bars closing at ``end`` (the
    first tick after it) by a bar and a retry, with a warning."""
    fetch = engine.config.services.data_fetching
    step = max((fixed_seconds(tf) or 86_400) for _, tf in engine.streams)
    closes = _first_tick_after(engine, end)
    await clock.sleep(
        max(0.0, closes + step + fetch.close_delay + 2 * fetch.fetch_interval - clock.time())
    )
    data = engine.data_state
    if not data.exhausted.is_set():
        logger.warning(
            "backtest: the data ended after {} of the {} bars the pipeline was to run; "
            "it stops there (the bar budget counted bars that never close)",
            data.emitted,
            data.max_bars,
        )
        data.exhausted.set()


def _first_tick_after(engine: TradingOrchestrator, end: float) -> float:
    """When the bars closing at ``end`` (UTC) close: the first tick at or after it of every
    symbol of the simulated market, within two months (``end`` itself when none comes)."""
    market = getattr(engine.terminal, "market", None)
    if market is None:  # not the simulator: no way to look ahead
        return end
    st = market.server_time
    end_srv = st.to_server(end)
    closes = end
    for symbol in sorted({symbol for symbol, _ in engine.streams}):
        for days in _LOOK_AHEAD:
            quotes = market.minute_quotes(symbol, end_srv, end_srv + days * 86_400)
            i = int(quotes.time.searchsorted(end_srv, side="left"))
            if i < quotes.time.size:
                closes = max(closes, st.to_utc(int(quotes.first_msc[i]) / 1000.0))
                break
    return closes
