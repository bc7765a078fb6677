"""Seeded synthetic bars with known regimes, to measure (``regime_accuracy.py``) and test
(``tests/unit/indicators/test_regime.py``) the regime classifier. Test data: not shipped."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["SEGMENT_CODES", "random_segments", "regime_bars"]

#: Segment kind -> regime code (see ``regime.REGIME_CODES``).
SEGMENT_CODES = {"up": 1, "down": 2, "range": 3, "volatile": 4}

Arr = npt.NDArray[np.float64]


def regime_bars(
    segments: list[tuple[str, int]],
    seed: int = 0,
    scale: float = 100.0,
    vol: float = 0.001,
    drift: float = 0.35,
    vol_factor: float = 3.0,
) -> tuple[Arr, Arr, Arr, npt.NDArray[np.int8]]:
    """High, low, close and the true regime code of each bar.

    ``up``/``down``: log-returns with drift ``±drift·vol`` and volatility ``vol``; ``range``:
    mean-reverting (15 % per bar) around the level where the segment started, volatility ``vol``;
    ``volatile``: weakly mean-reverting with ``vol_factor·vol``. Wicks scale with the volatility.
    """
    rng = np.random.default_rng(seed)
    total = sum(length for _, length in segments)
    logp = np.empty(total + 1)
    logp[0] = np.log(scale)
    truth = np.empty(total, dtype=np.int8)
    sig = np.empty(total)
    i = 0
    for kind, length in segments:
        if kind not in SEGMENT_CODES:
            raise ValueError(f"unknown segment kind {kind!r}")
        anchor = logp[i]
        noise = rng.standard_normal(length)
        for k in range(length):
            x = logp[i]
            if kind == "up":
                step = drift * vol + vol * noise[k]
            elif kind == "down":
                step = -drift * vol + vol * noise[k]
            elif kind == "range":
                step = -0.15 * (x - anchor) + vol * noise[k]
            else:
                step = -0.02 * (x - anchor) + vol_factor * vol * noise[k]
            logp[i + 1] = x + step
            truth[i] = SEGMENT_CODES[kind]
            sig[i] = vol_factor * vol if kind == "volatile" else vol
            i += 1
    close = np.exp(logp[1:])
    opn = np.exp(logp[:-1])
    wick = np.abs(rng.standard_normal(total)) * sig * close
    high = np.maximum(opn, close) + wick * rng.random(total)
    low = np.minimum(opn, close) - wick * rng.random(total)
    return high, low, close, truth


def random_segments(
    count: int,
    seed: int = 0,
    trend_len: tuple[int, int] = (300, 900),
    volatile_len: tuple[int, int] = (80, 250),
) -> list[tuple[str, int]]:
    """``count`` segments in random order (no kind twice in a row), with random lengths."""
    rng = np.random.default_rng(seed)
    kinds = list(SEGMENT_CODES)
    out: list[tuple[str, int]] = []
    prev = ""
    for _ in range(count):
        kind = prev
        while kind == prev:
            kind = kinds[int(rng.integers(len(kinds)))]
        lo, hi = volatile_len if kind == "volatile" else trend_len
        out.append((kind, int(rng.integers(lo, hi + 1))))
        prev = kind
    return out
