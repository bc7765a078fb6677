"""Indicators: numba batch kernels with TA-Lib's conventions, the streaming ``IndicatorSet``
(one ``@njit`` call per bar) and the market regime classifier.

The configuration models load at once; the kernels (numba) load on first use of a name that needs
them, so ``trading_engine.config`` can compose ``IndicatorSetConfig`` without compiling anything.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from trading_engine.indicators.config import (
    DEFAULT_INDICATORS,
    IndicatorKind,
    IndicatorSetConfig,
    IndicatorSpec,
    RegimeConfig,
)

if TYPE_CHECKING:
    from trading_engine.indicators import kernels
    from trading_engine.indicators.regime import REGIME_CODES, Regime, regime_from_code
    from trading_engine.indicators.streaming import IndicatorSet, classify
    from trading_engine.indicators.warmup import warm_up

__all__ = [
    "DEFAULT_INDICATORS",
    "REGIME_CODES",
    "IndicatorKind",
    "IndicatorSet",
    "IndicatorSetConfig",
    "IndicatorSpec",
    "Regime",
    "RegimeConfig",
    "classify",
    "kernels",
    "regime_from_code",
    "warm_up",
]

_LAZY = {
    "REGIME_CODES": "trading_engine.indicators.regime",
    "Regime": "trading_engine.indicators.regime",
    "classify": "trading_engine.indicators.streaming",
    "regime_from_code": "trading_engine.indicators.regime",
    "IndicatorSet": "trading_engine.indicators.streaming",
    "warm_up": "trading_engine.indicators.warmup",
}


def __getattr__(name: str) -> object:
    if name == "kernels":
        return importlib.import_module("trading_engine.indicators.kernels")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'trading_engine.indicators' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
