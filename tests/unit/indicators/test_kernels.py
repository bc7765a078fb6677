"""Batch kernels against TA-Lib 0.8.1 at three price scales, on edge cases, and the two extra
channels against slow references."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import talib

from trading_engine.indicators import kernels as K

SCALES = (1.1, 100.0, 50_000.0)
N = 5_000

# name -> (ours, TA-Lib's, inputs "c" or "hlc", period parameter names)
SINGLE: dict[str, tuple[Callable[..., Any], Callable[..., Any], str]] = {
    "sma": (K.sma, talib.SMA, "c"),
    "ema": (K.ema, talib.EMA, "c"),
    "wma": (K.wma, talib.WMA, "c"),
    "rsi": (K.rsi, talib.RSI, "c"),
    "mom": (K.mom, talib.MOM, "c"),
    "roc": (K.roc, talib.ROC, "c"),
    "atr": (K.atr, talib.ATR, "hlc"),
    "natr": (K.natr, talib.NATR, "hlc"),
    "plus_di": (K.plus_di, talib.PLUS_DI, "hlc"),
    "minus_di": (K.minus_di, talib.MINUS_DI, "hlc"),
    "adx": (K.adx, talib.ADX, "hlc"),
    "cci": (K.cci, talib.CCI, "hlc"),
    "willr": (K.willr, talib.WILLR, "hlc"),
}
BIT_IDENTICAL = {"sma", "ema", "adx", "plus_di", "minus_di", "mom", "roc", "willr"}
OSCILLATORS = {"rsi", "natr", "plus_di", "minus_di", "adx", "cci", "willr", "roc"}
MIN_PERIOD = {"rsi": 2, "adx": 2, "cci": 2, "willr": 2}


def _args(kind: str, h: np.ndarray, lo: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, ...]:
    return (c,) if kind == "c" else (h, lo, c)


def _assert_close(ours: np.ndarray, ref: np.ndarray, tol: float, exact: bool) -> None:
    assert ours.dtype == np.float64
    assert ours.shape == ref.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    if exact:
        np.testing.assert_array_equal(ours, ref)
    else:
        np.testing.assert_allclose(ours, ref, rtol=0, atol=tol, equal_nan=True)


def _tol(name: str, scale: float) -> float:
    return 1e-10 if name in OSCILLATORS else 1e-12 * scale


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("name", sorted(SINGLE))
def test_single_output_kernel_matches_talib(name: str, scale: float, ohlc: Any) -> None:
    ours, ref, kind = SINGLE[name]
    h, lo, c = ohlc(N, scale, seed=7)
    for period in (MIN_PERIOD.get(name, 1), 2, 5, 14, 30):
        a = _args(kind, h, lo, c)
        _assert_close(ours(*a, period), ref(*a, period), _tol(name, scale), name in BIT_IDENTICAL)


@pytest.mark.parametrize("scale", SCALES)
def test_trange_matches_talib_bit_for_bit(scale: float, ohlc: Any) -> None:
    h, lo, c = ohlc(N, scale, seed=8)
    np.testing.assert_array_equal(K.trange(h, lo, c), talib.TRANGE(h, lo, c))


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize(("period", "up", "dn"), [(20, 2.0, 2.0), (5, 1.5, 2.5), (2, 1.0, 1.0)])
def test_bbands_middle_is_bit_identical_and_bands_within_tolerance(
    scale: float, period: int, up: float, dn: float, ohlc: Any
) -> None:
    _, _, c = ohlc(N, scale, seed=9)
    ours = K.bbands(c, period, up, dn)
    ref = talib.BBANDS(c, period, up, dn)
    _assert_close(ours[1], ref[1], 0.0, exact=True)
    _assert_close(ours[0], ref[0], 1e-12 * scale, exact=False)
    _assert_close(ours[2], ref[2], 1e-12 * scale, exact=False)


def _with_flat_runs(c: np.ndarray) -> np.ndarray:
    """``c`` with flat runs shorter than, as long as and longer than the windows tested, each
    after a stretch of moves."""
    c = c.copy()
    for start, length in ((300, 4), (800, 20), (1_500, 21), (2_500, 90), (4_000, 400)):
        c[start : start + length] = c[start - 1]
    return c


def _flat_windows(c: np.ndarray, period: int) -> np.ndarray:
    """Mask of the bars whose window of ``period`` closes is flat (max == min)."""
    flat = np.zeros(c.size, dtype=bool)
    w = np.lib.stride_tricks.sliding_window_view(c, period)
    flat[period - 1 :] = w.max(axis=1) == w.min(axis=1)
    return flat


@pytest.mark.parametrize("scale", [1.0, 100.0, 50_000.0])
@pytest.mark.parametrize("df", [None, 3.0])
def test_bbands_width_is_exactly_zero_on_flat_windows_like_talib(
    scale: float, df: float | None, ohlc: Any
) -> None:
    _, _, c = ohlc(N, scale, seed=23, df=df)
    c = _with_flat_runs(c)
    for period in (2, 5, 20, 30):
        flat = _flat_windows(c, period)
        assert flat.sum() > 400
        ours = K.bbands(c, period, 2.0, 2.0)
        ref = talib.BBANDS(c, period, 2.0, 2.0)
        np.testing.assert_array_equal(ref[0][flat], ref[1][flat])  # TA-Lib's width is 0 there
        np.testing.assert_array_equal(ours[0][flat], ours[1][flat])
        np.testing.assert_array_equal(ours[2][flat], ours[1][flat])
        _assert_close(ours[1], ref[1], 0.0, exact=True)
        _assert_close(ours[0], ref[0], 1e-12 * scale, exact=False)
        _assert_close(ours[2], ref[2], 1e-12 * scale, exact=False)
    core = K.core_set(c, c, c)
    for name, band in zip(("bb_upper", "bb_middle", "bb_lower"), K.bbands(c), strict=True):
        np.testing.assert_array_equal(core[name], band, err_msg=name)


@pytest.mark.parametrize("scale", [1.0, 100.0, 50_000.0])
def test_bbands_stay_accurate_when_volatility_collapses_to_one_tick(
    scale: float, ohlc: Any
) -> None:
    """Wild moves, then a price that alternates by one tick: the width is then tiny next to the
    price, and must not carry the rounding of the wild stretch."""
    _, _, c = ohlc(N, scale, seed=24, vol=0.02, df=3.0)
    tick = 1e-5 * scale
    for start in range(500, N, 1_000):
        base = c[start - 1]
        c[start : start + 300] = base + tick * (np.arange(300) % 2)
    for period in (5, 20):
        ours = K.bbands(c, period, 2.0, 2.0)
        ref = talib.BBANDS(c, period, 2.0, 2.0)
        _assert_close(ours[0], ref[0], 1e-12 * scale, exact=False)
        _assert_close(ours[2], ref[2], 1e-12 * scale, exact=False)


@pytest.mark.parametrize("scale", SCALES)
def test_range_and_volatility_kernels_match_talib_on_heavy_tailed_returns(
    scale: float, ohlc: Any
) -> None:
    h, lo, c = ohlc(N, scale, seed=25, df=3.0)
    for period in (2, 5, 14, 30):
        for name in ("atr", "natr", "willr"):
            ours, ref, _ = SINGLE[name]
            _assert_close(
                ours(h, lo, c, period), ref(h, lo, c, period), _tol(name, scale), name == "willr"
            )
        up, mid, low = K.bbands(c, period, 2.0, 2.0)
        t_up, t_mid, t_low = talib.BBANDS(c, period, 2.0, 2.0)
        _assert_close(mid, t_mid, 0.0, exact=True)
        _assert_close(up, t_up, 1e-12 * scale, exact=False)
        _assert_close(low, t_low, 1e-12 * scale, exact=False)
        for a, b in zip(
            K.stoch(h, lo, c, period, 3, 3), talib.STOCH(h, lo, c, period, 3, 0, 3, 0), strict=True
        ):
            _assert_close(a, b, 1e-10, exact=False)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize(
    ("fast", "slow", "signal"), [(12, 26, 9), (26, 12, 9), (2, 3, 1), (5, 35, 5)]
)
def test_macd_is_bit_identical(scale: float, fast: int, slow: int, signal: int, ohlc: Any) -> None:
    _, _, c = ohlc(N, scale, seed=10)
    for ours, ref in zip(
        K.macd(c, fast, slow, signal), talib.MACD(c, fast, slow, signal), strict=True
    ):
        _assert_close(ours, ref, 0.0, exact=True)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize(("fk", "sk", "sd"), [(5, 3, 3), (14, 1, 1), (1, 2, 4)])
def test_stoch_matches_talib_sma_smoothing(
    scale: float, fk: int, sk: int, sd: int, ohlc: Any
) -> None:
    h, lo, c = ohlc(N, scale, seed=11)
    ours = K.stoch(h, lo, c, fk, sk, sd)
    ref = talib.STOCH(h, lo, c, fk, sk, 0, sd, 0)
    for a, b in zip(ours, ref, strict=True):
        _assert_close(a, b, 1e-10, exact=False)


# ------------------------------------------------------------------------------ edge cases


def _all_kernels(h: np.ndarray, lo: np.ndarray, c: np.ndarray, p: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (ours, ref, kind) in SINGLE.items():
        q = max(p, MIN_PERIOD.get(name, 1))
        a = _args(kind, h, lo, c)
        out[name] = (ours(*a, q), ref(*a, q))
    out["trange"] = (K.trange(h, lo, c), talib.TRANGE(h, lo, c))
    q = max(p, 2)
    out["bbands"] = (K.bbands(c, q, 2.0, 2.0), talib.BBANDS(c, q, 2.0, 2.0))
    out["macd"] = (K.macd(c, q, q + 3, max(p, 1)), talib.MACD(c, q, q + 3, max(p, 1)))
    out["stoch"] = (K.stoch(h, lo, c, p, 3, 3), talib.STOCH(h, lo, c, p, 3, 0, 3, 0))
    return out


def _check_all(res: dict[str, Any], scale: float) -> None:
    for name, (ours, ref) in res.items():
        pairs = zip(ours, ref, strict=True) if isinstance(ours, tuple) else [(ours, ref)]
        for a, b in pairs:
            tol = 1e-10 if name in OSCILLATORS | {"stoch"} else 1e-12 * scale
            _assert_close(a, b, tol, exact=False)


@pytest.mark.parametrize("n", [0, 1, 3, 20])
def test_series_shorter_than_lookback_give_the_same_nans_as_talib(n: int, ohlc: Any) -> None:
    h, lo, c = ohlc(max(n, 1), 100.0, seed=12)
    h, lo, c = h[:n], lo[:n], c[:n]
    if n == 0:
        assert K.sma(c, 5).size == 0
        assert K.adx(h, lo, c, 14).size == 0
        return
    _check_all(_all_kernels(h, lo, c, 14), 100.0)


def test_single_bar_gives_nan_or_talib_value(ohlc: Any) -> None:
    h, lo, c = ohlc(1, 100.0, seed=13)
    _check_all(_all_kernels(h, lo, c, 1), 100.0)


@pytest.mark.parametrize("lead", [1, 5, 40])
def test_leading_nans_are_skipped_like_talib(lead: int, ohlc: Any) -> None:
    h, lo, c = ohlc(600, 100.0, seed=14)
    h, lo, c = h.copy(), lo.copy(), c.copy()
    c[:lead] = np.nan
    h[: lead + 2] = np.nan  # the begidx is the first bar where every input is valid
    _check_all(_all_kernels(h, lo, c, 14), 100.0)


def test_all_nan_input_gives_all_nan_output() -> None:
    x = np.full(50, np.nan)
    assert np.isnan(K.ema(x, 5)).all()
    assert np.isnan(K.adx(x, x, x, 5)).all()
    assert all(np.isnan(a).all() for a in K.macd(x))


def test_interior_nan_poisons_sma_and_ema_like_talib(ohlc: Any) -> None:
    _, _, c = ohlc(300, 100.0, seed=15)
    c = c.copy()
    c[150] = np.nan
    np.testing.assert_array_equal(K.sma(c, 10), talib.SMA(c, 10))
    np.testing.assert_array_equal(K.ema(c, 10), talib.EMA(c, 10))


@pytest.mark.parametrize("value", [1.1, 100.0, 50_000.0])
def test_flat_series_matches_talib(value: float) -> None:
    x = np.full(400, value)
    res = _all_kernels(x, x, x, 14)
    _check_all(res, value)
    assert (K.rsi(x, 14)[14:] == 0.0).all()  # TA-Lib's flat RSI is 0, not 50
    assert (K.adx(x, x, x, 14)[27:] == 0.0).all()
    up, mid, low = K.bbands(x, 20, 2.0, 2.0)
    np.testing.assert_array_equal(up[19:], mid[19:])
    np.testing.assert_array_equal(low[19:], mid[19:])


def test_period_one_matches_talib_where_talib_allows_it(ohlc: Any) -> None:
    h, lo, c = ohlc(500, 100.0, seed=16)
    for name in ("sma", "ema", "wma", "mom", "roc", "atr", "natr", "plus_di", "minus_di"):
        ours, ref, kind = SINGLE[name]
        a = _args(kind, h, lo, c)
        _assert_close(ours(*a, 1), ref(*a, 1), 1e-10, exact=False)
    np.testing.assert_array_equal(K.atr(h, lo, c, 1), talib.TRANGE(h, lo, c))


@pytest.mark.parametrize(
    ("call", "bad"),
    [
        (lambda x, p: K.sma(x, p), 0),
        (lambda x, p: K.ema(x, p), -3),
        (lambda x, p: K.rsi(x, p), 1),
        (lambda x, p: K.adx(x, x, x, p), 1),
        (lambda x, p: K.cci(x, x, x, p), 1),
        (lambda x, p: K.willr(x, x, x, p), 1),
        (lambda x, p: K.bbands(x, p), 1),
        (lambda x, p: K.macd(x, p, 26, 9), 1),
        (lambda x, p: K.macd(x, 12, 26, p), 0),
        (lambda x, p: K.stoch(x, x, x, p), 0),
        (lambda x, p: K.wma(x, p), 100_001),
        (lambda x, p: K.sma(x, p), 2.5),
        (lambda x, p: K.sma(x, p), True),
        (lambda x, p: K.keltner(x, x, x, 20, p), 0),
        (lambda x, p: K.donchian(x, x, p), 0),
    ],
)
def test_invalid_period_raises_value_error(call: Callable[..., Any], bad: Any) -> None:
    with pytest.raises(ValueError, match="must be"):
        call(np.ones(50), bad)


@pytest.mark.parametrize(
    ("ours", "theirs", "period"),
    [
        (K.sma, talib.SMA, 0),
        (K.rsi, talib.RSI, 1),
        (K.wma, talib.WMA, 100_001),
        (K.cci, talib.CCI, 1),
    ],
)
def test_periods_rejected_by_talib_are_rejected_too(
    ours: Callable[..., Any], theirs: Callable[..., Any], period: int
) -> None:
    x = np.ones(50)
    args = (x,) if ours in (K.sma, K.rsi, K.wma) else (x, x, x)
    with pytest.raises(Exception, match="Bad Parameter"):
        theirs(*args, period)
    with pytest.raises(ValueError, match="must be in"):
        ours(*args, period)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.ones(50, dtype=np.float32), "float64"),
        (np.ones(50, dtype=np.int64), "float64"),
        (np.ones((5, 10)), "1-D"),
        ([1.0, 2.0, 3.0], "numpy"),
    ],
)
def test_wrong_dtype_or_shape_raises_value_error(bad: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        K.ema(bad, 5)
    with pytest.raises(ValueError, match=message):
        K.atr(bad, bad, bad, 5)


def test_inputs_of_different_lengths_raise_value_error() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        K.atr(np.ones(10), np.ones(9), np.ones(10), 3)


def test_strided_views_are_accepted_like_talib(ohlc: Any) -> None:
    _, _, c = ohlc(2_000, 100.0, seed=17)
    view = c[::2]
    np.testing.assert_array_equal(K.ema(view, 10), talib.EMA(view, 10))


def test_lookback_equals_talib_lookback() -> None:
    from talib import abstract

    for name in ("sma", "ema", "rsi", "atr", "adx", "cci", "willr", "plus_di", "mom"):
        fn = abstract.Function(name.upper())
        fn.set_parameters(timeperiod=9)
        assert K.lookback(name, timeperiod=9) == fn.lookback
    fn = abstract.Function("MACD")
    fn.set_parameters(fastperiod=12, slowperiod=26, signalperiod=9)
    assert K.lookback("macd", fastperiod=12, slowperiod=26, signalperiod=9) == fn.lookback


# ------------------------------------------------------------------------------ non-TA-Lib


def _slow_donchian(h: np.ndarray, lo: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    up = np.full(h.size, math.nan)
    low = np.full(h.size, math.nan)
    for i in range(n - 1, h.size):
        up[i] = max(h[i - n + 1 : i + 1])
        low[i] = min(lo[i - n + 1 : i + 1])
    return up, (up + low) / 2.0, low


def _slow_keltner(
    h: np.ndarray, lo: np.ndarray, c: np.ndarray, n: int, an: int, mult: float
) -> tuple[np.ndarray, ...]:
    ema = [math.nan] * c.size
    if c.size >= n:
        prev = sum(c[:n]) / n
        ema[n - 1] = prev
        k = 2.0 / (n + 1)
        for i in range(n, c.size):
            prev = prev + k * (c[i] - prev)
            ema[i] = prev
    atr = [math.nan] * c.size
    trs = [math.nan] + [
        max(h[i] - lo[i], abs(c[i - 1] - h[i]), abs(c[i - 1] - lo[i])) for i in range(1, c.size)
    ]
    if c.size > an:
        prev = sum(trs[1 : an + 1]) / an
        atr[an] = prev
        for i in range(an + 1, c.size):
            prev = (prev * (an - 1) + trs[i]) / an
            atr[i] = prev
    mid = np.array(ema)
    width = mult * np.array(atr)
    first = max(n - 1, an)
    mid[:first] = math.nan
    return mid + width, mid, mid - width


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("period", [1, 2, 20, 55])
def test_donchian_matches_slow_reference(scale: float, period: int, ohlc: Any) -> None:
    h, lo, _ = ohlc(1_500, scale, seed=18)
    for a, b in zip(K.donchian(h, lo, period), _slow_donchian(h, lo, period), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize(("n", "an", "mult"), [(20, 10, 2.0), (5, 14, 1.5), (1, 1, 3.0)])
def test_keltner_matches_slow_reference(
    scale: float, n: int, an: int, mult: float, ohlc: Any
) -> None:
    h, lo, c = ohlc(1_500, scale, seed=19)
    for a, b in zip(
        K.keltner(h, lo, c, n, an, mult), _slow_keltner(h, lo, c, n, an, mult), strict=True
    ):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12 * scale, equal_nan=True)


def test_core_set_equals_the_separate_kernels(ohlc: Any) -> None:
    h, lo, c = ohlc(3_000, 100.0, seed=20)
    for sma_period in (20, 10):
        got = K.core_set(h, lo, c, sma_period=sma_period)
        want = {
            "sma": K.sma(c, sma_period),
            "ema": K.ema(c, 20),
            "rsi": K.rsi(c, 14),
            "adx": K.adx(h, lo, c, 14),
        }
        want.update(
            zip(("bb_upper", "bb_middle", "bb_lower"), K.bbands(c, 20, 2.0, 2.0), strict=True)
        )
        want.update(zip(("macd", "macd_signal", "macd_hist"), K.macd(c, 12, 26, 9), strict=True))
        for name, ref in want.items():
            np.testing.assert_array_equal(got[name], ref, err_msg=name)
        np.testing.assert_allclose(got["atr"], K.atr(h, lo, c, 14), rtol=1e-14, atol=0)
        np.testing.assert_array_equal(np.isnan(got["atr"]), np.isnan(K.atr(h, lo, c, 14)))


def test_core_set_fills_a_given_output_block_and_rejects_a_wrong_one(ohlc: Any) -> None:
    h, lo, c = ohlc(500, 100.0, seed=21)
    buf = np.zeros((11, 500))
    got = K.core_set(h, lo, c, out=buf)
    assert np.shares_memory(got["adx"], buf)
    np.testing.assert_array_equal(got["adx"], K.adx(h, lo, c, 14))
    with pytest.raises(ValueError, match="shape"):
        K.core_set(h, lo, c, out=np.zeros((10, 500)))
    with pytest.raises(ValueError, match="shape"):
        K.core_set(h, lo, c, out=np.zeros((11, 500), dtype=np.float32))
