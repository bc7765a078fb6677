"""Statistics of an equity curve and its trades, in backtesting.py's names.

Used for what the search needs beyond the report: the per-day returns behind the deflated Sharpe
ratio, buy & hold beside each walk-forward fold, and the joined out-of-sample curve. Sharpe and
Sortino are annualised from daily returns (252 days a year), as backtesting.py does for intraday
data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["DAY", "buy_and_hold_return", "daily_returns", "equity_stats"]

DAY = 86_400
YEAR_DAYS = 252


def daily_returns(times: npt.ArrayLike, equity: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Relative change of the last equity of each calendar day (UTC) over the day before."""
    t = np.asarray(times, dtype=np.int64)
    e = np.asarray(equity, dtype=np.float64)
    if t.size < 2:
        return np.empty(0)
    days = t // DAY
    last = np.r_[days[1:] != days[:-1], True]
    closes = e[last]
    if closes.size < 2:
        return np.empty(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = closes[1:] / closes[:-1] - 1.0
    return r[np.isfinite(r)]


def buy_and_hold_return(closes: npt.ArrayLike) -> float:
    """Return [%] of holding from the first close to the last."""
    c = np.asarray(closes, dtype=np.float64)
    return float((c[-1] / c[0] - 1) * 100) if c.size >= 2 and c[0] > 0 else math.nan


def _max_drawdown(e: npt.NDArray[np.float64]) -> float:
    if e.size == 0:
        return 0.0
    peak = np.maximum.accumulate(e)
    return float(np.min(e / peak - 1.0) * 100)


def equity_stats(
    times: npt.ArrayLike,
    equity: npt.ArrayLike,
    trade_pnl: Sequence[float],
    initial: float,
) -> dict[str, float]:
    """The statistics of a run: equity curve ``(times, equity)`` and each closed trade's P&L."""
    t = np.asarray(times, dtype=np.int64)
    e = np.asarray(equity, dtype=np.float64)
    final = float(e[-1]) if e.size else initial
    pnl = np.asarray(trade_pnl, dtype=np.float64)
    r = daily_returns(t, e)
    sd = float(r.std(ddof=1)) if r.size > 1 else 0.0
    downside = r[r < 0]
    dsd = float(np.sqrt(np.mean(downside**2))) if downside.size else 0.0
    mean = float(r.mean()) if r.size else 0.0
    dd = _max_drawdown(np.r_[initial, e])
    years = (t[-1] - t[0]) / (365.25 * DAY) if t.size > 1 else 0.0
    total = final / initial if initial > 0 else math.nan
    annual = (total ** (1 / years) - 1) * 100 if years > 0 and total > 0 else math.nan
    gains = float(pnl[pnl > 0].sum())
    losses = -float(pnl[pnl < 0].sum())
    pnl_sd = float(pnl.std(ddof=1)) if pnl.size > 1 else 0.0
    return {
        "Equity Final [$]": final,
        "Return [%]": (total - 1) * 100,
        "Return (Ann.) [%]": annual,
        "Max. Drawdown [%]": dd,
        "Sharpe Ratio": mean / sd * math.sqrt(YEAR_DAYS) if sd > 0 else math.nan,
        "Sortino Ratio": mean / dsd * math.sqrt(YEAR_DAYS) if dsd > 0 else math.nan,
        "Calmar Ratio": annual / -dd if dd < 0 and math.isfinite(annual) else math.nan,
        "# Trades": float(pnl.size),
        "Win Rate [%]": float((pnl > 0).mean() * 100) if pnl.size else math.nan,
        "Profit Factor": gains / losses if losses > 0 else (math.inf if gains > 0 else math.nan),
        "SQN": math.sqrt(pnl.size) * float(pnl.mean()) / pnl_sd if pnl_sd > 0 else math.nan,
    }
