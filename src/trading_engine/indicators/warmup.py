"""Start-up: compile (or load from numba's cache) every kernel a configuration needs."""

from __future__ import annotations

import numpy as np

from trading_engine.indicators import kernels
from trading_engine.indicators.config import IndicatorSetConfig
from trading_engine.indicators.streaming import IndicatorSet

__all__ = ["warm_up"]


def _sample(n: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    i = np.arange(n, dtype=np.float64)
    close = 100.0 + np.sin(i / 5.0)
    return close + 0.5, close - 0.5, close


def warm_up(config: IndicatorSetConfig | None = None, *, batch_kernels: bool = False) -> None:
    """Compile or load every kernel ``config`` needs, before the first bar arrives.

    Runs the streaming set (``update``, ``warm_up`` and ``compute``, which the regime's batch
    ``classify`` also uses) on a few synthetic bars; with ``batch_kernels`` also every batch
    kernel of ``kernels``. With an unwritable cache directory this compiles in memory (slower,
    see ``_nb``), and never fails for that reason.
    """
    h, lo, c = _sample()
    iset = IndicatorSet(config)
    iset.warm_up(h[:32], lo[:32], c[:32])
    iset.update(float(h[32]), float(lo[32]), float(c[32]))
    iset.compute(h, lo, c)
    if batch_kernels:
        for name in ("sma", "ema", "wma", "rsi", "mom", "roc"):
            getattr(kernels, name)(c, 5)
        kernels.trange(h, lo, c)
        for name in ("atr", "natr", "plus_di", "minus_di", "adx", "cci", "willr"):
            getattr(kernels, name)(h, lo, c, 5)
        kernels.bbands(c, 5, 2.0, 2.0)
        kernels.macd(c, 3, 6, 2)
        kernels.stoch(h, lo, c, 5, 3, 3)
        kernels.donchian(h, lo, 5)
        kernels.keltner(h, lo, c, 5, 5, 2.0)
