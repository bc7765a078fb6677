"""Indicators: numba batch kernels with TA-Lib's conventions, the streaming ``IndicatorSet``
(one ``@njit`` call per bar) and the market regime classifier."""

from __future__ import annotations

from trading_engine.indicators import kernels
from trading_engine.indicators.config import (
    DEFAULT_INDICATORS,
    IndicatorKind,
    IndicatorSetConfig,
    IndicatorSpec,
    RegimeConfig,
)
from trading_engine.indicators.regime import REGIME_CODES, Regime, classify, regime_from_code
from trading_engine.indicators.streaming import IndicatorSet
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
