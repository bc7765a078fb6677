"""The HTML report of a backtest: one self-contained page (Plotly, inlined; works offline).

Charts: per symbol the candlesticks with the strategy's indicators, entries (triangles), exits
(crosses) and each trade's SL/TP over its life (dotted), oscillators below; equity, balance and
drawdown; the P&L of every trade; monthly returns. Tables: the statistics, per symbol, per
strategy, exits by reason, rejections and risk refusals by reason, risk state changes and
disabled strategies. Times are server time.

Long runs are resampled so the page stays light (a 1 M-bar run opens in seconds): candles are
merged ``k`` at a time (first open, highest high, lowest low, last close) to at most
``max_points``; indicators keep the last value of each group; the equity keeps each group's
lowest and highest point (drawdowns stay visible); trade markers are thinned evenly beyond
``max_points``. Every chart says when it was resampled.

Plotly is an optional dependency (the ``report`` extra): ``pip install 'trading-engine[report]'``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from trading_engine.backtest.result import BacktestResult, ClosedTrade
from trading_engine.backtest.stats import Stats, format_value, server_datetime

if TYPE_CHECKING:
    from trading_engine.indicators.config import IndicatorSetConfig

__all__ = [
    "OVERLAY_KINDS",
    "indicator_series",
    "require_plotly",
    "resample_ohlc",
    "write_html_report",
]

OVERLAY_KINDS: Final = frozenset({"sma", "ema", "wma", "bbands", "donchian", "keltner"})
"""Indicator kinds drawn on the price chart; the others go to the oscillator pane."""

_GREEN: Final = "#2ca02c"
_RED: Final = "#d62728"
_CSS: Final = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}
.warn{background:#fff3cd;border:1px solid #e0c060;padding:.5em 1em}
.grid{display:flex;flex-wrap:wrap;gap:2em}
.note{color:#666;font-size:.85em}
"""


def require_plotly() -> Any:
    try:
        import plotly.graph_objects as go
    except ImportError as exc:  # pragma: no cover - depends on the installation
        from trading_engine.errors import ConfigError

        raise ConfigError(
            "the HTML report needs plotly: pip install 'trading-engine[report]'", key="--report"
        ) from exc
    return go


# -- data preparation ---------------------------------------------------------------------------


def _times(seconds: npt.ArrayLike) -> npt.NDArray[np.datetime64]:
    return np.asarray(seconds, dtype=np.int64).astype("datetime64[s]")


def resample_ohlc(bars: npt.NDArray[np.void], max_points: int) -> tuple[npt.NDArray[np.void], int]:
    """Bars merged ``k`` at a time so that at most ``max_points`` remain; (bars, k)."""
    n = bars.size
    k = max(1, math.ceil(n / max_points))
    if k == 1:
        return bars, 1
    starts = np.arange(0, n, k)
    out = np.empty(starts.size, dtype=bars.dtype)
    out["time"] = bars["time"][starts]
    out["open"] = bars["open"][starts]
    out["high"] = np.maximum.reduceat(bars["high"], starts)
    out["low"] = np.minimum.reduceat(bars["low"], starts)
    out["close"] = bars["close"][np.r_[starts[1:] - 1, n - 1]]
    for name in ("tick_volume", "real_volume"):
        if name in (bars.dtype.names or ()):
            out[name] = np.add.reduceat(bars[name], starts)
    if "spread" in (bars.dtype.names or ()):
        out["spread"] = np.minimum.reduceat(bars["spread"], starts)
    return out, k


def _last_of_groups(values: npt.NDArray[np.float64], k: int) -> npt.NDArray[np.float64]:
    if k == 1:
        return values
    ends = np.r_[np.arange(k - 1, values.size - 1, k), values.size - 1]
    out: npt.NDArray[np.float64] = values[np.unique(ends)]
    return out


def _extremes(n: int, values: npt.NDArray[np.float64], max_points: int) -> npt.NDArray[np.int64]:
    """Row indices keeping each group's lowest and highest value, in time order."""
    k = max(1, math.ceil(n / max(1, max_points // 2)))
    if k == 1:
        return np.arange(n, dtype=np.int64)
    starts = np.arange(0, n, k)
    keep: list[int] = []
    for a in starts:
        chunk = values[a : a + k]
        lo, hi = int(np.argmin(chunk)) + int(a), int(np.argmax(chunk)) + int(a)
        keep += sorted({lo, hi})
    keep.append(n - 1)
    return np.unique(np.asarray(keep, dtype=np.int64))


def indicator_series(
    config: IndicatorSetConfig, bars: npt.NDArray[np.void]
) -> dict[str, tuple[bool, npt.NDArray[np.float64]]]:
    """The configured indicators over ``bars``: value name → (drawn on the price chart, values)."""
    from trading_engine.indicators import kernels

    high = np.ascontiguousarray(bars["high"], dtype=np.float64)
    low = np.ascontiguousarray(bars["low"], dtype=np.float64)
    close = np.ascontiguousarray(bars["close"], dtype=np.float64)
    out: dict[str, tuple[bool, npt.NDArray[np.float64]]] = {}
    for spec in config.indicators:
        fn = getattr(kernels, spec.kind)
        params = spec.resolved()
        if spec.kind in ("sma", "ema", "wma", "rsi", "mom", "roc", "bbands", "macd"):
            values = fn(close, **params)
        elif spec.kind == "donchian":
            values = fn(high, low, **params)
        else:
            values = fn(high, low, close, **params)
        outputs = values if isinstance(values, tuple) else (values,)
        for name, series in zip(spec.value_names, outputs, strict=True):
            out[name] = (spec.kind in OVERLAY_KINDS, np.asarray(series, dtype=np.float64))
    return out


def monthly_returns(result: BacktestResult) -> tuple[list[int], list[list[float | None]]]:
    """(years, [year][month] return in %) from the equity at each month's last row."""
    times = np.asarray(result.equity["time"], dtype=np.int64)
    equity = np.asarray(result.equity["equity"], dtype=np.float64)
    if times.size == 0:
        return [], []
    months = times.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
    last = np.flatnonzero(np.r_[months[1:] != months[:-1], True])
    ends = equity[last]
    starts = np.r_[equity[0], ends[:-1]]
    returns = (ends / starts - 1.0) * 100
    years = sorted({int(m // 12) + 1970 for m in months[last]})
    grid: list[list[float | None]] = [[None] * 12 for _ in years]
    for m, r in zip(months[last], returns, strict=True):
        grid[years.index(int(m // 12) + 1970)][int(m % 12)] = float(r)
    return years, grid


# -- charts -------------------------------------------------------------------------------------


def _thin(trades: Sequence[ClosedTrade], max_points: int) -> list[ClosedTrade]:
    if len(trades) <= max_points:
        return list(trades)
    step = len(trades) / max_points
    return [trades[int(i * step)] for i in range(max_points)]


def _price_figure(
    go: Any,
    symbol: str,
    bars: npt.NDArray[np.void],
    indicators: Mapping[str, tuple[bool, npt.NDArray[np.float64]]],
    trades: Sequence[ClosedTrade],
    max_points: int,
) -> Any:
    from plotly.subplots import make_subplots

    shown, k = resample_ohlc(bars, max_points)
    oscillators = {n: v for n, (overlay, v) in indicators.items() if not overlay}
    rows = 2 if oscillators else 1
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.03,
        row_heights=[0.75, 0.25] if rows == 2 else [1.0],
    )
    x = _times(shown["time"])
    fig.add_trace(
        go.Candlestick(
            x=x,
            open=shown["open"],
            high=shown["high"],
            low=shown["low"],
            close=shown["close"],
            name=symbol,
            increasing_line_color=_GREEN,
            decreasing_line_color=_RED,
        ),
        row=1,
        col=1,
    )
    for name, (overlay, values) in indicators.items():
        series = _last_of_groups(values, k)
        trace = go.Scatter(x=x, y=series, name=name, mode="lines", line={"width": 1})
        fig.add_trace(trace, row=1 if overlay else 2, col=1)
    drawn = _thin([t for t in trades if t.symbol == symbol], max_points)
    for side, symbol_shape, color in (("buy", "triangle-up", _GREEN),
                                      ("sell", "triangle-down", _RED)):  # fmt: skip
        mine = [t for t in drawn if t.side == side]
        if mine:
            fig.add_trace(
                go.Scatter(
                    x=_times([t.open_time for t in mine]),
                    y=[t.open_price for t in mine],
                    mode="markers",
                    name=f"{side} entry",
                    marker={"symbol": symbol_shape, "size": 10, "color": color},
                    text=[f"{t.strategy} {t.volume:g} lots" for t in mine],
                ),
                row=1,
                col=1,
            )
    if drawn:
        fig.add_trace(
            go.Scatter(
                x=_times([t.close_time for t in drawn]),
                y=[t.close_price for t in drawn],
                mode="markers",
                name="exit",
                marker={"symbol": "x", "size": 8, "color": "#333"},
                text=[f"{t.close_reason}: {t.profit + t.commission + t.swap:+.2f}" for t in drawn],
            ),
            row=1,
            col=1,
        )
    for level, color in (("sl", _RED), ("tp", _GREEN)):
        xs: list[Any] = []
        ys: list[float | None] = []
        for t in drawn:
            price = getattr(t, level)
            if price:
                xs += [*_times([t.open_time, t.close_time]), None]
                ys += [price, price, None]
        if xs:
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    name=level.upper(),
                    line={"dash": "dot", "width": 1, "color": color},
                ),
                row=1,
                col=1,
            )
    note = f" (resampled: {k} bars per candle)" if k > 1 else ""
    shown_trades = f"; {len(drawn)} of {sum(t.symbol == symbol for t in trades)} trades shown"
    thinned = shown_trades if len(drawn) < sum(t.symbol == symbol for t in trades) else ""
    fig.update_layout(
        title=f"{symbol}{note}{thinned}",
        height=620 if rows == 2 else 520,
        xaxis_rangeslider_visible=False,
        margin={"l": 50, "r": 20, "t": 50, "b": 30},
    )
    return fig


def _equity_figure(go: Any, result: BacktestResult, max_points: int) -> Any:
    from plotly.subplots import make_subplots

    times = np.asarray(result.equity["time"], dtype=np.int64)
    equity = np.asarray(result.equity["equity"], dtype=np.float64)
    balance = np.asarray(result.equity["balance"], dtype=np.float64)
    dd = (equity / np.maximum.accumulate(equity) - 1.0) * 100 if equity.size else equity
    keep = np.union1d(_extremes(equity.size, equity, max_points), _extremes(dd.size, dd, 64))
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3])
    x = _times(times[keep])
    fig.add_trace(go.Scatter(x=x, y=equity[keep], name="equity", mode="lines"), row=1, col=1)
    fig.add_trace(
        go.Scatter(x=x, y=balance[keep], name="balance", mode="lines", line={"dash": "dot"}),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=dd[keep],
            name="drawdown %",
            mode="lines",
            fill="tozeroy",
            line={"color": _RED},
        ),
        row=2,
        col=1,
    )
    note = f" (resampled: {keep.size} of {times.size} points)" if keep.size < times.size else ""
    fig.update_layout(
        title=f"Equity and drawdown ({result.currency}){note}",
        height=480,
        margin={"l": 50, "r": 20, "t": 50, "b": 30},
    )
    return fig


def _trades_figure(go: Any, trades: Sequence[ClosedTrade], max_points: int) -> Any:
    drawn = _thin(trades, max_points)
    pnl = [t.profit + t.commission + t.swap for t in drawn]
    fig = go.Figure(
        go.Bar(
            x=_times([t.close_time for t in drawn]),
            y=pnl,
            marker_color=[_GREEN if p > 0 else _RED for p in pnl],
            text=[f"{t.symbol} {t.side} {t.strategy} ({t.close_reason})" for t in drawn],
            name="P&L",
        )
    )
    note = f" ({len(drawn)} of {len(trades)} shown)" if len(drawn) < len(trades) else ""
    fig.update_layout(
        title=f"P&L per trade, by close time{note}",
        height=320,
        margin={"l": 50, "r": 20, "t": 50, "b": 30},
    )
    return fig


def _monthly_figure(go: Any, result: BacktestResult) -> Any:
    years, grid = monthly_returns(result)
    names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    text = [["" if v is None else f"{v:+.2f}%" for v in row] for row in grid]
    fig = go.Figure(
        go.Heatmap(
            z=grid,
            x=names,
            y=[str(y) for y in years],
            text=text,
            texttemplate="%{text}",
            colorscale="RdYlGn",
            zmid=0,
            hoverongaps=False,
        )
    )
    fig.update_layout(
        title="Monthly returns (%)",
        height=140 + 40 * max(1, len(years)),
        margin={"l": 50, "r": 20, "t": 50, "b": 30},
    )
    return fig


# -- the page -----------------------------------------------------------------------------------


def _table(rows: Sequence[Mapping[str, Any]]) -> str:
    if not rows:
        return "<p class='note'>none</p>"
    keys = list(rows[0])
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in keys)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(format_value(r[k]))}</td>" for k in keys) + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _counts(counts: Mapping[str, int], what: str) -> str:
    rows = [{what: k, "count": v} for k, v in sorted(counts.items(), key=lambda kv: -kv[1])]
    return _table(rows)


def write_html_report(
    result: BacktestResult,
    stats: Stats,
    path: Path,
    *,
    bars: Mapping[str, npt.NDArray[np.void]] | None = None,
    indicators: Mapping[str, Mapping[str, tuple[bool, npt.NDArray[np.float64]]]] | None = None,
    max_points: int = 4_000,
    title: str = "Backtest report",
) -> None:
    """Write the report page to ``path`` (module docstring); ``bars`` and ``indicators`` are
    the base-timeframe bars of each symbol and their indicator series (``indicator_series``)."""
    go = require_plotly()
    from plotly.offline import get_plotlyjs

    figures = []
    for symbol, symbol_bars in (bars or {}).items():
        if symbol_bars.size:
            series = (indicators or {}).get(symbol, {})
            figures.append(
                _price_figure(go, symbol, symbol_bars, series, result.trades, max_points)
            )
    figures.append(_equity_figure(go, result, max_points))
    if result.trades:
        figures.append(_trades_figure(go, result.trades, max_points))
    figures.append(_monthly_figure(go, result))
    charts = "\n".join(
        f"<div class='chart'>{f.to_html(full_html=False, include_plotlyjs=False)}</div>"
        for f in figures
    )
    period = (
        f"{format_value(stats['Start'])} → {format_value(stats['End'])} (server time)"
        if stats["Start"] is not None
        else "no bars"
    )
    warn = ""
    if result.disabled_strategies:
        items = "".join(
            f"<li><b>{html.escape(name)}</b> at {server_datetime(when):%Y-%m-%d %H:%M:%S}: "
            f"{html.escape(reason)}</li>"
            for name, when, reason in result.disabled_strategies
        )
        warn = f"<div class='warn'><b>Disabled strategies</b><ul>{items}</ul></div>"
    events = [
        {"time": server_datetime(t), "state": state, "reason": reason}
        for t, state, reason in result.risk_events
    ]
    figures_table = _table([{"statistic": k, "value": v} for k, v in stats.items()])
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_CSS}</style>
<script type="text/javascript">{get_plotlyjs()}</script></head>
<body>
<h1>{html.escape(f"{title}: {', '.join(result.symbols)} {result.timeframe}")}</h1>
<p>{html.escape(period)} · modelling: {html.escape(result.modelling)} ·
engine: {html.escape(result.engine)} · warm-up: {result.warmup_bars} bars ·
fingerprint <code>{html.escape(result.fingerprint)}</code></p>
{warn}
{charts}
<div class="grid">
<div><h2>Statistics</h2>{figures_table}</div>
<div><h2>Per symbol</h2>{_table(stats.by_symbol)}
<h2>Per strategy</h2>{_table(stats.by_strategy)}
<h2>Exits by reason</h2>{_table(stats.exits)}
<h2>Rejections by reason</h2>{_counts(stats.rejections, "reason")}
<h2>Risk refusals by reason</h2>{_counts(stats.risk_refusals, "rule")}
<h2>Risk state changes</h2>{_table(events)}</div>
</div>
<p class="note">Statistics follow backtesting.py's definitions (risk-free rate 0); times are the
trade server's.</p>
</body></html>
"""
    Path(path).write_text(page, encoding="utf-8")
