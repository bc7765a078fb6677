"""Seeded bar series for the indicator tests: random walks at three price scales."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

Arr = npt.NDArray[np.float64]
OHLC = tuple[Arr, Arr, Arr]

#: About 1.1 (FX), about 100 and about 50,000.
SCALES = (1.1, 100.0, 50_000.0)


def make_ohlc(
    n: int, scale: float = 100.0, seed: int = 0, vol: float = 0.001, df: float | None = None
) -> OHLC:
    """A geometric random walk with highs and lows around it (high >= close >= low).

    Returns and wicks are Gaussian, or with ``df`` heavy-tailed: Student-t with ``df`` degrees of
    freedom (> 2), scaled to unit variance.
    """
    rng = np.random.default_rng(seed)

    def shocks() -> Arr:
        if df is None:
            return rng.standard_normal(n)
        return rng.standard_t(df, n) / np.sqrt(df / (df - 2.0))

    close = scale * np.exp(np.cumsum(shocks() * vol))
    opn = np.concatenate(([close[0]], close[:-1]))
    wick = np.abs(shocks()) * vol * scale
    high = np.maximum(opn, close) + wick * rng.random(n)
    low = np.minimum(opn, close) - wick * rng.random(n)
    return high, low, close


@pytest.fixture
def ohlc() -> Callable[..., OHLC]:
    """Factory: ``ohlc(n, scale=100.0, seed=0, vol=0.001, df=None)``."""
    return make_ohlc
