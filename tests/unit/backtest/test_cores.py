"""The backtest's pure pieces: the coroutine driver, the poll schedule replay, the fingerprint
and the equity curve."""

from __future__ import annotations

import asyncio
import math
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from trading_engine.backtest.drive import InstantClock, drive
from trading_engine.backtest.fingerprint import fingerprint
from trading_engine.backtest.result import BacktestResult, ClosedTrade, equity_curve
from trading_engine.backtest.schedule_sim import StreamBars, plan_arrays
from trading_engine.data.schedule import boundary_step, due, next_wake
from trading_engine.mt5sim.market.servertime import ServerTime


def test_drive_runs_a_coroutine_whose_sleeps_move_the_instant_clock() -> None:
    clock = InstantClock(100.0)

    async def work() -> float:
        await clock.sleep(2.5)
        return clock.time()

    assert drive(work()) == 102.5


def test_drive_refuses_a_coroutine_that_suspends() -> None:
    async def waits() -> None:
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="suspended"):
        drive(waits())


UTC = ServerTime.fixed(0)  # a server at UTC


def test_a_bar_is_emitted_at_its_boundary_plus_delay_or_the_first_retry_after_its_tick() -> None:
    # M1 bars closing at 60, 120, 180; the first tick after 120 comes at 127.2 s (a slow feed)
    stream = StreamBars(60, np.array([60_100, 127_200, 180_000], dtype=np.int64))
    plan = plan_arrays(
        [stream], start=0.0, delay=1.0, interval=5.0, server_time=UTC, budget=None
    ).tuples()
    assert plan == [(61.0, 0, 0), (131.0, 0, 1), (181.0, 0, 2)]


def test_a_closed_market_is_polled_at_boundaries_and_the_budget_cuts_the_plan() -> None:
    # a bar whose next tick comes an hour later (a closed market), then another one
    stream = StreamBars(60, np.array([60_000, 3_700_500, 3_720_000], dtype=np.int64))
    plan = plan_arrays(
        [stream], start=0.0, delay=1.0, interval=5.0, server_time=UTC, budget=2
    ).tuples()
    assert plan == [(61.0, 0, 0), (3_721.0, 0, 1)]  # the boundary poll after the tick


def _trade(**changes: object) -> ClosedTrade:
    base = ClosedTrade("EURUSD", "s", "buy", 0.1, 60, 120, 1.1, 1.2, None, None, "signal", 100.0,
                       0.0, 0.0)  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def _result(trades: list[ClosedTrade], **counts: int) -> BacktestResult:
    return BacktestResult(
        trades, np.zeros(0), {"orders": 2, "fills": 2, **counts}, {}, {}, [], [], 1e4, "USD",
        ["EURUSD"], "M1", "ticks", 0, 0, 0, 0, 0.0, "fast",
    )  # fmt: skip


def test_the_fingerprint_changes_with_any_trade_figure_or_count() -> None:
    same = fingerprint(_result([_trade()]))
    assert same == fingerprint(_result([_trade(strategy="other", position=9)]))  # not hashed
    assert same != fingerprint(_result([_trade(close_price=1.20001)]))
    assert same != fingerprint(_result([_trade(close_reason="tp")]))
    assert same != fingerprint(_result([_trade()], rejections=1))


def test_equity_is_the_balance_after_the_deals_plus_the_open_position_marked_to_the_close() -> None:
    times = np.array([0, 60, 120, 180], dtype=np.int64)
    closes = np.array([1.1, 1.2, 1.3, 1.4])
    deals = [
        SimpleNamespace(type=0, entry=0, magic=7, position_id=1, time=30, price=1.1, volume=1.0,
                        symbol="EURUSD", profit=0.0, commission=-5.0, swap=0.0, fee=0.0),
        SimpleNamespace(type=1, entry=1, magic=7, position_id=1, time=150, price=1.3, volume=1.0,
                        symbol="EURUSD", profit=20_000.0, commission=-5.0, swap=0.0, fee=0.0),
    ]  # fmt: skip
    curve = equity_curve(
        times, closes, np.zeros(4), bar_seconds=60, initial_balance=1000.0, deals=deals,
        magic=7, value_per_price=100_000.0,
    )  # fmt: skip
    assert curve["balance"].tolist() == [1000.0 - 5, 995.0, 995.0 + 19_995.0, 20_990.0]
    assert curve["equity"].round(6).tolist() == [995.0, 995.0 + 10_000.0, 20_990.0, 20_990.0]


def _poll_every_boundary(
    streams: list[StreamBars], start: float, delay: float, interval: float, st: ServerTime
) -> list[tuple[float, int, int]]:
    """The data service's schedule walked literally: every boundary, every retry, no jumps."""
    step = boundary_step(s.timeframe_seconds for s in streams)
    nxt = [0] * len(streams)
    quiet: set[int] = set()
    out: list[tuple[float, int, int]] = []

    def poll(at: float) -> set[int]:
        now_msc = math.floor((at + st.offset_at(at)) * 1000.0)
        fresh = set()
        for k, s in enumerate(streams):
            while nxt[k] < len(s.available_msc) and s.available_msc[nxt[k]] <= now_msc:
                out.append((at, k, nxt[k]))
                nxt[k] += 1
                fresh.add(k)
        return fresh

    wake = next_wake(start, step, delay)
    while any(nxt[k] < len(s.available_msc) for k, s in enumerate(streams)):
        fresh = poll(wake)
        quiet -= fresh
        due_now = {k for k, s in enumerate(streams) if due(wake, delay, s.timeframe_seconds)}
        missing = due_now - fresh - quiet
        following = next_wake(wake, step, delay)
        p = wake + interval
        while missing and p < following:
            fresh = poll(p)
            missing -= fresh
            quiet -= fresh
            p += interval
        quiet |= missing
        wake = following
    return out


def test_the_replay_matches_a_literal_poll_loop_across_a_dst_change_and_a_slow_feed() -> None:
    eet = ServerTime.eet()
    start = 1_711_846_800.0 - 6 * 3600 + 17.0  # six hours before the EU summer time starts
    rng = np.random.default_rng(5)
    streams = []
    for seconds in (60, 300, 14_400):  # M1, M5 and H4 (never due: taken by the next poll)
        first = (int(eet.to_server(start)) // seconds + 1) * seconds
        closes = first + seconds * np.arange(1, 12 * 3600 // seconds)
        lags = rng.choice([0, 40, 900, 6_500, 61_000], size=closes.size)
        streams.append(StreamBars(seconds, closes * 1000 + lags))
    plan = plan_arrays(
        streams, start=start, delay=1.0, interval=5.0, server_time=eet, budget=None
    ).tuples()
    assert plan == _poll_every_boundary(streams, start, 1.0, 5.0, eet)
    assert {k for _, k, _ in plan} == {0, 1, 2}
    assert any(at % 60 != 1.0 for at, _, _ in plan)  # some bars came with a retry
