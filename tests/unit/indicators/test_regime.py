"""Regime classifier on series with known regimes; batch and streaming forms agree."""

from __future__ import annotations

import numpy as np
import pytest

from regime_series import random_segments, regime_bars
from trading_engine.indicators import (
    REGIME_CODES,
    IndicatorSet,
    IndicatorSetConfig,
    Regime,
    RegimeConfig,
    classify,
)


def _share(codes: np.ndarray, regime: Regime) -> float:
    return float(np.mean(codes == REGIME_CODES.index(regime)))


def test_regime_enum_values_and_codes() -> None:
    assert [r.value for r in REGIME_CODES] == [
        "unknown",
        "trending_up",
        "trending_down",
        "ranging",
        "volatile",
    ]
    assert Regime("ranging") is Regime.RANGING


@pytest.mark.parametrize(
    ("kind", "regime"),
    [
        ("up", Regime.TRENDING_UP),
        ("down", Regime.TRENDING_DOWN),
        ("range", Regime.RANGING),
    ],
)
def test_sustained_regime_is_recognised(kind: str, regime: Regime) -> None:
    h, lo, c, _ = regime_bars([("range", 400), (kind, 1_500)], seed=3)
    codes = classify(h, lo, c)
    assert _share(codes[500:], regime) > 0.8


def test_volatility_burst_is_classified_volatile() -> None:
    h, lo, c, _truth = regime_bars([("range", 800), ("volatile", 200), ("range", 400)], seed=4)
    codes = classify(h, lo, c)
    burst = codes[830:1000]
    assert _share(burst, Regime.VOLATILE) > 0.7
    assert _share(codes[300:800], Regime.VOLATILE) < 0.05


@pytest.mark.parametrize("scale", [1.1, 100.0, 50_000.0])
def test_accuracy_on_mixed_known_regimes_does_not_depend_on_price_scale(scale: float) -> None:
    h, lo, c, truth = regime_bars(random_segments(12, seed=5), seed=5, scale=scale)
    codes = classify(h, lo, c)
    known = codes != 0
    assert float(np.mean(codes[known] == truth[known])) > 0.75


def test_unknown_during_warm_up_then_known() -> None:
    h, lo, c, _ = regime_bars([("up", 600)], seed=6)
    config = RegimeConfig()
    codes = classify(h, lo, c, config)
    look = IndicatorSet(IndicatorSetConfig(indicators=(), regime=config)).lookback
    assert (codes[:look] == 0).all()
    assert (codes[look:] != 0).all()


def test_hysteresis_holds_each_new_state_for_min_bars_and_reduces_switches() -> None:
    h, lo, c, _ = regime_bars(random_segments(10, seed=7), seed=7)
    switches = {}
    for min_bars in (1, 5, 15):
        codes = classify(h, lo, c, RegimeConfig(min_bars=min_bars))
        d = codes[codes != 0]
        switches[min_bars] = int((np.diff(d) != 0).sum())
    assert switches[1] > switches[5] > switches[15] > 0


def test_streaming_regime_equals_batch_bar_for_bar() -> None:
    h, lo, c, _ = regime_bars(random_segments(8, seed=8), seed=8)
    config = RegimeConfig(min_bars=4, vol_window=120)
    batch = classify(h, lo, c, config)
    iset = IndicatorSet(IndicatorSetConfig(regime=config))
    iset.warm_up(h[:700], lo[:700], c[:700])
    assert iset.regime_code == batch[699]
    for i in range(700, h.size):
        iset.update(float(h[i]), float(lo[i]), float(c[i]))
        assert iset.regime_code == batch[i]
        assert iset.regime is REGIME_CODES[batch[i]]


def test_regime_survives_snapshot_restore() -> None:
    h, lo, c, _ = regime_bars(random_segments(6, seed=9), seed=9)
    a = IndicatorSet()
    a.warm_up(h[:1_000], lo[:1_000], c[:1_000])
    b = IndicatorSet.restore(a.snapshot())
    for i in range(1_000, h.size):
        a.update(float(h[i]), float(lo[i]), float(c[i]))
        b.update(float(h[i]), float(lo[i]), float(c[i]))
        assert a.regime is b.regime


def test_set_without_regime_reports_unknown() -> None:
    h, lo, c, _ = regime_bars([("up", 400)], seed=10)
    iset = IndicatorSet(IndicatorSetConfig(regime=None))
    iset.warm_up(h, lo, c)
    assert iset.regime is Regime.UNKNOWN
    assert "regime" not in iset.compute(h, lo, c)
