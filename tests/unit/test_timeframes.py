"""MT5 timeframe constants, parsing of names and minute strings, durations."""

from __future__ import annotations

import pytest

from trading_engine import timeframes as tf
from trading_engine.timeframes import (
    TIMEFRAMES,
    parse_timeframe,
    timeframe_name,
    timeframe_seconds,
)


def test_constants_have_the_metatrader5_values() -> None:
    assert (tf.M1, tf.M5, tf.M15, tf.M30) == (1, 5, 15, 30)
    assert (tf.H1, tf.H4, tf.H12) == (16385, 16388, 16396)
    assert (tf.D1, tf.W1, tf.MN1) == (16408, 32769, 49153)
    assert len(TIMEFRAMES) == 21


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", tf.M1),
        ("5", tf.M5),
        ("15", tf.M15),
        ("30", tf.M30),
        ("60", tf.H1),
        ("240", tf.H4),
        ("1440", tf.D1),
        ("10080", tf.W1),
        (" 15 ", tf.M15),
    ],
)
def test_seed_minute_strings_map_to_mt5_constants(text: str, expected: int) -> None:
    assert parse_timeframe(text) == expected


def test_names_parse_case_insensitively_and_round_trip() -> None:
    for name, value in TIMEFRAMES.items():
        for spelling in (name, name.lower(), name.title()):
            assert parse_timeframe(spelling) == value, spelling
        assert timeframe_name(value) == name


def test_an_mt5_constant_given_as_int_is_accepted() -> None:
    assert parse_timeframe(16385) == tf.H1


@pytest.mark.parametrize("value", ["7", "M7", "1H", "", "minute", 7, 0, -1, True])
def test_unknown_timeframe_raises_a_clear_value_error(value: str | int) -> None:
    with pytest.raises(ValueError, match="unknown timeframe"):
        parse_timeframe(value)


def test_timeframe_seconds() -> None:
    assert timeframe_seconds(tf.M1) == 60
    assert timeframe_seconds(tf.M20) == 1200
    assert timeframe_seconds(tf.H4) == 4 * 3600
    assert timeframe_seconds(tf.D1) == 86400
    assert timeframe_seconds(tf.W1) == 7 * 86400


def test_month_has_no_fixed_length() -> None:
    with pytest.raises(ValueError, match="MN1 has no fixed length"):
        timeframe_seconds(tf.MN1)


@pytest.mark.parametrize("value", [7, 16384, 99999])
def test_name_and_seconds_of_unknown_constant_raise(value: int) -> None:
    with pytest.raises(ValueError, match="not an MT5 timeframe constant"):
        timeframe_name(value)
    with pytest.raises(ValueError, match="not an MT5 timeframe constant"):
        timeframe_seconds(value)


def test_fixed_seconds_is_none_only_for_calendar_months() -> None:
    from trading_engine.timeframes import MN1, W1, fixed_seconds

    assert fixed_seconds(MN1) is None
    assert fixed_seconds(W1) == 7 * 86_400
