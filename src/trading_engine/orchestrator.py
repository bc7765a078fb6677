"""``TradingOrchestrator``: the composition root, and the seed's API in asyncio form.

It builds, from a ``SystemConfig``: the clock (unless given), the terminal (the simulator by
default) behind a ``TerminalPort``, the SQLite journal, three bounded channels, the four services
and a ``rest_for_one`` supervisor over them (data → indicators → strategy → execution: when a
stage dies, it and the stages after it restart). State that must survive a restart (validators,
indicator sets, portfolio, risk, counters) belongs to the orchestrator, not to the services; the
messages a stage took and did not finish stay in flight on its input channel, and each instance
of a stage opens that channel's consumer anew, which hands them to it (``runtime.delivery``).

::

    async with TradingOrchestrator.from_config(cfg) as engine:   # start: ready after reconcile
        summary = await engine.run()                               # until stopped or done

Status: INITIALIZING → RUNNING → STOPPING → STOPPED, or ERROR when the supervisor gave up or a
fatal error stopped the tree. ``run()`` raises that error after stopping everything. With a
``SimClock`` the orchestrator drives simulated time itself (a backtest: as fast as the data
allows); with ``max_bars`` the pipeline drains and ends after that many bars.

Decisions where the design is silent:

- A disabled service (``services.<name>.enabled: false``) is replaced by a drain of its input
  channel (child ``<name>_disabled``), which passes the end of the input on: with trade execution
  disabled the engine computes signals without trading, and the stages before a disabled one never
  block on a full channel.
- ``orchestrator.enable_auto_restart: false`` gives the supervisor a budget of 0: the first crash
  stops the engine (ERROR) instead of restarting the services.
- ``orchestrator.health_check_interval`` (seconds of the engine's clock) is one iteration of
  ``run()``; every ``status_log_interval`` iterations a status line is logged.
- ``event_bus.event_history_limit`` bounds the event history; ``event_bus.log_all_events`` logs
  every event at DEBUG.
- Channel sizes: candles 256, features 256, signals 1,024; all block when full (no bar is ever
  dropped: indicators need every bar); at one to two microseconds a message, a full channel adds
  under a millisecond of delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from loguru import logger

from trading_engine.clock import Clock, LiveClock, ScaledClock, SimClock
from trading_engine.config import ConfigLoader, SystemConfig, fit_start_to_history
from trading_engine.data.history import ClosedHistory
from trading_engine.data.service import DataFetchingService, DataState
from trading_engine.errors import (
    FatalError,
    JournalError,
    ServiceStateError,
    TerminalUnreachable,
)
from trading_engine.events import (
    EntrySignalEvent,
    ExitSignalEvent,
    IndicatorsCalculatedEvent,
    NewCandleEvent,
    OrderFilledEvent,
    OrderPlacedEvent,
    OrderRejectedEvent,
    PositionClosedEvent,
    RegimeChangedEvent,
    TradingBlockedEvent,
)
from trading_engine.execution.risk import RiskLimits, RiskRules, RiskState
from trading_engine.execution.risk_store import load_risk, save_risk
from trading_engine.execution.service import TradeExecutionService
from trading_engine.execution.trader import ExecutionStats, Trader
from trading_engine.indicators.config import IndicatorSetConfig
from trading_engine.indicators.service import IndicatorCalculationService, IndicatorState
from trading_engine.journal.store import Journal
from trading_engine.journal.writer import JournalWriter
from trading_engine.model.position import Portfolio
from trading_engine.runtime.backoff import Backoff
from trading_engine.runtime.channel import Channel, Receiver, Sender
from trading_engine.runtime.driver import SimClockDriver
from trading_engine.runtime.hub import EventHub, Observer
from trading_engine.runtime.service import Service
from trading_engine.runtime.supervisor import ChildSpec, Supervisor
from trading_engine.strategy.service import (
    SignalMessage,
    StrategyEvaluationService,
    StrategyState,
    bind_strategies,
)
from trading_engine.terminal.factory import (
    account_path,
    open_terminal,
    port_settings,
    resumed_start,
)
from trading_engine.terminal.port import TerminalPort

__all__ = ["JOURNALED_EVENTS", "OrchestratorStatus", "RunSummary", "TradingOrchestrator"]

JOURNALED_EVENTS = (
    EntrySignalEvent,
    ExitSignalEvent,
    OrderPlacedEvent,
    OrderFilledEvent,
    OrderRejectedEvent,
    TradingBlockedEvent,
    PositionClosedEvent,
    RegimeChangedEvent,
)
"""Events written to the journal's ``events`` table (the rare, trading ones; not every bar)."""

_ACCOUNT_STATE_KEY = "sim_account"
"""Journal state key holding the id of the simulated account the journal trades on."""
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
"""The field names of each journaled event type (``dataclasses.fields`` is slow per call)."""

SERVICE_ORDER = ("data_fetching", "indicator_calculation", "strategy_evaluation", "trade_execution")


class OrchestratorStatus(StrEnum):
    """The engine's life: INITIALIZING → RUNNING → STOPPING → STOPPED, or ERROR."""

    INITIALIZING = "initializing"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    ERROR = "error"


@dataclass(frozen=True)
class RunSummary:
    """What a run did."""

    bars: int
    signals: int
    orders: int
    fills: int
    rejected: int
    blocked: int
    open_positions: int
    closed_positions: int
    realized_pnl: float
    floating_pnl: float
    balance: float
    equity: float
    journal: str

    def lines(self) -> list[str]:
        """The summary as ``key: value`` lines."""
        return [f"{key}: {value}" for key, value in asdict(self).items()]


class TradingOrchestrator:
    """Build, start, run, watch and stop the engine; see the module docstring."""

    def __init__(
        self,
        config: SystemConfig,
        *,
        clock: Clock | None = None,
        terminal: Any | None = None,
        in_process: bool | None = None,
        max_bars: int | None = None,
        indicators: IndicatorSetConfig | None = None,
        warmup_bars: int | None = None,
        rng: random.Random | None = None,
        config_dir: Path | None = None,
        journal_thread: bool = True,
        journal_events: bool = True,
    ) -> None:
        if clock is None:
            config = fit_start_to_history(config)
        self.config = config
        self.clock: Clock = clock if clock is not None else _default_clock(config)
        self.status = OrchestratorStatus.INITIALIZING
        self.streams = [(s, tf) for s in config.trading.symbols for tf in config.trading.timeframes]
        if terminal is None:
            terminal, in_process = open_terminal(
                config.terminal,
                self.clock,
                config.trading.symbols,
                account_path(config.terminal, config.journal.path),
            )
        self.terminal = terminal
        self._rng = rng if rng is not None else random.Random(config.trading.magic)
        self.port = TerminalPort(
            terminal,
            clock=self.clock,
            settings=port_settings(
                config.terminal, config.supervisor.backoff_base, config.supervisor.backoff_cap
            ),
            in_process=bool(in_process),
            rng=self._rng,
        )
        self.hub = EventHub(
            history_limit=config.event_bus.event_history_limit,
            log_events=config.event_bus.log_all_events,
        )
        self.indicators = indicators if indicators is not None else config.indicators
        self.warmup_bars = (
            warmup_bars
            if warmup_bars is not None
            else config.services.indicator_calculation.warmup_bars
        )
        self.journal: Journal | None = None
        self.journal_writer: JournalWriter | None = None
        self._journal_thread = journal_thread
        self._journal_events = journal_events
        self.portfolio = Portfolio()
        self.risk = RiskRules(RiskLimits.model_validate(config.risk, from_attributes=True))
        self.account: dict[str, float] = {}
        self.data_state = DataState(max_bars=max_bars)
        self.indicator_state = IndicatorState()
        self.strategy_state = StrategyState()
        self.execution_stats = ExecutionStats()
        self.candles: Channel[NewCandleEvent] = Channel("candles", 256)
        self.features: Channel[IndicatorsCalculatedEvent] = Channel("features", 256)
        self.signals: Channel[SignalMessage] = Channel("signals", 1024)
        self.bindings = bind_strategies(
            config.strategies, self.indicators.value_names, base_dir=config_dir
        )
        self.supervisor = self._build_supervisor()
        self._driver_task: asyncio.Task[None] | None = None
        self._stop_requested = asyncio.Event()
        self._iterations = 0
        self.last_summary: RunSummary | None = None
        self.error: BaseException | None = None

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: SystemConfig, **kwargs: Any) -> TradingOrchestrator:
        """An engine for ``config`` (keyword arguments as for the constructor)."""
        return cls(config, **kwargs)

    @classmethod
    def from_config_file(cls, config_path: str | Path, **kwargs: Any) -> TradingOrchestrator:
        """An engine for the YAML file at ``config_path`` (environment overrides applied)."""
        kwargs.setdefault("config_dir", Path(config_path).parent)
        return cls(ConfigLoader.load(config_path), **kwargs)

    def _build_supervisor(self) -> Supervisor:
        cfg = self.config
        services = cfg.services
        factories: dict[str, Callable[[], Service]] = {
            "data_fetching": lambda: DataFetchingService(
                port=self.port,
                streams=self.streams,
                config=services.data_fetching,
                candles=self.candles.sender,
                hub=self.hub,
                state=self.data_state,
                clock=self.clock,
            ),
            "indicator_calculation": lambda: IndicatorCalculationService(
                history=ClosedHistory(self.port),
                streams=self.streams,
                config=services.indicator_calculation,
                indicators=self.indicators,
                warmup_bars=self.warmup_bars,
                candles=self.candles.consumer(),
                features=self.features.sender,
                hub=self.hub,
                state=self.indicator_state,
                clock=self.clock,
            ),
            "strategy_evaluation": lambda: StrategyEvaluationService(
                bindings=self.bindings,
                config=services.strategy_evaluation,
                features=self.features.consumer(),
                signals=self.signals.sender,
                positions=self.portfolio,
                hub=self.hub,
                state=self.strategy_state,
                clock=self.clock,
            ),
            "trade_execution": lambda: TradeExecutionService(
                trader=self._trader(),
                config=services.trade_execution,
                signals=self.signals.consumer(),
                clock=self.clock,
            ),
        }
        enabled = set(cfg.enabled_services())
        # A disabled stage is replaced by a drain of its input channel: otherwise the channel
        # fills (256 or 1,024 messages) and the whole pipeline before it stalls for good.
        ends: dict[str, tuple[Receiver[Any], Sender[Any] | None]] = {
            "indicator_calculation": (self.candles.receiver, self.features.sender),
            "strategy_evaluation": (self.features.receiver, self.signals.sender),
            "trade_execution": (self.signals.receiver, None),
        }
        # Progress of a stage: messages taken from its input (bars emitted for the first stage).
        progress: dict[str, Callable[[], int]] = {
            "data_fetching": lambda: self.data_state.emitted,
            "indicator_calculation": lambda: self.candles.stats().received,
            "strategy_evaluation": lambda: self.features.stats().received,
            "trade_execution": lambda: self.signals.stats().received,
        }
        children: list[ChildSpec] = []
        for name in SERVICE_ORDER:
            if name in enabled:
                children.append(
                    ChildSpec(name, factories[name], restart="transient", progress=progress[name])
                )
            elif name in ends:
                inbox, outbox = ends[name]
                drain = f"{name}_disabled"
                children.append(
                    ChildSpec(
                        drain,
                        functools.partial(_Drain, drain, inbox, outbox, self.clock),
                        restart="transient",
                    )
                )
        sup = cfg.supervisor
        return Supervisor(
            "pipeline",
            children,
            strategy="rest_for_one",
            intensity=sup.intensity if cfg.orchestrator.enable_auto_restart else 0,
            period=sup.period,
            backoff=Backoff(sup.backoff_base, sup.backoff_cap),
            stable_window=sup.stable_window,
            max_stalled_crashes=sup.max_stalled_crashes,
            # a journal that cannot be written halts trading; a terminal gone for good ends it
            fatal=(FatalError, JournalError, TerminalUnreachable),
            clock=self.clock,
            rng=self._rng,
        )

    def trader(self) -> Trader:
        """A ``Trader`` over the engine's port, journal, portfolio, risk and counters."""
        return self._trader()

    def _trader(self) -> Trader:
        if self.journal_writer is None:
            raise ServiceStateError("the journal is not open (start the orchestrator first)")
        return Trader(
            port=self.port,
            journal=self.journal_writer,
            portfolio=self.portfolio,
            risk=self.risk,
            trading=self.config.trading,
            hub=self.hub,
            stats=self.execution_stats,
            clock=self.clock,
            rng=self._rng,
            max_signal_age_bars=self.config.services.trade_execution.max_signal_age_bars,
        )

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, open the journal, start the services in order; ready after reconciliation."""
        if self.status is not OrchestratorStatus.INITIALIZING:
            raise ServiceStateError(f"the orchestrator cannot start: it is {self.status.value}")
        try:
            if isinstance(self.clock, SimClock):
                self._driver_task = asyncio.create_task(
                    SimClockDriver(self.clock).run(), name="sim-clock-driver"
                )
            self.open_journal()
            await self.port.connect()
            await self.check_journal_matches_terminal()
            await self.supervisor.start()
            if self.error is not None:  # the journal failed during the start-up reconciliation
                raise self.error
            await self._read_account()
        except BaseException as exc:
            self.status = OrchestratorStatus.ERROR
            self.error = exc
            await self._release()
            raise
        self.status = OrchestratorStatus.RUNNING
        logger.info(
            "engine running: {} streams, strategies {}",
            len(self.streams),
            [b.strategy.name for b in self.bindings],
        )

    def open_journal(self) -> Journal:
        """Open the journal and its writer (a thread unless ``journal_thread=False``) and
        subscribe it to the trading events (unless ``journal_events=False``: a journal nobody
        reads events from) (part of ``start()``; the synchronous backtest calls it directly,
        with ``journal_thread=False``)."""
        journal = self.config.journal
        self.journal = Journal.open(journal.path, durable_orders=journal.durable_orders)
        if load_risk(self.journal, self.risk):
            logger.info("risk state restored from the journal: {}", self.risk.state)
        self.journal_writer = JournalWriter(
            self.journal,
            on_error=self._journal_failed,
            hold=self.clock.hold if isinstance(self.clock, SimClock) else None,
            thread=self._journal_thread,
        )
        if self._journal_events:
            for kind in JOURNALED_EVENTS:
                self.hub.subscribe(self._journal_event, kind)
        return self.journal

    def _journal_event(self, event: Any) -> None:
        """Write a trading event to the journal's events table (bounded by the journal)."""
        writer = self.journal_writer
        if writer is not None and not writer.closed and writer.error is None:
            kind = type(event)
            names = _FIELD_NAMES.get(kind)
            if names is None:
                names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(event))
            payload = {name: getattr(event, name) for name in names}
            writer.record_event(kind.__name__, event.correlation_id, payload, event.timestamp)

    def _journal_failed(self, error: JournalError) -> None:
        """A journal write failed (in the writer's thread): the engine halts with that error."""
        logger.error("journal write failed; stopping: {}", error)
        if self.error is None:
            self.error = error
        self.status = OrchestratorStatus.ERROR
        self._stop_requested.set()

    async def check_journal_matches_terminal(self) -> None:
        """Refuse a journal and a simulated account that do not belong together.

        A stored account is bound to the first journal that traded on it (the journal keeps the
        account's id): another account is refused, and so is a journal with fills whose account
        is gone (a new account file, or a simulator that keeps no file and has no trade).
        """
        if self.config.terminal.kind != "sim" or self.journal is None:
            return
        journal = self.journal
        store = getattr(self.terminal, "store", None)
        account_id = getattr(store, "account_id", None)
        account_file = getattr(store, "path", None)
        bound = journal.get_state(_ACCOUNT_STATE_KEY)
        has_fills = any(row.filled_volume > 0 for row in journal.orders())
        fix = (
            "run with --fresh to start a new account and a new journal, or set journal.path "
            "and terminal.sim.account_path to a pair that belongs together"
        )
        if bound is not None and bound.decode() != account_id:
            held = f"the file holds {account_id[:8]}" if account_id else "no account file is used"
            raise JournalError(
                f"{journal.path}: this journal belongs to another simulated account than "
                f"{account_file or 'this one'} (account {bound.decode()[:8]}, {held}): {fix}"
            )
        if bound is None and has_fills:
            deals = await self.port.history_deals_get(0, 2**31 - 1)
            if account_id is not None or not any(int(d.type) in (0, 1) for d in deals):
                raise JournalError(
                    f"{journal.path}: this journal holds the fills of a simulated account "
                    f"that is not {f'the one in {account_file}' if account_file else 'this one'} "
                    f"(the simulator keeps no file without terminal.sim.persist): {fix}"
                )
        if account_id is not None and bound is None:
            journal.put_state(_ACCOUNT_STATE_KEY, account_id.encode(), updated_at=self.clock.time())

    async def stop(self) -> None:
        """Stop the services in reverse order, flush the journal, disconnect. Idempotent."""
        if self.status in (OrchestratorStatus.STOPPED, OrchestratorStatus.INITIALIZING):
            self.status = OrchestratorStatus.STOPPED
            return
        failed = self.status is OrchestratorStatus.ERROR
        self.status = OrchestratorStatus.STOPPING
        self._stop_requested.set()
        if self.config.trading.flatten_on_stop and self.journal is not None and self.portfolio:
            try:
                await self._trader().flatten()
            except Exception as exc:
                logger.error("flatten on stop failed: {!r}", exc)
        await self.supervisor.stop()
        await self._save_final_risk()
        await self._release()
        self.status = OrchestratorStatus.ERROR if failed else OrchestratorStatus.STOPPED
        logger.info("engine stopped ({})", self.status.value)

    async def _save_final_risk(self) -> None:
        """Record the account as the run leaves it in the risk state (``risk status`` shows
        it; the rules would see it at the next start's first entry anyway)."""
        if self.journal is None or self.journal.closed:
            return
        try:
            account = await self.port.account_info()
            tick = await self.port.symbol_info_tick(self.config.trading.symbols[0])
            if tick is None or not tick.time:
                return
            self.risk.on_account(float(account.equity), float(account.balance), float(tick.time))
            save_risk(self.journal_writer or self.journal, self.risk, self.clock.time())
        except Exception as exc:  # the terminal may be gone: the last saved state stays
            logger.debug("final risk state not saved: {!r}", exc)

    async def _release(self) -> None:
        await self.hub.close()
        with contextlib.suppress(Exception):
            await self.port.close()
        if self.journal_writer is not None and not self.journal_writer.closed:
            try:
                self.journal_writer.close()  # commits what is queued
            except JournalError as exc:
                logger.error("journal writes lost at stop: {}", exc)
        if self.journal is not None and not self.journal.closed:
            self.journal.flush()
            self.journal.close()
        if self._driver_task is not None:
            self._driver_task.cancel()
            await asyncio.gather(self._driver_task, return_exceptions=True)
            self._driver_task = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- running --------------------------------------------------------------------------------

    async def run(self, max_iterations: int | None = None) -> RunSummary:
        """Watch the engine until ``max_iterations`` health checks (of this call), ``stop()``, the
        end of the bar budget, or a failure (raised, with the status ERROR). Returns the run's
        summary. Returning after ``max_iterations`` leaves the engine running: ``run()`` may be
        called again."""
        if self.status is not OrchestratorStatus.RUNNING:
            raise ServiceStateError(f"the orchestrator is not running ({self.status.value})")
        loop = asyncio.get_running_loop()
        # ``wait()`` only observes: cancelling it when run() returns leaves the pipeline running.
        pipeline = asyncio.ensure_future(self.supervisor.wait())
        stop = asyncio.ensure_future(self._stop_requested.wait())
        done: asyncio.Future[None] = loop.create_future()

        def finish(_: object = None) -> None:
            if not done.done():
                done.set_result(None)

        pipeline.add_done_callback(finish)
        stop.add_done_callback(finish)
        # One task for every health check (not a timer task and an ``asyncio.wait`` per check:
        # with a check a simulated minute, that cost as much as the pipeline's own bar).
        ticker = asyncio.ensure_future(self._health_checks(max_iterations, done))
        ticker.add_done_callback(finish)
        try:
            await done
            ended = pipeline.done()
        finally:  # no health check moves past the end of the run (nor the clock, to its wake)
            for waiter in (pipeline, stop, ticker):
                waiter.cancel()
            await asyncio.gather(pipeline, stop, ticker, return_exceptions=True)
        if ended:
            error = self.supervisor.error
            if error is not None:
                self.status = OrchestratorStatus.ERROR
                self.error = error
        elif ticker.done() and not ticker.cancelled():
            ticker.result()  # a health check that raised: raised here
        await self._flush_journal()
        self.last_summary = await self.summary()
        if self.error is not None and self.status is OrchestratorStatus.ERROR:
            raise self.error
        return self.last_summary

    async def _health_checks(self, limit: int | None, done: asyncio.Future[None]) -> None:
        """Every ``health_check_interval`` seconds of the engine's clock: check the services,
        read the account, log the status line every ``status_log_interval`` checks; return
        after ``limit`` checks, or once ``done`` (the run is over)."""
        orchestrator = self.config.orchestrator
        iterations = 0
        while True:
            await self.clock.sleep(orchestrator.health_check_interval)
            if done.done():
                return
            iterations += 1
            self._iterations += 1
            self._check_health()
            await self._read_account()
            if self._iterations % orchestrator.status_log_interval == 0:
                logger.info("status: {}", self.status_line())
            if limit is not None and iterations >= limit:
                return

    async def _flush_journal(self) -> None:
        """Wait until the writer's thread has committed what the run queued: whoever reads the
        journal once ``run()`` returns (a backtest's result: the last position stopped out, its
        strategy and stops) reads it all. A failed journal has stopped the run already."""
        writer = self.journal_writer
        if writer is not None and not writer.closed and writer.error is None:
            with contextlib.suppress(JournalError):
                await writer.flush()

    def request_stop(self) -> None:
        """Ask ``run()`` to return (thread-unsafe; call from the loop, e.g. a signal handler)."""
        self._stop_requested.set()

    async def restart_service(self, service_name: str) -> None:
        """Stop one service and start a fresh instance of it now (no backoff, no budget).

        Only that service restarts: the channels, and the state that outlives a restart
        (validators, indicator sets, portfolio, counters), belong to the engine, so the stages
        around it carry on and the new instance resumes where the old one stopped. (A *crash*
        is different: the supervisor then restarts the stage and the ones after it.)
        """
        await self.supervisor.restart_child(service_name)

    def service(self, name: str) -> Service:
        """The current instance of a service."""
        return self.supervisor.child(name)

    # -- observation ----------------------------------------------------------------------------

    def _check_health(self) -> None:
        for name, info in self.supervisor.unhealthy().items():
            logger.warning("service {} is not healthy: {}", name, info)

    async def _read_account(self) -> None:
        """Remember balance and equity for the metrics (a failed read keeps the last ones)."""
        try:
            account = await self.port.account_info()
        except Exception as exc:  # the port logs and reconnects; metrics must not stop the run
            logger.debug("account read for the metrics failed: {!r}", exc)
            return
        self.account = {"balance": float(account.balance), "equity": float(account.equity)}

    def readiness(self) -> dict[str, Any]:
        """The checks of ``/readyz``: running, reconciled with the terminal, terminal connected,
        risk not HALTED (booleans), with the risk state and port state as details."""
        execution = self.execution_stats
        return {
            "running": self.status is OrchestratorStatus.RUNNING,
            "reconciled": execution.reconciliations > 0,
            "terminal_connected": self.port.health()["healthy"],
            "not_halted": self.risk.state is not RiskState.HALTED,
            "risk_state": str(self.risk.state),
            "terminal_state": str(self.port.state),
        }

    def get_service_health(self) -> dict[str, bool]:
        """Each service: True when RUNNING (DEGRADED, restarting or failed: False)."""
        report = self.supervisor.health().get("children", {})
        return {name: info.get("state") == "running" for name, info in report.items()}

    def get_service_metrics(self) -> dict[str, dict[str, Any]]:
        """Each started service's metrics (none before ``start()``; disabled ones left out)."""
        out: dict[str, dict[str, Any]] = {}
        for name in SERVICE_ORDER:
            with contextlib.suppress(KeyError, ServiceStateError):
                out[name] = self.service(name).metrics()
        return out

    def get_all_metrics(self) -> dict[str, Any]:
        """Orchestrator, services, channels, supervisor, terminal port and events, in one dict."""
        return {
            "orchestrator": {
                "status": self.status.value,
                "iterations": self._iterations,
                "streams": len(self.streams),
                "open_positions": len(self.portfolio),
            },
            "services": self.get_service_metrics(),
            "channels": {
                ch.name: asdict(ch.stats()) for ch in (self.candles, self.features, self.signals)
            },
            "supervisor": self.supervisor.metrics(),
            "terminal": self.port.metrics(),
            "events": self.hub.metrics(),
            "account": dict(self.account),
            "risk": self.risk.stats(),
        }

    def status_line(self) -> str:
        """One line: bars, signals, orders, fills, open positions, realized P&L."""
        stats = self.execution_stats
        return (
            f"bars={self.data_state.emitted} signals={self.strategy_state.signals} "
            f"orders={stats.orders_sent} fills={stats.fills} blocked={stats.blocked} "
            f"open={len(self.portfolio)} realized={stats.realized_pnl:.2f} "
            f"risk={self.risk.state}"
        )

    async def summary(self) -> RunSummary:
        """The summary of the run so far (reads the account from the terminal)."""
        stats = self.execution_stats
        balance = equity = float("nan")
        with contextlib.suppress(Exception):
            account = await self.port.account_info()
            balance, equity = float(account.balance), float(account.equity)
        return RunSummary(
            bars=self.data_state.emitted,
            signals=self.strategy_state.signals,
            orders=stats.orders_sent,
            fills=stats.fills,
            rejected=stats.rejected,
            blocked=stats.blocked,
            open_positions=len(self.portfolio),
            closed_positions=stats.positions_closed,
            realized_pnl=round(stats.realized_pnl, 2),
            floating_pnl=round(equity - balance, 2),
            balance=balance,
            equity=equity,
            journal=str(self.config.journal.path),
        )

    # -- events -------------------------------------------------------------------------------

    def subscribe(self, event_type: type | None, handler: Observer) -> Callable[[], None]:
        """Call ``handler(event)`` for each event of ``event_type`` (None: every event)."""
        return self.hub.subscribe(handler, event_type)

    def unsubscribe(self, event_type: type | None, handler: Observer) -> None:
        """Stop calling ``handler`` for ``event_type`` (None: for every type)."""
        self.hub.unsubscribe(handler, event_type)

    def get_event_history(
        self, event_type: type | None = None, limit: int | None = None
    ) -> list[Any]:
        """The recorded events (bounded by ``event_bus.event_history_limit``), oldest first."""
        return self.hub.history(event_type, limit)


class _Drain(Service):
    """Stands in for a disabled stage: takes its input so that the stages before it never block
    on a full channel, and passes the end of the input on (``max_bars`` still ends the run)."""

    def __init__(
        self, name: str, inbox: Receiver[Any], outbox: Sender[Any] | None, clock: Clock
    ) -> None:
        super().__init__(name, clock=clock)
        self._inbox = inbox
        self._outbox = outbox
        self.drained = 0

    async def run(self) -> None:
        async for _ in self._inbox:
            self.drained += 1
        if self._outbox is not None:
            self._outbox.close()

    def metrics(self) -> dict[str, Any]:
        return {**super().metrics(), "drained": self.drained}


def _default_clock(config: SystemConfig) -> Clock:
    """The simulator (in process, or a sim-server following the engine's clock) runs in real time
    from its configured start (a resumed account: from where it stopped, plus the wall time
    since); a real terminal on wall time."""
    terminal = config.terminal
    if terminal.kind == "sim" or (terminal.kind == "mt5linux" and terminal.mt5linux.sim_clock):
        start = resumed_start(terminal, config.journal.path, follow_wall_clock=True)
        if start is None:
            start = terminal.sim.start.timestamp()
        return ScaledClock(start, speed=1.0)
    return LiveClock()
