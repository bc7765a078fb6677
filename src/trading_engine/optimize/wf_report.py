"""The walk-forward report as text lines, JSON and one self-contained HTML page (plotly)."""

from __future__ import annotations

import html
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trading_engine.optimize.walkforward import FoldReport, WalkForwardReport

__all__ = ["report_json", "report_lines", "write_report_html"]

COLUMNS = ("Return [%]", "Sharpe Ratio", "Max. Drawdown [%]", "# Trades")


def _f(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _day(server_seconds: int) -> str:
    return datetime.fromtimestamp(server_seconds, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _fold_rows(report: WalkForwardReport) -> list[list[str]]:
    header = [
        "fold",
        "in-sample from",
        "bars",
        "out-of-sample from",
        "bars",
        "trials",
        *(f"IS {c}" for c in COLUMNS),
        "IS B&H [%]",
        *(f"OOS {c}" for c in COLUMNS),
        "OOS B&H [%]",
        "IS DSR",
        "parameters",
    ]
    rows = [header]
    folds: list[FoldReport] = list(report.folds)
    if report.holdout is not None:
        folds.append(report.holdout)
    for r in folds:
        hold = r is report.holdout
        rows.append(
            [
                "hold-out" if hold else str(r.fold.index),
                "-" if hold else _day(r.is_window.start),
                "-" if hold else str(r.is_window.bars),
                _day(r.oos_window.start),
                str(r.oos_window.bars),
                str(r.trials),
                *(_f(r.is_stats.get(c)) for c in COLUMNS),
                _f(r.is_buy_hold),
                *(_f(r.oos_stats.get(c)) for c in COLUMNS),
                _f(r.oos_buy_hold),
                _f(r.is_dsr),
                r.error or ", ".join(f"{k}={v}" for k, v in r.params.items()),
            ]
        )
    return rows


def report_lines(report: WalkForwardReport) -> list[str]:
    """The report as text: the folds table, the joined out-of-sample result, stability."""
    rows = _fold_rows(report)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    s = report.oos_stats
    lines += [
        "",
        f"out-of-sample, joined ({len(report.folds)} folds): return {_f(s.get('Return [%]'))}% "
        f"(buy & hold {_f(report.oos_buy_hold)}%), Sharpe {_f(s.get('Sharpe Ratio'))}, "
        f"max drawdown {_f(s.get('Max. Drawdown [%]'))}%, trades {_f(s.get('# Trades'))}",
        f"trials: {report.trials}; deflated Sharpe ratio of the joined out-of-sample curve: "
        f"{_f(report.oos_dsr)}",
        "parameter stability across folds:",
    ]
    for name, info in report.stability.items():
        if "mode" in info:
            lines.append(
                f"  {name}: {info['values']} (most chosen {info['mode']}, "
                f"{info['mode_share']:.0%} of folds)"
            )
        else:
            lines.append(
                f"  {name}: {info['values']} (mean {info['mean']:.4g}, std "
                f"{info['std']:.4g} = {info['std_of_range']:.0%} of the searched range)"
            )
    return lines


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def report_json(report: WalkForwardReport) -> str:
    """The report as JSON (NaN as null), without the equity curve."""

    def fold(r: FoldReport) -> dict[str, Any]:
        return {
            "fold": r.fold.index,
            "in_sample": {"start": r.is_window.start, "bars": r.is_window.bars},
            "out_of_sample": {"start": r.oos_window.start, "bars": r.oos_window.bars},
            "params": r.params,
            "trials": r.trials,
            "in_sample_stats": r.is_stats,
            "out_of_sample_stats": r.oos_stats,
            "in_sample_buy_hold": r.is_buy_hold,
            "out_of_sample_buy_hold": r.oos_buy_hold,
            "in_sample_dsr": r.is_dsr,
            "error": r.error,
        }

    data = {
        "folds": [fold(r) for r in report.folds],
        "holdout": fold(report.holdout) if report.holdout else None,
        "out_of_sample_stats": report.oos_stats,
        "out_of_sample_buy_hold": report.oos_buy_hold,
        "stability": report.stability,
        "trials": report.trials,
        "out_of_sample_dsr": report.oos_dsr,
    }
    return json.dumps(_clean(data), indent=2, default=str) + "\n"


def write_report_html(report: WalkForwardReport, path: Path) -> Path:
    """One self-contained page: the joined out-of-sample equity, the folds, the stability."""
    import plotly.graph_objects as go

    stamps = [datetime.fromtimestamp(int(t), tz=UTC) for t in report.times]
    fig = go.Figure(
        go.Scatter(x=stamps, y=report.equity, mode="lines", name="out-of-sample equity"),
        layout={"title": "Joined out-of-sample equity", "yaxis": {"title": "equity"}},
    )
    for r in report.folds:
        fig.add_vline(x=datetime.fromtimestamp(r.oos_window.start, tz=UTC), line_dash="dot")
    chart = fig.to_html(include_plotlyjs=True, full_html=False)
    rows = _fold_rows(report)
    table = "<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in rows[0]) + "</tr>"
    for row in rows[1:]:
        table += "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
    table += "</table>"
    text = "<br>".join(html.escape(line) for line in report_lines(report)[len(rows) + 1 :])
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Walk-forward</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style></head><body>"
        f"<h1>Walk-forward analysis</h1>{chart}<h2>Folds</h2>{table}<p>{text}</p></body></html>"
    )
    path.write_text(page, encoding="utf-8")
    return path
