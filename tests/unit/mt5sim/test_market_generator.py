"""The seeded FX generator: determinism, rounding, floating spread, sessions, weekends, regimes."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from trading_engine.mt5sim.market.data import MarketData
from trading_engine.mt5sim.market.servertime import DAY, ServerTime
from trading_engine.mt5sim.market.ticks import (
    DOWN,
    RANGE,
    UP,
    day_m1,
    day_seed,
    day_ticks,
    make_plan,
)
from trading_engine.mt5sim.spec import constants as c
from trading_engine.mt5sim.spec.symbols import DEFAULT_SYMBOLS

EURUSD = dataclasses.replace(DEFAULT_SYMBOLS["EURUSD"], ticks_per_minute=8.0)
ST = ServerTime.eet()
TUESDAY = 19731  # 2024-01-09, a Tuesday, as a server day index


def _utc(*args: int) -> float:
    return dt.datetime(*args, tzinfo=dt.UTC).timestamp()


def test_day_seed_depends_on_seed_symbol_and_day_only() -> None:
    assert day_seed(1, "EURUSD", 5) == day_seed(1, "EURUSD", 5)
    assert len({day_seed(1, "EURUSD", 5), day_seed(2, "EURUSD", 5), day_seed(1, "GBPUSD", 5),
                day_seed(1, "EURUSD", 6)}) == 4  # fmt: skip


def test_same_seed_gives_identical_ticks_and_another_seed_does_not() -> None:
    plan = make_plan(EURUSD, 11)
    a = day_ticks(EURUSD, plan, 11, TUESDAY, ST)
    b = day_ticks(EURUSD, make_plan(EURUSD, 11), 11, TUESDAY, ST)
    assert a.size > 1000
    assert np.array_equal(a, b)
    other = day_ticks(EURUSD, make_plan(EURUSD, 12), 12, TUESDAY, ST)
    assert not np.array_equal(a["bid"][:100], other["bid"][:100])


def test_ticks_do_not_depend_on_query_order_or_history_start() -> None:
    now = _utc(2024, 1, 12, 15)
    forward = MarketData.generated({"EURUSD": EURUSD}, seed=3, start_utc=now - 4 * DAY,
                                   history_days=2, server_time=ST)  # fmt: skip
    t = now - 4 * DAY
    higher = (c.TIMEFRAME_H4, c.TIMEFRAME_D1, c.TIMEFRAME_W1, c.TIMEFRAME_MN1)
    while t < now:  # walk forward an hour at a time; derived bars grow incrementally
        for tf in (c.TIMEFRAME_M1, *higher):
            forward.copy_rates_from_pos("EURUSD", tf, 0, 5, t)
        t += 3600
    direct = MarketData.generated({"EURUSD": EURUSD}, seed=3, start_utc=now, history_days=6,
                                  server_time=ST)  # fmt: skip
    lo = int(ST.to_server(now - 5 * DAY)) * 1000
    hi = int(ST.to_server(now)) * 1000
    ticks_a = forward.copy_ticks_range("EURUSD", lo, hi, c.COPY_TICKS_ALL, now)
    ticks_b = direct.copy_ticks_range("EURUSD", lo, hi, c.COPY_TICKS_ALL, now)
    assert ticks_a.size > 10_000
    assert np.array_equal(ticks_a, ticks_b)
    bars_a = forward.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, 3000, now)
    bars_b = direct.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, 3000, now)
    assert np.array_equal(bars_a, bars_b)
    for tf in higher:
        a = forward.copy_rates_range("EURUSD", tf, 0, 2**40, now)
        b = direct.copy_rates_range("EURUSD", tf, 0, 2**40, now)
        assert a.size >= 1
        assert np.array_equal(a, b)


def test_prices_are_rounded_to_digits_and_ask_is_bid_plus_a_positive_spread() -> None:
    for spec in (EURUSD, dataclasses.replace(DEFAULT_SYMBOLS["USDJPY"], ticks_per_minute=8.0)):
        ticks = day_ticks(spec, make_plan(spec, 5), 5, TUESDAY, ST)
        scale = 10**spec.digits
        assert np.array_equal(ticks["bid"], np.rint(ticks["bid"] * scale) / scale)
        assert np.array_equal(ticks["ask"], np.rint(ticks["ask"] * scale) / scale)
        spread = np.rint((ticks["ask"] - ticks["bid"]) * scale)
        assert spread.min() >= spec.min_spread_points
        assert len(np.unique(spread)) >= 5  # the spread floats
        assert np.all(np.diff(ticks["time_msc"]) >= 0)
        assert np.array_equal(ticks["time"], ticks["time_msc"] // 1000)


def test_tick_flags_mark_what_changed_and_no_tick_repeats_both_prices() -> None:
    ticks = day_ticks(EURUSD, make_plan(EURUSD, 5), 5, TUESDAY, ST)
    assert set(np.unique(ticks["flags"])) <= {2, 4, 6}
    bid_changed = np.diff(ticks["bid"]) != 0
    ask_changed = np.diff(ticks["ask"]) != 0
    assert np.all(bid_changed | ask_changed)
    assert np.array_equal((ticks["flags"][1:] & 2) != 0, bid_changed)
    assert np.array_equal((ticks["flags"][1:] & 4) != 0, ask_changed)


def test_spread_is_wider_at_rollover_than_in_the_london_session() -> None:
    ticks = day_ticks(EURUSD, make_plan(EURUSD, 8), 8, TUESDAY, ST)
    utc_hour = ((ticks["time"] - 7200) // 3600) % 24
    spread = (ticks["ask"] - ticks["bid"]) / EURUSD.point
    assert spread[utc_hour == 21].mean() > 1.5 * spread[(utc_hour >= 8) & (utc_hour < 12)].mean()


def test_london_and_new_york_hours_have_more_ticks_than_asian_hours() -> None:
    counts = np.zeros(24)
    plan = make_plan(EURUSD, 9)
    for day in range(TUESDAY, TUESDAY + 3):
        ticks = day_ticks(EURUSD, plan, 9, day, ST)
        utc_hour = ((ticks["time"] - 7200) // 3600) % 24
        counts += np.bincount(utc_hour, minlength=24)
    assert counts[12:16].mean() > 2.5 * counts[1:5].mean()


def test_weekend_has_no_ticks_and_monday_opens_with_a_gap() -> None:
    plan = make_plan(EURUSD, 4)
    assert (TUESDAY + 4) % 7 == 2  # day 0 (1970-01-01) was a Thursday
    saturday, sunday, monday = TUESDAY - 3, TUESDAY - 2, TUESDAY - 1
    assert day_ticks(EURUSD, plan, 4, saturday, ST).size == 0
    assert day_ticks(EURUSD, plan, 4, sunday, ST).size == 0
    assert day_m1(EURUSD, plan, 4, sunday, ST).size == 0
    gaps, moves = [], []
    for week in range(8):
        friday = day_ticks(EURUSD, plan, 4, saturday - 1 - 7 * week, ST)
        mon = day_ticks(EURUSD, plan, 4, monday - 7 * week, ST)
        assert mon["time"][0] >= (monday - 7 * week) * DAY
        gaps.append(abs(mon["bid"][0] - friday["bid"][-1]))
        moves.append(np.abs(np.diff(mon["bid"])).mean())
    assert np.mean(gaps) > 5 * np.mean(moves)


def test_trend_and_range_regimes_both_occur_and_differ_in_daily_moves() -> None:
    plan = make_plan(EURUSD, 21)
    first = TUESDAY - 400
    regimes = plan.regime[first - 7305 : first - 7305 + 400]
    assert {RANGE, UP, DOWN} <= set(regimes.tolist())
    moves = {RANGE: [], UP: [], DOWN: []}
    for day in range(first, first + 400):
        bars = day_m1(EURUSD, plan, 21, day, ST)
        if bars.size:
            net = (bars["close"][-1] - bars["open"][0]) / bars["open"][0]
            moves[int(plan.regime[day - 7305])].append(net)
    assert np.mean(moves[UP]) > 0 > np.mean(moves[DOWN])
    trend_abs = np.mean(np.abs(moves[UP] + moves[DOWN]))
    assert trend_abs > 1.8 * np.mean(np.abs(moves[RANGE]))


def test_volatility_clusters_in_absolute_minute_returns() -> None:
    plan = make_plan(EURUSD, 2)
    closes = np.concatenate(
        [day_m1(EURUSD, plan, 2, d, ST)["close"] for d in range(TUESDAY, TUESDAY + 30)]
    )
    r = np.abs(np.diff(np.log(closes)))
    r = r - r.mean()
    acf = [float(np.dot(r[:-k], r[k:]) / np.dot(r, r)) for k in (1, 5, 30)]
    assert min(acf) > 0.05


def test_m1_mode_and_tick_mode_have_the_same_scale_of_prices_and_volumes() -> None:
    plan = make_plan(EURUSD, 6)
    m1_direct = day_m1(EURUSD, plan, 6, TUESDAY, ST)
    md = MarketData.generated({"EURUSD": EURUSD}, seed=6, start_utc=_utc(2024, 1, 10),
                              history_days=1, server_time=ST)  # fmt: skip
    from_ticks = md.copy_rates_range("EURUSD", c.TIMEFRAME_M1, TUESDAY * DAY,
                                     (TUESDAY + 1) * DAY - 1, _utc(2024, 1, 10))  # fmt: skip
    assert from_ticks.size > 1000
    assert m1_direct.size > 1000
    assert m1_direct["open"][0] == pytest.approx(from_ticks["open"][0], rel=2e-3)
    assert m1_direct["close"][-1] == pytest.approx(from_ticks["close"][-1], rel=2e-3)
    ratio = m1_direct["tick_volume"].mean() / from_ticks["tick_volume"].mean()
    assert 0.8 < ratio < 1.25
    assert np.all(m1_direct["high"] >= np.maximum(m1_direct["open"], m1_direct["close"]))
    assert np.all(m1_direct["low"] <= np.minimum(m1_direct["open"], m1_direct["close"]))


def test_price_stays_near_its_long_run_level_for_decades() -> None:
    plan = make_plan(EURUSD, 1)
    prices = np.exp(plan.log_open[: 40 * 365])
    assert 0.6 * EURUSD.start_price < prices.min() < prices.max() < 1.6 * EURUSD.start_price


def test_days_outside_the_generator_range_are_refused() -> None:
    with pytest.raises(ValueError, match="range"):
        make_plan(EURUSD, 1).index(100)


def test_regime_ground_truth_matches_trend_strength_on_hourly_bars() -> None:
    end = _utc(2024, 6, 1)
    md = MarketData.generated({"EURUSD": EURUSD}, seed=3, start_utc=end, history_days=150,
                              server_time=ST, mode="m1")  # fmt: skip
    h1 = md.copy_rates_range("EURUSD", c.TIMEFRAME_H1, 0, 2**40, end)
    days = np.unique(h1["time"] // DAY)
    efficiency = {RANGE: [], UP: [], DOWN: []}
    for day in days:
        bars = h1[h1["time"] // DAY == day]
        path = np.abs(np.diff(bars["close"])).sum()
        regime = md.regime("EURUSD", ST.to_utc(float(day * DAY + 43200)))
        assert regime in efficiency
        efficiency[regime].append(abs(bars["close"][-1] - bars["open"][0]) / path)
    assert np.mean(efficiency[UP] + efficiency[DOWN]) > 1.4 * np.mean(efficiency[RANGE])
    assert md.regime("EURUSD", end) == int(
        make_plan(EURUSD, 3).regime[int(ST.to_server(end)) // DAY - 7305]
    )


def test_realised_daily_volatility_matches_the_specified_annual_volatility() -> None:
    end = _utc(2024, 6, 1)
    md = MarketData.generated({"EURUSD": EURUSD}, seed=5, start_utc=end, history_days=700,
                              server_time=ST, mode="m1")  # fmt: skip
    d1 = md.copy_rates_range("EURUSD", c.TIMEFRAME_D1, 0, 2**40, end)
    assert d1.size > 450
    annual = np.diff(np.log(d1["close"])).std() * np.sqrt(260)
    assert 0.8 * EURUSD.volatility < annual < 1.25 * EURUSD.volatility
    m1 = md.copy_rates_range("EURUSD", c.TIMEFRAME_M1, 0, 2**40, end)
    r = np.diff(np.log(m1["close"]))
    kurtosis = ((r - r.mean()) ** 4).mean() / r.var() ** 2
    assert kurtosis > 4  # fat tails from GARCH clustering and session activity
