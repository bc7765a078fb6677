"""Streaming indicators: an ``IndicatorSet`` updated with ONE ``@njit`` call per bar.

The whole set lives in one float64 array: a header, a program (one row per computing unit), the
output slots and each unit's state (counters, running sums, ring buffers). ``update`` passes that
array and the bar's high, low and close to ``_step``, which advances every unit. Units are shared
where the configuration allows it: ``adx``, ``plus_di`` and ``minus_di`` of one period are one unit,
and the regime classifier reuses the set's ADX, EMA and ATR when their periods match.

Every unit repeats, operation for operation, the arithmetic of the matching batch kernel in
``kernels``, so each value equals the batch kernel's value for the same bar bit for bit, including
across a warm-up boundary (``tests/unit/indicators`` checks this). A snapshot is the state array
plus the configuration, so a restored set continues exactly where it stopped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from trading_engine.indicators._nb import div2, div4, fma, njit
from trading_engine.indicators.config import IndicatorSetConfig, IndicatorSpec, RegimeConfig
from trading_engine.indicators.kernels import (
    _arr3,
    _bb_anchor_every,
    _cci_value,
    _dm,
    _flat_run,
    _is_zero,
    _mean_sq_dev,
    _slide_sq_dev,
    _tr,
    _wma_anchor_every,
    _wma_sums,
)
from trading_engine.indicators.kernels import lookback as kernel_lookback
from trading_engine.indicators.regime import REGIME_CODES, Regime, regime_step

__all__ = ["IndicatorSet", "classify"]

Array = npt.NDArray[np.float64]
NAN = math.nan

# header fields
H_UNITS = 0  # number of units
H_BARS = 1  # bars passed to update/warm_up
H_VALID = 2  # bars since the first bar with high, low and close all non-NaN
H_VERSION = 3
HDR = 8
RW = 9  # row: kind, state offset, out slot 1..3, int params 1..4
LAYOUT_VERSION = 2.0  # 2: Bollinger state holds a reference price and a flat-run length

# unit kinds; 1..8 read the close only
U_SMA, U_EMA, U_WMA, U_RSI, U_MOM, U_ROC, U_BB, U_MACD = 1, 2, 3, 4, 5, 6, 7, 8
U_TRANGE, U_ATR, U_DMI, U_CCI, U_RANGE, U_STOCH, U_KELT, U_REGIME = 9, 10, 11, 12, 13, 14, 15, 16

# --------------------------------------------------------------------------------------------
# unit steps (state offset s; each returns or writes what the batch kernel writes for the bar)
# --------------------------------------------------------------------------------------------


@njit
def _put(st: Array, slot: int, v: float) -> None:
    if slot >= 0:
        st[slot] = v


@njit
def _sma_push(st: Array, s: int, n: int, x: float) -> float:
    """SMA state [cnt, total, pos, ring(n)]."""
    k = st[s]
    st[s] = k + 1.0
    pos = int(st[s + 2])
    st[s + 3 + pos] = x
    pos += 1
    if pos == n:
        pos = 0
    st[s + 2] = pos
    total: float = st[s + 1] + x
    if k < n - 1:
        st[s + 1] = total
        return NAN
    v = total / n
    st[s + 1] = total - st[s + 3 + pos]
    return v


@njit
def _ema_push(st: Array, s: int, n: int, x: float) -> float:
    """EMA state [cnt, total, prev, k]."""
    j = st[s]
    st[s] = j + 1.0
    if j < n - 1:
        st[s + 1] += x
        return NAN
    p: float = (st[s + 1] + x) / n if j == n - 1 else fma(x - st[s + 2], st[s + 3], st[s + 2])
    st[s + 2] = p
    return p


@njit
def _wma_push(st: Array, s: int, n: int, x: float) -> float:
    """WMA state [cnt, psum, wsum, trailing value, pos, ring(n) of the previous n bars]."""
    j = int(st[s])
    st[s] = j + 1
    ring = s + 5
    pos = int(st[s + 4])
    v = NAN
    if j < n - 1:
        st[s + 1] += x
        st[s + 2] += x * (j + 1)
    else:
        kk = j - (n - 1)
        psum = st[s + 1]
        wsum = st[s + 2]
        if kk > 0 and kk % _wma_anchor_every(n) == 0:
            psum, wsum = _wma_sums(st, ring, pos, n, n)
        xn = x * n
        psum += x - st[s + 3]
        v = (wsum + xn) / float(n * (n + 1) // 2)
        wsum += xn - psum
        if n == 1:
            st[s + 3] = x
        else:
            idx = pos + 1
            if idx >= n:
                idx -= n
            st[s + 3] = st[ring + idx]
        st[s + 1] = psum
        st[s + 2] = wsum
    st[ring + pos] = x
    pos += 1
    if pos == n:
        pos = 0
    st[s + 4] = pos
    return v


@njit
def _rsi_push(st: Array, s: int, n: int, x: float) -> float:
    """RSI state [cnt, prev, gain, loss, (n-1)/n, 1/n]."""
    j = st[s]
    st[s] = j + 1.0
    prev = st[s + 1]
    st[s + 1] = x
    if j == 0:
        return NAN
    d = x - prev
    if j <= n:
        if d > 0.0:
            st[s + 2] += d
        else:
            st[s + 3] -= d
        if j < n:
            return NAN
        gain = st[s + 2] / n
        loss = st[s + 3] / n
    else:
        g = d if d > 0.0 else 0.0
        lo = -d if d < 0.0 else 0.0
        gain = fma(st[s + 2], st[s + 4], g * st[s + 5])
        loss = fma(st[s + 3], st[s + 4], lo * st[s + 5])
    st[s + 2] = gain
    st[s + 3] = loss
    t = gain + loss
    return 100.0 * (gain / t) if not _is_zero(t) else 0.0


@njit
def _atr_push(st: Array, s: int, n: int, h: float, lo: float, c: float) -> float:
    """ATR state [cnt, prev close, total, atr, (n-1)/n, 1/n]."""
    j = st[s]
    st[s] = j + 1.0
    pc = st[s + 1]
    st[s + 1] = c
    if j == 0:
        return NAN
    tr = _tr(h, lo, pc)
    v: float
    if j <= n:
        st[s + 2] += tr
        if j < n:
            return NAN
        v = st[s + 2] / n
    elif n == 1:
        v = tr
    else:
        v = fma(st[s + 3], st[s + 4], tr * st[s + 5])
    st[s + 3] = v
    return v


@njit
def _dmi_step(st: Array, s: int, n: int, h: float, lo: float, c: float, r: int) -> None:
    """DMI state [cnt, prev high, prev low, prev close, +DM_S, -DM_S, TR_S, sum DX, ADX]."""
    j = st[s]
    st[s] = j + 1.0
    ph = st[s + 1]
    pl = st[s + 2]
    pc = st[s + 3]
    st[s + 1] = h
    st[s + 2] = lo
    st[s + 3] = c
    o1 = int(st[r + 2])
    o2 = int(st[r + 3])
    o3 = int(st[r + 4])
    if j == 0:
        _put(st, o1, NAN)
        _put(st, o2, NAN)
        _put(st, o3, NAN)
        return
    p, q = _dm(h, lo, ph, pl)
    tr = _tr(h, lo, pc)
    if j < n:
        st[s + 4] += p
        st[s + 5] += q
        st[s + 6] += tr
        _put(st, o1, NAN)
        _put(st, o2, NAN)
        _put(st, o3, NAN)
        return
    fn = float(n)
    sp = st[s + 4]
    sm = st[s + 5]
    stt = st[s + 6]
    qa, qb, qc, _ = div4(sp, sm, stt, 1.0, fn, fn, fn, 1.0)
    sp = sp - qa + p
    sm = sm - qb + q
    stt = stt - qc + tr
    st[s + 4] = sp
    st[s + 5] = sm
    st[s + 6] = stt
    dx_ok = False
    dx = 0.0
    if not _is_zero(stt):
        k100 = 1.0 if n == 1 else 100.0  # TA-Lib's period-1 DI is DM/TR
        ra, rb = div2(sp, sm, stt, stt)
        di_p = k100 * ra
        di_m = k100 * rb
        t = di_m + di_p
        if not _is_zero(t):
            dx = 100.0 * (abs(di_m - di_p) / t)
            dx_ok = True
    else:
        di_p = 0.0
        di_m = 0.0
    _put(st, o1, di_p)
    _put(st, o2, di_m)
    if o3 >= 0:
        seed_end = 2 * n - 1
        if j < seed_end:
            st[s + 7] += dx
            st[o3] = NAN
        elif j == seed_end:
            value = (st[s + 7] + dx) / fn
            st[s + 8] = value
            st[o3] = value
        else:
            value = st[s + 8]
            if dx_ok:
                value = (value * (fn - 1.0) + dx) / fn
                st[s + 8] = value
            st[o3] = value


@njit
def _range_step(
    st: Array, s: int, n: int, mode: int, h: float, lo: float, c: float, r: int
) -> float:
    """Rolling highest high / lowest low, state [cnt, pos, hh, hi, ll, li, ringH(n), ringL(n)].

    mode 0 writes WILLR, 1 returns the raw fast %K, 2 writes Donchian upper, middle, lower.
    """
    j = int(st[s])
    st[s] = j + 1
    pos = int(st[s + 1])
    rh = s + 6
    rl = s + 6 + n
    st[rh + pos] = h
    st[rl + pos] = lo
    pos += 1
    if pos == n:
        pos = 0
    st[s + 1] = pos
    if j < n - 1:
        if mode == 0:
            _put(st, int(st[r + 2]), NAN)
        elif mode == 2:
            _put(st, int(st[r + 2]), NAN)
            _put(st, int(st[r + 3]), NAN)
            _put(st, int(st[r + 4]), NAN)
        return NAN
    start = j - n + 1
    hh = st[s + 2]
    hi = int(st[s + 3])
    ll = st[s + 4]
    li = int(st[s + 5])
    if hi < start or li < start:
        hh = st[rh + pos]
        ll = st[rl + pos]
        hi = start
        li = start
        for q in range(1, n):
            idx = pos + q
            if idx >= n:
                idx -= n
            if st[rh + idx] >= hh:
                hh = st[rh + idx]
                hi = start + q
            if st[rl + idx] <= ll:
                ll = st[rl + idx]
                li = start + q
    else:
        if h >= hh:
            hh = h
            hi = j
        if lo <= ll:
            ll = lo
            li = j
    st[s + 2] = hh
    st[s + 3] = hi
    st[s + 4] = ll
    st[s + 5] = li
    if mode == 0:
        d = hh - ll
        _put(st, int(st[r + 2]), -100.0 * ((hh - c) / d) if d != 0.0 else 0.0)
        return NAN
    if mode == 1:
        d = hh - ll
        return 100.0 * ((c - ll) / d) if d != 0.0 else 0.0
    _put(st, int(st[r + 2]), hh)
    _put(st, int(st[r + 3]), (hh + ll) / 2.0)
    _put(st, int(st[r + 4]), ll)
    return NAN


@njit
def _bb_step(st: Array, s: int, n: int, x: float, r: int) -> None:
    """Bollinger state [cnt, total, mu, m2, pos, nbdevup, nbdevdn, bars since the exact
    recomputation, 1/n, reference price k, flat run length, ring(n+1)]."""
    j = int(st[s])
    st[s] = j + 1
    big = n + 1
    ring = s + 11
    pos = int(st[s + 4])
    prev = st[ring + (pos - 1 if pos > 0 else n)] if j > 0 else NAN
    run = _flat_run(int(st[s + 10]), x, prev, n)
    st[s + 10] = run
    st[ring + pos] = x
    pos += 1
    if pos == big:
        pos = 0
    st[s + 4] = pos
    o1 = int(st[r + 2])
    o2 = int(st[r + 3])
    o3 = int(st[r + 4])
    if j < n - 1:
        st[s + 1] += x
        _put(st, o1, NAN)
        _put(st, o2, NAN)
        _put(st, o3, NAN)
        return
    total = st[s + 1] + x
    mean = total / n
    first = pos + 1  # slot of x[j-n+1]
    if first >= big:
        first -= big
    st[s + 1] = total - st[ring + first]
    since = st[s + 7]
    st[s + 7] = 0.0 if since + 1.0 == _bb_anchor_every(n) else since + 1.0
    if since == 0.0:
        k = st[ring + first]
        mu, m2 = _mean_sq_dev(st, ring, first, n, big, k)
    else:
        k = st[s + 9]
        old = st[ring + pos]  # x[j-n], which left the window
        mu, m2 = _slide_sq_dev(st[s + 2], st[s + 3], x - k, old - k, st[s + 8])
    if run == n:  # a flat window: exactly 0, as in the batch kernel
        k = x
        mu = 0.0
        m2 = 0.0
    st[s + 2] = mu
    st[s + 3] = m2
    st[s + 9] = k
    sd = math.sqrt(m2 * st[s + 8])
    _put(st, o2, mean)
    _put(st, o1, mean + sd * st[s + 5])
    _put(st, o3, mean - sd * st[s + 6])


@njit
def _macd_step(st: Array, s: int, f: int, sl: int, g: int, x: float, r: int) -> None:
    """MACD state [cnt, slow total, fast total, slow EMA, fast EMA, signal sum, signal, kf, ks,
    kg]."""
    j = int(st[s])
    st[s] = j + 1
    o1 = int(st[r + 2])
    o2 = int(st[r + 3])
    o3 = int(st[r + 4])
    emit = False
    if j < sl - 1:
        st[s + 1] += x
        if j >= sl - f:
            st[s + 2] += x
    elif j == sl - 1:
        es = (st[s + 1] + x) / sl
        ef = (st[s + 2] + x) / f
        st[s + 3] = es
        st[s + 4] = ef
        st[s + 5] = ef - es
        if g == 1:
            st[s + 6] = st[s + 5] / g
            emit = True
    elif j <= sl + g - 2:
        ef = fma(x - st[s + 4], st[s + 7], st[s + 4])
        es = fma(x - st[s + 3], st[s + 8], st[s + 3])
        st[s + 3] = es
        st[s + 4] = ef
        st[s + 5] += ef - es
        if j == sl + g - 2:
            st[s + 6] = st[s + 5] / g
            emit = True
    else:
        ef = fma(x - st[s + 4], st[s + 7], st[s + 4])
        es = fma(x - st[s + 3], st[s + 8], st[s + 3])
        st[s + 3] = es
        st[s + 4] = ef
        lv = ef - es
        st[s + 6] = fma(lv - st[s + 6], st[s + 9], st[s + 6])
        emit = True
    if emit:
        lv = st[s + 4] - st[s + 3]
        eg = st[s + 6]
        _put(st, o1, lv)
        _put(st, o2, eg)
        _put(st, o3, lv - eg)
    else:
        _put(st, o1, NAN)
        _put(st, o2, NAN)
        _put(st, o3, NAN)


@njit(nogil=False)
def _step(st: Array, h: float, lo: float, c: float) -> None:  # noqa: C901 - the unit dispatch
    """Advance every unit of the set by one bar (the one @njit call per bar)."""
    st[H_BARS] += 1.0
    bad3 = math.isnan(h) or math.isnan(lo) or math.isnan(c)
    if st[H_VALID] > 0.0 or not bad3:
        st[H_VALID] += 1.0
    nu = int(st[H_UNITS])
    for u in range(nu):
        r = HDR + u * RW
        kind = int(st[r])
        s = int(st[r + 1])
        n = int(st[r + 5])
        if kind == U_REGIME:
            regime_step(st, s, c, r)
            continue
        close_only = kind <= U_MACD
        if st[s] == 0.0 and (math.isnan(c) if close_only else bad3):
            for k in range(2, 5):
                _put(st, int(st[r + k]), NAN)
            continue
        o1 = int(st[r + 2])
        if kind == U_EMA:
            st[o1] = _ema_push(st, s, n, c)
        elif kind == U_SMA:
            st[o1] = _sma_push(st, s, n, c)
        elif kind == U_RSI:
            st[o1] = _rsi_push(st, s, n, c)
        elif kind == U_ATR:
            v = _atr_push(st, s, n, h, lo, c)
            _put(st, o1, v)
            o2 = int(st[r + 3])
            if o2 >= 0:  # NATR; TA-Lib's NATR(1) is the plain true range
                st[o2] = v if n == 1 else ((v / c) * 100.0 if c != 0.0 else 0.0)
        elif kind == U_DMI:
            _dmi_step(st, s, n, h, lo, c, r)
        elif kind == U_BB:
            _bb_step(st, s, n, c, r)
        elif kind == U_MACD:
            _macd_step(st, s, int(st[r + 6]), n, int(st[r + 7]), c, r)
        elif kind == U_WMA:
            st[o1] = _wma_push(st, s, n, c)
        elif kind == U_MOM or kind == U_ROC:  # noqa: SIM109
            _lag_step(st, s, n, c, kind == U_ROC, o1)
        elif kind == U_TRANGE:
            j = st[s]
            st[s] = j + 1.0
            st[o1] = _tr(h, lo, st[s + 1]) if j > 0.0 else NAN
            st[s + 1] = c
        elif kind == U_CCI:
            _cci_step(st, s, n, h, lo, c, o1)
        elif kind == U_RANGE:
            _range_step(st, s, n, int(st[r + 6]), h, lo, c, r)
        elif kind == U_STOCH:
            _stoch_step(st, s, n, int(st[r + 6]), int(st[r + 7]), h, lo, c, r)
        elif kind == U_KELT:
            _kelt_step(st, s, n, int(st[r + 6]), h, lo, c, r)


@njit
def _lag_step(st: Array, s: int, n: int, x: float, roc: bool, o1: int) -> None:
    """MOM/ROC state [cnt, pos, ring(n+1)]."""
    j = int(st[s])
    st[s] = j + 1
    pos = int(st[s + 1])
    st[s + 2 + pos] = x
    pos += 1
    if pos == n + 1:
        pos = 0
    st[s + 1] = pos
    if j < n:
        st[o1] = NAN
        return
    p = st[s + 2 + pos]  # x[j-n]
    if roc:
        st[o1] = ((x / p) - 1.0) * 100.0 if p != 0.0 else 0.0
    else:
        st[o1] = x - p


@njit
def _cci_step(st: Array, s: int, n: int, h: float, lo: float, c: float, o1: int) -> None:
    """CCI state [cnt, idx, ring(n)] (TA-Lib's circular buffer order)."""
    j = int(st[s])
    st[s] = j + 1
    idx = int(st[s + 1])
    tp = (h + lo + c) / 3.0
    st[s + 2 + idx] = tp
    idx += 1
    if idx == n:
        idx = 0
    st[s + 1] = idx
    if j < n - 1:
        st[o1] = NAN
        return
    st[o1] = _cci_value(st[s + 2 : s + 2 + n], n, tp)


@njit
def _stoch_size(fk: int, sk: int, sd: int) -> int:
    return 1 + (6 + 2 * fk) + (3 + sk) + (3 + sd)


@njit
def _stoch_step(
    st: Array, s: int, fk: int, sk: int, sd: int, h: float, lo: float, c: float, r: int
) -> None:
    """Stochastic state [cnt, range state, SMA(sk) state, SMA(sd) state]."""
    j = int(st[s])
    st[s] = j + 1
    s1 = s + 1
    s2 = s1 + 6 + 2 * fk
    s3 = s2 + 3 + sk
    fast = _range_step(st, s1, fk, 1, h, lo, c, r)
    k = NAN
    d = NAN
    if j >= fk - 1:
        k = _sma_push(st, s2, sk, fast)
        if j >= fk - 1 + sk - 1:
            d = _sma_push(st, s3, sd, k)
    if j < fk - 1 + sk - 1 + sd - 1:
        k = NAN
    _put(st, int(st[r + 2]), k)
    _put(st, int(st[r + 3]), d)


@njit
def _kelt_step(st: Array, s: int, n: int, an: int, h: float, lo: float, c: float, r: int) -> None:
    """Keltner state [cnt, multiplier, EMA state(4), ATR state(6)]."""
    j = int(st[s])
    st[s] = j + 1
    mid = _ema_push(st, s + 2, n, c)
    a = _atr_push(st, s + 6, an, h, lo, c)
    if j < max(n - 1, an):
        _put(st, int(st[r + 2]), NAN)
        _put(st, int(st[r + 3]), NAN)
        _put(st, int(st[r + 4]), NAN)
        return
    w = st[s + 1] * a
    _put(st, int(st[r + 2]), mid + w)
    _put(st, int(st[r + 3]), mid)
    _put(st, int(st[r + 4]), mid - w)


@njit
def _run(st: Array, h: Array, lo: Array, c: Array) -> None:
    """Feed every bar of the arrays through ``_step`` (warm-up)."""
    for i in range(h.size):
        _step(st, h[i], lo[i], c[i])


@njit
def _run_collect(
    st: Array, h: Array, lo: Array, c: Array, slots: npt.NDArray[np.int64], out: Array
) -> None:
    """Like ``_run``, and copy the given output slots after every bar into ``out[k, i]``."""
    ns = slots.size
    for i in range(h.size):
        _step(st, h[i], lo[i], c[i])
        for k in range(ns):
            out[k, i] = st[slots[k]]


# --------------------------------------------------------------------------------------------
# building a set from its configuration
# --------------------------------------------------------------------------------------------


@dataclass
class _Unit:
    kind: int
    ints: tuple[int, ...]
    floats: tuple[float, ...]
    size: int
    outs: list[int | None] = field(default_factory=lambda: [None, None, None])
    offset: int = 0
    row: int = 0


def _unit_for(spec: IndicatorSpec) -> tuple[int, tuple[int, ...], tuple[float, ...], list[int]]:
    """Map a spec to (unit kind, int params, float params, output positions of its values)."""
    p = spec.resolved()
    k = spec.kind
    tp = int(p.get("timeperiod", 0))
    simple = {"sma": U_SMA, "ema": U_EMA, "wma": U_WMA, "rsi": U_RSI, "mom": U_MOM, "roc": U_ROC}
    if k in simple:
        return simple[k], (tp,), (), [0]
    if k == "trange":
        return U_TRANGE, (1,), (), [0]
    if k in ("atr", "natr"):
        return U_ATR, (tp,), (), [0 if k == "atr" else 1]
    if k in ("plus_di", "minus_di", "adx"):
        return U_DMI, (tp,), (), [{"plus_di": 0, "minus_di": 1, "adx": 2}[k]]
    if k == "cci":
        return U_CCI, (tp,), (), [0]
    if k == "willr":
        return U_RANGE, (tp, 0), (), [0]
    if k == "donchian":
        return U_RANGE, (tp, 2), (), [0, 1, 2]
    if k == "bbands":
        return U_BB, (tp,), (p["nbdevup"], p["nbdevdn"]), [0, 1, 2]
    if k == "macd":
        f, s = sorted((int(p["fastperiod"]), int(p["slowperiod"])))
        return U_MACD, (s, f, int(p["signalperiod"])), (), [0, 1, 2]
    if k == "stoch":
        ints = (int(p["fastk_period"]), int(p["slowk_period"]), int(p["slowd_period"]))
        return U_STOCH, ints, (), [0, 1]
    if k == "keltner":
        return U_KELT, (tp, int(p["atr_period"])), (float(p["multiplier"]),), [0, 1, 2]
    raise ValueError(f"unknown indicator kind {k!r}")  # pragma: no cover - Literal-checked


def _state_size(kind: int, ints: tuple[int, ...]) -> int:
    n = ints[0] if ints else 0
    sizes = {
        U_SMA: 3 + n,
        U_EMA: 4,
        U_WMA: 5 + n,
        U_RSI: 6,
        U_MOM: 2 + n + 1,
        U_ROC: 2 + n + 1,
        U_TRANGE: 2,
        U_ATR: 6,
        U_DMI: 9,
        U_CCI: 2 + n,
        U_RANGE: 6 + 2 * n,
        U_BB: 11 + n + 1,
        U_MACD: 10,
        U_KELT: 12,
    }
    if kind == U_STOCH:
        return int(_stoch_size(ints[0], ints[1], ints[2]))
    return sizes[kind]


class _Layout:
    """Assigns units, output slots and state offsets, then writes the initial state array."""

    def __init__(self) -> None:
        self.units: list[_Unit] = []
        self.index: dict[tuple[int, tuple[int, ...], tuple[float, ...]], list[int]] = {}

    def unit(self, kind: int, ints: tuple[int, ...], floats: tuple[float, ...]) -> int:
        """The first unit of this kind and parameters, or a new one (its outputs are shared)."""
        found = self.index.get((kind, ints, floats))
        return found[0] if found else self.new_unit(kind, ints, floats)

    def new_unit(self, kind: int, ints: tuple[int, ...], floats: tuple[float, ...]) -> int:
        key = (kind, ints, floats)
        size = 21 if kind == U_REGIME else _state_size(kind, ints)
        self.units.append(_Unit(kind, ints, floats, size))
        self.index.setdefault(key, []).append(len(self.units) - 1)
        return len(self.units) - 1

    def claim(
        self, kind: int, ints: tuple[int, ...], floats: tuple[float, ...], pos: list[int]
    ) -> int:
        """A unit whose output positions ``pos`` are all still free (shared when possible)."""
        for u in self.index.get((kind, ints, floats), []):
            if all(self.units[u].outs[q] is None for q in pos):
                return u
        return self.new_unit(kind, ints, floats)


def _build(config: IndicatorSetConfig) -> tuple[Array, tuple[str, ...], int, int, int]:
    """Initial state array, value names, first output slot, regime slot (-1) and lookback."""
    lay = _Layout()
    names: list[str] = []
    wanted: list[tuple[int, int]] = []  # (unit, output position) per visible value
    look = 0
    for spec in config.indicators:
        kind, ints, floats, pos = _unit_for(spec)
        u = lay.claim(kind, ints, floats, pos)
        for q, name in zip(pos, spec.value_names, strict=True):
            lay.units[u].outs[q] = -1  # reserved; slot numbers assigned below
            wanted.append((u, q))
            names.append(name)
        look = max(look, kernel_lookback(spec.kind, **spec.resolved()))
    reg = config.regime
    regime_inputs: list[tuple[int, int]] = []
    regime_unit = -1
    if reg is not None:
        dmi = lay.unit(U_DMI, (reg.adx_period,), ())
        ema = lay.unit(U_EMA, (reg.ema_period,), ())
        atr = lay.unit(U_ATR, (reg.atr_period,), ())
        regime_inputs = [(dmi, 2), (dmi, 0), (dmi, 1), (ema, 0), (atr, 0)]
        for u, q in regime_inputs:
            if lay.units[u].outs[q] is None:
                lay.units[u].outs[q] = -1
        el, w = reg.slope_window, reg.vol_window
        regime_unit = lay.new_unit(U_REGIME, (el, w), ())
        lay.units[regime_unit].size = 19 + el + 1 + w
        lay.units[regime_unit].outs[0] = -1
        first = max(2 * reg.adx_period - 1, reg.ema_period - 1, reg.atr_period)
        look = max(look, first + max(el, w - 1))
    nu = len(lay.units)
    out0, slot = _assign_slots(lay, wanted)
    offset = slot
    for unit in lay.units:
        unit.offset = offset
        offset += unit.size
    st = np.zeros(offset, dtype=np.float64)
    st[H_UNITS] = nu
    st[H_VERSION] = LAYOUT_VERSION
    st[out0:slot] = NAN
    for i, unit in enumerate(lay.units):
        r = HDR + i * RW
        st[r] = unit.kind
        st[r + 1] = unit.offset
        for q in range(3):
            o = unit.outs[q]
            st[r + 2 + q] = -1 if o is None else o
        for q, v in enumerate(unit.ints):
            st[r + 5 + q] = v
        _init_state(st, unit)
    if reg is not None:
        _init_regime(st, lay, regime_unit, reg, regime_inputs)
    regime_slot = -1 if reg is None else int(st[HDR + regime_unit * RW + 2])
    return st, tuple(names), out0, regime_slot, look


def _assign_slots(lay: _Layout, wanted: list[tuple[int, int]]) -> tuple[int, int]:
    """Output slots: the visible values first, in names order, then the hidden outputs;
    returns (first output slot, first slot after the outputs)."""
    out0 = HDR + len(lay.units) * RW
    slot = out0
    for u, q in wanted:
        lay.units[u].outs[q] = slot
        slot += 1
    for unit in lay.units:
        for q in range(3):
            if unit.outs[q] == -1:
                unit.outs[q] = slot
                slot += 1
    return out0, slot


def _init_regime(
    st: Array,
    lay: _Layout,
    regime_unit: int,
    reg: RegimeConfig,
    regime_inputs: list[tuple[int, int]],
) -> None:
    """The regime unit's thresholds and the slots of the ADX, ±DI, EMA and ATR it reads."""
    s = lay.units[regime_unit].offset
    st[s + 7] = reg.adx_trend
    st[s + 8] = reg.slope_min
    st[s + 9] = reg.volatile_ratio
    st[s + 10] = reg.min_bars
    st[s + 11] = reg.slope_window
    st[s + 12] = reg.vol_window
    for q, (u, qpos) in enumerate(regime_inputs):
        st[s + 13 + q] = lay.units[u].outs[qpos] or 0
    st[int(lay.units[regime_unit].outs[0] or 0)] = 0.0


def _init_state(st: Array, unit: _Unit) -> None:
    s = unit.offset
    n = unit.ints[0] if unit.ints else 0
    if unit.kind == U_EMA:
        st[s + 3] = 2.0 / (n + 1)
    elif unit.kind in (U_RSI, U_ATR):
        st[s + 4] = (n - 1) / n
        st[s + 5] = 1.0 / n
    elif unit.kind == U_RANGE:
        st[s + 3] = -1.0
        st[s + 5] = -1.0
    elif unit.kind == U_STOCH:
        st[s + 1 + 3] = -1.0
        st[s + 1 + 5] = -1.0
    elif unit.kind == U_BB:
        st[s + 5], st[s + 6] = unit.floats
        st[s + 8] = 1.0 / n
    elif unit.kind == U_MACD:
        sl, f, g = unit.ints
        st[s + 7] = 2.0 / (f + 1)
        st[s + 8] = 2.0 / (sl + 1)
        st[s + 9] = 2.0 / (g + 1)
    elif unit.kind == U_KELT:
        st[s + 1] = unit.floats[0]
        st[s + 2 + 3] = 2.0 / (n + 1)
        an = unit.ints[1]
        st[s + 6 + 4] = (an - 1) / an
        st[s + 6 + 5] = 1.0 / an


# --------------------------------------------------------------------------------------------
# public class
# --------------------------------------------------------------------------------------------

_MAGIC = b"TEIS1\n"


class IndicatorSet:
    """A configured set of streaming indicators (and the regime), one ``@njit`` call per bar.

    ``update(high, low, close)`` returns the values in ``names`` order as a float64 array that the
    set owns and overwrites on the next update (copy it to keep it); NaN until each value's
    lookback is met. ``regime`` is the regime after the last bar (``Regime.UNKNOWN`` during
    warm-up or without a regime configuration). Pass Python floats: other types make numba
    compile another specialisation.
    """

    __slots__ = (
        "_config",
        "_lookback",
        "_names",
        "_out0",
        "_regime_slot",
        "_st",
        "_values",
        "update",
    )

    #: ``update(high, low, close)``: advance every indicator by one bar and return the values
    #: (the set's own buffer). A per-instance closure: no bound method, no global lookups.
    update: Callable[[float, float, float], Array]

    def __init__(self, config: IndicatorSetConfig | None = None) -> None:
        self._config = config if config is not None else IndicatorSetConfig()
        st, names, out0, regime_slot, look = _build(self._config)
        self._st = st
        self._names = names
        self._out0 = out0
        self._regime_slot = regime_slot
        self._lookback = look
        self._values = st[out0 : out0 + len(names)]
        self._bind()

    def _bind(self) -> None:
        st = self._st
        values = self._values
        step = _step

        def update(high: float, low: float, close: float) -> Array:
            """Advance every indicator by one bar; returns the values (owned by the set)."""
            step(st, high, low, close)
            return values

        self.update = update

    @property
    def config(self) -> IndicatorSetConfig:
        """The configuration this set was built from."""
        return self._config

    @property
    def names(self) -> tuple[str, ...]:
        """Value names, in the order of ``update``'s result."""
        return self._names

    @property
    def lookback(self) -> int:
        """Leading bars before every value (and the regime) is valid: ready after lookback+1."""
        return self._lookback

    @property
    def bars(self) -> int:
        """Bars passed in so far (warm-up and updates)."""
        return int(self._st[H_BARS])

    @property
    def ready(self) -> bool:
        """True once every lookback is met (counted from the first bar without NaN)."""
        return bool(self._st[H_VALID] > self._lookback)

    @property
    def regime_code(self) -> int:
        """The regime after the last bar as an integer code (see ``regime.REGIME_CODES``)."""
        return 0 if self._regime_slot < 0 else int(self._st[self._regime_slot])

    @property
    def regime(self) -> Regime:
        """The regime after the last bar."""
        return REGIME_CODES[0 if self._regime_slot < 0 else int(self._st[self._regime_slot])]

    def values(self) -> dict[str, float]:
        """The values after the last bar, by name."""
        return dict(zip(self._names, self._values.tolist(), strict=True))

    def warm_up(self, high: Array, low: Array, close: Array) -> None:
        """Feed a history of bars (float64 arrays of one length) in one call."""
        h, lo, c = _arr3(high, low, close)
        _run(self._st, h, lo, c)

    def advance(self, high: Array, low: Array, close: Array) -> Array:
        """``update`` for every bar of the arrays in one call, keeping what each update saw.

        Row ``i`` of the result holds, after bar ``i``: the values in ``names`` order, then
        ``bars``, the bars since the first valid one (``ready`` once it exceeds ``lookback``) and
        the regime code. Bit-identical to calling ``update`` bar by bar: the same ``_step``.
        """
        h, lo, c = _arr3(high, low, close)
        width = len(self._names)
        slots = [*range(self._out0, self._out0 + width), H_BARS, H_VALID]
        slots.append(self._regime_slot if self._regime_slot >= 0 else H_UNITS)
        out = np.empty((len(slots), h.size), dtype=np.float64)
        _run_collect(self._st, h, lo, c, np.asarray(slots, dtype=np.int64), out)
        if self._regime_slot < 0:
            out[-1] = 0.0
        return out.T

    def compute(self, high: Array, low: Array, close: Array) -> dict[str, Array]:
        """Batch form: run a fresh copy of this set over the arrays in one fused call.

        Returns each value's full series by name, and ``"regime"`` (codes) when configured.
        The set itself is not changed.
        """
        h, lo, c = _arr3(high, low, close)
        st = _build(self._config)[0]
        slots = list(range(self._out0, self._out0 + len(self._names)))
        keys = list(self._names)
        if self._regime_slot >= 0:
            slots.append(self._regime_slot)
            keys.append("regime")
        out = np.empty((len(slots), h.size), dtype=np.float64)
        _run_collect(st, h, lo, c, np.asarray(slots, dtype=np.int64), out)
        return {k: out[i] for i, k in enumerate(keys)}

    def snapshot(self) -> bytes:
        """The whole state as bytes: configuration (JSON) and the state array."""
        cfg = self._config.model_dump_json().encode()
        return _MAGIC + len(cfg).to_bytes(4, "little") + cfg + self._st.tobytes()

    @classmethod
    def restore(cls, snapshot: bytes, config: IndicatorSetConfig | None = None) -> IndicatorSet:
        """Rebuild a set from ``snapshot()``; a given ``config`` must match the stored one."""
        if not snapshot.startswith(_MAGIC):
            raise ValueError("not an IndicatorSet snapshot")
        k = len(_MAGIC)
        size = int.from_bytes(snapshot[k : k + 4], "little")
        stored = IndicatorSetConfig.model_validate(json.loads(snapshot[k + 4 : k + 4 + size]))
        if config is not None and config != stored:
            raise ValueError("snapshot was taken with a different IndicatorSetConfig")
        obj = cls(stored)
        st = np.frombuffer(snapshot[k + 4 + size :], dtype=np.float64).copy()
        if st.size != obj._st.size or not _same_program(st, obj._st, obj._out0):
            raise ValueError("snapshot state does not match its configuration")
        obj._st = st
        obj._values = st[obj._out0 : obj._out0 + len(obj._names)]
        obj._bind()
        return obj

    def __repr__(self) -> str:
        return f"IndicatorSet(names={self._names!r}, bars={self.bars}, ready={self.ready})"


def _same_program(a: Array, b: Array, out0: int) -> bool:
    """Same unit table (the header's counters may differ)."""
    return bool(a[H_UNITS] == b[H_UNITS] and np.array_equal(a[HDR:out0], b[HDR:out0]))


def classify(
    high: Array,
    low: Array,
    close: Array,
    config: RegimeConfig | None = None,
) -> npt.NDArray[np.int8]:
    """Regime code of every bar (see ``regime.REGIME_CODES``); 0 (unknown) during warm-up.

    The batch form of the classifier: a set holding only the regime, run over the arrays, so it
    agrees bar for bar with the streaming form.
    """
    cfg = IndicatorSetConfig(indicators=(), regime=config or RegimeConfig())
    codes = IndicatorSet(cfg).compute(high, low, close)["regime"]
    return codes.astype(np.int8)
