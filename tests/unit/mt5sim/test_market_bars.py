"""Bars built from ticks the way MT5 does, and higher timeframes aligned in server time."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from trading_engine.mt5sim.market.bars import (
    aggregate,
    bar_open_time,
    bar_open_times,
    check_timeframe,
    m1_from_ticks,
    merge_bars,
    period_seconds,
    price_scale,
    ticks_from_m1,
)
from trading_engine.mt5sim.spec import constants as c
from trading_engine.mt5sim.spec.dtypes import RATES_DTYPE, TICKS_DTYPE


def _srv(*args: int) -> int:
    """Server wall-clock epoch seconds (written as if UTC, as MT5 does)."""
    return int(dt.datetime(*args, tzinfo=dt.UTC).timestamp())


def _ticks(rows: list[tuple[int, float, float]]) -> np.ndarray:
    t = np.zeros(len(rows), dtype=TICKS_DTYPE)
    t["time_msc"] = [r[0] for r in rows]
    t["time"] = t["time_msc"] // 1000
    t["bid"] = [r[1] for r in rows]
    t["ask"] = [r[2] for r in rows]
    t["flags"] = 6
    return t


def _m1(times: list[int], closes: list[float]) -> np.ndarray:
    bars = np.zeros(len(times), dtype=RATES_DTYPE)
    bars["time"] = times
    bars["open"] = closes
    bars["high"] = np.asarray(closes) + 0.001
    bars["low"] = np.asarray(closes) - 0.001
    bars["close"] = closes
    bars["tick_volume"] = 4
    bars["spread"] = 10
    return bars


def test_m1_bar_has_first_bid_open_extremes_last_close_tick_count_and_min_spread() -> None:
    base = _srv(2024, 1, 8, 10, 0) * 1000
    ticks = _ticks(
        [
            (base + 100, 1.10010, 1.10020),
            (base + 20_000, 1.10050, 1.10055),
            (base + 40_000, 1.09990, 1.10002),
            (base + 59_999, 1.10030, 1.10040),
            (base + 60_000, 1.10031, 1.10041),
        ]
    )
    bars = m1_from_ticks(ticks, 1e-5)
    assert bars.size == 2
    first = bars[0]
    assert first["time"] == base // 1000
    assert (first["open"], first["high"], first["low"], first["close"]) == (
        1.10010,
        1.10050,
        1.09990,
        1.10030,
    )
    assert first["tick_volume"] == 4
    assert first["spread"] == 5
    assert first["real_volume"] == 0
    assert bars[1]["time"] == base // 1000 + 60
    assert bars[1]["tick_volume"] == 1


def test_minute_without_ticks_has_no_bar() -> None:
    base = _srv(2024, 1, 8, 10, 0) * 1000
    ticks = _ticks([(base, 1.1, 1.1001), (base + 180_500, 1.2, 1.2001)])
    bars = m1_from_ticks(ticks, 1e-5)
    assert list(bars["time"] - base // 1000) == [0, 180]


def test_h4_and_d1_bars_align_to_server_midnight() -> None:
    start = _srv(2024, 1, 8, 0, 0)
    times = list(range(start - 3600, start + 2 * 86400, 60 * 17))
    bars = _m1(times, list(np.linspace(1.0, 1.1, len(times))))
    h4 = aggregate(bars, c.TIMEFRAME_H4)
    assert set(h4["time"] % (4 * 3600)) == {0}
    assert h4["time"][1] == start
    d1 = aggregate(bars, c.TIMEFRAME_D1)
    assert list(d1["time"]) == [start - 86400, start, start + 86400]
    assert d1["tick_volume"].sum() == bars["tick_volume"].sum()


def test_higher_timeframe_aggregates_ohlc_volumes_and_min_spread() -> None:
    start = _srv(2024, 1, 8, 10, 0)
    bars = _m1([start, start + 60, start + 120, start + 300], [1.0, 1.2, 0.9, 1.1])
    bars["spread"] = [9, 7, 8, 3]
    m5 = aggregate(bars, c.TIMEFRAME_M5)
    assert list(m5["time"]) == [start, start + 300]
    assert m5[0]["open"] == 1.0
    assert m5[0]["close"] == 0.9
    assert m5[0]["high"] == pytest.approx(1.201)
    assert m5[0]["low"] == pytest.approx(0.899)
    assert m5[0]["tick_volume"] == 12
    assert m5[0]["spread"] == 7


def test_weekly_bars_are_stamped_sunday_and_monthly_bars_on_the_first() -> None:
    wednesday = _srv(2024, 2, 28, 13, 30)
    assert bar_open_time(c.TIMEFRAME_W1, wednesday) == _srv(2024, 2, 25)
    assert dt.datetime.fromtimestamp(_srv(2024, 2, 25), dt.UTC).weekday() == 6
    assert bar_open_time(c.TIMEFRAME_MN1, wednesday) == _srv(2024, 2, 1)
    assert bar_open_time(c.TIMEFRAME_MN1, _srv(2024, 3, 1) - 1) == _srv(2024, 2, 1)
    assert bar_open_time(c.TIMEFRAME_H1, wednesday) == _srv(2024, 2, 28, 13)
    assert bar_open_time(c.TIMEFRAME_M20, wednesday) == _srv(2024, 2, 28, 13, 20)


def test_bar_open_times_vectorised_matches_scalar_for_every_timeframe() -> None:
    times = np.arange(_srv(2024, 1, 1), _srv(2024, 3, 1), 7919)
    for tf in (c.TIMEFRAME_M3, c.TIMEFRAME_H3, c.TIMEFRAME_H8, c.TIMEFRAME_W1, c.TIMEFRAME_MN1):
        vec = bar_open_times(tf, times)
        assert list(vec[::40]) == [bar_open_time(tf, t) for t in times[::40]]
        assert np.all(vec <= times)


def test_unknown_timeframe_is_rejected() -> None:
    with pytest.raises(ValueError, match="timeframe"):
        check_timeframe(7)
    with pytest.raises(ValueError, match="timeframe"):
        period_seconds(0x4005)
    assert period_seconds(c.TIMEFRAME_H12) == 43200
    assert period_seconds(c.TIMEFRAME_W1) == 604800


def test_one_minute_ohlc_ticks_visit_the_far_extreme_first() -> None:
    start = _srv(2024, 1, 8, 10, 0)
    bars = _m1([start, start + 60], [1.0, 1.0])
    bars["open"] = [1.0, 1.0]
    bars["close"] = [1.0005, 0.9995]
    bars["high"] = [1.001, 1.001]
    bars["low"] = [0.999, 0.999]
    ticks = ticks_from_m1(bars, 1e-5)
    assert ticks.size == 8
    assert list(ticks["bid"][:4]) == [1.0, 0.999, 1.001, 1.0005]  # rising bar: O, L, H, C
    assert list(ticks["bid"][4:]) == [1.0, 1.001, 0.999, 0.9995]  # falling bar: O, H, L, C
    assert list(ticks["time_msc"][:4] - start * 1000) == [0, 20_000, 40_000, 59_000]
    assert np.allclose(ticks["ask"] - ticks["bid"], 10e-5)
    rebuilt = m1_from_ticks(ticks, 1e-5)
    assert np.array_equal(
        rebuilt[["open", "high", "low", "close"]], bars[["open", "high", "low", "close"]]
    )


def test_one_minute_ohlc_uses_fewer_ticks_for_thin_bars() -> None:
    start = _srv(2024, 1, 8, 10, 0)
    bars = _m1([start, start + 60, start + 120], [1.0, 1.0, 1.0])
    bars["tick_volume"] = [1, 2, 3]
    ticks = ticks_from_m1(bars, 1e-5)
    assert list(ticks["time"] - start) == [59, 60, 119, 120, 150, 179]


def test_merge_bars_builds_a_forming_bar_from_parts() -> None:
    start = _srv(2024, 1, 8, 10, 0)
    parts = _m1([start, start + 60], [1.0, 1.1])
    merged = merge_bars(parts, start)
    assert merged.size == 1
    assert merged[0]["close"] == 1.1
    assert merged[0]["tick_volume"] == 8
    assert merge_bars(parts[:0], start).size == 0


def test_price_scale_is_exact_for_decimal_points() -> None:
    assert price_scale(1e-5) == 100_000.0
    assert price_scale(0.001) == 1000.0
    assert 108512 / price_scale(1e-5) == 1.08512
