"""Sizing from risk: rounded down to the step, within bounds, never above the budget."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading_engine.errors import OrderError
from trading_engine.execution.sizing import (
    loss_per_lot,
    round_volume_down,
    size_from_risk,
    step_decimals,
)

EURUSD = {"tick_size": 0.00001, "tick_value": 1.0, "volume_min": 0.01, "volume_max": 100.0,
          "volume_step": 0.01}  # fmt: skip


def test_size_from_risk_on_eurusd() -> None:
    # 1% of 10,000 = 100; a 20-pip stop costs 200 per lot -> 0.5 lots.
    assert size_from_risk(10_000, 1.0, 0.0020, **EURUSD) == 0.5


def test_size_is_rounded_down_to_the_step() -> None:
    # 100 / 300 per lot = 0.3333 -> 0.33
    assert size_from_risk(10_000, 1.0, 0.0030, **EURUSD) == 0.33


def test_size_below_the_minimum_is_zero() -> None:
    assert size_from_risk(100, 1.0, 0.0100, **EURUSD) == 0.0


def test_size_is_capped_at_the_maximum() -> None:
    spec = {**EURUSD, "volume_max": 2.0}
    assert size_from_risk(1_000_000, 5.0, 0.0010, **spec) == 2.0


def test_non_positive_equity_gives_zero() -> None:
    assert size_from_risk(0, 1.0, 0.001, **EURUSD) == 0.0
    assert size_from_risk(-5, 1.0, 0.001, **EURUSD) == 0.0


@pytest.mark.parametrize(
    "bad",
    [
        {"stop_distance_price": 0.0},
        {"stop_distance_price": math.nan},
        {"tick_size": 0.0},
        {"tick_value": -1.0},
        {"volume_step": 0.0},
        {"risk_pct": 0.0},
        {"risk_pct": 150.0},
    ],
)
def test_invalid_inputs_raise_order_error(bad: dict[str, float]) -> None:
    args = {"equity": 10_000.0, "risk_pct": 1.0, "stop_distance_price": 0.002, **EURUSD, **bad}
    with pytest.raises(OrderError):
        size_from_risk(**args)


def test_round_volume_down_absorbs_binary_noise() -> None:
    assert round_volume_down(0.3, 0.1, 0.1, 10) == 0.3
    assert round_volume_down(0.7000000000000001, 0.1, 0.1, 10) == 0.7
    assert round_volume_down(0.29999, 0.1, 0.1, 10) == 0.2
    assert round_volume_down(5, 2, 1, 10) == 4
    with pytest.raises(OrderError, match="volume_max"):
        round_volume_down(1, 0.01, 1, 0.5)


def test_step_decimals() -> None:
    assert [step_decimals(s) for s in (0.01, 0.1, 0.5, 1.0, 10.0, 0.001)] == [2, 1, 1, 0, 0, 3]


@settings(max_examples=300)
@given(
    equity=st.floats(min_value=10, max_value=1e7),
    risk_pct=st.floats(min_value=0.01, max_value=10),
    stop=st.floats(min_value=1e-4, max_value=0.1),
    step=st.sampled_from([0.01, 0.1, 1.0]),
    min_steps=st.integers(1, 10),
    max_lots=st.floats(min_value=1, max_value=500),
)
def test_size_respects_step_bounds_and_budget(
    equity: float, risk_pct: float, stop: float, step: float, min_steps: int, max_lots: float
) -> None:
    volume_min = round(min_steps * step, 2)
    volume_max = max(max_lots, volume_min)
    size = size_from_risk(equity, risk_pct, stop, 0.00001, 1.0, volume_min, volume_max, step)
    raw = equity * risk_pct / 100 / loss_per_lot(stop, 0.00001, 1.0)
    if size == 0.0:
        # Zero only when even the minimum would exceed the budget (or the cap).
        assert min(raw, volume_max) < volume_min + step * 1e-6
        return
    assert volume_min - 1e-9 <= size <= volume_max + 1e-9
    steps = size / step
    assert abs(steps - round(steps)) < 1e-6, "a multiple of the step"
    assert size <= raw * (1 + 1e-9), "never risks more than the budget"
    assert size + step > min(raw, volume_max) - 1e-9, "rounded down by less than one step"
