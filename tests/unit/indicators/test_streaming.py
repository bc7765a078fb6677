"""The streaming IndicatorSet: same values as the batch kernels bar for bar, warm-up, readiness,
snapshot/restore and configuration."""

from __future__ import annotations

from typing import Any

import numpy as np
import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading_engine.indicators import (
    IndicatorSet,
    IndicatorSetConfig,
    IndicatorSpec,
    Regime,
    RegimeConfig,
)
from trading_engine.indicators import kernels as K

DEFAULT_NAMES = (
    "ema_fast",
    "ema_slow",
    "rsi",
    "atr",
    "adx",
    "plus_di",
    "minus_di",
    "bb_upper",
    "bb_middle",
    "bb_lower",
    "macd",
    "macd_signal",
    "macd_hist",
)
# batch kernels with a different (faster) recursion than the per-bar one: tolerance, not bits
NOT_BITWISE = {"atr", "natr", "keltner"}


def _spec(kind: str, name: str | None = None, **params: float) -> IndicatorSpec:
    return IndicatorSpec(kind=kind, params=params, name=name)  # type: ignore[arg-type]


def _batch(spec: IndicatorSpec, h: np.ndarray, lo: np.ndarray, c: np.ndarray) -> list[np.ndarray]:
    """The batch kernel's outputs for a spec, in the spec's value order."""
    p = spec.resolved()
    fn = getattr(K, spec.kind)
    if spec.kind in ("sma", "ema", "wma", "rsi", "mom", "roc", "bbands", "macd"):
        res = fn(c, *p.values())
    elif spec.kind == "donchian":
        res = fn(h, lo, *p.values())
    else:
        res = fn(h, lo, c, *p.values())
    return list(res) if isinstance(res, tuple) else [res]


ALL_SPECS = (
    _spec("sma", timeperiod=20),
    _spec("ema", timeperiod=9),
    _spec("wma", timeperiod=7),
    _spec("rsi", timeperiod=14),
    _spec("mom", timeperiod=10),
    _spec("roc", timeperiod=5),
    _spec("trange"),
    _spec("atr", timeperiod=14),
    _spec("natr", timeperiod=6),
    _spec("plus_di", timeperiod=14),
    _spec("minus_di", timeperiod=14),
    _spec("adx", timeperiod=14),
    _spec("adx", "adx5", timeperiod=5),
    _spec("cci", timeperiod=20),
    _spec("willr", timeperiod=14),
    _spec("bbands", timeperiod=20, nbdevup=2.0, nbdevdn=1.5),
    _spec("macd", fastperiod=12, slowperiod=26, signalperiod=9),
    _spec("stoch", fastk_period=5, slowk_period=3, slowd_period=3),
    _spec("donchian", timeperiod=20),
    _spec("keltner", timeperiod=20, atr_period=10, multiplier=2.0),
)


def _check_against_batch(
    iset: IndicatorSet, got: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, start: int
) -> None:
    """``got[k]`` (k-th value, bars start..) equals the batch kernel on the whole series."""
    row = 0
    for spec in iset.config.indicators:
        for ref in _batch(spec, h, lo, c):
            name = iset.names[row]
            want = ref[start:]
            np.testing.assert_array_equal(np.isnan(got[row]), np.isnan(want), err_msg=name)
            if spec.kind in NOT_BITWISE:
                scale = float(np.nanmax(np.abs(c)))
                np.testing.assert_allclose(
                    got[row], want, rtol=0, atol=1e-12 * scale, equal_nan=True, err_msg=name
                )
            else:
                np.testing.assert_array_equal(got[row], want, err_msg=name)
            row += 1


def _stream(iset: IndicatorSet, h: np.ndarray, lo: np.ndarray, c: np.ndarray) -> np.ndarray:
    rows = [
        iset.update(float(a), float(b), float(d)).copy() for a, b, d in zip(h, lo, c, strict=True)
    ]
    return np.array(rows).T.reshape(len(iset.names), len(rows))


def test_default_set_exposes_the_engine_value_names() -> None:
    iset = IndicatorSet()
    assert iset.names == DEFAULT_NAMES
    assert iset.config.regime == RegimeConfig()


@pytest.mark.parametrize("scale", [1.1, 100.0, 50_000.0])
def test_every_kind_streams_the_batch_values_across_the_warm_up_boundary(
    scale: float, ohlc: Any
) -> None:
    h, lo, c = ohlc(3_000, scale, seed=30)
    iset = IndicatorSet(IndicatorSetConfig(indicators=ALL_SPECS, regime=None))
    split = 1_200
    iset.warm_up(h[:split], lo[:split], c[:split])
    got = _stream(iset, h[split:], lo[split:], c[split:])
    _check_against_batch(iset, got, h, lo, c, split)
    assert iset.bars == 3_000


def test_default_set_is_bit_identical_to_batch_kernels_from_the_first_bar(ohlc: Any) -> None:
    h, lo, c = ohlc(800, 1.1, seed=31)
    iset = IndicatorSet()
    got = _stream(iset, h, lo, c)
    _check_against_batch(iset, got, h, lo, c, 0)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(1, 400),
    split=st.integers(0, 400),
    p1=st.integers(2, 40),
    p2=st.integers(1, 30),
    p3=st.integers(1, 12),
    scale=st.sampled_from([1.1, 100.0, 50_000.0]),
)
def test_streaming_equals_batch_for_random_series_and_parameters(
    seed: int, n: int, split: int, p1: int, p2: int, p3: int, scale: float
) -> None:
    rng = np.random.default_rng(seed)
    c = scale * np.exp(np.cumsum(rng.standard_normal(n) * 0.002))
    h = c * (1 + rng.random(n) * 0.002)
    lo = c * (1 - rng.random(n) * 0.002)
    specs = (
        _spec("sma", timeperiod=p2),
        _spec("ema", timeperiod=p2),
        _spec("wma", timeperiod=p2),
        _spec("rsi", timeperiod=p1),
        _spec("mom", timeperiod=p2),
        _spec("atr", timeperiod=p2),
        _spec("adx", timeperiod=p1),
        _spec("plus_di", timeperiod=p2),
        _spec("cci", timeperiod=p1),
        _spec("willr", timeperiod=p1),
        _spec("bbands", timeperiod=p1, nbdevup=1.0, nbdevdn=3.0),
        _spec("macd", fastperiod=p1, slowperiod=p2 + 1, signalperiod=p3),
        _spec("stoch", fastk_period=p2, slowk_period=p3, slowd_period=p3),
        _spec("donchian", timeperiod=p2),
        _spec("keltner", timeperiod=p2, atr_period=p1, multiplier=1.5),
    )
    iset = IndicatorSet(IndicatorSetConfig(indicators=specs, regime=None))
    k = min(split, n)
    iset.warm_up(h[:k], lo[:k], c[:k])
    got = _stream(iset, h[k:], lo[k:], c[k:])
    _check_against_batch(iset, got, h, lo, c, k)


@pytest.mark.parametrize("scale", [1.0, 100.0, 50_000.0])
def test_bbands_streams_exact_zero_width_on_flat_windows(scale: float, ohlc: Any) -> None:
    h, lo, c = ohlc(1_500, scale, seed=35, df=3.0)
    c = c.copy()
    for start, length in ((200, 5), (400, 20), (700, 21), (1_000, 120)):
        c[start : start + length] = c[start - 1]
    specs = (
        _spec("bbands", "bb5", timeperiod=5, nbdevup=2.0, nbdevdn=2.0),
        _spec("bbands", "bb20", timeperiod=20, nbdevup=2.0, nbdevdn=1.5),
        _spec("willr", timeperiod=14),
        _spec("atr", timeperiod=14),
    )
    iset = IndicatorSet(IndicatorSetConfig(indicators=specs, regime=None))
    split = 600
    iset.warm_up(h[:split], lo[:split], c[:split])
    got = _stream(iset, h[split:], lo[split:], c[split:])
    _check_against_batch(iset, got, h, lo, c, split)
    w = np.lib.stride_tricks.sliding_window_view(c[split - 19 :], 20)
    flat = w.max(axis=1) == w.min(axis=1)
    assert flat.sum() > 100
    upper, middle, lower = got[3:6]
    np.testing.assert_array_equal(upper[flat], middle[flat])
    np.testing.assert_array_equal(lower[flat], middle[flat])


def test_leading_nan_bars_are_skipped_like_the_batch_kernels(ohlc: Any) -> None:
    h, lo, c = ohlc(400, 100.0, seed=32)
    h, lo, c = h.copy(), lo.copy(), c.copy()
    c[:3] = np.nan
    h[:7] = np.nan
    iset = IndicatorSet(IndicatorSetConfig(indicators=ALL_SPECS, regime=None))
    got = _stream(iset, h, lo, c)
    _check_against_batch(iset, got, h, lo, c, 0)


def test_ready_turns_true_exactly_after_lookback_bars(ohlc: Any) -> None:
    h, lo, c = ohlc(600, 100.0, seed=33)
    iset = IndicatorSet(IndicatorSetConfig(regime=None))
    assert iset.lookback == 33  # MACD(12, 26, 9)
    for i in range(iset.lookback):
        values = iset.update(float(h[i]), float(lo[i]), float(c[i]))
        assert not iset.ready
        assert np.isnan(values).any()
    values = iset.update(float(h[33]), float(lo[33]), float(c[33]))
    assert iset.ready
    assert not np.isnan(values).any()
    assert iset.bars == 34


def test_regime_is_unknown_until_the_set_is_ready(ohlc: Any) -> None:
    h, lo, c = ohlc(600, 100.0, seed=34)
    iset = IndicatorSet()
    for i in range(iset.lookback):
        iset.update(float(h[i]), float(lo[i]), float(c[i]))
        assert iset.regime is Regime.UNKNOWN
    iset.update(float(h[iset.lookback]), float(lo[iset.lookback]), float(c[iset.lookback]))
    assert iset.ready
    assert iset.regime is not Regime.UNKNOWN


def test_values_maps_names_to_the_last_update(ohlc: Any) -> None:
    h, lo, c = ohlc(300, 100.0, seed=35)
    iset = IndicatorSet()
    iset.warm_up(h, lo, c)
    values = iset.values()
    assert tuple(values) == DEFAULT_NAMES
    assert values["ema_fast"] == K.ema(c, 12)[-1]
    assert values["adx"] == K.adx(h, lo, c, 14)[-1]


def test_update_returns_the_same_buffer_that_the_next_update_overwrites(ohlc: Any) -> None:
    h, lo, c = ohlc(100, 100.0, seed=36)
    iset = IndicatorSet()
    iset.warm_up(h[:98], lo[:98], c[:98])
    first = iset.update(float(h[98]), float(lo[98]), float(c[98]))
    kept = first.copy()
    second = iset.update(float(h[99]), float(lo[99]), float(c[99]))
    assert second is first
    assert not np.array_equal(kept, second)


@pytest.mark.parametrize("cut", [0, 10, 40, 250])
def test_snapshot_restore_continues_identically(cut: int, ohlc: Any) -> None:
    h, lo, c = ohlc(500, 50_000.0, seed=37)
    config = IndicatorSetConfig(indicators=(*ALL_SPECS[:6], *ALL_SPECS[14:]))
    a = IndicatorSet(config)
    a.warm_up(h[:cut], lo[:cut], c[:cut])
    blob = a.snapshot()
    b = IndicatorSet.restore(blob, config)
    assert b.names == a.names
    assert b.bars == a.bars == cut
    rows_a = _stream(a, h[cut:], lo[cut:], c[cut:])
    rows_b = _stream(b, h[cut:], lo[cut:], c[cut:])
    np.testing.assert_array_equal(rows_a, rows_b)
    assert a.regime is b.regime
    assert a.snapshot() == b.snapshot()


def test_restore_rejects_a_different_config_or_foreign_bytes() -> None:
    blob = IndicatorSet().snapshot()
    other = IndicatorSetConfig(indicators=(_spec("sma", timeperiod=5),))
    with pytest.raises(ValueError, match="different IndicatorSetConfig"):
        IndicatorSet.restore(blob, other)
    with pytest.raises(ValueError, match="not an IndicatorSet snapshot"):
        IndicatorSet.restore(b"garbage")
    with pytest.raises(ValueError, match="does not match"):
        IndicatorSet.restore(blob[:-8])


def test_compute_is_the_batch_form_of_the_set(ohlc: Any) -> None:
    h, lo, c = ohlc(700, 100.0, seed=38)
    iset = IndicatorSet()
    series = iset.compute(h, lo, c)
    assert iset.bars == 0  # the set itself is untouched
    got = _stream(iset, h, lo, c)
    for k, name in enumerate(iset.names):
        np.testing.assert_array_equal(series[name], got[k], err_msg=name)
    assert set(series) == {*DEFAULT_NAMES, "regime"}


def test_shared_units_do_not_change_values(ohlc: Any) -> None:
    h, lo, c = ohlc(500, 100.0, seed=39)
    together = IndicatorSet(
        IndicatorSetConfig(
            indicators=(
                _spec("adx"),
                _spec("plus_di"),
                _spec("ema", "e1", timeperiod=10),
                _spec("ema", "e2", timeperiod=10),
            ),
            regime=None,
        )
    )
    out = together.compute(h, lo, c)
    np.testing.assert_array_equal(out["adx"], K.adx(h, lo, c, 14))
    np.testing.assert_array_equal(out["plus_di"], K.plus_di(h, lo, c, 14))
    np.testing.assert_array_equal(out["e1"], out["e2"])


@pytest.mark.parametrize(
    "bad",
    [
        {"indicators": [{"kind": "sma", "params": {"timeperiod": 0}}]},
        {"indicators": [{"kind": "rsi", "params": {"timeperiod": 1}}]},
        {"indicators": [{"kind": "sma", "params": {"timeperiod": 2.5}}]},
        {"indicators": [{"kind": "sma", "params": {"period": 5}}]},
        {"indicators": [{"kind": "vwap"}]},
        {"indicators": [{"kind": "sma", "colour": "red"}]},
        {"indicators": [{"kind": "sma"}, {"kind": "sma"}]},
        {"regime": {"adx_trend": 120.0}},
        {"regime": {"min_bar": 3}},
        {"extra": 1},
    ],
)
def test_invalid_configuration_is_rejected(bad: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        IndicatorSetConfig.model_validate(bad)


def test_multi_output_value_names_follow_the_spec_name() -> None:
    config = IndicatorSetConfig(
        indicators=(
            _spec("bbands", "bb"),
            _spec("macd"),
            _spec("stoch", "st"),
            _spec("keltner", "kc"),
        ),
        regime=None,
    )
    assert IndicatorSet(config).names == (
        "bb_upper",
        "bb_middle",
        "bb_lower",
        "macd",
        "macd_signal",
        "macd_hist",
        "st_k",
        "st_d",
        "kc_upper",
        "kc_middle",
        "kc_lower",
    )


@pytest.mark.parametrize("cut", [0, 30, 200])
def test_advance_is_update_bar_by_bar_bit_for_bit(cut: int, ohlc: Any) -> None:
    h, lo, c = ohlc(600, 1.1, seed=41)
    config = IndicatorSetConfig(indicators=ALL_SPECS, regime=RegimeConfig())
    streamed, batched = IndicatorSet(config), IndicatorSet(config)
    for iset in (streamed, batched):
        iset.warm_up(h[:cut], lo[:cut], c[:cut])
    expected = []
    for a, b, d in zip(h[cut:], lo[cut:], c[cut:], strict=True):
        values = streamed.update(float(a), float(b), float(d)).copy()
        expected.append((values, streamed.bars, streamed.ready, streamed.regime_code))
    rows = batched.advance(h[cut:], lo[cut:], c[cut:])
    width = len(batched.names)
    assert rows.shape == (len(h) - cut, width + 3)
    for row, (values, bars, ready, regime) in zip(rows, expected, strict=True):
        np.testing.assert_array_equal(row[:width], values)
        assert (row[width], row[width + 1] > batched.lookback, row[width + 2]) == (
            bars,
            ready,
            regime,
        )
    assert batched.snapshot() == streamed.snapshot()  # the set is left where updates leave it
    assert any(r != 0 for *_, r in expected)  # the regime did change on this series


def test_advance_without_a_regime_reports_unknown(ohlc: Any) -> None:
    h, lo, c = ohlc(100, 1.1, seed=42)
    iset = IndicatorSet(IndicatorSetConfig(indicators=ALL_SPECS[:2], regime=None))
    rows = iset.advance(h, lo, c)
    assert not rows[:, -1].any()
    assert iset.bars == 100
