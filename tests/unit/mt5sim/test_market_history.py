"""History files: MT5 CSV exports and Parquet round trips, and MarketData built from them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from trading_engine.mt5sim.market.data import MarketData
from trading_engine.mt5sim.market.history import (
    read_bars_csv,
    read_history,
    read_parquet,
    read_ticks_csv,
    write_bars_csv,
    write_parquet,
    write_ticks_csv,
)
from trading_engine.mt5sim.market.servertime import DAY, ServerTime
from trading_engine.mt5sim.spec import constants as c
from trading_engine.mt5sim.spec.dtypes import RATES_DTYPE
from trading_engine.mt5sim.spec.symbols import DEFAULT_SYMBOLS

ST = ServerTime.eet()
EURUSD = dataclasses.replace(DEFAULT_SYMBOLS["EURUSD"], ticks_per_minute=6.0)
NOW = dt.datetime(2024, 1, 11, 10, 30, 15, tzinfo=dt.UTC).timestamp()


@pytest.fixture(scope="module")
def md() -> MarketData:
    return MarketData.generated({"EURUSD": EURUSD}, seed=17, start_utc=NOW, history_days=3,
                                server_time=ST)  # fmt: skip


def test_bars_csv_round_trip_gives_the_same_array(md: MarketData, tmp_path: Path) -> None:
    bars = md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, 1, 2000, NOW)
    bars["real_volume"][::7] = 3
    path = tmp_path / "EURUSD_M1.csv"
    write_bars_csv(path, bars)
    lines = path.read_text().splitlines()
    assert lines[0] == "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>"
    first = dt.datetime.fromtimestamp(int(bars["time"][0]), dt.UTC)
    assert lines[1].startswith(first.strftime("%Y.%m.%d\t%H:%M:%S\t"))
    back = read_bars_csv(path)
    assert back.dtype == RATES_DTYPE
    assert np.array_equal(back, bars)


def test_ticks_csv_round_trip_keeps_milliseconds(md: MarketData, tmp_path: Path) -> None:
    lo = int(ST.to_server(NOW) * 1000) - 3_600_000
    ticks = md.copy_ticks_range("EURUSD", lo, lo + 3_600_000, c.COPY_TICKS_ALL, NOW)
    path = tmp_path / "EURUSD_ticks.csv"
    write_ticks_csv(path, ticks)
    header, row = path.read_text().splitlines()[:2]
    assert header == "<DATE>\t<TIME>\t<BID>\t<ASK>\t<LAST>\t<VOLUME>\t<FLAGS>"
    assert row.split("\t")[1].count(".") == 1
    assert len(row.split("\t")[1]) == 12
    assert np.array_equal(read_ticks_csv(path), ticks)


def test_parquet_round_trip_for_bars_and_ticks(md: MarketData, tmp_path: Path) -> None:
    bars = md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_H1, 0, 40, NOW)
    ticks = md.copy_ticks_from("EURUSD", 0, 500, c.COPY_TICKS_ALL, NOW)
    write_parquet(tmp_path / "b.parquet", bars)
    write_parquet(tmp_path / "t.parquet", ticks)
    kind, back = read_parquet(tmp_path / "b.parquet")
    assert kind == "bars"
    assert np.array_equal(back, bars)
    kind, back = read_history(tmp_path / "t.parquet")
    assert kind == "ticks"
    assert np.array_equal(back, ticks)
    with pytest.raises(ValueError, match="RATES_DTYPE"):
        write_parquet(tmp_path / "x.parquet", np.zeros(3))


def test_mt5_tick_export_with_empty_fields_and_utf16_is_read(tmp_path: Path) -> None:
    text = (
        "<DATE>\t<TIME>\t<BID>\t<ASK>\t<LAST>\t<VOLUME>\t<FLAGS>\n"
        "2024.01.08\t00:00:00.125\t1.09412\t1.09425\t\t\t6\n"
        "2024.01.08\t00:00:01.500\t\t1.09427\t\t\t4\n"
        "2024.01.08\t00:00:02.007\t1.09409\t\t\t\t2\n"
    )
    path = tmp_path / "mt5.csv"
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    kind, ticks = read_history(path)
    assert kind == "ticks"
    assert list(ticks["bid"]) == [1.09412, 1.09412, 1.09409]
    assert list(ticks["ask"]) == [1.09425, 1.09427, 1.09427]
    assert list(ticks["flags"]) == [6, 4, 2]
    base = int(dt.datetime(2024, 1, 8, tzinfo=dt.UTC).timestamp()) * 1000
    assert list(ticks["time_msc"] - base) == [125, 1500, 2007]
    assert list(ticks["time"]) == [base // 1000, base // 1000 + 1, base // 1000 + 2]
    assert ticks["last"].sum() == 0
    assert ticks["volume"].sum() == 0


def test_unknown_csv_format_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="format"):
        read_history(path)


def test_market_from_bars_history_synthesises_one_minute_ohlc_ticks(
    md: MarketData, tmp_path: Path
) -> None:
    bars = md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, 1, 3000, NOW)
    path = tmp_path / "EURUSD.csv"
    write_bars_csv(path, bars)
    hist = MarketData.from_history({"EURUSD": EURUSD}, {"EURUSD": path}, server_time=ST)
    later = NOW + 7 * DAY
    assert np.array_equal(hist.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, 3000, later), bars)
    h1_hist = hist.copy_rates_from_pos("EURUSD", c.TIMEFRAME_H1, 1, 10, later)
    h1_gen = md.copy_rates_range("EURUSD", c.TIMEFRAME_H1, h1_hist["time"][0], h1_hist["time"][-1],
                                 NOW)  # fmt: skip
    assert np.array_equal(h1_hist, h1_gen)
    b = bars[100]
    ticks = hist.copy_ticks_range("EURUSD", b["time"] * 1000, b["time"] * 1000 + 59_999, -1, later)
    expected = [b["open"], b["low"], b["high"], b["close"]] if b["close"] >= b["open"] else [
        b["open"], b["high"], b["low"], b["close"]]  # fmt: skip
    assert list(ticks["bid"]) == expected
    mid_bar = float(ST.to_utc(b["time"] + 30))
    forming = hist.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, 1, mid_bar)[0]
    assert forming["time"] == b["time"]
    assert forming["tick_volume"] == 2


def test_market_from_tick_history_rebuilds_the_same_bars(md: MarketData, tmp_path: Path) -> None:
    day = int(ST.to_server(NOW)) // DAY - 1
    ticks = md.copy_ticks_range("EURUSD", day * DAY * 1000, (day + 1) * DAY * 1000 - 1, -1, NOW)
    write_parquet(tmp_path / "t.parquet", ticks)
    hist = MarketData.from_history({"EURUSD": EURUSD, "GBPUSD": DEFAULT_SYMBOLS["GBPUSD"]},
                                   {"EURUSD": tmp_path / "t.parquet"}, server_time=ST)  # fmt: skip
    got = hist.copy_rates_range("EURUSD", c.TIMEFRAME_M5, day * DAY, (day + 1) * DAY - 1, NOW)
    want = md.copy_rates_range("EURUSD", c.TIMEFRAME_M5, day * DAY, (day + 1) * DAY - 1, NOW)
    assert got.size > 200
    assert np.array_equal(got, want)
    assert hist.last_tick("EURUSD", NOW) == ticks[-1]
    assert hist.last_tick("GBPUSD", NOW) is None  # a spec without a file has no data
    assert hist.regime("EURUSD", NOW) is None  # no ground truth for recorded history
    assert hist.copy_rates_from_pos("GBPUSD", c.TIMEFRAME_M1, 0, 5, NOW).size == 0
    with pytest.raises(KeyError):
        MarketData.from_history({"EURUSD": EURUSD}, {"XAUUSD": tmp_path / "t.parquet"})


def test_h1_history_is_replayed_as_h1_with_the_market_open_where_the_data_is(
    md: MarketData, tmp_path: Path
) -> None:
    h1 = md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_H1, 1, 120, NOW + 5 * DAY)
    path = tmp_path / "EURUSD_H1.csv"
    write_bars_csv(path, h1)
    hist = MarketData.from_history({"EURUSD": EURUSD}, {"EURUSD": path}, server_time=ST)
    later = NOW + 30 * DAY
    assert np.array_equal(hist.copy_rates_from_pos("EURUSD", c.TIMEFRAME_H1, 0, 120, later), h1)
    h4 = hist.copy_rates_from_pos("EURUSD", c.TIMEFRAME_H4, 0, 10, later)
    assert h4["high"][-1] == h1["high"][-4:].max()
    b = h1[50]
    ticks = hist.copy_ticks_range("EURUSD", b["time"] * 1000, b["time"] * 1000 + 3_599_999, -1,
                                  later)  # fmt: skip
    assert ticks["bid"][0] == b["open"]
    assert ticks["bid"][-1] == b["close"]
    assert ticks["bid"].max() == b["high"]
    assert ticks["bid"].min() == b["low"]
    inside = float(ST.to_utc(b["time"] + 1800))
    assert hist.is_trading_time("EURUSD", inside)
    assert not hist.is_trading_time("EURUSD", float(ST.to_utc(h1["time"][-1] + 2 * 3600)))
    shuffled = md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, 1, 50, NOW)[::-1]
    write_bars_csv(path, shuffled)
    with pytest.raises(ValueError, match="time order"):
        MarketData.from_history({"EURUSD": EURUSD}, {"EURUSD": path}, server_time=ST)
