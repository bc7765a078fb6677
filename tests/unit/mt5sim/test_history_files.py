"""MT5 exports as traders have them: any timeframe, encodings, line ends, time formats, errors."""

from __future__ import annotations

import calendar
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from trading_engine.mt5sim.market.bars import aggregate, m1_from_bars
from trading_engine.mt5sim.market.data import MarketData
from trading_engine.mt5sim.market.history import (
    HistoryFileError,
    infer_timeframe,
    load_history,
    read_history,
    write_parquet,
)
from trading_engine.mt5sim.market.servertime import ServerTime
from trading_engine.mt5sim.spec import constants as c
from trading_engine.mt5sim.spec.dtypes import RATES_DTYPE
from trading_engine.mt5sim.spec.symbols import DEFAULT_SYMBOLS

HEADER = "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>"
H1_ROWS = [
    "2024.01.05\t22:00\t1.09400\t1.09500\t1.09300\t1.09450\t1200\t0\t2",
    "2024.01.05\t23:00\t1.09450\t1.09480\t1.09380\t1.09400\t900\t0\t3",
    "2024.01.07\t23:00\t1.09410\t1.09460\t1.09350\t1.09440\t150\t0\t9",  # Sunday evening
    "2024.01.08\t00:00\t1.09440\t1.09600\t1.09420\t1.09580\t1400\t0\t2",
]


def epoch(text: str) -> int:
    """Server epoch seconds of ``YYYY.MM.DD HH:MM`` (server wall-clock as UTC-naive)."""
    return calendar.timegm(datetime.strptime(text, "%Y.%m.%d %H:%M").timetuple())


def write(path: Path, lines: list[str], encoding: str, newline: str) -> Path:
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


@pytest.mark.parametrize(
    ("encoding", "newline", "seconds"),
    [
        ("utf-16", "\r\n", False),  # what MT5 writes: UTF-16 LE with a BOM, CRLF
        ("utf-8-sig", "\r\n", True),
        ("utf-8", "\n", False),
        ("utf-8", "\n", True),
    ],
)
def test_h1_export_variants_read_the_same(
    tmp_path: Path, encoding: str, newline: str, seconds: bool
) -> None:
    rows = [r.replace("\t22:00", "\t22:00:00").replace("\t23:00", "\t23:00:00").replace(
        "\t00:00", "\t00:00:00") for r in H1_ROWS] if seconds else H1_ROWS  # fmt: skip
    history = load_history(write(tmp_path / "EURUSD_H1.csv", [HEADER, *rows], encoding, newline))
    assert history.kind == "bars"
    assert history.timeframe == c.TIMEFRAME_H1
    bars = history.data
    assert [int(t) for t in bars["time"]] == [
        epoch("2024.01.05 22:00"),
        epoch("2024.01.05 23:00"),
        epoch("2024.01.07 23:00"),
        epoch("2024.01.08 00:00"),
    ]
    assert bars["open"][0] == 1.094
    assert bars["close"][-1] == 1.0958
    assert list(bars["tick_volume"]) == [1200, 900, 150, 1400]
    assert list(bars["spread"]) == [2, 3, 9, 2]


def test_d1_export_without_time_column_and_w1_mn1_inference(tmp_path: Path) -> None:
    rows = ["<DATE>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>"]
    for day in ("2024.01.08", "2024.01.09", "2024.01.10", "2024.01.12"):
        rows.append(f"{day}\t1.1\t1.2\t1.0\t1.15\t50000\t0\t1")
    history = load_history(write(tmp_path / "d1.csv", rows, "utf-16", "\r\n"))
    assert history.timeframe == c.TIMEFRAME_D1
    assert int(history.data["time"][0]) == epoch("2024.01.08 00:00")
    weeks = np.array([epoch(d) for d in ("2024.01.07 00:00", "2024.01.14 00:00")], np.int64)
    assert infer_timeframe(weeks) == c.TIMEFRAME_W1
    months = np.array([epoch(d) for d in ("2024.01.01 00:00", "2024.02.01 00:00")], np.int64)
    assert infer_timeframe(months) == c.TIMEFRAME_MN1
    m5 = np.array([0, 300, 900, 1200], np.int64) + epoch("2024.01.08 00:00")
    assert infer_timeframe(m5) == c.TIMEFRAME_M5
    assert infer_timeframe(m5[:1]) is None


def test_ticks_export_with_empty_fields(tmp_path: Path) -> None:
    lines = [
        "<DATE>\t<TIME>\t<BID>\t<ASK>\t<LAST>\t<VOLUME>\t<FLAGS>",
        "2024.01.08\t00:00:00.120\t1.09400\t1.09410\t\t\t6",
        "2024.01.08\t00:00:00.480\t\t1.09415\t\t\t4",
        "2024.01.08\t00:00:01\t1.09402\t\t\t\t2",
    ]
    kind, ticks = read_history(write(tmp_path / "ticks.csv", lines, "utf-16", "\r\n"))
    assert kind == "ticks"
    base = epoch("2024.01.08 00:00") * 1000
    assert list(ticks["time_msc"]) == [base + 120, base + 480, base + 1000]
    assert list(ticks["bid"]) == [1.094, 1.094, 1.09402]
    assert list(ticks["ask"]) == [1.0941, 1.09415, 1.09415]
    assert list(ticks["flags"]) == [6, 4, 2]


def test_parquet_bars_keep_their_timeframe(tmp_path: Path) -> None:
    bars = np.zeros(3, dtype=RATES_DTYPE)
    bars["time"] = np.array([0, 14_400, 28_800]) + epoch("2024.01.08 00:00")
    bars["open"] = bars["high"] = bars["low"] = bars["close"] = 1.1
    write_parquet(tmp_path / "h4.parquet", bars)
    history = load_history(tmp_path / "h4.parquet")
    assert history.timeframe == c.TIMEFRAME_H4
    assert np.array_equal(history.data, bars)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            "2024.01.08\t01:00\tabc\t1.2\t1.0\t1.1\t5\t0\t1",
            "bad.csv:3: column 3 <OPEN>: not a number: 'abc'",
        ),
        (
            "2024.13.08\t01:00\t1.1\t1.2\t1.0\t1.1\t5\t0\t1",
            "bad.csv:3: column 1 <DATE>: not a date (YYYY.MM.DD): '2024.13.08'",
        ),
        (
            "2024.01.08\t25:00\t1.1\t1.2\t1.0\t1.1\t5\t0\t1",
            "bad.csv:3: column 2 <TIME>: not a time (HH:MM or HH:MM:SS): '25:00'",
        ),
        (
            "2024.01.08\t01:00\t1.1\t1.2\t1.0\t1.1\t-5\t0\t1",
            "bad.csv:3: column 7 <TICKVOL>: not a whole number >= 0: '-5'",
        ),
        (
            "2024.01.08\t00:00\t1.1\t1.2\t1.0\t1.1\t5\t0\t1",
            "bad.csv:3: column 2 <TIME>: time not after the previous line's",
        ),
        (
            "2024.01.08\t01:00\t\t1.2\t1.0\t1.1\t5\t0\t1",
            "bad.csv:3: column 3 <OPEN>: empty value",
        ),
    ],
)
def test_a_bad_value_is_one_line_naming_file_line_and_column(
    tmp_path: Path, row: str, expected: str
) -> None:
    first = "2024.01.08\t00:00\t1.1\t1.2\t1.0\t1.1\t5\t0\t1"
    path = write(tmp_path / "bad.csv", [HEADER, first, row], "utf-16", "\r\n")
    with pytest.raises(HistoryFileError) as info:
        load_history(path)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(str(tmp_path / expected.split(":", 1)[0]))
    assert expected.split(":", 1)[1] in text


def test_unknown_columns_and_formats_are_named(tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", [HEADER + "\t<FOO>", H1_ROWS[0] + "\t1"], "utf-8", "\n")
    with pytest.raises(HistoryFileError, match=r"x.csv:1: unknown column '<FOO>'"):
        load_history(path)
    with pytest.raises(HistoryFileError, match="no such file"):
        load_history(tmp_path / "missing.csv")


def test_higher_timeframe_bars_spread_over_m1_aggregate_back() -> None:
    bars = np.zeros(3, dtype=RATES_DTYPE)
    bars["time"] = np.array([0, 3600, 7200]) + epoch("2024.01.08 00:00")
    bars["open"] = [1.10, 1.12, 1.11]
    bars["high"] = [1.13, 1.125, 1.115]
    bars["low"] = [1.09, 1.105, 1.10]
    bars["close"] = [1.12, 1.11, 1.11]
    bars["tick_volume"] = [500, 40, 7]
    bars["spread"] = [2, 3, 4]
    m1 = m1_from_bars(bars, c.TIMEFRAME_H1)
    assert m1.size == 12
    assert np.array_equal(aggregate(m1, c.TIMEFRAME_H1), bars)
    assert list(m1["time"][:4] - bars["time"][0]) == [0, 1200, 2400, 3540]
    assert list(m1["close"][:4]) == [1.10, 1.09, 1.13, 1.12]  # rising: open, low, high, close
    assert list(m1["close"][4:8]) == [1.12, 1.125, 1.105, 1.11]  # falling: open, high, low, close


def test_sunday_evening_bars_mean_the_market_was_open(tmp_path: Path) -> None:
    path = write(tmp_path / "EURUSD_H1.csv", [HEADER, *H1_ROWS], "utf-16", "\r\n")
    st = ServerTime.fixed(0)
    md = MarketData.from_history({"EURUSD": DEFAULT_SYMBOLS["EURUSD"]}, {"EURUSD": path},
                                 server_time=st)  # fmt: skip
    assert md.is_trading_time("EURUSD", epoch("2024.01.07 23:30"))  # Sunday: in the data
    assert not md.is_trading_time("EURUSD", epoch("2024.01.06 12:00"))  # Saturday: no data
    assert md.is_trading_time("EURUSD", epoch("2024.01.05 23:59"))


def test_invalid_utf8_names_the_line_and_the_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    good = H1_ROWS[0].encode()
    bad = H1_ROWS[1].replace("1.09480", "1.0\xff48").encode("latin-1")
    path.write_bytes(b"\n".join([HEADER.encode(), good, bad]) + b"\n")
    with pytest.raises(HistoryFileError) as info:
        load_history(path)
    assert str(info.value) == f"{path}:3: column 4 <HIGH>: not UTF-8 or UTF-16 text"


_BAD_HIGH = {  # a bad code unit in line 3's <HIGH>, for each encoding of an export
    "utf-8": ("utf-8", b"", b"\xff"),
    "utf-8 with a mark": ("utf-8", b"\xef\xbb\xbf", b"\xff"),
    "utf-16 le with a mark": ("utf-16-le", b"\xff\xfe", b"\x00\xd8"),
    "utf-16 be with a mark": ("utf-16-be", b"\xfe\xff", b"\xd8\x00"),
    "utf-16 le without a mark": ("utf-16-le", b"", b"\x00\xd8"),
}


@pytest.mark.parametrize("case", list(_BAD_HIGH))
def test_a_bad_code_unit_names_file_line_and_column_in_every_encoding(
    tmp_path: Path, case: str
) -> None:
    encoding, mark, bad = _BAD_HIGH[case]
    head, tail = "\r\n".join([HEADER, H1_ROWS[0], H1_ROWS[1]]).split("1.09480")
    path = tmp_path / "bad.csv"
    path.write_bytes(mark + (head + "1.0").encode(encoding) + bad + tail.encode(encoding))
    with pytest.raises(HistoryFileError) as info:
        load_history(path)
    assert str(info.value) == f"{path}:3: column 4 <HIGH>: not UTF-8 or UTF-16 text"


def test_a_binary_file_is_one_plain_line_without_its_bytes(tmp_path: Path) -> None:
    """A binary file's first line is no header: its bytes are not echoed as a column name."""
    path = tmp_path / "chart.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x1b[2J" + bytes(range(128, 256)))
    with pytest.raises(HistoryFileError) as info:
        load_history(path)
    assert str(info.value) == f"{path}:1: column 1: not UTF-8 or UTF-16 text"


@pytest.mark.parametrize(
    ("lines", "expected"),
    [([], ":1: empty file"), ([HEADER], ":2: no data rows after the header")],
)
def test_an_empty_or_header_only_file_is_one_error_line(
    tmp_path: Path, lines: list[str], expected: str
) -> None:
    path = tmp_path / "short.csv"
    path.write_bytes(("\r\n".join(lines) + ("\r\n" if lines else "")).encode("utf-16"))
    with pytest.raises(HistoryFileError) as info:
        load_history(path)
    assert str(info.value) == f"{path}{expected}"


def test_h1_rows_that_cannot_be_a_market_are_left_out_and_listed(tmp_path: Path) -> None:
    """H1 bars are spread over M1 bars to be replayed: a bad one cannot be served as it is."""
    rows = [
        "2024.01.08\t00:00\t1.09440\t1.09600\t1.09420\t1.09580\t1400\t0\t2",
        "2024.01.08\t01:00\t1.09580\t1.09600\t1.09500\tnan\t900\t0\t2",  # NaN close
        "2024.01.08\t02:00\t1.09580\t1.09500\t1.09600\t1.09550\t900\t0\t2",  # high < low
        "2024.01.08\t03:00\t1.09700\t1.09600\t1.09500\t1.09550\t900\t0\t2",  # open > high
        "2024.01.08\t04:00\t0\t1.09600\t1.09500\t1.09550\t900\t0\t2",  # a zero price
        "2024.01.08\t05:00\t1.09550\t1.09600\t1.09500\t1.09400\t900\t0\t2",  # close < low
        "2024.01.08\t06:00\t1.09550\t1.09600\t1.09500\t1.09580\t900\t0\t2",
    ]
    path = write(tmp_path / "dirty.csv", [HEADER, *rows], "utf-16", "\r\n")
    history = load_history(path)
    assert list(history.data["time"]) == [epoch("2024.01.08 00:00"), epoch("2024.01.08 06:00")]
    assert history.rejected == (
        "line 3: price not a positive number",
        "line 4: high below low",
        "line 5: open outside low..high",
        "line 6: price not a positive number",
        "line 7: close outside low..high",
    )
    kind, data = read_history(path)  # the plain reader keeps every row
    assert kind == "bars"
    assert len(data) == 7
    market = MarketData.from_history(
        {"EURUSD": DEFAULT_SYMBOLS["EURUSD"]}, {"EURUSD": path}, server_time=ServerTime.eet()
    )
    assert market.rejected_rows == {"EURUSD": history.rejected}


def test_ticks_with_no_price_or_an_ask_below_the_bid_are_left_out(tmp_path: Path) -> None:
    lines = [
        "<DATE>\t<TIME>\t<BID>\t<ASK>\t<LAST>\t<VOLUME>\t<FLAGS>",
        "2024.01.08\t00:00:00.120\t1.09400\t1.09410\t\t\t6",
        "2024.01.08\t00:00:00.480\t1.09420\t1.09415\t\t\t6",  # ask below bid
        "2024.01.08\t00:00:01\t-1\t1.09420\t\t\t6",
        "2024.01.08\t00:00:02\t1.09402\t1.09412\t\t\t6",
    ]
    history = load_history(write(tmp_path / "ticks.csv", lines, "utf-8", "\n"))
    assert list(history.data["bid"]) == [1.094, 1.09402]
    assert history.rejected == ("line 3: ask below bid", "line 4: price not a positive number")


def test_bad_m1_bars_are_served_as_the_file_has_them(tmp_path: Path) -> None:
    """M1 bars reach the engine as they are: its bar validation rejects and counts them."""
    rows = [
        "2024.01.08\t00:00\t1.09440\t1.09600\t1.09420\t1.09580\t14\t0\t2",
        "2024.01.08\t00:01\t1.09580\t1.09500\t1.09600\t1.09550\t9\t0\t2",  # high < low
        "2024.01.08\t00:02\t1.09550\t1.09600\t1.09500\t1.09580\t9\t0\t2",
    ]
    history = load_history(write(tmp_path / "m1.csv", [HEADER, *rows], "utf-8", "\n"))
    assert history.timeframe == c.TIMEFRAME_M1
    assert len(history.data) == 3
    assert history.rejected == ()


def test_a_file_read_again_is_not_parsed_again_until_it_changes(tmp_path: Path) -> None:
    path = write(tmp_path / "EURUSD_H1.csv", [HEADER, *H1_ROWS], "utf-8", "\n")
    first = load_history(path)
    assert load_history(tmp_path / "." / "EURUSD_H1.csv") is first  # the same file, kept
    with pytest.raises(ValueError, match="read-only"):
        first.data["close"][0] = 0.0  # shared by every reader: nobody may change it
    write(path, [HEADER, *H1_ROWS[:3]], "utf-8", "\n")  # rewritten: another size and time
    again = load_history(path)
    assert again is not first
    assert len(again.data) == 3
