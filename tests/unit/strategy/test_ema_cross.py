"""ema_cross: entries on crosses, regime filter, exits, reversal, stops from the ATR."""

from __future__ import annotations

import pytest

from trading_engine.errors import StrategyError
from trading_engine.events import Side
from trading_engine.strategy.base import PositionView, Signal, Snapshot
from trading_engine.strategy.ema_cross import EmaCross

T0 = 1_704_672_000


def ema(prices: list[float], period: int) -> list[float]:
    alpha = 2.0 / (period + 1)
    out = [prices[0]]
    for p in prices[1:]:
        out.append(out[-1] + alpha * (p - out[-1]))
    return out


def snap(
    i: int, fast: float, slow: float, *, regime: str = "trending_up",
    position: PositionView | None = None, close: float = 1.1, atr: float = 0.001,
    symbol: str = "EURUSD",
) -> Snapshot:  # fmt: skip
    values = {"ema_fast": fast, "ema_slow": slow, "atr": atr}
    return Snapshot(symbol, 1, T0 + 60 * i, close, close, close, close, values, regime,
                    position, i + 1)  # fmt: skip


def run(strategy: EmaCross, rows: list[tuple[float, float, str]]) -> list[tuple[int, Signal]]:
    """Feed bars, filling every signal at once; returns (bar index, signal)."""
    position: PositionView | None = None
    out = []
    for i, (fast, slow, regime) in enumerate(rows):
        signal = strategy.evaluate(snap(i, fast, slow, regime=regime, position=position))
        if signal is None:
            continue
        out.append((i, signal))
        if signal.action == "enter":
            position = PositionView(100 + i, signal.side, 0.1, 1.1, signal.sl, signal.tp)
        else:
            position = None
    return out


def test_enters_long_on_the_bar_where_the_fast_ema_crosses_above_on_a_price_series() -> None:
    prices = [1.2 - 0.001 * i for i in range(30)] + [1.17 + 0.002 * i for i in range(30)]
    fast, slow = ema(prices, 5), ema(prices, 20)
    cross = next(i for i in range(1, len(prices)) if fast[i - 1] <= slow[i - 1] < fast[i])
    signals = run(EmaCross({}), [(f, s, "trending_up") for f, s in zip(fast, slow, strict=True)])
    assert [(i, s.action, s.side) for i, s in signals] == [(cross, "enter", Side.BUY)]


def test_enters_short_on_a_cross_below() -> None:
    signals = run(EmaCross({}), [(1.2, 1.1, "trending_down"), (1.0, 1.1, "trending_down")])
    assert [(i, s.side) for i, s in signals] == [(1, Side.SELL)]


def test_no_entry_without_a_previous_side() -> None:
    assert run(EmaCross({}), [(1.2, 1.1, "trending_up"), (1.3, 1.1, "trending_up")]) == []


def test_a_touch_without_a_cross_is_not_a_signal() -> None:
    rows = [(1.2, 1.1, "trending_up"), (1.1, 1.1, "trending_up"), (1.2, 1.1, "trending_up")]
    assert run(EmaCross({}), rows) == []


def test_a_cross_through_equality_counts_once() -> None:
    rows = [(1.0, 1.1, "trending_up"), (1.1, 1.1, "trending_up"), (1.2, 1.1, "trending_up")]
    assert [(i, s.side) for i, s in run(EmaCross({}), rows)] == [(2, Side.BUY)]


@pytest.mark.parametrize("regime", ["ranging", "volatile"])
def test_regime_filter_blocks_entries_in_ranging_and_volatile_markets(regime: str) -> None:
    assert run(EmaCross({}), [(1.0, 1.1, regime), (1.2, 1.1, regime)]) == []


def test_regime_filter_can_be_configured_or_disabled() -> None:
    rows = [(1.0, 1.1, "ranging"), (1.2, 1.1, "ranging")]
    assert len(run(EmaCross({"regime_filter": False}), rows)) == 1
    assert len(run(EmaCross({"blocked_regimes": ["volatile"]}), rows)) == 1
    assert run(EmaCross({"blocked_regimes": ["trending_up"]}), [
        (1.0, 1.1, "trending_up"), (1.2, 1.1, "trending_up")
    ]) == []  # fmt: skip


def test_unknown_regime_names_in_the_filter_are_refused() -> None:
    with pytest.raises(StrategyError, match="unknown regime"):
        EmaCross({"blocked_regimes": ["sideways"]})


def test_stops_are_atr_multiples_from_the_close() -> None:
    s = EmaCross({"sl_atr": 2, "tp_atr": 3})
    s.evaluate(snap(0, 1.0, 1.1, atr=0.001))
    buy = s.evaluate(snap(1, 1.2, 1.1, atr=0.001, close=1.1))
    assert buy is not None
    assert buy.sl == pytest.approx(1.098)
    assert buy.tp == pytest.approx(1.103)
    s.evaluate(snap(2, 1.0, 1.1, close=1.1))  # flat again (no position given): cross down
    t = EmaCross({"sl_atr": 2, "tp_atr": 0})
    t.evaluate(snap(0, 1.2, 1.1))
    sell = t.evaluate(snap(1, 1.0, 1.1, atr=0.001, close=1.1, regime="trending_down"))
    assert sell is not None
    assert sell.sl == pytest.approx(1.102)
    assert sell.tp is None


def test_without_stops_the_atr_is_not_required() -> None:
    s = EmaCross({"sl_atr": 0, "tp_atr": 0})
    assert s.required_values == ("ema_fast", "ema_slow")
    assert EmaCross({}).required_values == ("ema_fast", "ema_slow", "atr")


def test_exits_on_the_opposite_cross_then_reverses_on_a_later_bar() -> None:
    rows = [
        (1.0, 1.1, "trending_up"),
        (1.2, 1.1, "trending_up"),  # enter long
        (1.3, 1.1, "trending_up"),
        (1.0, 1.1, "trending_down"),  # cross down: exit the long
        (0.9, 1.1, "trending_down"),  # flat, still below: enter short
    ]
    signals = run(EmaCross({}), rows)
    assert [(i, s.action, s.side) for i, s in signals] == [
        (1, "enter", Side.BUY),
        (3, "exit", Side.BUY),
        (4, "enter", Side.SELL),
    ]
    assert signals[1][1].ticket == 101


def test_the_reversal_entry_is_dropped_when_the_emas_turned_back() -> None:
    rows = [
        (1.0, 1.1, "trending_up"),
        (1.2, 1.1, "trending_up"),  # long
        (1.0, 1.1, "trending_down"),  # exit
        (1.2, 1.1, "trending_up"),  # crossed back up: a fresh long, not the stale short
    ]
    signals = run(EmaCross({}), rows)
    assert [(i, s.action, s.side) for i, s in signals] == [
        (1, "enter", Side.BUY),
        (2, "exit", Side.BUY),
        (3, "enter", Side.BUY),
    ]


def test_without_reverse_the_exit_is_not_followed_by_an_entry() -> None:
    rows = [(1.0, 1.1, "x"), (1.2, 1.1, "x"), (1.0, 1.1, "x"), (0.9, 1.1, "x")]
    rows = [(f, s, "trending_up") for f, s, _ in rows]
    signals = run(EmaCross({"reverse": False}), rows)
    assert [(i, s.action) for i, s in signals] == [(1, "enter"), (2, "exit")]


def test_without_exit_on_cross_positions_are_left_to_the_stops() -> None:
    rows = [(1.0, 1.1, "trending_up"), (1.2, 1.1, "trending_up"), (1.0, 1.1, "trending_up")]
    signals = run(EmaCross({"exit_on_cross": False}), rows)
    assert [(i, s.action) for i, s in signals] == [(1, "enter")]


def test_a_strategy_without_any_exit_is_refused() -> None:
    with pytest.raises(StrategyError, match="no way out"):
        EmaCross({"exit_on_cross": False, "sl_atr": 0, "tp_atr": 0})


def test_sides_restricts_entries_to_one_direction() -> None:
    down = [(1.2, 1.1, "trending_down"), (1.0, 1.1, "trending_down")]
    up = [(1.0, 1.1, "trending_up"), (1.2, 1.1, "trending_up")]
    assert run(EmaCross({"sides": "long"}), down) == []
    assert len(run(EmaCross({"sides": "long"}), up)) == 1
    assert run(EmaCross({"sides": "short"}), up) == []


def test_state_is_kept_per_symbol() -> None:
    s = EmaCross({})
    s.evaluate(snap(0, 1.0, 1.1, symbol="EURUSD"))
    s.evaluate(snap(0, 1.2, 1.1, symbol="GBPUSD"))
    assert s.evaluate(snap(1, 1.2, 1.1, symbol="GBPUSD")) is None
    signal = s.evaluate(snap(1, 1.2, 1.1, symbol="EURUSD"))
    assert signal is not None
    assert signal.side is Side.BUY


def test_a_fixed_volume_is_carried_on_the_entry() -> None:
    signals = run(EmaCross({"volume": 0.5}), [(1.0, 1.1, "trending_up"), (1.2, 1.1, "trending_up")])
    assert signals[0][1].volume == 0.5
    assert (
        run(EmaCross({}), [(1.0, 1.1, "trending_up"), (1.2, 1.1, "trending_up")])[0][1].volume
        is None
    )
