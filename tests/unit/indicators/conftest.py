"""Seeded bar series for the indicator tests: random walks at three price scales and series
with known regimes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

Arr = npt.NDArray[np.float64]
OHLC = tuple[Arr, Arr, Arr]

#: About 1.1 (FX), about 100 and about 50,000.
SCALES = (1.1, 100.0, 50_000.0)


def make_ohlc(n: int, scale: float = 100.0, seed: int = 0, vol: float = 0.001) -> OHLC:
    """A geometric random walk with highs and lows around it (high >= close >= low)."""
    rng = np.random.default_rng(seed)
    close = scale * np.exp(np.cumsum(rng.standard_normal(n) * vol))
    opn = np.concatenate(([close[0]], close[:-1]))
    wick = np.abs(rng.standard_normal(n)) * vol * scale
    high = np.maximum(opn, close) + wick * rng.random(n)
    low = np.minimum(opn, close) - wick * rng.random(n)
    return high, low, close


def make_regime_series(
    segments: list[tuple[str, int]], seed: int = 0, scale: float = 100.0
) -> tuple[Arr, Arr, Arr, npt.NDArray[np.int8]]:
    """Bars whose regime is known: ``up``/``down`` drift, ``range`` mean-reverts, ``volatile``
    has triple volatility. Returns high, low, close and the true regime code of each bar."""
    codes = {"up": 1, "down": 2, "range": 3, "volatile": 4}
    rng = np.random.default_rng(seed)
    vol = 0.001
    logp = [np.log(scale)]
    truth: list[int] = []
    sig: list[float] = []
    for kind, length in segments:
        anchor = logp[-1]
        for _ in range(length):
            x = logp[-1]
            if kind == "up":
                step = 0.35 * vol + vol * rng.standard_normal()
            elif kind == "down":
                step = -0.35 * vol + vol * rng.standard_normal()
            elif kind == "range":
                step = -0.15 * (x - anchor) + vol * rng.standard_normal()
            else:
                step = -0.02 * (x - anchor) + 3.0 * vol * rng.standard_normal()
            logp.append(x + step)
            truth.append(codes[kind])
            sig.append(3.0 * vol if kind == "volatile" else vol)
    close = np.exp(np.array(logp[1:]))
    s = np.array(sig)
    opn = np.exp(np.array(logp[:-1]))
    wick = np.abs(rng.standard_normal(close.size)) * s * close
    high = np.maximum(opn, close) + wick * rng.random(close.size)
    low = np.minimum(opn, close) - wick * rng.random(close.size)
    return high, low, close, np.array(truth, dtype=np.int8)


@pytest.fixture
def ohlc() -> Callable[..., OHLC]:
    """Factory: ``ohlc(n, scale=100.0, seed=0)``."""
    return make_ohlc


@pytest.fixture
def regime_series() -> Callable[..., tuple[Arr, Arr, Arr, npt.NDArray[np.int8]]]:
    """Factory: ``regime_series(segments, seed=0, scale=100.0)``."""
    return make_regime_series
