"""Delivery once end to end: each stage crashes in turn in the middle of a bar; nothing is lost
and nothing is done twice.

A baseline run and one run per crash point trade the same bars with a pure strategy; every
count along the pipeline (candles, indicator events, signals, orders, fills, closes, terminal
deals) must equal the baseline's, and the books must agree with the terminal.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import trading_engine.data.service as data_service
from trading_engine.events import (
    EntrySignalEvent,
    ExitSignalEvent,
    IndicatorsCalculatedEvent,
    NewCandleEvent,
    OrderFilledEvent,
    PositionClosedEvent,
)
from trading_engine.orchestrator import TradingOrchestrator

from .conftest import check_books, engine, make_config, our_deals, strategy

pytestmark = pytest.mark.timeout(240)

BARS = 400
CRASH_BAR = 152
"""A bar on which the clock strategy enters: a bar lost there is a round trip lost."""
COUNTED = (
    NewCandleEvent,
    IndicatorsCalculatedEvent,
    EntrySignalEvent,
    ExitSignalEvent,
    OrderFilledEvent,
    PositionClosedEvent,
)


class Injected(RuntimeError):
    """The injected fault (not an engine error: the stage fails as on a bug of its own)."""


def once_at(call: int, target: Callable[..., Any], *, after: bool = False) -> Callable[..., Any]:
    """``target`` that raises ``Injected`` on its ``call``-th call: before running (``after``
    False) or after it ran, its effect done (``after`` True)."""
    calls = 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == call and not after:
            raise Injected(f"injected before call {call}")
        return target(*args, **kwargs)

    async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        result = await target(*args, **kwargs)
        if calls == call:
            raise Injected(f"injected after call {call}")
        return result

    return async_wrapper if after else wrapper


def crash_data(eng: TradingOrchestrator, monkeypatch: pytest.MonkeyPatch) -> None:
    # the emission of a candle: its correlation id is drawn while the batch is sent (two per
    # poll of one bar: the poll's event's, then the candle's)
    monkeypatch.setattr(
        data_service, "new_correlation_id", once_at(2 * CRASH_BAR, data_service.new_correlation_id)
    )


def crash_indicators(eng: TradingOrchestrator, monkeypatch: pytest.MonkeyPatch) -> None:
    # inside ``calculate``: the indicator set's update of a bar
    (iset,) = eng.indicator_state.sets.values()
    iset.update = once_at(CRASH_BAR, iset.update)  # type: ignore[method-assign]


def crash_strategy(eng: TradingOrchestrator, monkeypatch: pytest.MonkeyPatch) -> None:
    pass  # the ``crasher`` strategy makes the service fail after the clock strategy has run


def crash_execution(eng: TradingOrchestrator, monkeypatch: pytest.MonkeyPatch) -> None:
    # after an order was journaled, sent and executed on the terminal, before it is booked
    monkeypatch.setattr(eng.port, "order_send", once_at(5, eng.port.order_send, after=True))


Crash = Callable[[TradingOrchestrator, pytest.MonkeyPatch], None]
CRASHES: dict[str, tuple[str, str | None, Crash]] = {
    # stage: (service, the channel its interrupted message came from, the fault)
    "data": ("data_fetching", None, crash_data),
    "indicators": ("indicator_calculation", "candles", crash_indicators),
    "strategy": ("strategy_evaluation", "features", crash_strategy),
    "execution": ("trade_execution", "signals", crash_execution),
}


async def run(
    journal: Path,
    monkeypatch: pytest.MonkeyPatch,
    crash: Crash | None = None,
    crasher_at: int | None = None,
) -> tuple[dict[str, int], TradingOrchestrator]:
    strategies = [strategy("clock", "ByClock", period=10)]
    if crasher_at is not None:
        strategies.append(strategy("crasher", "CrashesServiceOnce", crash_at=crasher_at))
    eng = engine(make_config(journal, strategies), max_bars=BARS)
    counts: collections.Counter[str] = collections.Counter()
    candle_times: set[int] = set()
    for kind in COUNTED:
        eng.subscribe(kind, lambda e, name=kind.__name__: counts.update((name,)))
    eng.subscribe(NewCandleEvent, lambda e: candle_times.add(e.time))
    async with eng:
        if crash is not None:
            crash(eng, monkeypatch)
        await eng.run()
    counts["distinct candles"] = len(candle_times)
    counts["deals"] = len(our_deals(eng.terminal))
    check_books(journal, eng.terminal)
    return dict(counts), eng


@pytest.mark.parametrize("stage", list(CRASHES))
async def test_a_stage_crashing_mid_bar_loses_no_bar_and_repeats_no_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    baseline, _ = await run(tmp_path / "baseline.db", monkeypatch)
    assert baseline["NewCandleEvent"] == BARS
    assert baseline["OrderFilledEvent"] >= 30  # enough trading to matter

    service, inbox, crash = CRASHES[stage]
    counts, eng = await run(
        tmp_path / "crash.db",
        monkeypatch,
        crash,
        crasher_at=CRASH_BAR if stage == "strategy" else None,
    )

    children = eng.supervisor.health()["children"]
    assert children[service]["restarts"] == 1
    assert ("unexpected failure" if stage == "strategy" else "injected") in (
        children[service]["last_error"] or ""
    )
    if inbox is not None:  # the interrupted message was handed to the restarted stage
        assert eng.get_all_metrics()["channels"][inbox]["redelivered"] >= 1
    assert counts == baseline


async def test_a_journal_write_failing_in_the_writer_halts_the_engine_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from trading_engine.errors import JournalError
    from trading_engine.orchestrator import OrchestratorStatus

    cfg = make_config(tmp_path / "j.db", [strategy("clock", "ByClock", period=10)])
    eng = engine(cfg, max_bars=BARS)

    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    async with eng:
        assert eng.journal is not None
        monkeypatch.setattr(eng.journal, "upsert_position", disk_full)  # the first fill's
        with pytest.raises(JournalError, match="disk is full"):
            await eng.run()
        assert eng.status is OrchestratorStatus.ERROR
    assert eng.get_all_metrics()["channels"]["candles"]["sent"] < BARS  # it stopped early
