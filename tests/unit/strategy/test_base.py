"""The Strategy contract: parameters, warm-up, value checks, error isolation, helpers."""

from __future__ import annotations

import math

import pytest
from pydantic import BaseModel, ConfigDict, Field

from trading_engine.errors import StrategyError
from trading_engine.events import Side
from trading_engine.strategy.base import PositionView, Signal, Snapshot, Strategy


class ThresholdParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: float = Field(gt=0)
    lots: float = 0.1


class Threshold(Strategy[ThresholdParams]):
    Params = ThresholdParams
    required_values = ("rsi",)
    warmup_bars = 3

    def on_bar(self, snapshot: Snapshot) -> Signal | None:
        if snapshot.position is not None:
            return self.exit("have one")
        if snapshot.values["rsi"] > self.params.level:
            return self.enter(Side.SELL, sl=snapshot.close + 0.01, volume=self.params.lots)
        return None


class Broken(Strategy[ThresholdParams]):
    Params = ThresholdParams

    def on_bar(self, snapshot: Snapshot) -> Signal | None:
        raise ZeroDivisionError("division by zero")


class WrongReturn(Strategy[ThresholdParams]):
    Params = ThresholdParams

    def on_bar(self, snapshot: Snapshot) -> Signal | None:
        return "buy"  # type: ignore[return-value]


def snap(*, bars: int = 10, rsi: float = 80.0, position: PositionView | None = None) -> Snapshot:
    return Snapshot("EURUSD", 1, 1_704_672_000, 1.1, 1.2, 1.0, 1.1, {"rsi": rsi}, "ranging",
                    position, bars)  # fmt: skip


def test_params_are_validated_at_construction() -> None:
    s = Threshold({"level": 70})
    assert s.params.level == 70.0
    assert s.name == "Threshold"


def test_invalid_params_raise_strategy_error_naming_the_field() -> None:
    with pytest.raises(StrategyError, match=r"level: Input should be greater than 0"):
        Threshold({"level": -1})


def test_unknown_params_are_refused() -> None:
    with pytest.raises(StrategyError, match=r"levle: Extra inputs are not permitted"):
        Threshold({"level": 1, "levle": 2})


def test_missing_required_params_are_reported() -> None:
    with pytest.raises(StrategyError, match=r"'named'.*level: Field required"):
        Threshold({}, name="named")


def test_evaluate_skips_bars_before_warmup() -> None:
    s = Threshold({"level": 70})
    assert s.evaluate(snap(bars=2)) is None
    assert s.skipped_bars == 1
    assert s.evaluate(snap(bars=3)) is not None


@pytest.mark.parametrize("rsi", [math.nan, math.inf])
def test_evaluate_skips_bars_with_a_non_finite_required_value(rsi: float) -> None:
    s = Threshold({"level": 70})
    assert s.evaluate(snap(rsi=rsi)) is None
    assert s.skipped_bars == 1


def test_evaluate_skips_bars_with_a_missing_required_value() -> None:
    s = Threshold({"level": 70})
    bare = snap()
    bare.values = {}
    assert s.evaluate(bare) is None


def test_missing_values_lists_required_names_not_provided() -> None:
    s = Threshold({"level": 70})
    assert s.missing_values({"ema_fast", "atr"}) == ["rsi"]
    assert s.missing_values({"rsi": 1.0}) == []


def test_enter_builds_an_entry_signal() -> None:
    signal = Threshold({"level": 70, "lots": 0.2}).evaluate(snap())
    assert signal == Signal("enter", Side.SELL, sl=1.11, volume=0.2, reason="Threshold entry")


def test_exit_names_the_snapshot_position() -> None:
    position = PositionView(42, Side.SELL, 0.2, 1.1)
    signal = Threshold({"level": 70}).evaluate(snap(position=position))
    assert signal is not None
    assert (signal.action, signal.side, signal.ticket, signal.reason) == (
        "exit",
        Side.SELL,
        42,
        "have one",
    )


def test_exit_without_a_position_is_an_error() -> None:
    with pytest.raises(StrategyError, match="without an open position"):
        Threshold({"level": 70}).exit("nothing to close")


def test_an_exception_in_on_bar_becomes_a_strategy_error() -> None:
    with pytest.raises(StrategyError, match=r"'Broken' raised on EURUSD.*ZeroDivisionError") as e:
        Broken({"level": 1}).evaluate(snap())
    assert isinstance(e.value.__cause__, ZeroDivisionError)


def test_returning_something_else_than_a_signal_is_an_error() -> None:
    with pytest.raises(StrategyError, match="returned str"):
        WrongReturn({"level": 1}).evaluate(snap())


def test_params_may_be_given_as_a_model_instance() -> None:
    params = ThresholdParams(level=5)
    assert Threshold(params).params is params


def test_regime_names_match_the_classifier() -> None:
    from trading_engine.indicators.regime import Regime
    from trading_engine.strategy.base import REGIMES

    assert {str(r) for r in Regime} == REGIMES
