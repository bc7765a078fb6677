"""Market regime: trending up, trending down, ranging or volatile, with hysteresis.

Each bar is classified from ADX with +DI/-DI, the slope of an EMA (in ATRs per bar over
``slope_window`` bars) and ATR/close relative to its mean over the last ``vol_window`` bars; a new
state must hold for ``min_bars`` bars before the classifier switches (thresholds:
``RegimeConfig``). The streaming form runs inside ``IndicatorSet``'s single ``@njit`` call per
bar; the batch form ``classify`` runs the same step over arrays, so both agree bar for bar.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import numpy.typing as npt

from trading_engine.indicators.config import IndicatorSetConfig, RegimeConfig

__all__ = ["REGIME_CODES", "Regime", "classify", "regime_from_code", "regimes"]


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


def classify(
    high: npt.NDArray[np.float64],
    low: npt.NDArray[np.float64],
    close: npt.NDArray[np.float64],
    config: RegimeConfig | None = None,
) -> npt.NDArray[np.int8]:
    """Regime code of every bar (see ``REGIME_CODES``); 0 (unknown) during warm-up."""
    from trading_engine.indicators.streaming import IndicatorSet

    cfg = IndicatorSetConfig(indicators=(), regime=config or RegimeConfig())
    codes = IndicatorSet(cfg).compute(high, low, close)["regime"]
    return codes.astype(np.int8)


def regimes(codes: npt.NDArray[np.int8]) -> list[Regime]:
    """Codes to ``Regime`` members."""
    return [REGIME_CODES[int(c)] for c in codes]
