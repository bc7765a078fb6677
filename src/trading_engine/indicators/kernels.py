"""Batch indicator kernels: TA-Lib's names (lower case), argument order, outputs and conventions.

Each public function takes float64 1-D numpy arrays and returns full-length float64 arrays whose
first ``begidx + lookback`` values are NaN, where ``begidx`` is the first bar at which every input
is non-NaN (TA-Lib's wrapper rule). Seeds are taken at the start of the valid data, as TA-Lib
does. SMA, EMA, ADX, +DI, -DI, MACD and the BBANDS middle band reproduce TA-Lib 0.8.1 bit for bit
(on the tested data so do MOM, ROC, TRANGE, CCI, WILLR and STOCH); RSI and ATR use faster Wilder
recursions, and WMA and the Bollinger width recompute their running sums exactly at intervals;
all stay within 1e-12 of the price scale, 1e-10 for 0-100 oscillators. TA-Lib's quirks are kept:
RSI and ADX of a flat series are 0, PLUS_DI/MINUS_DI(1) are DM/TR without the factor 100,
NATR(1) is the true range, CCI is 0 when the deviation is below 1e-14 of the level.

An interior NaN (after the first valid bar) is outside that contract: SMA, EMA, ATR and the
other recursions turn NaN to the end, as TA-Lib does, but RSI goes on from the next valid bar
(TA-Lib's RSI is 0.0 from there on, an artefact of NaN comparisons in C) and CCI is 0 instead
of NaN while the NaN is in its window. The engine never passes one: bars with a NaN are
rejected before they reach the indicators.

The ``_*_nb`` functions are the numba kernels: they take the full arrays, the first valid index and
preallocated outputs (allocated by numpy, performance rule 3), and never allocate large arrays.
``donchian`` and ``keltner`` are not in TA-Lib; they follow the same conventions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

import numpy as np
import numpy.typing as npt

from trading_engine.indicators._nb import div2, div4, fma, njit

__all__ = [
    "CORE_SET_NAMES",
    "MAX_PERIOD",
    "adx",
    "atr",
    "bbands",
    "cci",
    "core_set",
    "donchian",
    "ema",
    "keltner",
    "lookback",
    "macd",
    "minus_di",
    "mom",
    "natr",
    "plus_di",
    "roc",
    "rsi",
    "sma",
    "stoch",
    "trange",
    "willr",
    "wma",
]

Array = npt.NDArray[np.float64]

MAX_PERIOD = 100_000
NAN = math.nan
#: Index cast for hot loops: numba wraps a signed index that may be negative (a compare and an add
#: per access, about a third of a tight loop); an unsigned one is used as is. Only for indices
#: that cannot be negative.
U = np.uint64
#: TA-Lib 0.8's "is zero" tolerance for denominators (RSI, DI, DX).
EPS = 1e-14

# --------------------------------------------------------------------------------------------
# numba kernels
# --------------------------------------------------------------------------------------------


@njit
def _first_valid1(a: Array) -> int:
    """Index of the first non-NaN element (``a.size`` if none)."""
    for i in range(a.size):
        if not math.isnan(a[i]):
            return i
    return a.size


@njit
def _first_valid3(a: Array, b: Array, c: Array) -> int:
    """Index of the first bar where all three inputs are non-NaN (``a.size`` if none)."""
    for i in range(a.size):
        if not (math.isnan(a[i]) or math.isnan(b[i]) or math.isnan(c[i])):
            return i
    return a.size


@njit
def _fill_nan(out: Array, stop: int) -> None:
    """Set ``out[:stop]`` to NaN (clipped to the array)."""
    for i in range(min(stop, out.size)):
        out[i] = NAN


@njit
def _is_zero(v: float) -> bool:
    return -EPS < v < EPS


@njit
def _sma_nb(x: Array, beg: int, n: int, out: Array) -> None:
    """SMA as TA-Lib's running total: add x[i], emit total/n, subtract the oldest."""
    m = x.size
    _fill_nan(out, beg + n - 1)
    if beg < 0 or n < 1 or m - beg < n:
        return
    total = 0.0
    for j in range(n - 1):
        total += x[j + beg]
    off = beg + n - 1
    for j in range(m - off):
        total += x[j + off]
        out[j + off] = total / n
        total -= x[j + beg]


@njit
def _ema_nb(x: Array, beg: int, n: int, out: Array) -> None:
    """EMA, k = 2/(n+1), seeded with the mean of the first n bars, ``fma(x - prev, k, prev)``."""
    m = x.size
    _fill_nan(out, beg + n - 1)
    if beg < 0 or n < 1 or m - beg < n:
        return
    k = 2.0 / (n + 1)
    total = 0.0
    for j in range(n):
        total += x[j + beg]
    prev = total / n
    out[beg + n - 1] = prev
    off = beg + n
    for j in range(m - off):
        prev = fma(x[j + off] - prev, k, prev)
        out[j + off] = prev


@njit
def _wma_nb(x: Array, beg: int, n: int, out: Array) -> None:
    """WMA with weights 1..n: a running weighted sum minus a running plain sum (one add per bar
    on each chain), both recomputed exactly every ``_wma_anchor_every(n)`` bars so that rounding
    cannot drift."""
    m = x.size
    _fill_nan(out, beg + n - 1)
    if beg < 0 or n < 1 or m - beg < n:
        return
    divider = float(n * (n + 1) // 2)
    wsum = 0.0
    psum = 0.0
    for j in range(n - 1):
        v = x[beg + j]
        psum += v
        wsum += v * (j + 1)
    trailing_value = 0.0
    off = beg + n - 1
    since = 0
    every = _wma_anchor_every(n)
    for j in range(m - off):
        if since == every:
            psum, wsum = _wma_anchor(x, j + off, n)
            since = 0
        since += 1
        v = x[j + off]
        vn = v * n
        psum += v - trailing_value  # one add per bar on each loop-carried chain
        out[j + off] = (wsum + vn) / divider
        wsum += vn - psum
        trailing_value = x[j + beg]


@njit
def _wma_anchor_every(n: int) -> int:
    """Bars between exact recomputations of the WMA sums (4n, at least 64): the drift of the
    running sums over that many bars stays far below 1e-12 of the price."""
    return max(4 * n, 64)


@njit
def _wma_anchor(x: Array, i: int, n: int) -> tuple[float, float]:
    """Exact (psum, wsum) at the top of bar i: sum of x[i-n..i-1], weights 0..n-1 on them; the
    same sums in the same order as ``_wma_sums``, unrolled for a contiguous window."""
    i0 = i - n
    n4 = n - n % 4
    p0 = 0.0
    p1 = 0.0
    p2 = 0.0
    p3 = 0.0
    w0 = 0.0
    w1 = 0.0
    w2 = 0.0
    w3 = 0.0
    for k in range(0, n4, 4):
        v0 = x[i0 + k]
        v1 = x[i0 + k + 1]
        v2 = x[i0 + k + 2]
        v3 = x[i0 + k + 3]
        p0 += v0
        p1 += v1
        p2 += v2
        p3 += v3
        w0 += v0 * k
        w1 += v1 * (k + 1)
        w2 += v2 * (k + 2)
        w3 += v3 * (k + 3)
    for k in range(n4, n):
        v0 = x[i0 + k]
        p0 += v0
        w0 += v0 * k
    return (p0 + p1) + (p2 + p3), (w0 + w1) + (w2 + w3)


@njit
def _wma_sums(buf: Array, base: int, start: int, n: int, size: int) -> tuple[float, float]:
    """(sum of the n values ``buf[base + (start + k) % size]``, sum of k·value); element k goes to
    partial sum k % 4 (the tail past the last multiple of 4 to the first), so the batch kernel
    and the streaming ring buffer get the same bits."""
    n4 = n - n % 4
    p0 = 0.0
    p1 = 0.0
    p2 = 0.0
    p3 = 0.0
    w0 = 0.0
    w1 = 0.0
    w2 = 0.0
    w3 = 0.0
    idx = start
    for k in range(n):
        v = buf[base + idx]
        idx += 1
        if idx == size:
            idx = 0
        r = k & 3
        if k >= n4 or r == 0:
            p0 += v
            w0 += v * k
        elif r == 1:
            p1 += v
            w1 += v * k
        elif r == 2:
            p2 += v
            w2 += v * k
        else:
            p3 += v
            w3 += v * k
    return (p0 + p1) + (p2 + p3), (w0 + w1) + (w2 + w3)


@njit
def _rsi_nb(x: Array, beg: int, n: int, out: Array) -> None:
    """Wilder RSI: mean seed of n changes, then ``avg = fma(avg, (n-1)/n, cur*(1/n))``."""
    m = x.size
    _fill_nan(out, beg + n)
    if beg < 0 or n < 1 or m - beg < n + 1:
        return
    gain = 0.0
    loss = 0.0
    prev = x[beg]
    for j in range(n):
        v = x[j + beg + 1]
        d = v - prev
        prev = v
        if d > 0.0:
            gain += d
        else:
            loss -= d
    gain /= n
    loss /= n
    s = gain + loss
    out[beg + n] = 100.0 * (gain / s) if not _is_zero(s) else 0.0
    a = (n - 1) / n
    b = 1.0 / n
    off = beg + n + 1
    for j in range(m - off):
        v = x[j + off]
        d = v - prev
        prev = v
        g = d if d > 0.0 else 0.0
        lo = -d if d < 0.0 else 0.0
        gain = fma(gain, a, g * b)
        loss = fma(loss, a, lo * b)
        s = gain + loss
        out[j + off] = 100.0 * (gain / s) if not _is_zero(s) else 0.0


@njit
def _mom_nb(x: Array, beg: int, n: int, out: Array) -> None:
    """Momentum x[i] - x[i-n]."""
    _fill_nan(out, beg + n)
    if beg < 0 or n < 1:
        return
    off = beg + n
    for j in range(x.size - off):
        out[j + off] = x[j + off] - x[j + beg]


@njit
def _roc_nb(x: Array, beg: int, n: int, out: Array) -> None:
    """Rate of change ((x[i]/x[i-n]) - 1)*100, 0 where x[i-n] is 0."""
    _fill_nan(out, beg + n)
    if beg < 0 or n < 1:
        return
    off = beg + n
    for j in range(x.size - off):
        p = x[j + beg]
        out[j + off] = ((x[j + off] / p) - 1.0) * 100.0 if p != 0.0 else 0.0


@njit
def _tr(h: float, lo: float, pc: float) -> float:
    """True range of one bar given the previous close."""
    g = h - lo
    v = abs(pc - h)
    if v > g:
        g = v
    v = abs(pc - lo)
    if v > g:
        g = v
    return g


@njit
def _trange_nb(h: Array, lo: Array, c: Array, beg: int, out: Array) -> None:
    """True range from the second valid bar."""
    _fill_nan(out, beg + 1)
    if beg < 0:
        return
    off = beg + 1
    for j in range(h.size - off):
        out[j + off] = _tr(h[j + off], lo[j + off], c[j + beg])


@njit
def _natr_of(v: float, c: float) -> float:
    return (v / c) * 100.0 if c != 0.0 else 0.0


@njit
def _atr_nb(h: Array, lo: Array, c: Array, beg: int, n: int, out: Array, natr: bool) -> None:
    """Wilder ATR (or NATR = ATR/close*100): seed mean(TR[1..n]), then Wilder smoothing.

    Two bars per step keep one fma on the loop-carried chain: ``A[i+1] = fma(A[i-1], a², u)`` with
    ``u = fma(b·TR[i], a, b·TR[i+1])``, a = (n-1)/n, b = 1/n (within 1e-15 relative of the one-bar
    recursion; TA-Lib's exact order is unknown, see indicator-conventions.md).
    """
    m = h.size
    _fill_nan(out, beg + n)
    if beg < 0 or n < 1 or m - beg < n + 1:
        return
    if n == 1:
        natr = False  # TA-Lib's NATR(1) is the plain true range
    total = 0.0
    for j in range(n):
        total += _tr(h[j + beg + 1], lo[j + beg + 1], c[j + beg])
    v = total / n
    out[beg + n] = _natr_of(v, c[beg + n]) if natr else v
    off = beg + n + 1
    cnt = m - off
    if n == 1:
        for j in range(cnt):
            v = _tr(h[j + off], lo[j + off], c[j + off - 1])
            out[j + off] = _natr_of(v, c[j + off]) if natr else v
        return
    a = (n - 1) / n
    b = 1.0 / n
    a2 = a * a
    j = 0
    while j + 1 < cnt:
        i = U(j + off)
        i0 = U(j + off - 1)
        i1 = U(j + off + 1)
        t1 = _tr(h[i], lo[i], c[i0]) * b
        t2 = _tr(h[i1], lo[i1], c[i]) * b
        v1 = fma(v, a, t1)
        v = fma(v, a2, fma(t1, a, t2))
        if natr:
            out[i] = _natr_of(v1, c[i])
            out[i1] = _natr_of(v, c[i1])
        else:
            out[i] = v1
            out[i1] = v
        j += 2
    if j < cnt:
        last = j + off
        v = fma(v, a, _tr(h[last], lo[last], c[last - 1]) * b)
        out[last] = _natr_of(v, c[last]) if natr else v


@njit
def _dm(h: float, lo: float, ph: float, pl: float) -> tuple[float, float]:
    """(+DM, -DM) of one bar: the larger positive move wins, ties give 0."""
    up = h - ph
    dn = pl - lo
    if dn > 0.0 and up < dn:
        return 0.0, dn
    if up > 0.0 and up > dn:
        return up, 0.0
    return 0.0, 0.0


@njit
def _dmi_nb(  # noqa: C901 - one numba pass over the arrays; its branches are the kernel
    h: Array, lo: Array, c: Array, beg: int, n: int, pdi: Array, mdi: Array, adx: Array
) -> None:
    """+DI, -DI and ADX in one pass (outputs of size 0 are skipped).

    Sums of +DM, -DM and TR over bars 1..n-1, then Wilder sum smoothing ``S = S - S/n + x``;
    DI = 100*(DM/TR) (TA-Lib gives DM/TR, without the 100, for period 1); ADX seeded with the
    mean of n DX, then ``(ADX*(n-1) + DX)/n``.
    """
    m = h.size
    want_p = pdi.size > 0
    want_m = mdi.size > 0
    want_a = adx.size > 0
    if want_p:
        _fill_nan(pdi, beg + n)
    if want_m:
        _fill_nan(mdi, beg + n)
    if want_a:
        _fill_nan(adx, beg + 2 * n - 1)
    if beg < 0 or n < 1 or m - beg < n + 1:
        return
    sp = 0.0
    sm = 0.0
    st = 0.0
    ph = h[beg]
    pl = lo[beg]
    pc = c[beg]
    for j in range(n - 1):
        i = j + beg + 1
        hv = h[i]
        lv = lo[i]
        p, q = _dm(hv, lv, ph, pl)
        sp += p
        sm += q
        st += _tr(hv, lv, pc)
        ph = hv
        pl = lv
        pc = c[i]
    fn = float(n)
    k100 = 1.0 if n == 1 else 100.0  # TA-Lib's period-1 DI is the plain ratio DM/TR
    sum_dx = 0.0
    value = 0.0
    off = beg + n
    seed_end = n - 1  # j of the first ADX
    for j in range(m - off):
        i = j + off
        hv = h[i]
        lv = lo[i]
        p, q = _dm(hv, lv, ph, pl)
        tr = _tr(hv, lv, pc)
        ph = hv
        pl = lv
        pc = c[i]
        sp = sp - sp / fn + p
        sm = sm - sm / fn + q
        st = st - st / fn + tr
        if want_a:
            dx_ok = False
            dx = 0.0
            if not _is_zero(st):
                di_p = 100.0 * (sp / st)
                di_m = 100.0 * (sm / st)
                s = di_m + di_p
                if not _is_zero(s):
                    dx = 100.0 * (abs(di_m - di_p) / s)
                    dx_ok = True
            else:
                di_p = 0.0
                di_m = 0.0
            if j < seed_end:
                sum_dx += dx
            elif j == seed_end:
                sum_dx += dx
                value = sum_dx / fn
                adx[i] = value
            else:
                if dx_ok:
                    value = (value * (fn - 1.0) + dx) / fn
                adx[i] = value
            if want_p:
                pdi[i] = di_p
            if want_m:
                mdi[i] = di_m
        else:
            zero = _is_zero(st)
            if want_p:
                pdi[i] = k100 * (sp / st) if not zero else 0.0
            if want_m:
                mdi[i] = k100 * (sm / st) if not zero else 0.0


@njit
def _cci_nb(h: Array, lo: Array, c: Array, beg: int, n: int, buf: Array, out: Array) -> None:
    """CCI over a circular buffer of typical prices, summed in buffer order (TA-Lib's order)."""
    m = h.size
    _fill_nan(out, beg + n - 1)
    if m - beg < n:
        return
    idx = 0
    for i in range(beg, beg + n - 1):
        buf[idx] = (h[i] + lo[i] + c[i]) / 3.0
        idx += 1
    for i in range(beg + n - 1, m):
        tp = (h[i] + lo[i] + c[i]) / 3.0
        buf[idx] = tp
        out[i] = _cci_value(buf, n, tp)
        idx += 1
        if idx == n:
            idx = 0


@njit
def _cci_value(buf: Array, n: int, tp: float) -> float:
    avg = 0.0
    for j in range(n):
        avg += buf[j]
    avg /= n
    md = 0.0
    for j in range(n):
        md += abs(buf[j] - avg)
    d = tp - avg
    mad = md / n
    tiny = 1e-14 * abs(avg)  # TA-Lib 0.8.1 treats deviations below 1e-14 of the level as zero
    if abs(d) > tiny and mad > tiny:
        return d / (0.015 * mad)
    return 0.0


@njit
def _range_nb(
    h: Array, lo: Array, c: Array, beg: int, n: int, mode: int, out1: Array, out2: Array
) -> None:
    """Rolling highest high / lowest low: mode 0 WILLR (out1), 1 raw fast %K (out1), 2 Donchian
    (out1 = upper, out2 = lower; the caller forms the middle).

    Van Herk / Gil-Werman in blocks of n bars from the first valid bar: the window ending at bar
    r of a block is the suffix of the previous block from r+1 plus the prefix of this block up to
    r. Per block, one forward pass forms the prefixes and the window extremes, one vectorisable
    pass the outputs, one backward pass the suffixes for the next block: a few branch-free
    max/min per bar whatever the data. Extremes are exact, as in TA-Lib. (An interior NaN, outside
    the contract, makes the extremes of the windows that hold it NaN.)
    """
    m = h.size
    _fill_nan(out1, beg + n - 1)
    if mode == 2:
        _fill_nan(out2, beg + n - 1)
    if beg < 0 or n < 1 or m - beg < n:
        return
    suf_h = np.empty(n + 1)
    suf_l = np.empty(n + 1)
    suf_h[n] = -math.inf  # the last bar of a block takes the block's prefix alone
    suf_l[n] = math.inf
    hh = np.empty(n)
    ll = np.empty(n)
    a = h[U(beg)]
    b = lo[U(beg)]
    for r in range(1, n):  # the first block closes one window, at its last bar
        v = h[U(beg + r)]
        a = a if a > v else v
        v = lo[U(beg + r)]
        b = b if b < v else v
    hh[0] = a
    ll[0] = b
    i0 = beg + n - 1
    length = 1
    q0 = beg
    while True:
        # outputs of bars i0..i0+length-1 from their window extremes (inline: a call per block
        # would cost reference counting on the arrays)
        if mode == 0:
            for r in range(length):
                a = hh[U(r)]
                d = a - ll[U(r)]
                out1[U(i0 + r)] = -100.0 * ((a - c[U(i0 + r)]) / d) if d != 0.0 else 0.0
        elif mode == 1:
            for r in range(length):
                b = ll[U(r)]
                d = hh[U(r)] - b
                out1[U(i0 + r)] = 100.0 * ((c[U(i0 + r)] - b) / d) if d != 0.0 else 0.0
        else:
            for r in range(length):
                out1[U(i0 + r)] = hh[U(r)]
                out2[U(i0 + r)] = ll[U(r)]
        if q0 + n >= m:  # the block at q0 was the last one
            return
        a = h[U(q0 + n - 1)]  # suffixes of the full block at q0
        b = lo[U(q0 + n - 1)]
        suf_h[n - 1] = a
        suf_l[n - 1] = b
        for r in range(n - 2, -1, -1):
            v = h[U(q0 + r)]
            a = a if a > v else v
            suf_h[U(r)] = a
            v = lo[U(q0 + r)]
            b = b if b < v else v
            suf_l[U(r)] = b
        q0 += n
        length = min(n, m - q0)
        i0 = q0
        a = h[U(q0)]
        b = lo[U(q0)]
        for r in range(length):
            v = h[U(q0 + r)]
            a = a if a > v else v
            v = suf_h[U(r + 1)]
            hh[U(r)] = v if v > a else a
            v = lo[U(q0 + r)]
            b = b if b < v else v
            v = suf_l[U(r + 1)]
            ll[U(r)] = v if v < b else b


@njit
def _bbands_nb(
    x: Array, beg: int, n: int, up: float, dn: float, upper: Array, middle: Array, lower: Array
) -> None:
    """Bollinger bands: SMA middle (TA-Lib's running total) and a stable O(1) population stdev.

    The stdev tracks the mean ``mu`` and the sum of squared deviations ``m2`` of the window's
    values shifted by a reference price ``k`` taken in the window (x - k is then exact): exact at
    the first window and every n (2n from n = 16) bars after it, where k is re-taken, in between
    updated by Welford's sliding rule (``_slide_sq_dev``), so rounding scales with the window's
    range, not with the price level. A flat window (its n values equal: a run length counts
    them) sets k to the price, mu and m2 to 0, so the width is exactly 0 as in TA-Lib at any
    price scale, and the next windows slide from an exact state.
    """
    m = x.size
    _fill_nan(upper, beg + n - 1)
    _fill_nan(middle, beg + n - 1)
    _fill_nan(lower, beg + n - 1)
    if beg < 0 or n < 1 or m - beg < n:
        return
    inv = 1.0 / n
    every = _bb_anchor_every(n)
    total = 0.0
    run = 0
    prev = NAN
    for j in range(n - 1):
        v = x[U(j + beg)]
        total += v
        run = _flat_run(run, v, prev, n)
        prev = v
    mu = 0.0
    m2 = 0.0
    k = 0.0
    old = 0.0
    since = 0
    off = beg + n - 1
    for j in range(m - off):
        i = U(j + off)
        new = x[i]
        first = x[U(j + beg)]
        total += new
        mean = total / n
        total -= first
        run = _flat_run(run, new, prev, n)
        prev = new
        if since == 0:
            k = first
            mu, m2 = _mean_sq_dev_lin(x, j + beg, n, k)
        else:
            mu, m2 = _slide_sq_dev(mu, m2, new - k, old - k, inv)
        if run == n:
            k = new
            mu = 0.0
            m2 = 0.0
        since += 1
        if since == every:
            since = 0
        old = first
        sd = math.sqrt(m2 * inv)
        middle[i] = mean
        upper[i] = mean + sd * up
        lower[i] = mean - sd * dn


@njit
def _flat_run(run: int, new: float, prev: float, n: int) -> int:
    """Number of equal values ending with ``new`` (``prev`` is the value before it), capped at
    n: n means the window of the last n values is flat."""
    if new == prev:
        return run + 1 if run < n else n
    return 1


@njit
def _slide_sq_dev(mu: float, m2: float, new: float, old: float, inv: float) -> tuple[float, float]:
    """Mean and sum of squared deviations of a window of ``1/inv`` values after ``old`` left it
    and ``new`` entered (the sum clamped at 0 against rounding)."""
    d = new - old
    mu2 = mu + d * inv
    m2 += d * ((new - mu2) + (old - mu))
    if m2 < 0.0:
        m2 = 0.0
    return mu2, m2


@njit
def _bb_anchor_every(n: int) -> int:
    """Bars between exact recomputations of the Bollinger stdev: n, or 2n from n = 16 on (the
    sliding update loses accuracy fastest on short windows, where m2 is small)."""
    return n if n < 16 else 2 * n


@njit
def _mean_sq_dev_lin(x: Array, i0: int, n: int, k: float) -> tuple[float, float]:
    """``_mean_sq_dev`` of the contiguous x[i0:i0+n], unrolled: the same sums in the same order."""
    n4 = n - n % 4
    t0 = 0.0
    t1 = 0.0
    t2 = 0.0
    t3 = 0.0
    for q in range(0, n4, 4):
        t0 += x[U(i0 + q)] - k
        t1 += x[U(i0 + q + 1)] - k
        t2 += x[U(i0 + q + 2)] - k
        t3 += x[U(i0 + q + 3)] - k
    for q in range(n4, n):
        t0 += x[U(i0 + q)] - k
    mu = ((t0 + t1) + (t2 + t3)) / n
    t0 = 0.0
    t1 = 0.0
    t2 = 0.0
    t3 = 0.0
    for q in range(0, n4, 4):
        d0 = (x[U(i0 + q)] - k) - mu
        d1 = (x[U(i0 + q + 1)] - k) - mu
        d2 = (x[U(i0 + q + 2)] - k) - mu
        d3 = (x[U(i0 + q + 3)] - k) - mu
        t0 += d0 * d0
        t1 += d1 * d1
        t2 += d2 * d2
        t3 += d3 * d3
    for q in range(n4, n):
        d0 = (x[U(i0 + q)] - k) - mu
        t0 += d0 * d0
    return mu, (t0 + t1) + (t2 + t3)


@njit
def _mean_sq_dev(
    buf: Array, base: int, start: int, n: int, size: int, k: float
) -> tuple[float, float]:
    """Mean and sum of squared deviations of the n values ``buf[base + (start + q) % size] - k``.

    Four interleaved partial sums keep the add chains short; the batch kernel (``size`` = array
    length, no wrap) and the streaming ring buffer use this same function, so they agree bit
    for bit.
    """
    n4 = n - n % 4
    t0 = 0.0
    t1 = 0.0
    t2 = 0.0
    t3 = 0.0
    idx = start
    for q in range(n):
        v = buf[base + idx] - k
        idx += 1
        if idx == size:
            idx = 0
        r = q & 3
        if q >= n4 or r == 0:
            t0 += v
        elif r == 1:
            t1 += v
        elif r == 2:
            t2 += v
        else:
            t3 += v
    mu = ((t0 + t1) + (t2 + t3)) / n
    t0 = 0.0
    t1 = 0.0
    t2 = 0.0
    t3 = 0.0
    idx = start
    for q in range(n):
        d = (buf[base + idx] - k) - mu
        d *= d
        idx += 1
        if idx == size:
            idx = 0
        r = q & 3
        if q >= n4 or r == 0:
            t0 += d
        elif r == 1:
            t1 += d
        elif r == 2:
            t2 += d
        else:
            t3 += d
    return mu, (t0 + t1) + (t2 + t3)


@njit
def _macd_nb(
    x: Array, beg: int, fast: int, slow: int, sig: int, line: Array, signal: Array, hist: Array
) -> None:
    """MACD in one fused pass: both EMAs start at bar slow-1 (fast seeded with the last ``fast``
    bars there), the signal EMA is seeded with the mean of the first ``sig`` line values."""
    m = x.size
    look = slow - 1 + sig - 1
    _fill_nan(line, beg + look)
    _fill_nan(signal, beg + look)
    _fill_nan(hist, beg + look)
    if m - beg < look + 1:
        return
    kf = 2.0 / (fast + 1)
    ks = 2.0 / (slow + 1)
    kg = 2.0 / (sig + 1)
    t = 0.0
    for i in range(beg, beg + slow):
        t += x[i]
    es = t / slow
    t = 0.0
    for i in range(beg + slow - fast, beg + slow):
        t += x[i]
    ef = t / fast
    start = beg + slow - 1
    gsum = ef - es
    for i in range(start + 1, start + sig):
        v = x[i]
        ef = fma(v - ef, kf, ef)
        es = fma(v - es, ks, es)
        gsum += ef - es
    eg = gsum / sig
    i = start + sig - 1
    lv = ef - es
    line[i] = lv
    signal[i] = eg
    hist[i] = lv - eg
    off = start + sig
    if beg < 0 or off < 0:
        return
    for j in range(m - off):
        v = x[j + off]
        ef = fma(v - ef, kf, ef)
        es = fma(v - es, ks, es)
        lv = ef - es
        eg = fma(lv - eg, kg, eg)
        line[j + off] = lv
        signal[j + off] = eg
        hist[j + off] = lv - eg


@njit
def _stoch_nb(
    h: Array,
    lo: Array,
    c: Array,
    beg: int,
    fk: int,
    sk: int,
    sd: int,
    fastk: Array,
    slowk: Array,
    slowd: Array,
) -> None:
    """Slow stochastic: raw %K, SMA(sk) of it, SMA(sd) of that (TA-Lib's running totals)."""
    empty = np.empty(0)
    _range_nb(h, lo, c, beg, fk, 1, fastk, empty)
    _sma_nb(fastk, min(beg + fk - 1, h.size), sk, slowk)
    _sma_nb(slowk, min(beg + fk - 1 + sk - 1, h.size), sd, slowd)


@njit
def _keltner_nb(
    h: Array,
    lo: Array,
    c: Array,
    beg: int,
    n: int,
    atr_n: int,
    mult: float,
    upper: Array,
    middle: Array,
    lower: Array,
) -> None:
    """Keltner channels: EMA(n) of close ± mult·ATR(atr_n), NaN until both are valid."""
    _ema_nb(c, beg, n, middle)
    _atr_nb(h, lo, c, beg, atr_n, upper, False)
    first = beg + max(n - 1, atr_n)
    for i in range(h.size):
        if i < first:
            upper[i] = NAN
            lower[i] = NAN
            middle[i] = NAN
        else:
            w = mult * upper[i]
            mid = middle[i]
            upper[i] = mid + w
            lower[i] = mid - w


@njit
def _core7_nb(  # noqa: C901 - seven indicators fused into one numba pass on purpose
    h: Array,
    lo: Array,
    c: Array,
    beg: int,
    ip: npt.NDArray[np.int64],
    up: float,
    dn: float,
    out: Array,
) -> None:
    """SMA, EMA, RSI, ATR, ADX, BBANDS and MACD in ONE pass over the bars (performance rule 2).

    ``ip`` = (sma n, ema n, rsi n, atr n, adx n, bb n, macd fast, slow, signal); ``out`` has 11
    rows: sma, ema, rsi, atr, adx, bb upper, middle, lower, macd, signal, hist. Each indicator
    repeats its own kernel's arithmetic (ATR the one-bar recursion of the streaming set), so the
    independent latency chains overlap; the loop is bound by the divider, so the DMI's Wilder
    divisions and the SMA's run as one vector division, and the two DI divisions as another
    (IEEE division is exact per lane: the results are bit-identical to scalar divisions).
    """
    m = h.size
    n1, n2, n3, n4, n5, n6, f, s, g = ip[0], ip[1], ip[2], ip[3], ip[4], ip[5], ip[6], ip[7], ip[8]
    looks = (n1 - 1, n2 - 1, n3, n4, 2 * n5 - 1, n6 - 1, n6 - 1, n6 - 1, s + g - 2, s + g - 2)
    for r in range(10):
        _fill_nan(out[r], beg + looks[r])
    _fill_nan(out[10], beg + s + g - 2)
    if beg < 0 or m - beg < 1:
        return
    k2 = 2.0 / (n2 + 1)
    a3 = (n3 - 1) / n3
    b3 = 1.0 / n3
    a4 = (n4 - 1) / n4
    b4 = 1.0 / n4
    fn5 = float(n5)
    fn1 = float(n1)
    inv6 = 1.0 / n6
    every6 = _bb_anchor_every(n6)
    kf = 2.0 / (f + 1)
    ks = 2.0 / (s + 1)
    kg = 2.0 / (g + 1)
    same_mean = n1 == n6
    o_sma, o_ema, o_rsi, o_atr, o_adx = out[0], out[1], out[2], out[3], out[4]
    o_bu, o_bm, o_bl, o_ml, o_ms, o_mh = out[5], out[6], out[7], out[8], out[9], out[10]
    tot1 = 0.0
    tot2 = 0.0
    e2 = 0.0
    gain = 0.0
    loss = 0.0
    tot4 = 0.0
    v4 = 0.0
    sp = 0.0
    sm = 0.0
    st5 = 0.0
    sum_dx = 0.0
    adxv = 0.0
    tot6 = 0.0
    mu = 0.0
    m2 = 0.0
    old6 = 0.0
    k6 = 0.0
    run6 = 0
    since = 0
    ts = 0.0
    tf = 0.0
    es = 0.0
    ef = 0.0
    gsum = 0.0
    eg = 0.0
    px = c[beg]
    ph = h[beg]
    pl = lo[beg]
    for j in range(m - beg):
        i = j + beg
        x = c[i]
        hv = h[i]
        lv = lo[i]
        # SMA, with the three Wilder divisions of DMI packed in one vector division
        tot1 += x
        qa, qb, qc, qd = div4(sp, sm, st5, tot1, fn5, fn5, fn5, fn1)
        mean1 = NAN
        if j >= n1 - 1:
            mean1 = qd
            o_sma[i] = mean1
            tot1 -= c[i - n1 + 1]
        # EMA
        if j < n2 - 1:
            tot2 += x
        elif j == n2 - 1:
            e2 = (tot2 + x) / n2
            o_ema[i] = e2
        else:
            e2 = fma(x - e2, k2, e2)
            o_ema[i] = e2
        # RSI
        if j >= 1:
            d = x - px
            if j <= n3:
                if d > 0.0:
                    gain += d
                else:
                    loss -= d
                if j == n3:
                    gain /= n3
                    loss /= n3
            else:
                gain = fma(gain, a3, (d if d > 0.0 else 0.0) * b3)
                loss = fma(loss, a3, (-d if d < 0.0 else 0.0) * b3)
            if j >= n3:
                t = gain + loss
                o_rsi[i] = 100.0 * (gain / t) if not _is_zero(t) else 0.0
        # ATR and DMI
        if j >= 1:
            tr = _tr(hv, lv, px)
            if j <= n4:
                tot4 += tr
                if j == n4:
                    v4 = tot4 / n4
                    o_atr[i] = v4
            else:
                v4 = tr if n4 == 1 else fma(v4, a4, tr * b4)
                o_atr[i] = v4
            p, q = _dm(hv, lv, ph, pl)
            if j < n5:
                sp += p
                sm += q
                st5 += tr
            else:
                sp = sp - qa + p
                sm = sm - qb + q
                st5 = st5 - qc + tr
                dx_ok = False
                dx = 0.0
                if not _is_zero(st5):
                    ra, rb = div2(sp, sm, st5, st5)
                    di_p = 100.0 * ra
                    di_m = 100.0 * rb
                    t = di_m + di_p
                    if not _is_zero(t):
                        dx = 100.0 * (abs(di_m - di_p) / t)
                        dx_ok = True
                if j < 2 * n5 - 1:
                    sum_dx += dx
                elif j == 2 * n5 - 1:
                    adxv = (sum_dx + dx) / fn5
                    o_adx[i] = adxv
                else:
                    if dx_ok:
                        adxv = (adxv * (fn5 - 1.0) + dx) / fn5
                    o_adx[i] = adxv
        # BBANDS
        if same_mean:
            mean6 = mean1
        else:
            tot6 += x
            mean6 = NAN
            if j >= n6 - 1:
                mean6 = tot6 / n6
                tot6 -= c[i - n6 + 1]
        run6 = _flat_run(run6, x, px if j > 0 else NAN, n6)
        if j >= n6 - 1:
            first = c[i - n6 + 1]
            if since == 0:
                k6 = first
                mu, m2 = _mean_sq_dev_lin(c, i - n6 + 1, n6, k6)
            else:
                mu, m2 = _slide_sq_dev(mu, m2, x - k6, old6 - k6, inv6)
            if run6 == n6:
                k6 = x
                mu = 0.0
                m2 = 0.0
            since += 1
            if since == every6:
                since = 0
            old6 = first
            sd = math.sqrt(m2 * inv6)
            o_bm[i] = mean6
            o_bu[i] = mean6 + sd * up
            o_bl[i] = mean6 - sd * dn
        # MACD
        if j < s - 1:
            ts += x
            if j >= s - f:
                tf += x
        elif j == s - 1:
            es = (ts + x) / s
            ef = (tf + x) / f
            gsum = ef - es
            if g == 1:
                eg = gsum / g
                o_ml[i] = ef - es
                o_ms[i] = eg
                o_mh[i] = (ef - es) - eg
        else:
            ef = fma(x - ef, kf, ef)
            es = fma(x - es, ks, es)
            lv2 = ef - es
            if j < s + g - 2:
                gsum += lv2
            else:
                eg = (gsum + lv2) / g if j == s + g - 2 else fma(lv2 - eg, kg, eg)
                o_ml[i] = lv2
                o_ms[i] = eg
                o_mh[i] = lv2 - eg
        px = x
        ph = hv
        pl = lv


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


def _arr(x: Any, name: str) -> Array:
    """Check one input: a float64 1-D numpy array (made contiguous if strided)."""
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{name}: expected a numpy float64 array, got {type(x).__name__}")
    if x.dtype != np.float64:
        raise ValueError(
            f"{name}: expected dtype float64, got {x.dtype} (convert with .astype(np.float64))"
        )
    if x.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {x.shape}")
    return np.ascontiguousarray(x)


def _arr3(high: Any, low: Any, close: Any) -> tuple[Array, Array, Array]:
    h = _arr(high, "high")
    lo = _arr(low, "low")
    c = _arr(close, "close")
    if not h.size == lo.size == c.size:
        raise ValueError(f"high, low, close differ in length: {h.size}, {lo.size}, {c.size}")
    return h, lo, c


def _period(value: Any, name: str, minimum: int) -> int:
    """Check an integer period in [minimum, MAX_PERIOD] (TA-Lib's range)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    v = int(value)
    if not minimum <= v <= MAX_PERIOD:
        raise ValueError(f"{name} must be in [{minimum}, {MAX_PERIOD}], got {v}")
    return v


def _real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _out(n: int) -> Array:
    return np.empty(n, dtype=np.float64)


def _outs(k: int, n: int) -> tuple[Array, ...]:
    """k outputs as rows of ONE block: one large allocation is reused by the C heap instead of
    k separate ones that are returned to the OS and page-faulted again on the next call."""
    block = np.empty((k, n), dtype=np.float64)
    return tuple(block)


def _close_kernel(
    kernel: Callable[[Array, int, int, Array], None], close: Any, timeperiod: Any, minimum: int
) -> Array:
    """Check ``close`` and ``timeperiod`` (>= ``minimum``), run ``kernel`` into a new array."""
    x = _arr(close, "close")
    n = _period(timeperiod, "timeperiod", minimum)
    out = _out(x.size)
    kernel(x, _first_valid1(x), n, out)
    return out


def _hlc_setup(
    high: Any, low: Any, close: Any, timeperiod: Any, minimum: int
) -> tuple[Array, Array, Array, int, int, Array]:
    """Checked ``high, low, close``, their first valid bar, the checked period and a new output."""
    h, lo, c = _arr3(high, low, close)
    n = _period(timeperiod, "timeperiod", minimum)
    return h, lo, c, _first_valid3(h, lo, c), n, _out(h.size)


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


def lookback(name: str, **params: int) -> int:
    """Number of leading NaNs of indicator ``name`` with ``params`` on data without leading NaNs."""
    p = params
    tp = p.get("timeperiod", 0)
    if name in ("sma", "ema", "wma", "cci", "willr", "bbands", "donchian"):
        return tp - 1
    if name in ("rsi", "mom", "roc", "atr", "natr", "plus_di", "minus_di"):
        return tp
    if name == "trange":
        return 1
    if name == "adx":
        return 2 * tp - 1
    if name == "macd":
        return max(p["fastperiod"], p["slowperiod"]) - 1 + p["signalperiod"] - 1
    if name == "stoch":
        return p["fastk_period"] - 1 + p["slowk_period"] - 1 + p["slowd_period"] - 1
    if name == "keltner":
        return max(tp - 1, p["atr_period"])
    raise ValueError(f"unknown indicator {name!r}")


def sma(close: Array, timeperiod: int = 30) -> Array:
    """Simple moving average (TA-Lib SMA), bit-identical to TA-Lib."""
    return _close_kernel(_sma_nb, close, timeperiod, 1)


def ema(close: Array, timeperiod: int = 30) -> Array:
    """Exponential moving average (TA-Lib EMA), bit-identical to TA-Lib."""
    return _close_kernel(_ema_nb, close, timeperiod, 1)


def wma(close: Array, timeperiod: int = 30) -> Array:
    """Linearly weighted moving average (TA-Lib WMA)."""
    return _close_kernel(_wma_nb, close, timeperiod, 1)


def rsi(close: Array, timeperiod: int = 14) -> Array:
    """Wilder's relative strength index (TA-Lib RSI); a flat series gives 0."""
    return _close_kernel(_rsi_nb, close, timeperiod, 2)


def mom(close: Array, timeperiod: int = 10) -> Array:
    """Momentum ``close[i] - close[i - timeperiod]`` (TA-Lib MOM)."""
    return _close_kernel(_mom_nb, close, timeperiod, 1)


def roc(close: Array, timeperiod: int = 10) -> Array:
    """Rate of change in percent (TA-Lib ROC)."""
    return _close_kernel(_roc_nb, close, timeperiod, 1)


def trange(high: Array, low: Array, close: Array) -> Array:
    """True range (TA-Lib TRANGE); the first bar has none."""
    h, lo, c = _arr3(high, low, close)
    out = _out(h.size)
    _trange_nb(h, lo, c, _first_valid3(h, lo, c), out)
    return out


def atr(high: Array, low: Array, close: Array, timeperiod: int = 14) -> Array:
    """Wilder's average true range (TA-Lib ATR); period 1 is the true range."""
    h, lo, c, beg, n, out = _hlc_setup(high, low, close, timeperiod, 1)
    _atr_nb(h, lo, c, beg, n, out, False)
    return out


def natr(high: Array, low: Array, close: Array, timeperiod: int = 14) -> Array:
    """Normalized ATR, ``ATR/close*100`` (TA-Lib NATR)."""
    h, lo, c, beg, n, out = _hlc_setup(high, low, close, timeperiod, 1)
    _atr_nb(h, lo, c, beg, n, out, True)
    return out


_EMPTY = np.empty(0, dtype=np.float64)


def plus_di(high: Array, low: Array, close: Array, timeperiod: int = 14) -> Array:
    """Plus directional indicator (TA-Lib PLUS_DI)."""
    h, lo, c, beg, n, out = _hlc_setup(high, low, close, timeperiod, 1)
    _dmi_nb(h, lo, c, beg, n, out, _EMPTY, _EMPTY)
    return out


def minus_di(high: Array, low: Array, close: Array, timeperiod: int = 14) -> Array:
    """Minus directional indicator (TA-Lib MINUS_DI)."""
    h, lo, c, beg, n, out = _hlc_setup(high, low, close, timeperiod, 1)
    _dmi_nb(h, lo, c, beg, n, _EMPTY, out, _EMPTY)
    return out


def adx(high: Array, low: Array, close: Array, timeperiod: int = 14) -> Array:
    """Average directional index (TA-Lib ADX), bit-identical to TA-Lib."""
    h, lo, c, beg, n, out = _hlc_setup(high, low, close, timeperiod, 2)
    _dmi_nb(h, lo, c, beg, n, _EMPTY, _EMPTY, out)
    return out


def cci(high: Array, low: Array, close: Array, timeperiod: int = 14) -> Array:
    """Commodity channel index (TA-Lib CCI), constant 0.015."""
    h, lo, c, beg, n, out = _hlc_setup(high, low, close, timeperiod, 2)
    _cci_nb(h, lo, c, beg, n, np.empty(n), out)
    return out


def willr(high: Array, low: Array, close: Array, timeperiod: int = 14) -> Array:
    """Williams' %R in [-100, 0] (TA-Lib WILLR)."""
    h, lo, c, beg, n, out = _hlc_setup(high, low, close, timeperiod, 2)
    _range_nb(h, lo, c, beg, n, 0, out, _EMPTY)
    return out


def bbands(
    close: Array, timeperiod: int = 20, nbdevup: float = 2.0, nbdevdn: float = 2.0
) -> tuple[Array, Array, Array]:
    """Bollinger bands with an SMA middle and population stdev: ``(upper, middle, lower)``."""
    x = _arr(close, "close")
    n = _period(timeperiod, "timeperiod", 2)
    up = _real(nbdevup, "nbdevup")
    dn = _real(nbdevdn, "nbdevdn")
    upper, middle, lower = _outs(3, x.size)
    _bbands_nb(x, _first_valid1(x), n, up, dn, upper, middle, lower)
    return upper, middle, lower


def macd(
    close: Array, fastperiod: int = 12, slowperiod: int = 26, signalperiod: int = 9
) -> tuple[Array, Array, Array]:
    """MACD line, signal and histogram (TA-Lib MACD), bit-identical to TA-Lib."""
    x = _arr(close, "close")
    f = _period(fastperiod, "fastperiod", 2)
    s = _period(slowperiod, "slowperiod", 2)
    g = _period(signalperiod, "signalperiod", 1)
    if s < f:
        f, s = s, f
    line, signal, hist = _outs(3, x.size)
    _macd_nb(x, _first_valid1(x), f, s, g, line, signal, hist)
    return line, signal, hist


def stoch(
    high: Array,
    low: Array,
    close: Array,
    fastk_period: int = 5,
    slowk_period: int = 3,
    slowd_period: int = 3,
) -> tuple[Array, Array]:
    """Slow stochastic with SMA smoothing (TA-Lib STOCH defaults): ``(slowk, slowd)``."""
    h, lo, c = _arr3(high, low, close)
    fk = _period(fastk_period, "fastk_period", 1)
    sk = _period(slowk_period, "slowk_period", 1)
    sd = _period(slowd_period, "slowd_period", 1)
    fastk, slowk, slowd = _outs(3, h.size)
    _stoch_nb(h, lo, c, _first_valid3(h, lo, c), fk, sk, sd, fastk, slowk, slowd)
    look = fk - 1 + sk - 1 + sd - 1
    beg = int(_first_valid3(h, lo, c))
    slowk[: beg + look] = NAN
    return slowk, slowd


def core_set(
    high: Array,
    low: Array,
    close: Array,
    sma_period: int = 20,
    ema_period: int = 20,
    rsi_period: int = 14,
    atr_period: int = 14,
    adx_period: int = 14,
    bb_period: int = 20,
    nbdevup: float = 2.0,
    nbdevdn: float = 2.0,
    fastperiod: int = 12,
    slowperiod: int = 26,
    signalperiod: int = 9,
    out: Array | None = None,
) -> dict[str, Array]:
    """The seven anchor indicators (SMA, EMA, RSI, ATR, ADX, BBANDS, MACD) in one fused pass.

    ``out``, a C-contiguous float64 array of shape (11, len(close)), is filled and reused instead
    of allocating a new block (88 MB for 1M bars, which the OS must zero on every call).

    Returns ``sma``, ``ema``, ``rsi``, ``atr``, ``adx``, ``bb_upper``, ``bb_middle``,
    ``bb_lower``, ``macd``, ``macd_signal``, ``macd_hist``: the same values as the separate
    kernels (ATR as the one-bar recursion, within 1e-15 relative of ``atr``). The begidx is the
    first bar where high, low and close are all non-NaN.
    """
    h, lo, c = _arr3(high, low, close)
    f = _period(fastperiod, "fastperiod", 2)
    s = _period(slowperiod, "slowperiod", 2)
    if s < f:
        f, s = s, f
    ip = np.array(
        [
            _period(sma_period, "sma_period", 1),
            _period(ema_period, "ema_period", 1),
            _period(rsi_period, "rsi_period", 2),
            _period(atr_period, "atr_period", 1),
            _period(adx_period, "adx_period", 2),
            _period(bb_period, "bb_period", 2),
            f,
            s,
            _period(signalperiod, "signalperiod", 1),
        ],
        dtype=np.int64,
    )
    if out is None:
        out = np.empty((11, h.size), dtype=np.float64)
    elif not (
        isinstance(out, np.ndarray)
        and out.dtype == np.float64
        and out.shape == (11, h.size)
        and out.flags.c_contiguous
    ):
        raise ValueError(f"out must be a C-contiguous float64 array of shape (11, {h.size})")
    _core7_nb(
        h,
        lo,
        c,
        _first_valid3(h, lo, c),
        ip,
        _real(nbdevup, "nbdevup"),
        _real(nbdevdn, "nbdevdn"),
        out,
    )
    return dict(zip(CORE_SET_NAMES, out, strict=True))


CORE_SET_NAMES = (
    "sma",
    "ema",
    "rsi",
    "atr",
    "adx",
    "bb_upper",
    "bb_middle",
    "bb_lower",
    "macd",
    "macd_signal",
    "macd_hist",
)


def donchian(high: Array, low: Array, timeperiod: int = 20) -> tuple[Array, Array, Array]:
    """Donchian channels (not in TA-Lib): highest high, midpoint, lowest low over ``timeperiod``."""
    h = _arr(high, "high")
    lo = _arr(low, "low")
    if h.size != lo.size:
        raise ValueError(f"high, low differ in length: {h.size}, {lo.size}")
    n = _period(timeperiod, "timeperiod", 1)
    upper, middle, lower = _outs(3, h.size)
    _range_nb(h, lo, h, _first_valid3(h, lo, lo), n, 2, upper, lower)
    np.add(upper, lower, out=middle)
    middle /= 2.0
    return upper, middle, lower


def keltner(
    high: Array,
    low: Array,
    close: Array,
    timeperiod: int = 20,
    atr_period: int = 10,
    multiplier: float = 2.0,
) -> tuple[Array, Array, Array]:
    """Keltner channels (not in TA-Lib): EMA(close) ± multiplier·ATR: ``(upper, middle, lower)``."""
    h, lo, c = _arr3(high, low, close)
    n = _period(timeperiod, "timeperiod", 1)
    an = _period(atr_period, "atr_period", 1)
    mult = _real(multiplier, "multiplier")
    upper, middle, lower = _outs(3, h.size)
    _keltner_nb(h, lo, c, _first_valid3(h, lo, c), n, an, mult, upper, middle, lower)
    return upper, middle, lower
