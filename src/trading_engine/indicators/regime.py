"""Market regime: trending up, trending down, ranging or volatile, with hysteresis.

Each bar is classified from ADX with +DI/-DI, the slope of an EMA (in ATRs per bar over
``slope_window`` bars) and ATR/close relative to its mean over the last ``vol_window`` bars; a new
state must hold for ``min_bars`` bars before the classifier switches (thresholds:
``RegimeConfig``). ``regime_step`` is the classifier: one bar's step over its state, run inside
``IndicatorSet``'s single ``@njit`` call per bar (``streaming``, which imports this module; the
batch form ``streaming.classify`` runs the same step over arrays, so both agree bar for bar).
"""

from __future__ import annotations

import math
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from trading_engine.indicators._nb import njit

__all__ = ["REGIME_CODES", "Regime", "regime_from_code", "regime_step", "regimes"]

Array = npt.NDArray[np.float64]


class Regime(StrEnum):
    """Market regime of a bar."""

    UNKNOWN = "unknown"
    TRENDING_UP = "trending_up"
    TRENDING_DOWN = "trending_down"
    RANGING = "ranging"
    VOLATILE = "volatile"


#: Integer codes used in arrays: index -> Regime.
REGIME_CODES: tuple[Regime, ...] = (
    Regime.UNKNOWN,
    Regime.TRENDING_UP,
    Regime.TRENDING_DOWN,
    Regime.RANGING,
    Regime.VOLATILE,
)


def regime_from_code(code: int) -> Regime:
    """The ``Regime`` of an integer code."""
    return REGIME_CODES[code]


def regimes(codes: npt.NDArray[np.int8]) -> list[Regime]:
    """Codes to ``Regime`` members."""
    return [REGIME_CODES[int(c)] for c in codes]


@njit
def regime_step(st: Array, s: int, c: float, r: int) -> None:
    """Regime state [cnt, pos E, pos V, vol sum, current, candidate, count, adx_trend, slope_min,
    volatile_ratio, min_bars, L, W, slot adx, slot +DI, slot -DI, slot EMA, slot ATR, since anchor,
    ringE(L+1), ringV(W)]; output: the regime code (0 unknown .. 4 volatile)."""
    o1 = int(st[r + 2])
    adx = st[int(st[s + 13])]
    pdi = st[int(st[s + 14])]
    mdi = st[int(st[s + 15])]
    ema = st[int(st[s + 16])]
    atr = st[int(st[s + 17])]
    if math.isnan(adx) or math.isnan(ema) or math.isnan(atr) or math.isnan(c):
        st[o1] = st[s + 4]
        return
    j = int(st[s])
    st[s] = j + 1
    el = int(st[s + 11])
    w = int(st[s + 12])
    re = s + 19
    rv = s + 19 + el + 1
    # EMA ring of L+1 values
    pe = int(st[s + 1])
    st[re + pe] = ema
    pe += 1
    if pe == el + 1:
        pe = 0
    st[s + 1] = pe
    ema_old = st[re + pe]  # L bars ago once full
    # ATR/close ring of W values with a running sum, recomputed every W bars
    v = atr / c if c != 0.0 else 0.0
    pv = int(st[s + 2])
    vsum = st[s + 3] - st[rv + pv] + v
    st[rv + pv] = v
    pv += 1
    if pv == w:
        pv = 0
    st[s + 2] = pv
    since = st[s + 18] + 1.0
    if since >= w:
        since = 0.0
        vsum = 0.0
        for q in range(w):
            vsum += st[rv + q]
    st[s + 18] = since
    st[s + 3] = vsum
    if j < el or j < w - 1:
        st[o1] = 0.0
        return
    slope = (ema - ema_old) / (el * atr) if atr > 0.0 else 0.0
    mean_v = vsum / w
    rel = v / mean_v if mean_v > 0.0 else 1.0
    if rel >= st[s + 9]:
        raw = 4.0
    elif adx >= st[s + 7] and slope >= st[s + 8] and pdi > mdi:
        raw = 1.0
    elif adx >= st[s + 7] and slope <= -st[s + 8] and mdi > pdi:
        raw = 2.0
    else:
        raw = 3.0
    cur = st[s + 4]
    if cur == 0.0:
        cur = raw
        st[s + 6] = 0.0
    elif raw == cur:
        st[s + 6] = 0.0
    else:
        if raw == st[s + 5]:
            st[s + 6] += 1.0
        else:
            st[s + 5] = raw
            st[s + 6] = 1.0
        if st[s + 6] >= st[s + 10]:
            cur = raw
            st[s + 6] = 0.0
    st[s + 4] = cur
    st[o1] = cur
