"""``BacktestEngine``: the engine's own cores in one synchronous loop over the history.

No asyncio and no channels per bar, and no second implementation of trading logic: the engine
builds the same objects the orchestrator builds (``TradingOrchestrator``'s port, hub, journal,
portfolio, risk rules, validators, indicator sets, strategy bindings) and calls their synchronous
cores directly:

1. the data service's start-up (``on_start``) fixes each stream's last closed bar, then the
   stream's history is read once and validated by the same ``BarValidator``;
2. ``schedule_sim.plan_arrays`` computes the instant the pipeline's bar-timed polls would emit
   each bar (``data/schedule.py``), from the first tick after each bar's close;
3. per instant, for each bar emitted then (in the data service's order): the indicator service's
   ``calculate``, the strategy service's ``evaluate`` (same ``Snapshot``, same error isolation),
   then the execution service's ``handle`` for each signal and the candle — the very coroutines
   the pipeline runs, driven to completion without a loop (``drive.py``) against ``mt5sim``
   called in process, on an ``InstantClock``;
4. what cannot change anything is skipped: a candle refreshes the positions (a terminal call)
   only once a stop, a target or a stop-out may have happened since the last refresh —
   ``scan.quiet_until`` scans the M1 bid/ask extremes forward from the last refresh against the
   positions' stops and a bound on the stop-out (numba, once per change of the positions), so
   the engine steps into the terminal only at the bars where a trigger lies in range.

Faults, slippage, commission, swaps, sessions and stop-out are the simulator's, as in the
pipeline. Inherent differences from the pipeline (stated in the parity tests): the pipeline's
extra terminal calls (polls) shift call-counted faults and the latency fault's simulated time,
and the strategy's ``PositionView.profit`` is refreshed only when the positions are.
"""

from __future__ import annotations

import gc
import math
import random
import time as _time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from loguru import logger

from trading_engine.backtest.drive import InstantClock, drive
from trading_engine.backtest.result import BacktestResult
from trading_engine.backtest.scan import quiet_until
from trading_engine.backtest.schedule_sim import Plan, StreamBars, plan_arrays
from trading_engine.backtest.summary import build_result, collect
from trading_engine.config import SystemConfig, fit_start_to_history
from trading_engine.data.history import ClosedHistory
from trading_engine.data.service import DataFetchingService
from trading_engine.errors import ConfigError
from trading_engine.events import NewCandleEvent, new_correlation_id
from trading_engine.execution.service import TradeExecutionService
from trading_engine.indicators.service import IndicatorCalculationService
from trading_engine.journal.store import MEMORY
from trading_engine.mt5sim.market.data import MarketData, MinuteQuotes
from trading_engine.mt5sim.market.servertime import ServerTime
from trading_engine.orchestrator import TradingOrchestrator
from trading_engine.strategy.service import StrategyEvaluationService
from trading_engine.terminal.factory import history_files, open_terminal
from trading_engine.timeframes import fixed_seconds, timeframe_name

__all__ = ["BacktestEngine"]

_NEVER = np.iinfo(np.int64).max
_DAY = 86_400
_CHUNK = 4096  # bars converted to Python objects at a time


@dataclass(slots=True)
class _Stream:
    symbol: str
    timeframe: int
    seconds: int
    bars: npt.NDArray[np.void]
    available: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))


class BacktestEngine:
    """One synchronous loop over the history through the engine's cores (module docstring)."""

    def __init__(
        self,
        config: SystemConfig,
        *,
        bars: int | None = None,
        end: float | None = None,
        journal: Path | None = None,
        config_dir: Path | None = None,
        skip_refresh: bool = True,
        progress: Callable[[int, int, float], None] | None = None,
    ) -> None:
        if (
            bars is None
            and end is None
            and not history_files(config.terminal, config.trading.symbols)
        ):
            raise ConfigError("a backtest on generated prices needs a bar budget or an end")
        if config.services.data_fetching.candle_index != 1:
            raise ConfigError(
                "the fast engine emits closed bars only (candle_index 1); "
                "use the pipeline engine for another candle_index",
                key="services.data_fetching.candle_index",
            )
        jcfg = config.journal.model_copy(
            update={
                "path": journal if journal is not None else Path(MEMORY),
                "durable_orders": False,
            }
        )
        self.config = fit_start_to_history(config.model_copy(update={"journal": jcfg}))
        self.journal = journal
        """The journal file kept after the run (None: an in-memory journal)."""
        self.bars = bars
        self.progress = progress
        """Called as ``progress(done, total, now_utc)`` at each planned instant and at the end."""
        self.end = end
        self.config_dir = config_dir
        self.skip_refresh = skip_refresh
        self.refreshes = 0
        self.refreshes_skipped = 0
        self.setup_seconds = 0.0
        """Wall time of the last run's set-up: everything before the first bar is traded."""
        self._last_refresh_msc = 0
        self._quiet: int | None = None  # no stop can fire before this server ms (None: unknown)

    def run(self) -> BacktestResult:
        """Run the backtest; its result."""
        started = _time.perf_counter()
        cfg = self.config
        clock = InstantClock(cfg.terminal.sim.start.timestamp())
        terminal, _ = open_terminal(cfg.terminal, clock, cfg.trading.symbols)
        engine = TradingOrchestrator(
            cfg,
            clock=clock,
            terminal=terminal,
            in_process=True,
            max_bars=self.bars,
            rng=random.Random(cfg.trading.magic),
            config_dir=self.config_dir,
            journal_thread=False,  # no event loop here: each write is applied at once
            # an in-memory journal ends with the run and nobody reads its events meanwhile:
            # they are journaled only into a journal that is kept
            journal_events=self.journal is not None,
        )
        probe = collect(engine)
        services = cfg.services
        engine.open_journal()
        try:
            drive(engine.port.connect())
            drive(engine.check_journal_matches_terminal())
            data = DataFetchingService(
                port=engine.port,
                streams=engine.streams,
                config=services.data_fetching,
                candles=engine.candles.sender,
                hub=engine.hub,
                state=engine.data_state,
                clock=clock,
            )
            drive(data.on_start())
            indicators = IndicatorCalculationService(
                history=ClosedHistory(engine.port),
                streams=engine.streams,
                config=services.indicator_calculation,
                indicators=engine.indicators,
                warmup_bars=engine.warmup_bars,
                candles=engine.candles.consumer(),
                features=engine.features.sender,
                hub=engine.hub,
                state=engine.indicator_state,
                clock=clock,
            )
            strategies = StrategyEvaluationService(
                bindings=engine.bindings,
                config=services.strategy_evaluation,
                features=engine.features.consumer(),
                signals=engine.signals.sender,
                positions=engine.portfolio,
                hub=engine.hub,
                state=engine.strategy_state,
                clock=clock,
            )
            execution = TradeExecutionService(
                trader=engine.trader(),
                config=services.trade_execution,
                signals=engine.signals.consumer(),
                clock=clock,
            )
            enabled = set(cfg.enabled_services())
            if "indicator_calculation" in enabled:
                drive(indicators.on_start())
            if "trade_execution" in enabled:
                drive(execution.on_start())
            first_times = {s: engine.data_state.validator(s).last_time for s in engine.streams}
            streams, extremes = self._history(terminal, engine, clock.time())
            plan = plan_arrays(
                [StreamBars(s.seconds, s.available) for s in streams],
                start=clock.time(),
                delay=float(services.data_fetching.close_delay),
                interval=float(services.data_fetching.fetch_interval),
                server_time=terminal.market.server_time,
                budget=self.bars,
            )
            self.setup_seconds = _time.perf_counter() - started
            # An in-memory journal has no other reader and ends with the run: one transaction
            # for the whole loop instead of a commit per write (a kept journal commits each).
            journal = engine.journal
            group = journal.transaction() if self.journal is None and journal else nullcontext()
            with group, _young_gc_only():
                self._loop(
                    plan, streams, extremes, engine, clock, indicators, strategies, execution
                )
            elapsed = _time.perf_counter() - started
            return build_result(
                engine,
                terminal,
                probe,
                engine_name="fast",
                elapsed=elapsed,
                first_times=first_times,
            )
        finally:
            if engine.journal_writer is not None:
                engine.journal_writer.close()
            if engine.journal is not None and not engine.journal.closed:
                engine.journal.close()

    # -- history ------------------------------------------------------------------------------

    def _history(
        self, terminal: Any, engine: TradingOrchestrator, now_utc: float
    ) -> tuple[list[_Stream], dict[str, MinuteQuotes]]:
        """Each stream's accepted bars after its last closed one at the start, and each symbol's
        M1 extremes and first-tick times (the availability of every bar)."""
        market = terminal.market
        st: ServerTime = market.server_time
        start_srv = st.to_server(now_utc)
        horizon = self._horizon_days(engine)
        while True:
            end_srv = start_srv + horizon * _DAY
            if self.end is not None:
                end_srv = st.to_server(self.end)
            end_utc = st.to_utc(end_srv)
            streams = []
            for stream in engine.streams:
                symbol, tf = stream
                seconds = fixed_seconds(tf) or 0
                last = engine.data_state.validator(stream).last_time or 0
                raw = market.copy_rates_range(symbol, tf, last + 1, end_srv, end_utc + 1)
                raw = raw[: int(raw["time"].searchsorted(end_srv - seconds, side="right"))]
                streams.append(_Stream(symbol, tf, seconds, raw))
            total = sum(len(s.bars) for s in streams)
            if self.end is not None or self.bars is None or total >= self.bars * 1.02 + 10:
                break
            if horizon > 36_500 or (horizon > 60 and total == 0):
                break
            grown = horizon * 2
            horizon = grown
        extremes: dict[str, MinuteQuotes] = {}
        for symbol in sorted({s.symbol for s in streams}):
            extremes[symbol] = _extremes_past(market, symbol, start_srv - 120, end_srv)
        for s in streams:
            validator = engine.data_state.validator((s.symbol, s.timeframe))
            before = validator.last_time
            batch = validator.process_closed(s.bars)
            for time, reason in batch.rejected:  # as the data service logs them
                logger.warning(
                    "rejected bar {} {} at {}: {}",
                    s.symbol,
                    timeframe_name(s.timeframe),
                    time,
                    reason,
                )
            s.bars = batch.accepted
            validator.last_time = before  # the loop moves it on bar by bar
            ext = extremes[s.symbol]
            close = s.bars["time"].astype(np.int64) + s.seconds
            j = np.searchsorted(ext.time, close, side="left")
            if len(ext.first_msc):
                first = ext.first_msc[np.minimum(j, len(ext.first_msc) - 1)]
                s.available = np.where(j < len(ext.first_msc), first, _NEVER)
            else:
                s.available = np.full(len(s.bars), _NEVER, dtype=np.int64)
        return streams, extremes

    def _horizon_days(self, engine: TradingOrchestrator) -> float:
        if self.bars is None:
            return 3650.0
        seconds = min((fixed_seconds(tf) or _DAY) for _, tf in engine.streams)
        per_day = _DAY / seconds * 5 / 7 * 0.95  # trading days only
        return max(3.0, self.bars / max(1, len(engine.streams)) / per_day + 4)

    # -- the loop -----------------------------------------------------------------------------

    def _loop(
        self,
        plan: Plan,
        streams: list[_Stream],
        extremes: dict[str, MinuteQuotes],
        engine: TradingOrchestrator,
        clock: InstantClock,
        indicators: IndicatorCalculationService,
        strategies: StrategyEvaluationService,
        execution: TradeExecutionService,
    ) -> None:
        enabled = set(engine.config.enabled_services())
        run_ind = "indicator_calculation" in enabled
        run_strat = run_ind and "strategy_evaluation" in enabled
        run_exec = run_strat and "trade_execution" in enabled
        min_rows = engine.config.services.strategy_evaluation.min_rows_required
        hub = engine.hub
        data = engine.data_state
        calculated = indicators.calculated
        evaluate = strategies.evaluate
        publish = hub.publish
        emitted = np.bincount(plan.stream, minlength=len(streams)).tolist()
        feeds = [
            _Feed(s.bars, indicators if run_ind else None, (s.symbol, s.timeframe), emitted[k])
            for k, s in enumerate(streams)
        ]
        validators = [data.validator((s.symbol, s.timeframe)) for s in streams]
        server_msc = _server_msc(engine.terminal.market.server_time)
        self._last_refresh_msc = server_msc(clock.time())
        n = len(plan)
        progress = self.progress or _no_progress
        for offset, instants, keys in _plan_chunks(plan):
            size = len(instants)
            i = 0
            while i < size:
                at = instants[i]
                progress(offset + i, n, at)  # the listener throttles (10 redraws a second)
                if at > clock.time():
                    clock.advance_to(at)
                now = clock.time()
                messages: list[Any] = []
                while i < size and instants[i] == at:
                    k = keys[i]
                    i += 1
                    s = streams[k]
                    (tm, o, h, lo, c, tv, sp, rv), row = next(feeds[k])
                    candle = NewCandleEvent(
                        new_correlation_id(),
                        now,
                        s.symbol,
                        s.timeframe,
                        tm,
                        o,
                        h,
                        lo,
                        c,
                        tv,
                        sp,
                        rv,
                    )
                    publish(candle)
                    data.emitted += 1
                    validators[k].last_time = tm
                    if row is None:
                        continue
                    event = calculated(candle, row)
                    if event is None or not run_strat:
                        continue
                    if event.ready and event.bars >= min_rows:
                        signals = evaluate(event)
                        for signal in signals:
                            publish(signal)
                        messages.extend(signals)
                    messages.append(candle)
                if run_exec:
                    for message in messages:
                        self._execute(message, engine, execution, extremes, clock, server_msc)
        progress(n, n, clock.time())
        if self.bars is not None and data.emitted >= self.bars:
            data.exhausted.set()

    def _execute(
        self,
        message: Any,
        engine: TradingOrchestrator,
        execution: TradeExecutionService,
        extremes: dict[str, MinuteQuotes],
        clock: InstantClock,
        server_msc: Callable[[float], int],
    ) -> None:
        """Hand one candle or signal to the execution core. A candle refreshes the positions only
        once the numba scan says a stop, a target or a stop-out can be in range."""
        portfolio = engine.portfolio
        if type(message) is not NewCandleEvent:
            drive(execution.handle(message))
            self._quiet = None  # a signal may have opened or closed positions
            return
        if not portfolio.positions:
            if not execution.quiet_candle(refresh=True):
                drive(execution.handle(message))
            return
        if self._quiet is None:  # the positions changed: scan forward from the last refresh
            self._quiet = quiet_until(engine.terminal, portfolio, extremes, self._last_refresh_msc)
        now_msc = server_msc(clock.time())
        refresh = not self.skip_refresh or now_msc >= self._quiet
        if refresh:
            self.refreshes += 1
            self._last_refresh_msc = now_msc
            self._quiet = None
        else:
            self.refreshes_skipped += 1
        if not execution.quiet_candle(refresh=refresh):
            drive(execution.handle(message, refresh=refresh))


def _extremes_past(
    market: MarketData, symbol: str, from_srv: float, end_srv: float
) -> MinuteQuotes:
    """A symbol's M1 extremes from ``from_srv`` to past ``end_srv``: far enough for the first
    tick after the end, which closes the run's last bars (past a weekend; past days missing from
    a history file, up to two months). A history file's last bar never closes."""
    ext = market.minute_quotes(symbol, from_srv, end_srv + 3 * _DAY)
    if ext.time.size and ext.time[-1] >= end_srv:
        return ext
    later = market.minute_quotes(symbol, end_srv, end_srv + 60 * _DAY)  # the tail only
    if not later.time.size:
        return ext  # the data ends: its last bar never closes
    return market.minute_quotes(symbol, from_srv, int(later.time[0]) + 60)


def _plan_chunks(plan: Plan) -> Iterator[tuple[int, list[float], list[int]]]:
    """The plan a chunk at a time as Python lists (its offset, instants, stream indexes); a
    chunk ends between two instants, so that the bars of one instant stay together."""
    n = len(plan)
    lo = 0
    while lo < n:
        hi = min(n, lo + _CHUNK)
        while hi < n and plan.at[hi] == plan.at[hi - 1]:
            hi += 1
        yield lo, plan.at[lo:hi].tolist(), plan.stream[lo:hi].tolist()
        lo = hi


class _Feed:
    """A stream's bars as tuples, each with its indicator row, a chunk at a time: the stream's
    indicator set is advanced (``indicators.advance``, one numba call a chunk) over the chunk
    when its first bar is handed out, never past ``limit`` (the bars the plan emits)."""

    __slots__ = ("_indicators", "_pending", "_stream", "bars", "handed", "limit")

    def __init__(
        self,
        bars: npt.NDArray[np.void],
        indicators: IndicatorCalculationService | None,
        stream: tuple[str, int],
        limit: int,
    ) -> None:
        self.bars = bars
        self._indicators = indicators
        self._stream = stream
        self.limit = limit
        self.handed = 0
        self._pending: Iterator[tuple[Any, list[float] | None]] = iter(())

    def __next__(self) -> tuple[Any, list[float] | None]:
        item = next(self._pending, None)
        if item is None:
            self._pending = iter(())  # the spent chunk's objects are freed first: the young
            gc.collect(1)  # generations are collected while small (``_young_gc_only``)
            self._pending = self._chunk()
            item = next(self._pending)
        self.handed += 1
        return item

    def _chunk(self) -> Iterator[tuple[Any, list[float] | None]]:
        lo = self.handed
        chunk = self.bars[lo : min(lo + _CHUNK, self.limit)]
        if len(chunk) == 0:
            raise RuntimeError(f"{self._stream}: the plan emits more bars than it counted")
        if self._indicators is None:
            return ((bar, None) for bar in chunk.tolist())
        rows = self._indicators.advance(self._stream, chunk)
        assert rows is not None
        return zip(chunk.tolist(), rows.tolist(), strict=True)


@contextmanager
def _young_gc_only() -> Iterator[None]:
    """The loop's garbage collection: the objects built before it frozen out of every scan, and
    no automatic collection; the loop collects the young generations itself, a chunk at a time
    (``_Feed``).

    Automatic collections scan the objects the run keeps (the simulator's and the engine's
    growing records) and find next to nothing: at 1M bars they took 10 % of the CPU (the 23
    full ones 5 %); collected here, 3 %.
    Cycles the young collections miss (moved to the oldest generation) are left to the
    collector's next full collection, once the loop has ended and it is enabled again.
    """
    enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


def _no_progress(done: int, total: int, now_utc: float) -> None:
    """The progress callback when nobody listens."""


def _server_msc(st: ServerTime) -> Any:
    """The terminal's server millisecond of a UTC instant (as ``mt5sim`` computes it), with the
    offset's span cached as the simulator caches it."""
    span = [0.0, math.inf, -math.inf]  # offset, valid from, valid until

    def at(utc: float) -> int:
        if not span[1] <= utc < span[2]:
            off, lo, hi = st.offset_span(utc)
            span[0], span[1], span[2] = float(off), lo, hi
        return math.floor((utc + span[0]) * 1000.0)

    return at
