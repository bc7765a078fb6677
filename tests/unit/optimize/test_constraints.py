"""Constraints between parameters, parsed without eval."""

from __future__ import annotations

import pytest

from trading_engine.errors import ConfigError
from trading_engine.optimize.constraints import parse_constraint
from trading_engine.optimize.space import parse_param

NAMES = {"ema_cross.fast", "ema_cross.slow", "k"}


@pytest.mark.parametrize(
    ("text", "params", "holds"),
    [
        ("ema_cross.fast < ema_cross.slow", {"ema_cross.fast": 5, "ema_cross.slow": 20}, True),
        ("ema_cross.fast < ema_cross.slow", {"ema_cross.fast": 20, "ema_cross.slow": 20}, False),
        (
            "ema_cross.fast + 5 <= ema_cross.slow",
            {"ema_cross.fast": 15, "ema_cross.slow": 20},
            True,
        ),
        (
            "ema_cross.fast + 6 <= ema_cross.slow",
            {"ema_cross.fast": 15, "ema_cross.slow": 20},
            False,
        ),
        ("k != 3", {"k": 3}, False),
        ("k >= 2.5", {"k": 3}, True),
        ("10 > k", {"k": 3}, True),
        ("k - 1 == 2", {"k": 3}, True),
    ],
)
def test_holds(text: str, params: dict[str, float], holds: bool) -> None:
    assert parse_constraint(text, NAMES).holds(params) is holds


def test_str_round_trips() -> None:
    assert str(parse_constraint("ema_cross.fast+5<ema_cross.slow", NAMES)) == (
        "ema_cross.fast + 5 < ema_cross.slow"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fast < slow", "'fast' is not a parameter of the search space"),
        ("k", "expected 'a < b'"),
        ("k < < 3", "expected .a < b."),
        ("k < 3 x", "cannot read"),
        ("1 < 2", "a constraint must name a parameter"),
        ("__import__('os') < k", "cannot read"),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_constraint(text, NAMES)


def test_compared_values_must_be_numbers() -> None:
    space = {"k": parse_param("k", "1,x"), "j": parse_param("j", "1:3:1")}
    with pytest.raises(ConfigError, match="'k' takes values that are not numbers"):
        parse_constraint("k < j", space)
    assert parse_constraint("j < 3", space).holds({"j": 2})
