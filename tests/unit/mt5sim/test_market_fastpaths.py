"""Fast paths of the simulator against their general (reference) computation.

``M1Tail`` (``copy_rates_from_pos`` on M1) must answer byte for byte what the general bar path
(``MarketData._build_series`` + ``_assemble``) answers, for any sequence of instants and queries.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading_engine.mt5sim.market.data import MarketData, MinuteQuotes
from trading_engine.mt5sim.market.history import write_bars_csv
from trading_engine.mt5sim.market.servertime import ServerTime
from trading_engine.mt5sim.spec import constants as c
from trading_engine.mt5sim.spec.dtypes import RATES_DTYPE
from trading_engine.mt5sim.spec.symbols import DEFAULT_SYMBOLS

ST = ServerTime.eet()
START = dt.datetime(2024, 3, 29, 20, 0, tzinfo=dt.UTC).timestamp()  # Friday before the DST switch
SPECS = {"EURUSD": dataclasses.replace(DEFAULT_SYMBOLS["EURUSD"], ticks_per_minute=6.0)}


def _reference(
    md: MarketData, symbol: str, pos: int, count: int, now: float
) -> npt.NDArray[np.void]:
    closed, _, forming = md._build_series(symbol, c.TIMEFRAME_M1, now)
    end = closed.size + forming.size - pos
    return md._assemble(closed, forming, max(0, end - count), end)


def _same(a: npt.NDArray[np.void], b: npt.NDArray[np.void]) -> bool:
    return a.dtype == b.dtype == RATES_DTYPE and a.tobytes() == b.tobytes()


steps = st.lists(
    st.tuples(
        st.one_of(
            st.just(60.0),
            st.just(0.0),
            st.floats(0.0, 120.0),
            st.integers(0, 3).map(lambda k: k * 0.001),
            st.floats(0.0, 4 * 86_400.0),
        ),
        st.integers(0, 5),
        st.integers(0, 7),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(steps=steps, mode=st.sampled_from(["m1", "ticks"]), offset=st.floats(0.0, 3 * 86_400.0))
def test_m1_tail_matches_the_general_bar_path(
    steps: list[tuple[float, int, int]], mode: str, offset: float
) -> None:
    md = MarketData.generated(
        SPECS,
        seed=3,
        start_utc=START,
        history_days=2,
        server_time=ST,
        mode=mode,  # type: ignore[arg-type]
    )
    now = START + offset
    for dt_s, pos, count in steps:
        now += dt_s
        fast = md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, pos, count, now)
        assert _same(fast, _reference(md, "EURUSD", pos, count, now))
        assert fast.flags.writeable


def test_m1_tail_at_every_tick_of_a_minute() -> None:
    md = MarketData.generated(SPECS, seed=5, start_utc=START, history_days=1, server_time=ST)
    minute_utc = START - START % 60 + 600
    for ms in range(-1, 60_001, 250):
        now = minute_utc + ms / 1000.0
        for pos, count in ((0, 1), (0, 3), (1, 2), (2, 0)):
            fast = md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, pos, count, now)
            assert _same(fast, _reference(md, "EURUSD", pos, count, now))


def test_m1_tail_answers_are_fresh_copies() -> None:
    md = MarketData.generated(SPECS, seed=5, start_utc=START, history_days=1, server_time=ST)
    a = md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, 3, START)
    a["close"] = 0.0
    b = md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, 3, START)
    assert _same(b, _reference(md, "EURUSD", 0, 3, START))
    assert not np.any(b["close"] == 0.0)


@settings(max_examples=40, deadline=None)
@given(
    steps=st.lists(st.floats(0.0, 2 * 86_400.0), min_size=1, max_size=30),
    mode=st.sampled_from(["m1", "ticks"]),
)
def test_last_tick_row_matches_last_tick(steps: list[float], mode: str) -> None:
    md = MarketData.generated(
        SPECS,
        seed=4,
        start_utc=START,
        history_days=2,
        server_time=ST,
        mode=mode,  # type: ignore[arg-type]
    )
    now = START - 86_400.0
    for dt_s in steps:
        now += dt_s
        t = md.last_tick("EURUSD", now)
        row = md.last_tick_row("EURUSD", now)
        assert (None if t is None else t.item()) == row
        quote = md.cursor("EURUSD").last_quote(now)
        assert quote == (None if t is None else (float(t["bid"]), float(t["ask"])))
        if row is not None:
            assert [type(v) for v in row] == [int, float, float, float, int, int, int, float]
        md.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, 0, 2, now)  # moves the shared cursor


@settings(max_examples=30, deadline=None)
@given(
    calls=st.lists(
        st.tuples(
            st.sampled_from([0.0, 0.001, 60.0, 3600.0]), st.integers(0, 12), st.integers(0, 12)
        ),
        min_size=1,
        max_size=20,
    )
)
def test_terminal_poll_fast_path_answers_as_the_general_path(
    calls: list[tuple[float, int, int]],
) -> None:
    from trading_engine.mt5sim import SimConfig, Terminal

    class Clock:
        t = START

        def __call__(self) -> float:
            return self.t

    clock = Clock()
    cfg = SimConfig(
        seed=2, start=dt.datetime.fromtimestamp(START, dt.UTC), history_days=1, maxbars=8
    )
    term = Terminal(cfg, clock=clock)
    assert term.initialize()
    for dt_s, pos, count in calls:
        clock.t += dt_s
        fast = term.copy_rates_from_pos("EURUSD", c.TIMEFRAME_M1, pos, count)
        fast_error = term.last_error()
        general = term.copy_rates_from_pos(  # numpy integers take the general path
            "EURUSD",
            np.int64(c.TIMEFRAME_M1),  # type: ignore[arg-type]
            np.int64(pos),  # type: ignore[arg-type]
            np.int64(count),  # type: ignore[arg-type]
        )
        assert fast is not None
        assert general is not None
        assert _same(fast, general)
        assert fast_error == term.last_error() == (1, "Success")


def _quotes_of_ticks(md: MarketData, symbol: str, lo: float, hi: float) -> dict[str, list[Any]]:
    """The minute quotes computed the long way: every tick of the range, reduced per minute."""
    last_minute = math.floor(hi / 60) * 60
    ticks = md.ticks_between(symbol, math.floor(lo / 60) * 60_000 - 1, last_minute * 1000 + 59_999)
    msc = ticks["time_msc"]
    minute = msc // 60_000
    starts = np.flatnonzero(np.diff(minute, prepend=minute[0] - 1))
    return {
        "time": (minute[starts] * 60).tolist(),
        "first_msc": msc[starts].tolist(),
        "bid_low": np.minimum.reduceat(ticks["bid"], starts).tolist(),
        "bid_high": np.maximum.reduceat(ticks["bid"], starts).tolist(),
        "ask_low": np.minimum.reduceat(ticks["ask"], starts).tolist(),
        "ask_high": np.maximum.reduceat(ticks["ask"], starts).tolist(),
    }


def _fields(q: MinuteQuotes) -> dict[str, list[Any]]:
    return {name: getattr(q, name).tolist() for name in MinuteQuotes.__slots__}


@pytest.mark.parametrize("mode", ["ticks", "m1"])
def test_minute_quotes_are_the_extremes_and_first_time_of_each_minutes_ticks(mode: str) -> None:
    md = MarketData.generated(
        SPECS, seed=3, start_utc=START, history_days=2, server_time=ST, mode=mode
    )  # fmt: skip
    lo, hi = ST.to_server(START) - 86_400 + 17.5, ST.to_server(START) + 4 * 86_400 + 59
    quotes = md.minute_quotes("EURUSD", lo, hi)
    assert len(quotes.time) > 2000  # Friday and Monday, across the weekend and the DST switch
    assert _fields(quotes) == _quotes_of_ticks(md, "EURUSD", lo, hi)


def test_minute_quotes_of_replayed_bars_follow_the_one_minute_ohlc_ticks(tmp_path: Path) -> None:
    # thin and full bars, rising and falling: 1, 2, 3 and 4+ ticks of "1 minute OHLC"
    bars = np.zeros(6, dtype=RATES_DTYPE)
    bars["time"] = 1_704_700_800 + 60 * np.arange(6)
    bars["open"] = [1.1, 1.1, 1.1, 1.1, 1.1, 1.1]
    bars["high"] = [1.1, 1.1003, 1.1004, 1.1005, 1.1002, 1.1006]
    bars["low"] = [1.1, 1.0999, 1.0996, 1.0995, 1.0998, 1.0991]
    bars["close"] = [1.1, 1.1002, 1.0999, 1.1003, 1.0999, 1.0993]
    bars["tick_volume"] = [1, 2, 3, 3, 4, 9]
    bars["spread"] = [3, 5, 2, 7, 1, 4]
    path = tmp_path / "bars.csv"
    write_bars_csv(path, bars)
    md = MarketData.from_history(SPECS, {"EURUSD": path}, server_time=ST)
    lo, hi = float(bars["time"][0]), float(bars["time"][-1])
    quotes = md.minute_quotes("EURUSD", lo, hi)
    assert _fields(quotes) == _quotes_of_ticks(md, "EURUSD", lo, hi)
    # the 2- and 3-tick bars never saw their low: their ticks are open, (high,) close
    assert quotes.bid_low.tolist()[1:3] == [1.1, 1.0999]


@pytest.mark.parametrize("mode", ["ticks", "m1"])
def test_quote_reads_answer_alike_before_and_after_the_day_is_listed(mode: str) -> None:
    # a backtest reads a few quotes a day (the day searched as an array), a polling loop many
    # (the day listed after a few dozen reads): the answers are the general path's either way
    md = MarketData.generated(
        SPECS, seed=4, start_utc=START, history_days=2, server_time=ST, mode=mode
    )  # fmt: skip
    cursor = md.cursor("EURUSD")
    now = START - 6 * 3600.0
    for _ in range(150):  # all on one server day, past the listing threshold
        now += 97.3
        t = md.last_tick("EURUSD", now)
        assert t is not None
        assert cursor.last_tick(now) == t.item()
        quote = cursor.last_quote(now)
        assert quote == (float(t["bid"]), float(t["ask"]))
        assert quote is not None
        assert [type(v) for v in quote] == [float, float]
