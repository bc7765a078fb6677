"""Clocks: SimClock moves only when advanced; ScaledClock runs faster than the wall clock."""

from __future__ import annotations

import asyncio

import pytest

from trading_engine.clock import Clock, LiveClock, ScaledClock, SimClock


async def settle() -> None:
    """Let every ready task run until it blocks again."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_sim_clock_sleep_completes_only_when_time_is_advanced() -> None:
    clock = SimClock(start=1000.0)
    sleeper = asyncio.create_task(clock.sleep(10.0))
    await settle()

    assert not sleeper.done()
    assert clock.sleepers == 1
    assert clock.next_deadline() == 1010.0

    clock.advance(9.999)
    await settle()
    assert not sleeper.done()

    clock.advance(0.001)
    await settle()
    assert sleeper.done()
    assert clock.time() == pytest.approx(1010.0)
    assert clock.next_deadline() is None


async def test_sim_clock_wakes_sleepers_in_deadline_order() -> None:
    clock = SimClock()
    woke: list[str] = []

    async def nap(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(name)

    tasks = [asyncio.create_task(nap(n, s)) for n, s in (("late", 30), ("early", 10), ("mid", 20))]
    await settle()

    clock.advance_to(20.0)
    await settle()
    assert woke == ["early", "mid"]

    clock.advance_to(30.0)
    await asyncio.gather(*tasks)
    assert woke == ["early", "mid", "late"]


async def test_sim_clock_zero_sleep_returns_without_advancing() -> None:
    clock = SimClock(start=5.0)

    await asyncio.wait_for(clock.sleep(0), timeout=1)
    await asyncio.wait_for(clock.sleep(-3), timeout=1)

    assert clock.time() == 5.0


async def test_sim_clock_cancelled_sleeper_is_not_counted() -> None:
    clock = SimClock()
    sleeper = asyncio.create_task(clock.sleep(5))
    await settle()
    sleeper.cancel()
    await settle()

    assert clock.sleepers == 0
    assert clock.next_deadline() is None


def test_sim_clock_never_goes_back() -> None:
    clock = SimClock(start=100.0)

    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance_to(99.0)
    assert clock.time() == clock.monotonic() == 100.0


def test_every_clock_satisfies_the_protocol() -> None:
    assert isinstance(SimClock(), Clock)
    assert isinstance(LiveClock(), Clock)
    assert isinstance(ScaledClock(start=0.0), Clock)


def test_scaled_clock_rejects_non_positive_speed() -> None:
    with pytest.raises(ValueError, match="speed must be > 0"):
        ScaledClock(start=0.0, speed=0)


async def test_scaled_clock_starts_at_start_and_sleeps_in_scaled_time() -> None:
    clock = ScaledClock(start=1_700_000_000.0, speed=1000.0)
    first = clock.time()

    await clock.sleep(2.0)  # two simulated seconds: about 2 ms of wall time

    assert 1_700_000_000.0 <= first < 1_700_000_000.0 + 1.0
    assert clock.time() - first >= 1.9
    now = clock.time()  # read before monotonic(): the other order races at 1000x speed
    assert clock.monotonic() >= now - 1e-3


async def test_live_clock_time_moves_forward() -> None:
    clock = LiveClock()
    before = clock.monotonic()

    await clock.sleep(0)

    assert clock.monotonic() >= before
    assert clock.time() > 1.6e9
