"""The deflated Sharpe ratio (Bailey & López de Prado, 2014).

The probability that the best of ``N`` trials has a true Sharpe ratio above zero, once the
selection among ``N`` trials (whose Sharpe ratios vary with variance ``V``), the length of the
track record ``T`` and the skewness and kurtosis of its returns are accounted for:

    SR0 = sqrt(V) · ((1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N e)))
    DSR = Φ((SR − SR0) · sqrt(T − 1) / sqrt(1 − skew · SR + (kurt − 1)/4 · SR²))

with γ the Euler–Mascheroni constant; Sharpe ratios per period (not annualised), ``kurt`` the
plain (not excess) kurtosis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

__all__ = ["deflated_sharpe", "expected_max_sharpe", "sharpe_moments"]

EULER_GAMMA = 0.5772156649015329
_N = NormalDist()


def expected_max_sharpe(trials: int, variance: float) -> float:
    """SR0: the expected maximum Sharpe ratio of ``trials`` trials of true Sharpe 0."""
    if trials < 2 or variance <= 0:
        return 0.0
    a = _N.inv_cdf(1 - 1 / trials)
    b = _N.inv_cdf(1 - 1 / (trials * math.e))
    return math.sqrt(variance) * ((1 - EULER_GAMMA) * a + EULER_GAMMA * b)


def sharpe_moments(returns: npt.ArrayLike) -> tuple[float, int, float, float]:
    """(per-period Sharpe ratio, count, skewness, plain kurtosis) of ``returns``."""
    r = np.asarray(returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    n = int(r.size)
    if n < 2:
        return math.nan, n, math.nan, math.nan
    sd = float(r.std(ddof=1))
    if sd == 0:
        return math.nan, n, math.nan, math.nan
    centred = r - r.mean()
    m2 = float(np.mean(centred**2))
    skew = float(np.mean(centred**3)) / m2**1.5
    kurt = float(np.mean(centred**4)) / m2**2
    return float(r.mean()) / sd, n, skew, kurt


def deflated_sharpe(
    sharpe: float,
    periods: int,
    skew: float,
    kurtosis: float,
    trial_sharpes: Sequence[float],
) -> float:
    """The DSR of a best Sharpe ``sharpe`` (per period, over ``periods`` returns).

    ``trial_sharpes`` are the per-period Sharpe ratios of every trial of the search (the best
    included); their count is N and their variance V. NaN when undefined (fewer than 2 periods).
    """
    finite = [s for s in trial_sharpes if math.isfinite(s)]
    if periods < 2 or not math.isfinite(sharpe):
        return math.nan
    variance = float(np.var(finite, ddof=1)) if len(finite) > 1 else 0.0
    sr0 = expected_max_sharpe(max(len(trial_sharpes), 1), variance)
    denom = 1 - skew * sharpe + (kurtosis - 1) / 4 * sharpe**2
    if not math.isfinite(denom) or denom <= 0:
        return math.nan
    return _N.cdf((sharpe - sr0) * math.sqrt(periods - 1) / math.sqrt(denom))
