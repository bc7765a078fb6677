"""The trading cycle end to end: the seed's scenarios on real services, channels and terminal.

No mocks: the four services run under the supervisor against the simulated MetaTrader 5 terminal
(``trading_engine.mt5sim``), on a ``SimClock`` driven by the orchestrator; the strategies are
small deterministic ones from ``strategies.py`` (loaded by file path, as a user's own).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from trading_engine.data.service import DataFetchingService
from trading_engine.errors import ServiceStateError
from trading_engine.events import (
    DataFetchedEvent,
    EntrySignalEvent,
    ExitSignalEvent,
    IndicatorsCalculatedEvent,
    NewCandleEvent,
    OrderFilledEvent,
    OrderPlacedEvent,
    PositionClosedEvent,
    RegimeChangedEvent,
    TradingBlockedEvent,
)
from trading_engine.execution.service import TradeExecutionService
from trading_engine.indicators.service import IndicatorCalculationService
from trading_engine.journal.store import Journal
from trading_engine.orchestrator import SERVICE_ORDER, OrchestratorStatus
from trading_engine.strategy.service import StrategyEvaluationService

from .conftest import MAGIC, check_books, engine, make_config, strategy, strategy_of

pytestmark = pytest.mark.timeout(60)


def regime(event: Any) -> bool:
    return isinstance(event, RegimeChangedEvent)


def scripted(journal: Path, **params: Any) -> Any:
    return make_config(journal, [strategy("script", "Scripted", **params)])


# -- initialisation, start and stop ---------------------------------------------------------------


async def test_orchestrator_initialization_builds_services_channels_and_strategies(
    tmp_path: Path,
) -> None:
    eng = engine(scripted(tmp_path / "j.db"))

    assert eng.status is OrchestratorStatus.INITIALIZING
    assert [b.strategy.name for b in eng.bindings] == ["script"]
    assert eng.streams == [("EURUSD", 1)]
    assert [(c.name, c.maxsize) for c in (eng.candles, eng.features, eng.signals)] == [
        ("candles", 256),
        ("features", 256),
        ("signals", 1024),
    ]
    health = eng.supervisor.health()
    assert list(health["children"]) == list(SERVICE_ORDER)
    assert {c["state"] for c in health["children"].values()} == {"not started"}
    assert eng.journal is None  # nothing is opened before start()
    with pytest.raises(ServiceStateError):
        await eng.run()

    async with eng:
        assert isinstance(eng.service("data_fetching"), DataFetchingService)
        assert isinstance(eng.service("indicator_calculation"), IndicatorCalculationService)
        assert isinstance(eng.service("strategy_evaluation"), StrategyEvaluationService)
        assert isinstance(eng.service("trade_execution"), TradeExecutionService)


async def test_orchestrator_start_is_ready_after_reconciliation_and_stop_releases_everything(
    tmp_path: Path,
) -> None:
    eng = engine(scripted(tmp_path / "j.db"))

    await eng.start()
    try:
        assert eng.status is OrchestratorStatus.RUNNING
        assert eng.get_service_health() == dict.fromkeys(SERVICE_ORDER, True)
        assert eng.execution_stats.reconciliations == 1  # reconciled before start() returned
        assert eng.data_state.emitted == 0  # no bar was fetched before every stage was ready
        assert eng.port.health()["healthy"] is True
        with pytest.raises(ServiceStateError):
            await eng.start()
    finally:
        await eng.stop()

    assert eng.status is OrchestratorStatus.STOPPED
    assert {s["state"] for s in eng.supervisor.health()["children"].values()} == {"stopped"}
    assert eng.journal is not None
    assert eng.journal.closed
    assert eng.port.health()["healthy"] is False
    await eng.stop()  # idempotent
    assert eng.status is OrchestratorStatus.STOPPED


# -- the flow of events -----------------------------------------------------------------------


async def test_complete_event_flow_carries_one_correlation_id_from_candle_to_fill(
    tmp_path: Path,
) -> None:
    eng = engine(scripted(tmp_path / "j.db", enter_at=[5], exit_at=[12]), max_bars=20)
    seen: list[Any] = []
    eng.subscribe(None, seen.append)

    async with eng:
        summary = await eng.run()

    assert summary.bars == 20
    assert summary.fills == 2
    assert summary.closed_positions == 1
    entry = next(e for e in seen if isinstance(e, EntrySignalEvent))
    chain = [e for e in seen if e.correlation_id == entry.correlation_id and not regime(e)]
    assert [type(e) for e in chain] == [
        NewCandleEvent,
        IndicatorsCalculatedEvent,
        EntrySignalEvent,
        OrderPlacedEvent,
        OrderFilledEvent,
    ]
    candle, calculated, _, placed, filled = chain
    assert calculated.candle is candle
    assert placed.client_id == filled.client_id
    assert filled.volume == pytest.approx(0.1)

    exit_signal = next(e for e in seen if isinstance(e, ExitSignalEvent))
    chain = [e for e in seen if e.correlation_id == exit_signal.correlation_id and not regime(e)]
    assert [type(e) for e in chain] == [
        NewCandleEvent,
        IndicatorsCalculatedEvent,
        ExitSignalEvent,
        OrderPlacedEvent,
        PositionClosedEvent,
    ]
    closed = chain[-1]
    assert closed.position_ticket == filled.position_ticket
    assert closed.reason == "bar 12"
    # one DataFetchedEvent per poll that brought bars, then its candles
    assert Counter(type(e) for e in seen)[DataFetchedEvent] == 20


async def test_data_to_indicators_every_candle_is_calculated_once_in_order(
    tmp_path: Path,
) -> None:
    eng = engine(scripted(tmp_path / "j.db"), max_bars=120)
    candles: list[NewCandleEvent] = []
    calculated: list[IndicatorsCalculatedEvent] = []
    eng.subscribe(NewCandleEvent, candles.append)
    eng.subscribe(IndicatorsCalculatedEvent, calculated.append)

    async with eng:
        await eng.run()

    assert len(candles) == 120
    assert [c.candle for c in calculated] == candles  # the same candles, in the same order
    times = [c.time for c in candles]
    assert all(b - a == 60 for a, b in itertools.pairwise(times))
    # the stream was warmed up from history: values are ready from the first live bar
    assert all(c.ready for c in calculated)
    assert calculated[0].bars == 301  # 300 warm-up bars, then the first candle
    assert calculated[-1].bars == 420
    assert all(abs(v) < 1e9 for c in calculated for v in c.values.values())
    assert eng.get_service_metrics()["indicator_calculation"]["duplicates"] == 0


async def test_indicators_to_strategy_each_snapshot_has_the_bar_values_and_regime(
    tmp_path: Path,
) -> None:
    cfg = make_config(tmp_path / "j.db", [strategy("rec", "Recorder")])
    eng = engine(cfg, max_bars=80)
    calculated: list[IndicatorsCalculatedEvent] = []
    eng.subscribe(IndicatorsCalculatedEvent, calculated.append)

    async with eng:
        await eng.run()

    snapshots = strategy_of(eng, "rec").snapshots  # type: ignore[attr-defined]
    assert len(snapshots) == len(calculated) == 80
    for snap, event in zip(snapshots, calculated, strict=True):
        candle = event.candle
        assert (snap.symbol, snap.timeframe, snap.time) == (candle.symbol, 1, candle.time)
        assert (snap.open, snap.high, snap.low, snap.close) == (
            candle.open,
            candle.high,
            candle.low,
            candle.close,
        )
        assert dict(snap.values) == event.values
        assert snap.regime == event.regime
        assert snap.bars == event.bars
        assert snap.position is None


async def test_strategy_to_execution_entry_signal_becomes_a_journaled_terminal_position(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "j.db"
    eng = engine(scripted(journal, enter_at=[5], sl_points=300, tp_points=600), max_bars=15)

    async with eng:
        await eng.run()
        script = strategy_of(eng, "script")
        open_now = dict(eng.portfolio.positions)
        live = eng.terminal.positions_get(ticket=next(iter(open_now), 0))

    assert len(open_now) == 1
    (ticket, position) = next(iter(open_now.items()))
    # the strategy saw its own position from the bar after the fill on
    assert script.positions[:5] == [None] * 5  # type: ignore[attr-defined]
    assert script.positions[5:] == [ticket] * 10  # type: ignore[attr-defined]
    assert live is not None
    assert len(live) == 1
    assert int(live[0].magic) == MAGIC
    assert float(live[0].volume) == pytest.approx(0.1)
    assert float(live[0].sl) == pytest.approx(position.sl, abs=1e-5)
    assert float(live[0].tp) == pytest.approx(position.tp, abs=1e-5)
    with Journal.open(journal) as j:
        (order,) = j.orders()
        (row,) = j.open_positions()
    assert order.state == "filled"
    assert order.strategy == "script"
    assert order.comment == live[0].comment
    assert row.ticket == ticket
    assert row.client_id == order.client_id
    check_books(journal, eng.terminal)


# -- health, metrics, iterations ----------------------------------------------------------------


async def test_service_health_monitoring_reports_running_and_degraded_services(
    tmp_path: Path,
) -> None:
    cfg = make_config(tmp_path / "j.db", [strategy("bug", "Raising", raise_at=[10])])
    eng = engine(cfg, max_bars=20)
    health_at: dict[int, dict[str, bool]] = {}
    details_at: dict[int, dict[str, Any]] = {}

    def probe(event: IndicatorsCalculatedEvent) -> None:
        n = len(health_at) + 1
        health_at[n] = eng.get_service_health()
        details_at[n] = eng.supervisor.health()["children"]["strategy_evaluation"]

    eng.subscribe(IndicatorsCalculatedEvent, probe)
    async with eng:
        await eng.run()
        after = eng.get_service_health()

    assert health_at[5] == dict.fromkeys(SERVICE_ORDER, True)
    # the strategy raised on bar 10: its service is DEGRADED from then on, the others healthy
    assert health_at[11] == {**dict.fromkeys(SERVICE_ORDER, True), "strategy_evaluation": False}
    assert details_at[11]["state"] == "degraded"
    assert details_at[11]["restarts"] == 0
    assert after == dict.fromkeys(SERVICE_ORDER, False)  # every stage ended with the bar budget


async def test_service_metrics_collection_counts_what_each_service_did(tmp_path: Path) -> None:
    eng = engine(scripted(tmp_path / "j.db", enter_at=[3, 6], exit_at=[9]), max_bars=30)

    async with eng:
        summary = await eng.run()
        metrics = eng.get_service_metrics()

    assert list(metrics) == list(SERVICE_ORDER)
    data = metrics["data_fetching"]
    assert data["bars_emitted"] == 30
    assert data["failed_polls_in_a_row"] == 0
    assert data["polls"] >= 30
    (stream,) = data["streams"]
    assert stream["accepted"] == 30
    assert stream["rejected"] == 0
    ind = metrics["indicator_calculation"]
    assert ind["streams"]["EURUSD:1"]["bars"] == 330
    strat = metrics["strategy_evaluation"]
    assert strat["evaluations"] == 30
    assert strat["signals"] == 3
    assert strat["errors"] == {}
    ex = metrics["trade_execution"]
    assert ex["signals"] == 3
    assert ex["orders_sent"] == 3
    assert ex["fills"] == 3
    assert ex["positions_closed"] == 1
    assert ex["open_positions"] == 1
    assert ex["reconciliations"] == 1
    assert ex["risk"]["state"] == "ACTIVE"
    assert summary.orders == 3
    assert summary.open_positions == 1


async def test_orchestrator_run_with_max_iterations_returns_after_that_many_health_checks(
    tmp_path: Path,
) -> None:
    cfg = make_config(
        tmp_path / "j.db",
        [strategy("script", "Scripted")],
        **{"orchestrator.health_check_interval": 120},
    )
    eng = engine(cfg, max_bars=None)  # no bar budget: only max_iterations ends run()

    async with eng:
        started = eng.clock.time()
        summary = await eng.run(max_iterations=5)
        assert eng.status is OrchestratorStatus.RUNNING  # run() returned; the engine runs on
        elapsed = eng.clock.time() - started
        assert eng.get_all_metrics()["orchestrator"]["iterations"] == 5
        again = await eng.run(max_iterations=1)  # counted per call
        assert eng.get_all_metrics()["orchestrator"]["iterations"] == 6

    assert elapsed == pytest.approx(600)  # five checks, 120 s of simulated time apart
    assert 9 <= summary.bars <= 10  # one bar a minute
    assert again.bars == summary.bars + 2  # one more check: two more minutes
    assert eng.status is OrchestratorStatus.STOPPED


# -- isolation, restarts, regimes --------------------------------------------------------------


async def test_error_isolation_between_services_a_failing_strategy_stops_nothing_else(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "j.db"
    cfg = make_config(
        journal,
        [
            strategy("bug", "Raising", raise_from=5),
            strategy("script", "Scripted", enter_at=[20], exit_at=[30]),
        ],
    )
    eng = engine(cfg, max_bars=40)

    async with eng:
        summary = await eng.run()
        metrics = eng.get_service_metrics()
        health = eng.supervisor.health()

    # the bad strategy raised from its 5th bar on and was disabled after ten errors in a row
    strat = metrics["strategy_evaluation"]
    assert strat["errors"] == {"bug": 10}
    assert strat["disabled"] == ["bug"]
    assert strategy_of(eng, "bug").calls == 14  # type: ignore[attr-defined]
    # every other stage and strategy went on: all bars, all indicators, the other's trade
    assert summary.bars == 40
    assert metrics["indicator_calculation"]["streams"]["EURUSD:1"]["bars"] == 340
    assert strategy_of(eng, "script").seen == 40  # type: ignore[attr-defined]
    assert summary.fills == 2
    assert summary.closed_positions == 1
    assert health["restarts"] == 0  # isolated, not a crash
    assert health["children"]["strategy_evaluation"]["state"] == "stopped"
    check_books(journal, eng.terminal)


async def test_service_restart_replaces_the_instance_and_no_bar_is_lost_or_repeated(
    tmp_path: Path,
) -> None:
    eng = engine(scripted(tmp_path / "j.db", enter_at=[10], exit_at=[50]), max_bars=60)
    before: list[Any] = []
    restarted = asyncio.Event()

    async def restart_at_bar_25(event: IndicatorsCalculatedEvent) -> None:
        if event.bars == 325:
            before.append(eng.service("indicator_calculation"))
            await eng.restart_service("indicator_calculation")
            restarted.set()

    eng.subscribe(IndicatorsCalculatedEvent, restart_at_bar_25)
    async with eng:
        summary = await eng.run()
        after = eng.service("indicator_calculation")
        health = eng.supervisor.health()

    assert restarted.is_set()
    assert after is not before[0]
    assert health["children"]["indicator_calculation"]["restarts"] == 1
    script = strategy_of(eng, "script")
    times = script.times  # type: ignore[attr-defined]
    assert len(times) == 60
    assert len(set(times)) == 60
    assert all(b - a == 60 for a, b in itertools.pairwise(times))
    assert summary.fills == 2
    assert summary.closed_positions == 1


async def test_regime_change_detection_publishes_each_switch_of_the_classifier(
    tmp_path: Path,
) -> None:
    eng = engine(scripted(tmp_path / "j.db"), max_bars=300)
    changes: list[RegimeChangedEvent] = []
    calculated: list[IndicatorsCalculatedEvent] = []
    eng.subscribe(RegimeChangedEvent, changes.append)
    eng.subscribe(IndicatorsCalculatedEvent, calculated.append)

    async with eng:
        await eng.run()
        metrics = eng.get_service_metrics()["indicator_calculation"]

    regimes = [c.regime for c in calculated]
    switches = [
        (c.candle.time, prev, c.regime)
        for prev, c in zip(regimes, calculated[1:], strict=False)
        if c.regime != prev
    ]
    assert len(switches) >= 2, "the run should see the regime change"
    assert [(e.time, e.previous, e.current) for e in changes][-len(switches) :] == switches
    assert len(changes) in (len(switches), len(switches) + 1)  # + the first bar after warm-up
    assert metrics["regime_changes"] == len(changes)
    assert all(e.previous != e.current for e in changes)
    by_id = {c.correlation_id: c for c in calculated}
    assert all(by_id[e.correlation_id].regime == e.current for e in changes)


async def test_regime_changes_are_counted_but_not_published_when_tracking_is_off(
    tmp_path: Path,
) -> None:
    cfg = make_config(
        tmp_path / "j.db",
        [strategy("script", "Scripted")],
        **{"services.indicator_calculation.track_regime_changes": False},
    )
    eng = engine(cfg, max_bars=300)
    changes: list[RegimeChangedEvent] = []
    eng.subscribe(RegimeChangedEvent, changes.append)

    async with eng:
        await eng.run()

    assert changes == []
    assert eng.get_service_metrics()["indicator_calculation"]["regime_changes"] >= 2


# -- risk: authorised and blocked -------------------------------------------------------------


async def test_trading_authorized_entry_passes_risk_and_is_filled(tmp_path: Path) -> None:
    eng = engine(scripted(tmp_path / "j.db", enter_at=[4], volume=0.5), max_bars=8)
    blocked: list[TradingBlockedEvent] = []
    filled: list[OrderFilledEvent] = []
    eng.subscribe(TradingBlockedEvent, blocked.append)
    eng.subscribe(OrderFilledEvent, filled.append)

    async with eng:
        await eng.run()
        risk = eng.risk.stats()

    assert blocked == []
    assert len(filled) == 1
    assert filled[0].volume == pytest.approx(0.5)
    assert risk["state"] == "ACTIVE"
    assert risk["equity"] == pytest.approx(10_000.0)


async def test_trading_blocked_when_max_positions_is_reached(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    cfg = make_config(
        journal,
        [strategy("script", "Scripted", enter_at=[3, 6, 9])],
        **{"risk.max_positions": 2},
    )
    eng = engine(cfg, max_bars=12)
    blocked: list[TradingBlockedEvent] = []
    eng.subscribe(TradingBlockedEvent, blocked.append)

    async with eng:
        summary = await eng.run()

    assert summary.fills == 2
    assert summary.blocked == 1
    assert summary.open_positions == 2
    (event,) = blocked
    assert event.rule == "max_positions"
    assert event.symbol == "EURUSD"
    assert "2 positions open, the limit is 2" in event.reason
    assert event.state == "ACTIVE"
    with Journal.open(journal) as j:
        assert len(j.orders()) == 2  # a blocked entry is never journaled nor sent
    check_books(journal, eng.terminal)


async def test_trading_blocked_when_an_entry_is_above_the_position_size_limit(
    tmp_path: Path,
) -> None:
    cfg = make_config(
        tmp_path / "j.db",
        [strategy("script", "Scripted", enter_at=[3], volume=5.0)],
        **{"risk.max_position_size": 1.0},
    )
    eng = engine(cfg, max_bars=5)
    filled: list[OrderFilledEvent] = []
    eng.subscribe(OrderFilledEvent, filled.append)

    async with eng:
        await eng.run()

    # sizing caps a requested volume at the limit (the limit is never exceeded)
    assert [f.volume for f in filled] == [pytest.approx(1.0)]


# -- metrics and events -------------------------------------------------------------------------


async def test_all_metrics_aggregated_orchestrator_services_channels_supervisor_terminal(
    tmp_path: Path,
) -> None:
    eng = engine(scripted(tmp_path / "j.db", enter_at=[3], exit_at=[7]), max_bars=10)

    async with eng:
        await eng.run()
        everything = eng.get_all_metrics()

    assert set(everything) == {
        "orchestrator",
        "services",
        "channels",
        "supervisor",
        "terminal",
        "events",
        "account",
        "risk",
    }
    assert everything["orchestrator"]["status"] == "running"
    assert everything["orchestrator"]["open_positions"] == 0
    assert list(everything["services"]) == list(SERVICE_ORDER)
    channels = everything["channels"]
    assert channels["candles"]["sent"] == 10 == channels["features"]["sent"]
    assert channels["signals"]["sent"] == 10 + 2  # each candle, and the two signals
    for stats in channels.values():
        assert stats["sent"] == stats["received"]
        assert stats["dropped"] == 0
        assert stats["closed"] is True
    assert set(everything["supervisor"]["children"]) == set(SERVICE_ORDER)
    assert everything["terminal"]["calls"] > 10
    published = everything["events"]["published"]
    assert published["NewCandleEvent"] == 10
    assert published["OrderFilledEvent"] == 1
    assert published["PositionClosedEvent"] == 1


async def test_event_history_is_bounded_ordered_and_filterable(tmp_path: Path) -> None:
    cfg = make_config(
        tmp_path / "j.db",
        [strategy("script", "Scripted", enter_at=[3])],
        **{"event_bus.event_history_limit": 50},
    )
    eng = engine(cfg, max_bars=40)
    everything: list[Any] = []
    eng.subscribe(None, everything.append)

    async with eng:
        await eng.run()

    history = eng.get_event_history()
    assert len(everything) > 50
    assert history == everything[-50:]  # the newest 50, oldest first
    candles = eng.get_event_history(NewCandleEvent)
    assert candles == [e for e in everything[-50:] if isinstance(e, NewCandleEvent)]
    assert eng.get_event_history(NewCandleEvent, limit=3) == candles[-3:]
    assert eng.get_event_history(EntrySignalEvent) == []  # bar 3's signal is long gone
    assert eng.get_all_metrics()["events"]["history"] == 50


async def test_subscription_management_unsubscribe_stops_delivery(tmp_path: Path) -> None:
    eng = engine(scripted(tmp_path / "j.db"), max_bars=30)
    got: list[int] = []
    every: list[int] = []

    def first_ten(event: NewCandleEvent) -> None:
        got.append(event.time)
        if len(got) == 10:
            eng.unsubscribe(NewCandleEvent, first_ten)

    def count(event: Any) -> None:
        every.append(1)

    eng.subscribe(NewCandleEvent, first_ten)
    stop_counting = eng.subscribe(None, count)
    async with eng:
        await eng.run(max_iterations=5)  # five health checks, a minute apart
        counted = len(every)
        stop_counting()
        await eng.run()

    assert len(got) == 10
    assert counted > 0
    assert len(every) == counted
    assert eng.data_state.emitted == 30


async def test_multiple_subscribers_each_receive_every_event(tmp_path: Path) -> None:
    eng = engine(scripted(tmp_path / "j.db", enter_at=[2]), max_bars=15)
    a: list[NewCandleEvent] = []
    b: list[NewCandleEvent] = []
    c: list[NewCandleEvent] = []
    fills: list[OrderFilledEvent] = []

    async def coroutine_observer(event: NewCandleEvent) -> None:
        await asyncio.sleep(0)
        c.append(event)

    eng.subscribe(NewCandleEvent, a.append)
    eng.subscribe(NewCandleEvent, b.append)
    eng.subscribe(NewCandleEvent, coroutine_observer)
    eng.subscribe(OrderFilledEvent, fills.append)

    async with eng:
        await eng.run()

    assert len(a) == 15
    assert a == b
    assert sorted(e.time for e in c) == [e.time for e in a]
    assert len(fills) == 1


async def test_error_in_handler_does_not_stop_other_handlers_or_the_pipeline(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "j.db"
    eng = engine(scripted(journal, enter_at=[5], exit_at=[10]), max_bars=15)
    before: list[NewCandleEvent] = []
    after: list[NewCandleEvent] = []
    fills: list[OrderFilledEvent] = []

    def broken(event: Any) -> None:
        raise RuntimeError("observer bug")

    async def broken_coroutine(event: Any) -> None:
        raise ValueError("async observer bug")

    eng.subscribe(NewCandleEvent, before.append)
    eng.subscribe(NewCandleEvent, broken)
    eng.subscribe(OrderFilledEvent, broken_coroutine)
    eng.subscribe(NewCandleEvent, after.append)
    eng.subscribe(OrderFilledEvent, fills.append)

    async with eng:
        summary = await eng.run()
        errors = eng.get_all_metrics()["events"]["observer_errors"]

    assert len(before) == len(after) == 15
    assert len(fills) == 1
    assert summary.closed_positions == 1
    assert errors == 15 + 1
    assert eng.get_service_health() == dict.fromkeys(SERVICE_ORDER, False)  # ended normally
    assert eng.supervisor.health()["restarts"] == 0
    check_books(journal, eng.terminal)


async def test_bar_timed_polls_take_about_one_poll_per_bar(tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "j.db", [strategy("rec", "Recorder")])
    eng = engine(cfg, max_bars=120)
    async with eng:
        await eng.run()
        polls = eng.service("data_fetching").metrics()["polls"]
    # 120 bars: one poll per minute boundary, plus a retry 5 s later where the minute's first
    # tick (about 30 a minute here) came after the 1 s close delay; fixed-interval polling every
    # 5 s took 12 polls per bar
    assert 120 <= polls <= 120 * 3
