"""MarketData queries: MT5 copy_* semantics as of a simulated instant, never from the future."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import numpy as np
import pytest

from trading_engine.mt5sim.market.data import MarketData, generate_m1_bars
from trading_engine.mt5sim.market.servertime import DAY, ServerTime
from trading_engine.mt5sim.spec import constants as c
from trading_engine.mt5sim.spec.symbols import DEFAULT_SYMBOLS

ST = ServerTime.eet()
SPECS = {
    name: dataclasses.replace(DEFAULT_SYMBOLS[name], ticks_per_minute=10.0)
    for name in ("EURUSD", "XAUUSD")
}


def _utc(*args: int) -> float:
    return dt.datetime(*args, tzinfo=dt.UTC).timestamp()


NOW = _utc(2024, 3, 6, 12, 7, 31)  # a Wednesday, London session


@pytest.fixture(scope="module")
def md() -> MarketData:
    return MarketData.generated(SPECS, seed=42, start_utc=NOW, history_days=9, server_time=ST)


def _srv_ms(utc: float) -> int:
    return int(ST.to_server(utc) * 1000)


def test_forming_bar_at_position_zero_covers_only_ticks_up_to_now(md: MarketData) -> None:
    bar = md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, 1, NOW)[0]
    minute = int(ST.to_server(NOW)) // 60 * 60
    assert bar["time"] == minute
    ticks = md.copy_ticks_range("EURUSD", minute * 1000, _srv_ms(NOW), c.COPY_TICKS_ALL, NOW)
    assert ticks.size >= 1
    assert bar["tick_volume"] == ticks.size
    assert bar["open"] == ticks["bid"][0]
    assert bar["close"] == ticks["bid"][-1]
    assert bar["high"] == ticks["bid"].max()
    assert bar["low"] == ticks["bid"].min()
    assert bar["close"] == md.last_tick("EURUSD", NOW)["bid"]


def test_forming_bar_grows_until_it_equals_the_closed_bar(md: MarketData) -> None:
    hour_start = _utc(2024, 3, 6, 13, 0, 0)
    seen = []
    for seconds in (1, 600, 1800, 3599.999):
        bar = md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_H1, 0, 1, hour_start + seconds)[0]
        seen.append(bar)
    assert len({int(b["time"]) for b in seen}) == 1
    volumes = [int(b["tick_volume"]) for b in seen]
    assert volumes == sorted(volumes)
    assert volumes[0] < volumes[-1]
    assert all(a["high"] <= b["high"] and a["low"] >= b["low"] for a, b in itertools.pairwise(seen))
    t = int(seen[-1]["time"])
    later = hour_start + 5 * 3600
    closed = md.copy_rates_range("EURUSD", c.TIMEFRAME_H1, t, t, later)
    assert closed.size == 1
    assert closed[0] == seen[-1]


def test_position_one_is_the_last_closed_bar_and_positions_shift_together(md: MarketData) -> None:
    a = md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M5, 0, 10, NOW)
    b = md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M5, 1, 10, NOW)
    assert a.size == b.size == 10
    assert np.array_equal(a[:-1], b[1:])
    assert np.all(np.diff(a["time"]) > 0)
    assert md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M5, 0, 0, NOW).size == 0


def test_nothing_from_the_future_is_ever_returned(md: MarketData) -> None:
    rng = np.random.default_rng(1)
    for now in NOW - rng.uniform(0, 4 * DAY, 25):
        now_s = ST.to_server(now)
        for tf in (c.TIMEFRAME_M1, c.TIMEFRAME_M15, c.TIMEFRAME_H4, c.TIMEFRAME_D1):
            bars = md.copy_rates_range("EURUSD", tf, 0, 2 * 10**9, now)
            assert bars.size
            assert bars["time"][-1] <= now_s
        ticks = md.copy_ticks_range("EURUSD", 0, 2 * 10**12, c.COPY_TICKS_ALL, now)
        assert ticks["time_msc"][-1] <= now_s * 1000
        tick = md.last_tick("EURUSD", now)
        assert tick is not None
        assert tick["time_msc"] == ticks["time_msc"][-1]
        assert md.copy_ticks_from("EURUSD", int(now_s * 1000) - 1000, 50, -1, now).size <= 50


def test_forming_bar_of_every_timeframe_ends_with_the_last_tick(md: MarketData) -> None:
    last = md.last_tick("EURUSD", NOW)
    assert last is not None
    for tf in (c.TIMEFRAME_M1, c.TIMEFRAME_M20, c.TIMEFRAME_H1, c.TIMEFRAME_H12,
               c.TIMEFRAME_D1, c.TIMEFRAME_W1, c.TIMEFRAME_MN1):  # fmt: skip
        bar = md.copy_rates_from_pos("EURUSD", tf, 0, 1, NOW)[0]
        assert bar["close"] == last["bid"]
        assert bar["time"] <= last["time"]


def test_higher_timeframe_bars_equal_aggregated_m1_bars(md: MarketData) -> None:
    d1 = md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_D1, 1, 1, NOW)[0]
    m1 = md.copy_rates_range("EURUSD", c.TIMEFRAME_M1, d1["time"], d1["time"] + DAY - 1, NOW)
    assert d1["open"] == m1["open"][0]
    assert d1["close"] == m1["close"][-1]
    assert d1["high"] == m1["high"].max()
    assert d1["low"] == m1["low"].min()
    assert d1["tick_volume"] == m1["tick_volume"].sum()
    assert d1["time"] % DAY == 0


def test_copy_rates_from_counts_back_from_bars_opened_at_or_before_the_date(
    md: MarketData,
) -> None:
    h1 = md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_H1, 0, 30, NOW)
    date = int(h1["time"][20]) + 1800
    got = md.copy_rates_from("EURUSD", c.TIMEFRAME_H1, date, 5, NOW)
    assert np.array_equal(got, h1[16:21])
    exact = md.copy_rates_from("EURUSD", c.TIMEFRAME_H1, int(h1["time"][20]), 1, NOW)
    assert exact[0]["time"] == h1["time"][20]
    future = md.copy_rates_from("EURUSD", c.TIMEFRAME_H1, 2 * 10**9, 2, NOW)
    assert np.array_equal(future, h1[-2:])


def test_copy_rates_range_is_inclusive_at_both_ends(md: MarketData) -> None:
    m15 = md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M15, 0, 20, NOW)
    got = md.copy_rates_range("EURUSD", c.TIMEFRAME_M15, m15["time"][3], m15["time"][9], NOW)
    assert np.array_equal(got, m15[3:10])
    with_forming = md.copy_rates_range("EURUSD", c.TIMEFRAME_M15, m15["time"][-1], 2**40, NOW)
    assert np.array_equal(with_forming, m15[-1:])


def test_bars_count_includes_the_forming_bar(md: MarketData) -> None:
    n = md.bars_count("EURUSD", c.TIMEFRAME_H1, NOW)
    everything = md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_H1, 0, 10**6, NOW)
    assert n == everything.size
    assert everything["time"][-1] == int(ST.to_server(NOW)) // 3600 * 3600


def test_tick_flag_filters_info_trade_and_all(md: MarketData) -> None:
    lo = _srv_ms(NOW) - 600_000
    everything = md.copy_ticks_range("EURUSD", lo, _srv_ms(NOW), c.COPY_TICKS_ALL, NOW)
    info = md.copy_ticks_range("EURUSD", lo, _srv_ms(NOW), c.COPY_TICKS_INFO, NOW)
    trade = md.copy_ticks_range("EURUSD", lo, _srv_ms(NOW), c.COPY_TICKS_TRADE, NOW)
    assert everything.size > 10
    assert np.array_equal(info, everything)  # every FX tick changes bid or ask
    assert trade.size == 0  # no last/volume in FX
    with pytest.raises(ValueError, match="flags"):
        md.copy_ticks_range("EURUSD", lo, _srv_ms(NOW), 8, NOW)


def test_copy_ticks_from_returns_count_ticks_from_the_date_across_days(md: MarketData) -> None:
    start = (int(ST.to_server(NOW)) // DAY - 1) * DAY * 1000 - 60_000  # one minute before midnight
    ticks = md.copy_ticks_from("EURUSD", start, 40, c.COPY_TICKS_ALL, NOW)
    assert ticks.size == 40
    assert ticks["time_msc"][0] >= start
    assert ticks["time_msc"][-1] >= start + 60_000  # crossed into the next day
    before = md.copy_ticks_range("EURUSD", start - 60_000, start - 1, c.COPY_TICKS_ALL, NOW)
    assert before.size
    assert before["time_msc"][-1] < ticks["time_msc"][0]
    ticks["bid"][0] = 0.0  # results are fresh, writable arrays
    assert md.copy_ticks_from("EURUSD", start, 1, -1, NOW)[0]["bid"] > 0


def test_ticks_between_excludes_after_and_includes_upto(md: MarketData) -> None:
    ticks = md.copy_ticks_range("EURUSD", _srv_ms(NOW) - 120_000, _srv_ms(NOW), -1, NOW)
    after, upto = int(ticks["time_msc"][2]), int(ticks["time_msc"][7])
    got = md.ticks_between("EURUSD", after, upto)
    assert got["time_msc"][0] > after
    assert got["time_msc"][-1] == upto
    assert np.array_equal(got, ticks[(ticks["time_msc"] > after) & (ticks["time_msc"] <= upto)])
    assert not got.flags.writeable


def test_weekend_serves_fridays_last_data_and_reports_market_closed(md: MarketData) -> None:
    saturday = _utc(2024, 3, 2, 12)
    assert not md.is_trading_time("EURUSD", saturday)
    assert md.is_trading_time("EURUSD", NOW)
    tick = md.last_tick("EURUSD", saturday)
    assert tick is not None
    assert tick["time"] < ST.to_server(saturday) - 12 * 3600
    bar = md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, 1, saturday)[0]
    assert bar["time"] // 60 == tick["time"] // 60
    assert md.day_stats("EURUSD", saturday) is None


def test_day_stats_summarise_todays_ticks_up_to_now(md: MarketData) -> None:
    stats = md.day_stats("EURUSD", NOW)
    assert stats is not None
    day_start = int(ST.to_server(NOW)) // DAY * DAY * 1000
    today = md.copy_ticks_range("EURUSD", day_start, _srv_ms(NOW), -1, NOW)
    assert stats.bidhigh == today["bid"].max()
    assert stats.asklow == today["ask"].min()
    assert stats.session_open == today["bid"][0]
    yesterday = md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_D1, 1, 1, NOW)[0]
    assert stats.session_close == yesterday["close"]


def test_unknown_symbol_and_bad_arguments_raise(md: MarketData) -> None:
    with pytest.raises(KeyError):
        md.copy_rates_from_pos("NOPE", c.TIMEFRAME_M1, 0, 1, NOW)
    with pytest.raises(KeyError):
        md.last_tick("NOPE", NOW)
    with pytest.raises(ValueError, match="timeframe"):
        md.copy_rates_from_pos("EURUSD", 17, 0, 1, NOW)
    with pytest.raises(ValueError, match="start_pos"):
        md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, -1, 1, NOW)
    with pytest.raises(ValueError, match="count"):
        md.copy_ticks_from("EURUSD", 0, -5, -1, NOW)
    assert md.last_tick("EURUSD", NOW - 30 * DAY) is None  # before the history


def test_bars_follow_server_midnight_across_the_dst_switch() -> None:
    after_switch = _utc(2024, 4, 3, 12)
    md = MarketData.generated({"EURUSD": SPECS["EURUSD"]}, seed=5, start_utc=after_switch,
                              history_days=12, server_time=ST)  # fmt: skip
    d1 = md.copy_rates_range("EURUSD", c.TIMEFRAME_D1, 0, 2**40, after_switch)
    assert np.all(d1["time"] % DAY == 0)
    weekdays = (d1["time"] // DAY + 4) % 7
    assert set(weekdays.tolist()) <= {1, 2, 3, 4, 5}
    h4 = md.copy_rates_range("EURUSD", c.TIMEFRAME_H4, 0, 2**40, after_switch)
    assert np.all(h4["time"] % (4 * 3600) == 0)
    # The week opens at server Monday 00:00: Sunday 22:00 UTC in winter, 21:00 UTC in summer.
    for monday_utc in (_utc(2024, 3, 24, 22), _utc(2024, 3, 31, 21)):
        first = md.copy_ticks_from("EURUSD", _srv_ms(monday_utc - 3600), 1, -1, after_switch)
        assert _srv_ms(monday_utc) <= first["time_msc"][0] < _srv_ms(monday_utc) + 60_000
        assert first["time"][0] % DAY < 60


def test_m1_mode_serves_one_minute_ohlc_ticks_consistent_with_its_bars() -> None:
    md = MarketData.generated(SPECS, seed=8, start_utc=NOW, history_days=3, server_time=ST,
                              mode="m1")  # fmt: skip
    bars = md.copy_rates_from_pos("XAUUSD", c.TIMEFRAME_M1, 1, 30, NOW)
    ticks = md.copy_ticks_range("XAUUSD", int(bars["time"][0]) * 1000,
                                int(bars["time"][-1]) * 1000 + 59_999, -1, NOW)  # fmt: skip
    assert ticks.size == np.minimum(bars["tick_volume"], 4).sum()
    assert set(np.unique(ticks["bid"])) <= set(np.concatenate(
        [bars["open"], bars["high"], bars["low"], bars["close"]]).tolist())  # fmt: skip
    forming = md.copy_rates_from_pos("XAUUSD", c.TIMEFRAME_M1, 0, 1, NOW)[0]
    assert forming["time"] == int(ST.to_server(NOW)) // 60 * 60
    assert forming["tick_volume"] <= 4


def test_generate_m1_bars_returns_the_requested_count_in_time_order() -> None:
    bars = generate_m1_bars(SPECS["EURUSD"], 5000, seed=1, end_utc=NOW, server_time=ST)
    assert bars.size == 5000
    assert np.all(np.diff(bars["time"]) > 0)
    assert bars["time"][-1] < ST.to_server(NOW)
    again = generate_m1_bars(SPECS["EURUSD"], 5000, seed=1, end_utc=NOW, server_time=ST)
    assert np.array_equal(bars, again)


def test_rates_results_are_fresh_arrays_that_callers_may_modify(md: MarketData) -> None:
    first = md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M5, 0, 3, NOW)
    expected = first.copy()
    first["close"] = 0.0
    second = md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M5, 0, 3, NOW)
    assert np.array_equal(second, expected)
    assert md.bars_count("EURUSD", c.TIMEFRAME_M5, NOW) >= 3
