"""Statistics of a backtest, with backtesting.py's names and definitions (risk-free rate 0).

``compute_stats(result)`` gives a :class:`Stats`: the ordered values ``Backtest.run()`` of
backtesting.py returns (``"Return [%]"``, ``"Sharpe Ratio"``, ``"# Trades"`` …) computed the same
way, plus swaps, the fingerprint and tables (per symbol, per strategy, exits by reason,
rejections and risk refusals by reason, disabled strategies). A test checks every value against
backtesting.py's own ``compute_stats`` on the same equity curve and trades.

Definitions (backtesting.py's; times are server wall-clock, as naive datetimes):

- The equity curve is ``result.equity["equity"]``, one row per bar close of the base timeframe.
  Drawdown ``dd = 1 - equity / running max``; a drawdown's duration runs from the last row at a
  peak to the row where the equity is back at a peak (or to the last row).
- Daily returns: the last equity of each calendar day (of each week ending Sunday, month or year
  when the median spacing of the last 100 rows is 7, 31 or 365 days), percent change, days
  without rows skipped. Their geometric mean ``g`` gives ``Return (Ann.) = (1 + g) ** D - 1``
  with ``D`` = 252 trading days, or 365 when over 60 % of 2/7 of the rows fall on weekends (52,
  12, 1 for weekly, monthly, yearly rows); ``Volatility (Ann.) = sqrt((var + (1 + g)²) ** D -
  (1 + g) ** (2D))`` with the sample variance of the daily returns.
- ``Sharpe = Return (Ann.) / Volatility (Ann.)``; ``Sortino = Return (Ann.) / (sqrt(mean(min(r,
  0)²)) · sqrt(D))``; ``Calmar = Return (Ann.) / max drawdown``; ``CAGR`` over the calendar time
  from the first to the last row (365.25-day years).
- Beta: covariance of the equity's and the market's bar log returns over the market's variance;
  the market (and ``Buy & Hold Return``) is an equal-weighted holding of the traded symbols
  from the first row's close (backtesting.py's single instrument when there is one symbol).
  ``Alpha = Return - Beta · Buy & Hold Return``.
- A trade's P&L is ``profit + commission + swap`` (account currency). Its return is the price
  move ``±(close / open - 1)`` scaled by ``net / profit`` (costs in proportion to the position's
  value; no costs when the price did not move). Best/Worst/Avg. Trade (geometric mean),
  Expectancy (arithmetic mean) and Profit Factor (sum of positive over sum of negative returns)
  use these returns (in the per-symbol and per-strategy tables too); Win Rate, SQN and Kelly
  use the P&L.
- A trade is held from the first row at or after it opened to the first row at or after it
  closed (``Exposure Time`` counts rows holding any trade); trade durations are close - open time.
  Durations are rounded up to the resolution of the bar spacing (hours for H1, days for D1).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from trading_engine.backtest.result import BacktestResult, ClosedTrade

__all__ = [
    "Stats",
    "compute_stats",
    "curve_figures",
    "period_returns",
    "server_datetime",
    "trade_figures",
]

_DAY: Final = 86_400
_NAN: Final = float("nan")
_EPOCH: Final = datetime(1970, 1, 1)  # noqa: DTZ001  (server wall-clock time, no zone)

Value = float | int | str | datetime | timedelta | None

_RISK_FIGURES: Final = (
    "Return (Ann.) [%]",
    "Volatility (Ann.) [%]",
    "CAGR [%]",
    "Sharpe Ratio",
    "Sortino Ratio",
    "Calmar Ratio",
)
_DRAWDOWN_FIGURES: Final = (
    "Max. Drawdown [%]",
    "Avg. Drawdown [%]",
    "Max. Drawdown Duration",
    "Avg. Drawdown Duration",
)


def server_datetime(seconds: int | float) -> datetime:
    """Server epoch seconds as a naive datetime of the server's wall clock."""
    return _EPOCH + timedelta(seconds=float(seconds))


@dataclass(frozen=True)
class Stats(Mapping[str, Value]):
    """Ordered statistics (backtesting.py's names) and the report's tables."""

    figures: dict[str, Value]
    by_symbol: list[dict[str, Value]] = field(default_factory=list)
    by_strategy: list[dict[str, Value]] = field(default_factory=list)
    exits: list[dict[str, Value]] = field(default_factory=list)
    rejections: dict[str, int] = field(default_factory=dict)
    risk_refusals: dict[str, int] = field(default_factory=dict)
    risk_events: list[tuple[int, str, str]] = field(default_factory=list)
    disabled: list[tuple[str, int, str]] = field(default_factory=list)

    def __getitem__(self, key: str) -> Value:
        return self.figures[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.figures)

    def __len__(self) -> int:
        return len(self.figures)

    def lines(self) -> list[str]:
        """The statistics and tables as aligned text lines for the terminal."""
        width = max(map(len, self.figures)) + 2
        out = [f"{key:<{width}}{format_value(value)}" for key, value in self.figures.items()]
        for title, rows in (
            ("per symbol", self.by_symbol),
            ("per strategy", self.by_strategy),
            ("exits by reason", self.exits),
        ):
            if rows:
                out += ["", f"{title}:", *table_lines(rows)]
        for title, counts in (
            ("rejections by reason", self.rejections),
            ("risk refusals by reason", self.risk_refusals),
        ):
            out += ["", f"{title}:"]
            out += [f"  {k}: {v}" for k, v in sorted(counts.items())] if counts else ["  none"]
        if self.disabled:
            out += ["", "disabled strategies:"]
            out += [
                f"  {name} at {server_datetime(when):%Y-%m-%d %H:%M:%S}: {reason}"
                for name, when, reason in self.disabled
            ]
        return out


def format_value(value: Value) -> str:
    """A statistic as text: floats to 2 decimals (4 under 1), NaN as ``--``."""
    if value is None:
        return "--"
    if isinstance(value, float):
        if math.isnan(value):
            return "--"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:,.4f}" if 0 < abs(value) < 1 else f"{value:,.2f}"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    return str(value)


def table_lines(rows: Sequence[Mapping[str, Value]]) -> list[str]:
    """Rows of equal keys as an aligned text table (two-space indent)."""
    keys = list(rows[0])
    cells = [[format_value(row[k]) for k in keys] for row in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]

    def line(texts: list[str]) -> str:
        pairs = enumerate(zip(texts, widths, strict=True))
        padded = [t.rjust(w) if i else t.ljust(w) for i, (t, w) in pairs]
        return "  " + "  ".join(padded)

    return [line(keys), *(line(row) for row in cells)]


# -- the pieces ---------------------------------------------------------------------------------


def _geometric_mean(returns: npt.NDArray[np.float64]) -> float:
    r = np.nan_to_num(returns, nan=0.0) + 1.0
    if np.any(r <= 0):
        return 0.0
    if r.size == 0:
        return _NAN
    return float(np.exp(np.log(r).sum() / r.size) - 1.0)


def _period_seconds(times: npt.NDArray[np.int64]) -> float:
    """backtesting.py's data period: the median spacing of the last 100 rows."""
    tail = times[-100:]
    return float(np.median(np.diff(tail))) if tail.size > 1 else _NAN


def _resolution(period: float) -> int:
    """Seconds of the smallest non-zero unit (day, hour, minute, second) of ``period``."""
    if math.isnan(period):
        return 1
    total = round(period)
    for unit in (_DAY, 3600, 60):
        if total % unit == 0:
            return unit
    return 1


def _duration(seconds: float, resolution: int) -> timedelta | None:
    if math.isnan(seconds):
        return None
    return timedelta(seconds=math.ceil(seconds / resolution - 1e-9) * resolution)


def _group_last(values: npt.NDArray[np.float64], keys: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
    last = np.flatnonzero(np.r_[keys[1:] != keys[:-1], True])
    out: npt.NDArray[Any] = values[last]
    return out


def _period_keys(times: npt.NDArray[np.int64], freq_days: int) -> npt.NDArray[np.int64]:
    days = times // _DAY
    if freq_days == 7:
        return (days + 3) // 7  # weeks Monday … Sunday (1970-01-01 was a Thursday)
    stamps = times.astype("datetime64[s]")
    if freq_days == 31:
        return stamps.astype("datetime64[M]").astype(np.int64)
    if freq_days == 365:
        return stamps.astype("datetime64[Y]").astype(np.int64)
    return days


def _drawdown_runs(
    dd: npt.NDArray[np.float64], times: npt.NDArray[np.int64]
) -> tuple[list[float], list[float]]:
    """(durations in seconds, peak drawdowns) of each drawdown, backtesting.py's way."""
    ends = np.unique(np.r_[np.flatnonzero(dd == 0), dd.size - 1])
    durations: list[float] = []
    peaks: list[float] = []
    for prev, end in itertools.pairwise(ends):
        if end > prev + 1:
            durations.append(float(times[end] - times[prev]))
            peaks.append(float(dd[prev : end + 1].max()))
    return durations, peaks


def _net(trade: ClosedTrade) -> float:
    return trade.profit + trade.commission + trade.swap


def trade_return(trade: ClosedTrade) -> float:
    """A trade's return as a fraction (module docstring)."""
    sign = 1.0 if trade.side == "buy" else -1.0
    gross = sign * (trade.close_price / trade.open_price - 1.0) if trade.open_price else 0.0
    if trade.profit == 0.0:
        return gross
    return gross * _net(trade) / trade.profit


def trade_bars(
    trades: Sequence[ClosedTrade], times: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(entry row, exit row) of each trade on the equity rows (module docstring)."""
    last = max(times.size - 1, 0)
    opens = np.array([t.open_time for t in trades], dtype=np.int64)
    closes = np.array([t.close_time for t in trades], dtype=np.int64)
    entry = np.minimum(times.searchsorted(opens, side="left"), last)
    exit_ = np.minimum(times.searchsorted(closes, side="left"), last)
    return entry.astype(np.int64), np.maximum(entry, exit_).astype(np.int64)


def _market(result: BacktestResult, n: int) -> npt.NDArray[np.float64]:
    """The equal-weighted buy & hold of the traded symbols, normalised to 1 at row 0."""
    series = [np.asarray(c, dtype=np.float64)[:n] for c in result.closes.values() if len(c)]
    series = [s / s[0] for s in series if s.size == n and s[0] > 0]
    if not series:
        return np.full(n, _NAN)
    out: npt.NDArray[np.float64] = np.mean(series, axis=0)
    return out


def _trade_stats(
    trades: Sequence[ClosedTrade], resolution: int
) -> tuple[dict[str, Value], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    pnl = np.array([_net(t) for t in trades], dtype=np.float64)
    returns = np.array([trade_return(t) for t in trades], dtype=np.float64)
    durations = np.array([t.close_time - t.open_time for t in trades], dtype=np.float64)
    return trade_figures(pnl, returns, durations, resolution), pnl, returns


def trade_figures(
    pnl: npt.ArrayLike,
    returns: npt.ArrayLike,
    durations: npt.ArrayLike | None = None,
    resolution: int = 1,
) -> dict[str, Value]:
    """The trade statistics (module docstring) of trades given by their P&L, their returns
    (:func:`trade_return`) and their durations in seconds (None: the durations are None)."""
    pnl = np.asarray(pnl, dtype=np.float64)
    returns = np.asarray(returns, dtype=np.float64)
    n = pnl.size
    if durations is None:
        durations = np.empty(0)
    durations = np.asarray(durations, dtype=np.float64)
    timed = n and durations.size == n
    s: dict[str, Value] = {"# Trades": n}
    win_rate = float((pnl > 0).mean()) if n else _NAN
    s["Win Rate [%]"] = win_rate * 100
    s["Best Trade [%]"] = float(returns.max()) * 100 if n else _NAN
    s["Worst Trade [%]"] = float(returns.min()) * 100 if n else _NAN
    s["Avg. Trade [%]"] = _geometric_mean(returns) * 100
    s["Max. Trade Duration"] = _duration(float(durations.max()), resolution) if timed else None
    s["Avg. Trade Duration"] = _duration(float(durations.mean()), resolution) if timed else None
    losses = abs(float(returns[returns < 0].sum()))
    s["Profit Factor"] = float(returns[returns > 0].sum()) / losses if losses else _NAN
    s["Expectancy [%]"] = float(returns.mean()) * 100 if n else _NAN
    std = float(pnl.std(ddof=1)) if n > 1 else _NAN
    s["SQN"] = math.sqrt(n) * float(pnl.mean()) / std if n and std else _NAN
    wins, losing = pnl[pnl > 0], pnl[pnl < 0]
    ratio = float(wins.mean()) / -float(losing.mean()) if wins.size and losing.size else _NAN
    s["Kelly Criterion"] = win_rate - (1 - win_rate) / ratio if ratio else _NAN
    return s


def period_returns(
    times: npt.ArrayLike, equity: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], int]:
    """The daily returns of an equity curve (of each week, month or year for rows that far
    apart) and the periods in a year they annualise by (module docstring)."""
    times = np.asarray(times, dtype=np.int64)
    equity = np.asarray(equity, dtype=np.float64)
    period = _period_seconds(times)
    freq_days = int(period // _DAY) if not math.isnan(period) else 0
    weekday = (times // _DAY + 3) % 7  # Monday = 0
    have_weekends = float(((weekday == 5) | (weekday == 6)).mean()) > 2 / 7 * 0.6
    annual_days = {7: 52, 31: 12, 365: 1}.get(freq_days, 365 if have_weekends else 252)
    last = _group_last(equity, _period_keys(times, freq_days))
    returns = last[1:] / last[:-1] - 1.0 if last.size > 1 else np.empty(0)
    return returns, annual_days


def curve_figures(times: npt.ArrayLike, equity: npt.ArrayLike) -> dict[str, Value]:
    """The statistics of an equity curve alone (module docstring): its equity, returns,
    risk-adjusted ratios and drawdowns, from its first row."""
    times = np.asarray(times, dtype=np.int64)
    equity = np.asarray(equity, dtype=np.float64)
    resolution = _resolution(_period_seconds(times))
    s: dict[str, Value] = {}
    s["Equity Final [$]"] = float(equity[-1])
    s["Equity Peak [$]"] = float(equity.max())
    s["Return [%]"] = float((equity[-1] - equity[0]) / equity[0] * 100)
    day_returns, annual_days = period_returns(times, equity)
    g = _geometric_mean(day_returns)
    annual = (1 + g) ** annual_days - 1
    var = float(day_returns.var(ddof=1)) if day_returns.size > 1 else _NAN
    with np.errstate(invalid="ignore"):
        vol = float(np.sqrt((var + (1 + g) ** 2) ** annual_days - (1 + g) ** (2 * annual_days)))
    s["Return (Ann.) [%]"] = annual * 100
    s["Volatility (Ann.) [%]"] = vol * 100
    years = float(times[-1] - times[0]) / _DAY / 365.25
    s["CAGR [%]"] = ((equity[-1] / equity[0]) ** (1 / years) - 1) * 100 if years else _NAN
    s["Sharpe Ratio"] = annual / vol if vol else _NAN
    downside = (
        math.sqrt(float(np.mean(np.minimum(day_returns, 0.0) ** 2))) if day_returns.size else _NAN
    )
    denominator = downside * math.sqrt(annual_days)
    s["Sortino Ratio"] = (
        annual / denominator
        if denominator
        else (math.copysign(math.inf, annual) if annual else _NAN)
    )
    dd = 1.0 - equity / np.maximum.accumulate(equity)
    max_dd = float(np.nan_to_num(dd.max()))
    s["Calmar Ratio"] = annual / max_dd if max_dd else _NAN
    durations, peaks = _drawdown_runs(dd, times)
    s["Max. Drawdown [%]"] = -max_dd * 100
    s["Avg. Drawdown [%]"] = -float(np.mean(peaks)) * 100 if peaks else _NAN
    s["Max. Drawdown Duration"] = _duration(max(durations), resolution) if durations else None
    s["Avg. Drawdown Duration"] = (
        _duration(float(np.mean(durations)), resolution) if durations else None
    )
    return s


def compute_stats(result: BacktestResult) -> Stats:
    """The statistics of ``result`` (module docstring for the definitions)."""
    times = np.ascontiguousarray(result.equity["time"], dtype=np.int64)
    equity = np.ascontiguousarray(result.equity["equity"], dtype=np.float64)
    n = equity.size
    trades = result.trades
    period = _period_seconds(times)
    resolution = _resolution(period)
    s: dict[str, Value] = {}
    if n == 0:
        s["Start"] = s["End"] = None
        s["Duration"] = None
        equity = np.array([result.initial_balance])
        times = np.array([result.start], dtype=np.int64)
        n = 1
    else:
        s["Start"] = server_datetime(times[0])
        s["End"] = server_datetime(times[-1])
        s["Duration"] = timedelta(seconds=int(times[-1] - times[0]))
    curve = curve_figures(times, equity)
    entry, exit_ = trade_bars(trades, times)
    holding = np.zeros(n, dtype=np.int64)
    for a, b in zip(entry, exit_, strict=True):
        holding[a : b + 1] = 1
    s["Exposure Time [%]"] = float(holding.mean()) * 100
    s["Equity Final [$]"] = curve["Equity Final [$]"]
    s["Equity Peak [$]"] = curve["Equity Peak [$]"]
    s["Commissions [$]"] = float(sum(t.commission for t in trades))
    s["Swaps [$]"] = float(sum(t.swap for t in trades))
    total = curve["Return [%]"]
    assert isinstance(total, float)
    s["Return [%]"] = total
    market = _market(result, n)
    buy_hold = float(market[-1] - 1.0) * 100
    s["Buy & Hold Return [%]"] = buy_hold
    for key in _RISK_FIGURES:
        s[key] = curve[key]
    with np.errstate(divide="ignore", invalid="ignore"):
        eq_log = np.log(equity[1:] / equity[:-1])
        mk_log = np.log(market[1:] / market[:-1])
    beta = _NAN
    if eq_log.size > 1 and mk_log.size > 1:
        cov = np.cov(eq_log, mk_log)
        beta = float(cov[0, 1] / cov[1, 1]) if cov[1, 1] else _NAN
    s["Alpha [%]"] = total - beta * buy_hold
    s["Beta"] = beta
    for key in _DRAWDOWN_FIGURES:
        s[key] = curve[key]
    trade_values, _, _ = _trade_stats(trades, resolution)
    s.update(trade_values)
    s["Rejections"] = sum(result.rejections.values())
    s["Risk Refusals"] = sum(result.risk_refusals.values())
    s["Bars"] = result.bars
    s["Warm-up Bars"] = result.warmup_bars
    s["Timeframe"] = result.timeframe
    s["Modelling"] = result.modelling
    s["Engine"] = result.engine
    s["Elapsed [s]"] = result.elapsed
    s["Fingerprint"] = result.fingerprint
    return Stats(
        figures=s,
        by_symbol=_table(result, "symbol", resolution),
        by_strategy=_table(result, "strategy", resolution),
        exits=_exits(trades),
        rejections=dict(result.rejections),
        risk_refusals=dict(result.risk_refusals),
        risk_events=list(result.risk_events),
        disabled=list(result.disabled_strategies),
    )


def _table(result: BacktestResult, key: str, resolution: int) -> list[dict[str, Value]]:
    groups: dict[str, list[ClosedTrade]] = defaultdict(list)
    for trade in result.trades:
        groups[getattr(trade, key)].append(trade)
    names = list(result.symbols) if key == "symbol" else []
    names += sorted(name for name in groups if name not in names)
    rows: list[dict[str, Value]] = []
    for name in names:
        trades = groups.get(name, [])
        values, pnl, _ = _trade_stats(trades, resolution)
        row: dict[str, Value] = {key: name, "# Trades": len(trades)}
        row["Net P&L"] = float(pnl.sum())
        row["Win Rate [%]"] = values["Win Rate [%]"]
        row["Avg. Trade [%]"] = values["Avg. Trade [%]"]
        row["Profit Factor"] = values["Profit Factor"]  # the headline's definition (returns)
        row["Commissions"] = float(sum(t.commission for t in trades))
        row["Swaps"] = float(sum(t.swap for t in trades))
        if key == "symbol":
            closes = np.asarray(result.closes.get(name, ()), dtype=np.float64)
            ok = closes.size > 1 and closes[0] > 0
            row["Buy & Hold [%]"] = float(closes[-1] / closes[0] - 1) * 100 if ok else _NAN
        rows.append(row)
    return rows


def _exits(trades: Sequence[ClosedTrade]) -> list[dict[str, Value]]:
    counts = Counter(t.close_reason for t in trades)
    pnl: dict[str, float] = defaultdict(float)
    for t in trades:
        pnl[t.close_reason] += _net(t)
    return [
        {"reason": reason, "# Trades": count, "Net P&L": pnl[reason]}
        for reason, count in counts.most_common()
    ]
