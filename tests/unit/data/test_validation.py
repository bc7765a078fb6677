"""Bar validation, closed-bar detection and gap reporting."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading_engine.data.validation import (
    BarReject,
    BarValidator,
    detect_gap,
    new_closed_bars,
    validate_bar,
    validate_ohlc,
    validate_rates,
)
from trading_engine.mt5sim.spec.dtypes import RATES_DTYPE

M1 = 60
# Monday 2024-01-08 00:00:00 (server time)
MONDAY = 1_704_672_000


def rates(*rows: tuple[Any, ...]) -> npt.NDArray[Any]:
    """Rows of (time, open, high, low, close[, tick_volume]) as an MT5 rates array."""
    full = [(*r, 10, 2, 0) if len(r) == 5 else (*r, 2, 0) for r in rows]
    return np.array(full, dtype=RATES_DTYPE)


def series(n: int, start: int = MONDAY, step: int = M1) -> npt.NDArray[Any]:
    return rates(*[(start + i * step, 1.1, 1.2, 1.0, 1.15) for i in range(n)])


def test_rates_dtype_is_the_packed_mt5_layout() -> None:
    assert RATES_DTYPE.itemsize == 60


@pytest.mark.parametrize(
    ("bar", "reason"),
    [
        ((MONDAY, math.nan, 1.2, 1.0, 1.1), BarReject.NON_FINITE),
        ((MONDAY, 1.1, math.inf, 1.0, 1.1), BarReject.NON_FINITE),
        ((MONDAY, 0.0, 1.2, 0.0, 1.1), BarReject.NON_POSITIVE_PRICE),
        ((MONDAY, 1.1, 1.2, -1.0, 1.1), BarReject.NON_POSITIVE_PRICE),
        ((MONDAY, 1.1, 1.0, 1.2, 1.1), BarReject.HIGH_BELOW_LOW),
        ((MONDAY, 1.3, 1.2, 1.0, 1.1), BarReject.OPEN_OUTSIDE_RANGE),
        ((MONDAY, 1.1, 1.2, 1.0, 0.9), BarReject.CLOSE_OUTSIDE_RANGE),
        ((0, 1.1, 1.2, 1.0, 1.1), BarReject.INVALID_TIME),
        ((MONDAY + 7, 1.1, 1.2, 1.0, 1.1), BarReject.MISALIGNED_TIME),
    ],
)
def test_validate_ohlc_names_the_reason_of_a_malformed_bar(
    bar: tuple[int, float, float, float, float], reason: BarReject
) -> None:
    assert validate_ohlc(*bar, timeframe_seconds=M1) == reason
    assert validate_bar(rates(bar)[0], timeframe_seconds=M1) == reason
    mask, rejections = validate_rates(rates(bar), timeframe_seconds=M1)
    assert not mask[0]
    assert rejections == [(0, reason)]


def test_validate_ohlc_rejects_negative_volume() -> None:
    assert validate_ohlc(MONDAY, 1.1, 1.2, 1.0, 1.1, -1) == BarReject.NEGATIVE_VOLUME
    signed = np.array(
        [(MONDAY, 1.1, 1.2, 1.0, 1.1, -5)],
        dtype=[("time", "i8"), ("open", "f8"), ("high", "f8"), ("low", "f8"), ("close", "f8"),
               ("tick_volume", "i8")],
    )  # fmt: skip
    assert validate_rates(signed)[1] == [(0, BarReject.NEGATIVE_VOLUME)]


def test_validate_bar_accepts_a_well_formed_bar_given_as_mapping() -> None:
    bar = {"time": MONDAY, "open": 1.1, "high": 1.2, "low": 1.0, "close": 1.2}
    assert validate_bar(bar, previous_time=MONDAY - M1, timeframe_seconds=M1) is None


def test_validate_bar_reports_duplicate_and_out_of_order_times() -> None:
    bar = {"time": MONDAY, "open": 1.1, "high": 1.2, "low": 1.0, "close": 1.2}
    assert validate_bar(bar, previous_time=MONDAY) == BarReject.DUPLICATE_TIME
    assert validate_bar(bar, previous_time=MONDAY + M1) == BarReject.OUT_OF_ORDER


def test_validate_rates_checks_sequence_against_the_last_accepted_bar() -> None:
    t = MONDAY
    arr = rates(
        (t, 1.1, 1.2, 1.0, 1.1),
        (t + 120, 1.1, 1.2, 1.0, 1.1),
        (t + 60, 1.1, 1.2, 1.0, 1.1),  # older than the accepted t+120
        (t + 120, 1.1, 1.2, 1.0, 1.1),  # duplicate
        (t + 180, 1.1, 0.9, 1.0, 1.1),  # malformed: does not move the sequence on
        (t + 180, 1.1, 1.2, 1.0, 1.1),  # so this one is not a duplicate
    )
    mask, rejections = validate_rates(arr, previous_time=t - 60, timeframe_seconds=M1)
    assert mask.tolist() == [True, True, False, False, False, True]
    assert rejections == [
        (2, BarReject.OUT_OF_ORDER),
        (3, BarReject.DUPLICATE_TIME),
        (4, BarReject.HIGH_BELOW_LOW),
    ]


def test_validate_rates_checks_the_first_row_against_previous_time() -> None:
    mask, rejections = validate_rates(series(2), previous_time=MONDAY)
    assert mask.tolist() == [False, True]
    assert rejections == [(0, BarReject.DUPLICATE_TIME)]


_prices = st.floats(min_value=-2.0, max_value=3.0) | st.sampled_from([math.nan, math.inf, 1.1])


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(-2, 12), _prices, _prices, _prices, _prices), max_size=12),
    previous=st.none() | st.integers(0, 6),
)
def test_vectorised_validation_agrees_with_bar_by_bar_validation(
    rows: list[tuple[int, float, float, float, float]], previous: int | None
) -> None:
    arr = rates(*[(MONDAY + t * M1 if t > 0 else t, *p) for t, *p in rows])
    prev = None if previous is None else MONDAY + previous * M1
    mask, rejections = validate_rates(arr, previous_time=prev, timeframe_seconds=M1)
    expected: list[tuple[int, BarReject]] = []
    last = prev
    for i, row in enumerate(arr):
        reason = validate_bar(row, previous_time=last, timeframe_seconds=M1)
        if reason is None:
            last = int(row["time"])
        else:
            expected.append((i, reason))
    assert rejections == expected
    assert mask.sum() == len(arr) - len(expected)


def test_new_closed_bars_drops_the_forming_bar_with_candle_index_one() -> None:
    arr = series(5)
    closed = new_closed_bars(arr, None)
    assert closed["time"].tolist() == arr["time"][:-1].tolist()


def test_new_closed_bars_returns_only_bars_newer_than_last_time() -> None:
    arr = series(5)
    closed = new_closed_bars(arr, int(arr["time"][2]))
    assert closed["time"].tolist() == [int(arr["time"][3])]
    assert len(new_closed_bars(arr, int(arr["time"][3]))) == 0


def test_new_closed_bars_with_candle_index_zero_includes_the_forming_bar() -> None:
    arr = series(3)
    assert new_closed_bars(arr, int(arr["time"][1]), candle_index=0)["time"].tolist() == [
        int(arr["time"][2])
    ]


def test_new_closed_bars_with_candle_index_two_acts_one_bar_late() -> None:
    arr = series(4)
    assert new_closed_bars(arr, None, candle_index=2)["time"].tolist() == arr["time"][:2].tolist()
    assert len(new_closed_bars(series(1), None)) == 0
    with pytest.raises(ValueError, match="candle_index"):
        new_closed_bars(arr, None, candle_index=-1)


def test_detect_gap_ignores_the_weekend_closure() -> None:
    friday_last = MONDAY + 4 * 86_400 + 23 * 3600 + 59 * 60  # Fri 23:59
    next_monday = MONDAY + 7 * 86_400
    gap = detect_gap(friday_last, next_monday, M1)
    assert gap is not None
    assert gap.missing_bars == 0
    assert gap.weekend_bars == 2 * 1440


def test_detect_gap_counts_missing_weekday_bars() -> None:
    gap = detect_gap(MONDAY, MONDAY + 4 * M1, M1)
    assert gap is not None
    assert (gap.missing_bars, gap.weekend_bars) == (3, 0)
    assert detect_gap(MONDAY, MONDAY + M1, M1) is None
    assert detect_gap(MONDAY, MONDAY + 7 * 86_400, 7 * 86_400) is None  # W1: no grid check


def test_detect_gap_over_a_week_counts_weekdays_only_on_h1() -> None:
    gap = detect_gap(MONDAY, MONDAY + 7 * 86_400, 3600)
    assert gap is not None
    assert gap.missing_bars + gap.weekend_bars == 7 * 24 - 1
    assert gap.weekend_bars == 48


def test_validator_emits_each_closed_bar_once_across_overlapping_polls() -> None:
    v = BarValidator("EURUSD", 1, timeframe_seconds=M1)
    full = series(10)
    first = v.process(full[:5])  # bars 0-3 closed, 4 forming
    second = v.process(full[2:8])  # overlap 2-3, new 4-6, 7 forming
    third = v.process(full[2:8])  # nothing new
    assert first.accepted["time"].tolist() == full["time"][:4].tolist()
    assert second.accepted["time"].tolist() == full["time"][4:7].tolist()
    assert len(third.accepted) == 0
    assert v.accepted == 7
    assert v.rejected == 0
    assert v.last_time == int(full["time"][6])


def test_validator_counts_a_malformed_bar_once_and_moves_past_it() -> None:
    v = BarValidator("EURUSD", 1, timeframe_seconds=M1)
    t = MONDAY
    answer = rates(
        (t, 1.1, 1.2, 1.0, 1.1),
        (t + 60, 1.1, 1.2, 1.0, math.nan),
        (t + 120, 1.1, 1.2, 1.0, 1.1),  # forming
    )
    batch = v.process(answer)
    assert batch.rejected == [(t + 60, BarReject.NON_FINITE)]
    assert v.process(answer).rejected == []  # the same bad bar is not counted again
    later = np.concatenate([answer, rates((t + 180, 1.1, 1.2, 1.0, 1.1))])
    batch = v.process(later)
    assert batch.accepted["time"].tolist() == [t + 120]
    assert [(g.previous_time, g.time, g.missing_bars) for g in batch.gaps] == [(t, t + 120, 1)]
    assert v.rejections == {BarReject.NON_FINITE: 1}
    assert v.stats()["rejected_by_reason"] == {"non_finite": 1}
    assert v.stats()["missing_bars"] == 1


def test_validator_rejects_duplicates_within_one_answer() -> None:
    v = BarValidator("EURUSD", 1, timeframe_seconds=M1)
    t = MONDAY
    answer = rates(
        (t, 1.1, 1.2, 1.0, 1.1),
        (t, 1.1, 1.2, 1.0, 1.1),
        (t + 60, 1.1, 1.2, 1.0, 1.1),
    )
    batch = v.process_closed(answer)
    assert batch.rejected == [(t, BarReject.DUPLICATE_TIME)]
    assert v.rejections[BarReject.DUPLICATE_TIME] == 1
    assert v.accepted == 2


def test_validator_check_accepts_bars_one_at_a_time() -> None:
    v = BarValidator("EURUSD", 1, timeframe_seconds=M1)
    bar = {"time": MONDAY, "open": 1.1, "high": 1.2, "low": 1.0, "close": 1.2}
    assert v.check(bar) is None
    assert v.check(bar) == BarReject.DUPLICATE_TIME
    assert v.check({**bar, "time": MONDAY + 60, "high": 0.5}) == BarReject.HIGH_BELOW_LOW
    assert v.last_time == MONDAY
    assert v.accepted == 1
    assert v.rejected == 2


_bar = st.tuples(
    st.integers(-1, 40),  # minutes after MONDAY; <= 0 is an invalid time
    st.sampled_from([1.1, 1.15, 1.2, 0.9, -1.0, math.nan]),
    st.sampled_from([1.2, 1.0, math.inf]),
    st.sampled_from([1.0, 1.1]),
    st.sampled_from([1.1, 1.15, 1.3]),
)


@settings(max_examples=80, deadline=None)
@given(polls=st.lists(st.lists(_bar, max_size=12), min_size=1, max_size=5))
def test_row_by_row_path_agrees_with_the_vectorised_path(
    polls: list[list[tuple[int, float, float, float, float]]],
) -> None:
    small = BarValidator("EURUSD", 1, timeframe_seconds=M1)  # process(): small answers
    vector = BarValidator("EURUSD", 1, timeframe_seconds=M1)  # process_closed(): numpy
    for poll in polls:
        arr = rates(*[(MONDAY + t * M1 if t > 0 else t, *p) for t, *p in sorted(poll)])
        a = small.process(arr, candle_index=0)
        b = vector.process_closed(arr)
        assert a.accepted["time"].tolist() == b.accepted["time"].tolist()
        assert a.rejected == b.rejected
        assert a.gaps == b.gaps
    assert small.stats() == vector.stats()


def test_large_answers_take_the_vectorised_path_with_the_same_result() -> None:
    arr = series(100)
    arr["close"][10] = math.nan
    v = BarValidator("EURUSD", 1, timeframe_seconds=M1)
    batch = v.process(arr)
    assert len(batch.accepted) == 98
    assert batch.rejected == [(int(arr["time"][10]), BarReject.NON_FINITE)]
    assert [g.missing_bars for g in batch.gaps] == [1]


def test_validator_check_reports_a_gap_between_single_bars() -> None:
    v = BarValidator("EURUSD", 1, timeframe_seconds=M1)
    bar = {"time": MONDAY, "open": 1.1, "high": 1.2, "low": 1.0, "close": 1.2}
    v.check(bar)
    v.check({**bar, "time": MONDAY + 5 * M1})
    assert (v.gaps, v.missing_bars) == (1, 4)
