"""Configuration that changes the pipeline's behaviour, end to end on the simulator: stops, netting,
batch execution, several streams, auto-restart off, flatten on stop."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from trading_engine.errors import ServiceStateError, SupervisorGaveUp, TerminalConnectionError
from trading_engine.events import (
    EntrySignalEvent,
    ExitSignalEvent,
    IndicatorsCalculatedEvent,
    NewCandleEvent,
    OrderFilledEvent,
    OrderPlacedEvent,
    OrderRejectedEvent,
    PositionClosedEvent,
)
from trading_engine.journal.store import Journal
from trading_engine.orchestrator import OrchestratorStatus

from .conftest import check_books, collect, engine, make_config, strategy, strategy_of

pytestmark = pytest.mark.timeout(60)


async def test_stop_loss_hit_on_the_terminal_is_booked_with_its_reason(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    cfg = make_config(
        journal, [strategy("script", "Scripted", enter_at=[3], sl_points=30, tp_points=3000)]
    )
    eng = engine(cfg, max_bars=120)
    closed = collect(eng, PositionClosedEvent)

    async with eng:
        summary = await eng.run()

    (event,) = closed
    assert event.reason == "sl"
    assert event.profit < 0
    assert summary.open_positions == 0
    with Journal.open(journal) as j:
        (row,) = j.closed_positions()
    assert row.close_reason == "sl"
    check_books(journal, eng.terminal)


async def test_netting_account_adds_to_one_position_and_one_exit_closes_it(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "j.db"
    cfg = make_config(
        journal,
        [strategy("script", "Scripted", enter_at=[3, 6], exit_at=[10])],
        **{"terminal.sim.account_mode": "netting"},
    )
    eng = engine(cfg, max_bars=15)
    events = collect(eng, OrderFilledEvent, PositionClosedEvent)
    volumes: list[float] = []
    eng.subscribe(
        IndicatorsCalculatedEvent,
        lambda e: volumes.extend(p.volume for p in eng.portfolio.positions.values()),
    )

    async with eng:
        summary = await eng.run()
        live = eng.terminal.positions_get()

    assert live == ()
    assert summary.open_positions == 0
    assert pytest.approx(0.2) in volumes  # the second entry added to the one position
    closes = [e for e in events if isinstance(e, PositionClosedEvent)]
    assert len(closes) == 1
    assert closes[0].volume == pytest.approx(0.2)
    check_books(journal, eng.terminal)


async def test_batch_execution_sends_exits_before_entries_of_the_same_bar(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "j.db"
    cfg = make_config(
        journal,
        [
            strategy("opener", "Scripted", enter_at=[8]),
            strategy("closer", "Scripted", enter_at=[3], exit_at=[8]),
        ],
        **{
            "services.trade_execution.execution_mode": "batch",
            "services.trade_execution.batch_size": 10,
            "risk.max_positions": 1,
        },
    )
    eng = engine(cfg, max_bars=10)
    events = collect(eng, EntrySignalEvent, ExitSignalEvent, OrderPlacedEvent)

    async with eng:
        summary = await eng.run()

    # bar 8: the entry signal came first, the exit second; the exit was executed first and
    # freed the one position the limit allows, so the entry went through
    kinds = [type(e).__name__ for e in events]
    assert kinds[-4:] == [
        "EntrySignalEvent",
        "ExitSignalEvent",
        "OrderPlacedEvent",
        "OrderPlacedEvent",
    ]
    assert summary.blocked == 0
    assert summary.fills == 3
    assert {p.strategy for p in eng.portfolio.positions.values()} == {"opener"}
    check_books(journal, eng.terminal)


async def test_several_symbols_and_timeframes_run_as_separate_streams(tmp_path: Path) -> None:
    cfg = make_config(
        tmp_path / "j.db",
        [strategy("rec", "Recorder")],
        **{"trading.symbols": ["EURUSD", "GBPUSD"], "trading.timeframes": ["M1", "M5"]},
    )
    eng = engine(cfg, max_bars=60)
    calculated = collect(eng, IndicatorsCalculatedEvent)

    async with eng:
        await eng.run()
        metrics = eng.get_service_metrics()

    streams = {(e.candle.symbol, e.candle.timeframe) for e in calculated}
    assert streams == {("EURUSD", 1), ("EURUSD", 5), ("GBPUSD", 1), ("GBPUSD", 5)}
    for stream in streams:
        times = [
            e.candle.time for e in calculated if (e.candle.symbol, e.candle.timeframe) == stream
        ]
        step = 60 * stream[1]
        assert all(b - a == step for a, b in itertools.pairwise(times)), stream
    snapshots = strategy_of(eng, "rec").snapshots  # type: ignore[attr-defined]
    assert len(snapshots) == 60
    assert set(metrics["indicator_calculation"]["streams"]) == {
        "EURUSD:1",
        "EURUSD:5",
        "GBPUSD:1",
        "GBPUSD:5",
    }


async def test_without_auto_restart_a_crash_stops_the_engine_in_error(tmp_path: Path) -> None:
    cfg = make_config(
        tmp_path / "j.db",
        [strategy("crasher", "CrashesServiceOnce", crash_at=5)],
        **{"orchestrator.enable_auto_restart": False},
    )
    eng = engine(cfg, max_bars=20)

    async with eng:
        with pytest.raises(SupervisorGaveUp):
            await eng.run()
        assert eng.status is OrchestratorStatus.ERROR

    assert eng.status is OrchestratorStatus.ERROR
    assert eng.journal is not None
    assert eng.journal.closed


async def test_flatten_on_stop_closes_the_engines_positions(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    cfg = make_config(
        journal,
        [strategy("script", "Scripted", enter_at=[3, 4])],
        **{"trading.flatten_on_stop": True},
    )
    eng = engine(cfg, max_bars=6)
    closed = collect(eng, PositionClosedEvent)

    async with eng:
        summary = await eng.run()
        assert summary.open_positions == 2

    assert len(closed) == 2
    assert {e.reason for e in closed} == {"flatten on stop"}
    with Journal.open(journal) as j:
        assert j.open_positions() == []
    check_books(journal, eng.terminal)


async def test_disabled_trade_execution_computes_signals_without_trading_or_stalling(
    tmp_path: Path,
) -> None:
    cfg = make_config(
        tmp_path / "j.db",
        [strategy("script", "Scripted", enter_at=[3, 600])],
        **{"services.trade_execution.enabled": False},
    )
    # more bars than the signals channel holds (1,024 messages: a candle per bar, and signals)
    eng = engine(cfg, max_bars=1_100)
    entries = collect(eng, EntrySignalEvent)
    assert eng.get_service_metrics() == {}  # nothing started yet

    async with eng:
        summary = await eng.run()
        health = eng.supervisor.health()["children"]
        live = eng.terminal.positions_get()

    assert summary.bars == 1_100
    assert len(entries) == 2
    assert summary.orders == 0
    assert live == ()
    assert "trade_execution" not in health
    assert health["trade_execution_disabled"]["state"] == "stopped"  # drained, then ended


async def test_disabled_indicator_stage_does_not_stall_the_data_stage(tmp_path: Path) -> None:
    cfg = make_config(
        tmp_path / "j.db",
        [strategy("rec", "Recorder")],
        **{"services.indicator_calculation.enabled": False},
    )
    eng = engine(cfg, max_bars=300)  # more than the candles channel holds (256)

    async with eng:
        summary = await eng.run()

    assert summary.bars == 300
    assert strategy_of(eng, "rec").snapshots == []  # type: ignore[attr-defined]
    assert eng.get_all_metrics()["channels"]["candles"]["received"] == 300


async def test_crash_loop_exhausts_the_restart_budget_and_the_engine_stops_in_error(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "j.db"
    cfg = make_config(
        journal,
        [
            strategy("script", "Scripted", enter_at=[2]),
            strategy("crasher", "CrashesServiceOnce", crash_at=5, always=True),
        ],
        **{"supervisor.intensity": 3, "supervisor.period": 600.0},
    )
    eng = engine(cfg, max_bars=100)

    async with eng:
        with pytest.raises(SupervisorGaveUp) as raised:
            await eng.run()
        health = eng.supervisor.health()

    assert "unexpected failure" in repr(raised.value.__cause__ or raised.value)
    assert health["children"]["strategy_evaluation"]["restarts"] == 3  # the budget, then no more
    assert eng.status is OrchestratorStatus.ERROR
    assert eng.data_state.emitted < 100  # it did not run on to the end of the budget
    # the position opened before the crashes is kept (no flatten) and booked
    with Journal.open(journal) as j:
        assert len(j.open_positions()) == 1
    check_books(journal, eng.terminal)


async def test_a_crash_on_every_bar_gives_up_even_within_the_budget_per_period(
    tmp_path: Path,
) -> None:
    """F6: one crash per M1 bar never exceeds 5 restarts per 60 s (each life lasts a bar, long
    enough to reset the backoff), so only the crashes in a row without progress can end it."""
    journal = tmp_path / "j.db"
    cfg = make_config(journal, [strategy("crasher", "CrashesServiceOnce", crash_at=5, always=True)])
    assert (cfg.supervisor.intensity, cfg.supervisor.period) == (5, 60.0)
    assert cfg.supervisor.max_stalled_crashes == 10
    eng = engine(cfg, max_bars=100)

    async with eng:
        with pytest.raises(SupervisorGaveUp) as raised:
            await eng.run()
        health = eng.supervisor.health()

    assert "unexpected failure" in repr(raised.value.__cause__ or raised.value)
    # the first crash came after progress (4 good bars); at most 10 stalled ones are restarted
    # (the crashing bar is redelivered to the restarted stage, so the budget may end it sooner)
    assert 1 <= health["children"]["strategy_evaluation"]["restarts"] <= 11
    assert eng.status is OrchestratorStatus.ERROR
    assert eng.data_state.emitted < 30


async def test_start_failure_leaves_the_engine_in_error_with_everything_released(
    tmp_path: Path,
) -> None:
    cfg = make_config(tmp_path / "j.db", [strategy("script", "Scripted")])
    eng = engine(cfg)
    eng.terminal.faults.disconnect()  # the terminal never answers

    with pytest.raises(TerminalConnectionError):
        await eng.start()

    assert eng.status is OrchestratorStatus.ERROR
    assert eng.journal is not None
    assert eng.journal.closed
    with pytest.raises(ServiceStateError):
        await eng.run()
    await eng.stop()
    assert eng.status is OrchestratorStatus.ERROR


async def test_positions_of_other_robots_and_manual_trades_are_never_touched(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "j.db"
    cfg = make_config(
        journal,
        [strategy("script", "Scripted", enter_at=[3], exit_at=[6])],
        **{"trading.flatten_on_stop": True},
    )
    eng = engine(cfg, max_bars=8)
    assert eng.terminal.initialize()
    manual = eng.terminal.Buy("EURUSD", 0.3)  # a trade by hand, magic 0
    assert manual is not None
    assert manual.retcode == 10009

    async with eng:
        assert eng.portfolio.positions == {}  # not adopted
        summary = await eng.run()
    assert eng.terminal.initialize()
    live = eng.terminal.positions_get()

    assert summary.closed_positions == 1
    assert [(int(p.ticket), int(p.magic)) for p in live] == [(manual.order, 0)]
    check_books(journal, eng.terminal)


async def test_min_rows_required_holds_strategies_back_until_the_stream_has_enough_bars(
    tmp_path: Path,
) -> None:
    cfg = make_config(
        tmp_path / "j.db",
        [strategy("rec", "Recorder")],
        **{
            "services.strategy_evaluation.min_rows_required": 305,
            "services.indicator_calculation.recent_rows_limit": 4,
        },
    )
    eng = engine(cfg, max_bars=10)  # 300 warm-up bars, then 10 live ones
    calculated = collect(eng, IndicatorsCalculatedEvent)

    async with eng:
        await eng.run()
        recent = eng.service("indicator_calculation").recent("EURUSD", 1)  # type: ignore[attr-defined]

    snapshots = strategy_of(eng, "rec").snapshots  # type: ignore[attr-defined]
    assert [s.bars for s in snapshots] == list(range(305, 311))
    assert recent == calculated[-4:]


async def test_exit_of_a_position_its_stop_closed_during_the_bar_is_booked_not_rejected(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "j.db"
    # a tight stop is hit within the bar after the entry; the strategy, which saw the position
    # open at that bar's close, asks to exit it
    cfg = make_config(
        journal,
        [strategy("script", "Scripted", enter_at=[3], exit_at=[4], side="sell", sl_points=15)],
    )
    eng = engine(cfg, max_bars=6)
    exits = collect(eng, ExitSignalEvent)
    outcome = collect(eng, OrderRejectedEvent, PositionClosedEvent)

    async with eng:
        summary = await eng.run()

    (exit_signal,) = exits
    (closed,) = outcome  # booked once, and no order refused
    assert isinstance(closed, PositionClosedEvent)
    assert closed.reason == "sl"  # the terminal closed it, not our exit
    assert closed.correlation_id == exit_signal.correlation_id
    assert summary.rejected == 0
    with Journal.open(journal) as j:
        assert [o.intent for o in j.orders()] == ["open"]  # no close order was sent
    check_books(journal, eng.terminal)


async def test_run_returns_once_the_journal_thread_has_committed_what_the_run_queued(
    tmp_path: Path,
) -> None:
    # The last bar queues a write that the writer's thread is slow to start on (it has not taken
    # the journal's lock yet); whoever reads the journal once run() returns (a backtest's
    # result: a position stopped out at the end, its strategy and stops) must find it.
    journal = tmp_path / "j.db"
    cfg = make_config(journal, [strategy("script", "Scripted", enter_at=[3], exit_at=[5])])
    eng = engine(cfg, max_bars=8)
    candles = collect(eng, NewCandleEvent)
    slow = threading.Event()

    async with eng:
        assert eng.journal is not None
        batch = eng.journal.batch

        @contextlib.contextmanager
        def slow_batch(*, durable: bool) -> Iterator[None]:
            if slow.is_set():
                time.sleep(0.3)  # in the writer's thread, before the lock
            with batch(durable=durable):
                yield

        eng.journal.batch = slow_batch  # type: ignore[method-assign]

        def last_bar(event: NewCandleEvent) -> None:
            if len(candles) == 8:
                assert eng.journal_writer is not None
                slow.set()
                eng.journal_writer.put_state("last_bar", str(event.time).encode())

        eng.subscribe(NewCandleEvent, last_bar)
        await eng.run()
        stored = eng.journal.get_state("last_bar")

    assert len(candles) == 8
    assert stored == str(candles[-1].time).encode()
