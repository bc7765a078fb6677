"""What the search reads of a run beyond its report's statistics (``backtest.stats``).

The per-period returns behind the deflated Sharpe ratio are the report's daily returns (the
ones its Sharpe ratio annualises); buy & hold is set beside each walk-forward fold.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["buy_and_hold_return", "daily_returns"]


def daily_returns(times: npt.ArrayLike, equity: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The report's daily returns of an equity curve (``backtest.stats.period_returns``), the
    finite ones."""
    from trading_engine.backtest.stats import period_returns  # the backtest package is heavy

    returns, _ = period_returns(times, equity)
    finite: npt.NDArray[np.float64] = returns[np.isfinite(returns)]
    return finite


def buy_and_hold_return(closes: npt.ArrayLike) -> float:
    """Return [%] of holding from the first close to the last."""
    c = np.asarray(closes, dtype=np.float64)
    return float((c[-1] / c[0] - 1) * 100) if c.size >= 2 and c[0] > 0 else math.nan
