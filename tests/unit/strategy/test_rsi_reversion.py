"""rsi_reversion: trades only in ranging regimes, exits at the midline."""

from __future__ import annotations

import pytest

from trading_engine.errors import StrategyError
from trading_engine.events import Side
from trading_engine.strategy.base import PositionView, Snapshot
from trading_engine.strategy.rsi_reversion import RsiReversion

T0 = 1_704_672_000


def snap(rsi: float, regime: str = "ranging", position: PositionView | None = None) -> Snapshot:
    values = {"rsi": rsi, "atr": 0.002}
    return Snapshot("EURUSD", 5, T0, 1.1, 1.1, 1.1, 1.1, values, regime, position, 50)


LONG = PositionView(7, Side.BUY, 0.1, 1.1)
SHORT = PositionView(8, Side.SELL, 0.1, 1.1)


def test_buys_when_oversold_in_a_ranging_market() -> None:
    signal = RsiReversion({}).evaluate(snap(25))
    assert signal is not None
    assert (signal.action, signal.side) == ("enter", Side.BUY)
    assert signal.sl == pytest.approx(1.1 - 1.5 * 0.002)
    assert signal.tp is None


def test_sells_when_overbought_in_a_ranging_market() -> None:
    signal = RsiReversion({"tp_atr": 1}).evaluate(snap(75))
    assert signal is not None
    assert (signal.action, signal.side) == ("enter", Side.SELL)
    assert signal.sl == pytest.approx(1.1 + 1.5 * 0.002)
    assert signal.tp == pytest.approx(1.1 - 0.002)


@pytest.mark.parametrize("regime", ["trending_up", "trending_down", "volatile", "unknown"])
def test_never_enters_outside_the_ranging_regime(regime: str) -> None:
    s = RsiReversion({})
    assert s.evaluate(snap(10, regime)) is None
    assert s.evaluate(snap(90, regime)) is None


def test_no_entry_between_the_thresholds() -> None:
    assert RsiReversion({}).evaluate(snap(45)) is None


def test_exits_a_long_at_the_midline() -> None:
    s = RsiReversion({})
    assert s.evaluate(snap(45, position=LONG)) is None
    signal = s.evaluate(snap(50, position=LONG))
    assert signal is not None
    assert (signal.action, signal.side, signal.ticket) == ("exit", Side.BUY, 7)


def test_exits_a_short_at_the_midline_even_outside_ranging() -> None:
    signal = RsiReversion({}).evaluate(snap(49, "trending_down", position=SHORT))
    assert signal is not None
    assert (signal.action, signal.side) == ("exit", Side.SELL)


def test_optionally_exits_when_the_regime_leaves_ranging() -> None:
    s = RsiReversion({"exit_on_regime_change": True})
    assert s.evaluate(snap(40, "ranging", position=LONG)) is None
    signal = s.evaluate(snap(40, "trending_down", position=LONG))
    assert signal is not None
    assert signal.action == "exit"


def test_without_midline_exit_positions_are_left_to_the_stops() -> None:
    assert RsiReversion({"exit_at_midline": False}).evaluate(snap(60, position=LONG)) is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"oversold": 60}, "oversold < midline < overbought"),
        ({"regimes": []}, "at least one regime"),
        ({"regimes": ["Ranging", "sideways"]}, "unknown regime"),
        ({"exit_at_midline": False, "sl_atr": 0}, "no way out"),
    ],
)
def test_inconsistent_params_are_refused(params: dict[str, object], message: str) -> None:
    with pytest.raises(StrategyError, match=message):
        RsiReversion(params)


def test_regime_names_are_case_insensitive() -> None:
    assert RsiReversion({"regimes": ["Ranging", "VOLATILE"]}).params.regimes == (
        "ranging",
        "volatile",
    )


def test_atr_is_required_only_for_stops() -> None:
    assert RsiReversion({}).required_values == ("rsi", "atr")
    assert RsiReversion({"sl_atr": 0}).required_values == ("rsi",)
