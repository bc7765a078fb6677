"""Search-space parsing: ranges, choices, grids, and one clear error per mistake."""

from __future__ import annotations

import pytest

from trading_engine.errors import ConfigError
from trading_engine.optimize.space import grid_points, grid_size, parse_param, parse_space


def test_integer_range_includes_both_ends() -> None:
    spec = parse_param("ema_cross.fast", "5:20:5")
    assert spec.kind == "int"
    assert spec.values() == [5, 10, 15, 20]


def test_float_range_with_step_is_a_grid() -> None:
    spec = parse_param("ema_cross.sl_atr", "0.5:2:0.5")
    assert spec.kind == "float"
    assert spec.values() == [0.5, 1.0, 1.5, 2.0]


def test_continuous_range_has_no_grid() -> None:
    spec = parse_param("x", "0.1:0.9")
    assert spec.kind == "float"
    assert spec.step is None
    with pytest.raises(ConfigError, match="x: a continuous range has no grid"):
        spec.values()


def test_choice_reads_each_item_as_yaml() -> None:
    spec = parse_param("strategy", "ema_cross,rsi_reversion")
    assert spec.choices == ("ema_cross", "rsi_reversion")
    assert parse_param("flag", "true,false").choices == (True, False)
    assert parse_param("n", "3,7").choices == (3, 7)


def test_mapping_and_list_forms_of_the_config() -> None:
    space = parse_space({"a": {"low": 1, "high": 3, "step": 1}, "b": [1.5, 2.5], "c": "1:2:1"})
    assert space["a"].values() == [1, 2, 3]
    assert space["b"].choices == (1.5, 2.5)
    assert grid_size(space) == 3 * 2 * 2
    points = list(grid_points(space))
    assert len(points) == 12
    assert points[0] == {"a": 1, "b": 1.5, "c": 1}
    assert points[-1] == {"a": 3, "b": 2.5, "c": 2}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("20:5:1", "the range is empty"),
        ("5:20:0", "the step must be positive"),
        ("5:x:1", "not a number"),
        ("5:6:7:8", "expected lo:hi or lo:hi:step"),
        ("a,,b", "non-empty"),
        ("a,a", "the same value twice"),
    ],
)
def test_bad_specs_name_the_parameter(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"^p: .*{message}"):
        parse_param("p", text)


def test_contains() -> None:
    spec = parse_param("p", "5:20:5")
    assert spec.contains(5)
    assert spec.contains(20)
    assert not spec.contains(21)
