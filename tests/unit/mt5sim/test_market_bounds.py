"""``DayBounds`` and ``MarketData.tick_bounds``: the quotes' bounds of a window are the extremes
of the blocks it overlaps (so they hold every tick of it), and None exactly when the window has
no tick."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from trading_engine.mt5sim.market.bounds import BLOCK_MS, UNBOUNDED, DayBounds
from trading_engine.mt5sim.market.data import MarketData
from trading_engine.mt5sim.spec.dtypes import TICKS_DTYPE
from trading_engine.mt5sim.spec.symbols import DEFAULT_SYMBOLS

DAY_MS = 86_400_000


def _ticks(day: int, offsets: list[int], seed: int) -> np.ndarray:  # type: ignore[type-arg]
    rng = np.random.default_rng(seed)
    t = np.zeros(len(offsets), dtype=TICKS_DTYPE)
    t["time_msc"] = day * DAY_MS + np.sort(np.asarray(offsets, dtype=np.int64))
    t["bid"] = 1.1 + rng.normal(0, 0.001, len(offsets)).cumsum()
    t["ask"] = t["bid"] + rng.uniform(0, 0.0003, len(offsets))
    return t


@settings(max_examples=200, deadline=None)
@given(
    offsets=st.lists(st.integers(0, DAY_MS - 1), max_size=300),
    lo=st.integers(-BLOCK_MS, DAY_MS + BLOCK_MS),
    width=st.integers(0, DAY_MS),
    seed=st.integers(0, 100),
)
def test_day_bounds_hold_every_tick_of_the_window(
    offsets: list[int], lo: int, width: int, seed: int
) -> None:
    day = 20_000
    start = day * DAY_MS
    ticks = _ticks(day, offsets, seed)
    times = ticks["time_msc"].copy()
    bounds = DayBounds(day, ticks, times)
    a, b = start + lo, start + lo + width
    got = bounds.within(a, b)
    inside = ticks[(times >= a) & (times <= b)]
    # the blocks the window overlaps within the day, and their ticks
    if b < start or a > start + DAY_MS - 1:
        covered = ticks[:0]
    else:
        ka = (max(a, start) - start) // BLOCK_MS
        kb = (min(b, start + DAY_MS - 1) - start) // BLOCK_MS
        block = (times - start) // BLOCK_MS
        covered = ticks[(block >= ka) & (block <= kb)]
    assert inside.size <= covered.size
    if inside.size == 0:
        assert got is None
        return
    assert got == (
        covered["bid"].min(),
        covered["bid"].max(),
        covered["ask"].min(),
        covered["ask"].max(),
    )
    if inside.size:
        assert got[0] <= inside["bid"].min()
        assert got[1] >= inside["bid"].max()
        assert got[2] <= inside["ask"].min()
        assert got[3] >= inside["ask"].max()


def test_a_window_without_ticks_has_no_bounds_even_beside_ticks() -> None:
    day = 20_000
    ticks = _ticks(day, [BLOCK_MS * 3 + 5, BLOCK_MS * 3 + 9], 1)
    bounds = DayBounds(day, ticks, ticks["time_msc"].copy())
    start = day * DAY_MS
    assert bounds.within(start, start + 3 * BLOCK_MS + 4) is None
    assert bounds.within(start + 3 * BLOCK_MS + 6, start + 3 * BLOCK_MS + 8) is None
    assert bounds.within(start + 3 * BLOCK_MS + 10, start + DAY_MS - 1) is None
    assert bounds.within(start + 3 * BLOCK_MS + 9, start + 3 * BLOCK_MS + 9) == (
        ticks["bid"].min(),
        ticks["bid"].max(),
        ticks["ask"].min(),
        ticks["ask"].max(),
    )
    empty = DayBounds(day, ticks[:0], ticks["time_msc"][:0].copy())
    assert empty.within(start, start + DAY_MS - 1) is None


def test_tick_bounds_of_generated_data_hold_ticks_between() -> None:
    start = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)  # a Friday: the weekend has no tick
    md = MarketData.generated(
        {"EURUSD": DEFAULT_SYMBOLS["EURUSD"]}, seed=3, start_utc=start.timestamp(), history_days=1
    )
    base = int(md.server_time.to_server(start.timestamp()) * 1000)
    rng = np.random.default_rng(5)
    seen_none = seen_some = 0
    for _ in range(300):
        a = base + int(rng.integers(-DAY_MS, 3 * DAY_MS))
        b = a + int(rng.choice([0, 1, 999, 60_000, 3_600_000, DAY_MS, 2 * DAY_MS]))
        asks = 0
        got = UNBOUNDED
        while got is UNBOUNDED and asks < 12:  # each day is summarised at its third search
            got = md.tick_bounds("EURUSD", a, b)
            asks += 1
        ticks = md.ticks_between("EURUSD", a, b)
        assert (got is None) == (ticks.size == 0)
        if got is None:
            seen_none += 1
            continue
        assert got is not UNBOUNDED
        if ticks.size:
            seen_some += 1
            assert got[0] <= ticks["bid"].min()
            assert got[1] >= ticks["bid"].max()
            assert got[2] <= ticks["ask"].min()
            assert got[3] >= ticks["ask"].max()
    assert seen_none
    assert seen_some
    assert md.tick_bounds("EURUSD", base, base + 10 * DAY_MS) is UNBOUNDED  # too long a window
    fresh = base + 20 * DAY_MS  # a day not searched yet: summarised at its third search
    answers = [md.tick_bounds("EURUSD", fresh, fresh + 3_600_000) for _ in range(3)]
    assert answers[0] is UNBOUNDED
    assert answers[1] is UNBOUNDED
    assert answers[2] is not UNBOUNDED
