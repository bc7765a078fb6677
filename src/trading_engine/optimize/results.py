"""What a person looks at after a search: the best trials, a heatmap, parameter importances.

The plots are plotly figures written as self-contained HTML (plotly.js inlined: they open
offline).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trading_engine.optimize.dsr import deflated_sharpe
from trading_engine.optimize.study import best_trials, runs

if TYPE_CHECKING:
    import optuna

__all__ = ["best_dsr", "best_table", "trial_dsr", "write_heatmap", "write_importance"]

SHOWN_STATS = ("# Trades", "Return [%]", "Sharpe Ratio", "Max. Drawdown [%]", "Win Rate [%]")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return "-" if value is None else str(value)


def best_table(study: optuna.study.Study, count: int = 10) -> list[str]:
    """The best ``count`` trials as aligned text rows (header first)."""
    trials = best_trials(study, count)
    objectives: Sequence[str] = study.user_attrs.get("objectives") or ["value"]
    names = sorted({k for t in trials for k in t.params})
    shown = [s for s in SHOWN_STATS if s not in objectives]  # an objective has its column
    header = ["rank", "trial", *objectives, *names, *shown]
    rows = [header]
    for rank, trial in enumerate(trials, 1):
        stats = trial.user_attrs.get("stats", {})
        values = trial.values or []
        rows.append(
            [
                str(rank),
                str(trial.number),
                *(_fmt(v) for v in values),
                *(_fmt(trial.params.get(n)) for n in names),
                *(_fmt(stats.get(s)) for s in shown),
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]


def _complete(study: optuna.study.Study) -> list[optuna.trial.FrozenTrial]:
    from optuna.trial import TrialState

    return list(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def heatmap_axes(study: optuna.study.Study) -> tuple[str, str] | None:
    """The two numeric parameters the heatmap uses: the two most important ones."""
    trials = _complete(study)
    numeric = sorted(
        {
            k
            for t in trials
            for k, v in t.params.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
    )
    if len(numeric) < 2:
        return None
    order = numeric
    if len(numeric) > 2 and len(trials) > 2:
        try:
            import optuna

            importance = optuna.importance.get_param_importances(study, params=numeric)
            order = sorted(numeric, key=lambda n: -importance.get(n, 0.0))
        except (ValueError, RuntimeError):
            pass
    return order[0], order[1]


def write_heatmap(
    study: optuna.study.Study, path: Path, axes: tuple[str, str] | None = None
) -> Path | None:
    """The objective over two parameters (best value where other parameters vary); None when the
    study has fewer than two numeric parameters or no complete trial."""
    import plotly.graph_objects as go

    axes = axes or heatmap_axes(study)
    trials = _complete(study)
    if axes is None or not trials or len(study.directions) > 1:
        return None
    x_name, y_name = axes
    maximize = study.direction.name.lower() == "maximize"
    cells: dict[tuple[float, float], float] = {}
    for t in trials:
        if x_name not in t.params or y_name not in t.params or t.value is None:
            continue
        key = (t.params[x_name], t.params[y_name])
        old = cells.get(key)
        better = old is None or (t.value > old if maximize else t.value < old)
        cells[key] = t.value if better else old  # type: ignore[assignment]
    xs = sorted({k[0] for k in cells})
    ys = sorted({k[1] for k in cells})
    z = [[cells.get((x, y)) for x in xs] for y in ys]
    label = (study.user_attrs.get("objectives") or ["objective"])[0]
    fig = go.Figure(
        go.Heatmap(x=xs, y=ys, z=z, colorscale="Viridis", colorbar={"title": label}),
        layout={
            "title": f"{label} over {x_name} and {y_name} ({len(trials)} trials)",
            "xaxis": {"title": x_name},
            "yaxis": {"title": y_name},
        },
    )
    fig.write_html(path, include_plotlyjs=True, full_html=True)
    return path


def write_importance(study: optuna.study.Study, path: Path) -> Path | None:
    """Optuna's parameter-importance plot (fANOVA); None with fewer than two complete trials."""
    import optuna

    if len(_complete(study)) < 2 or len(study.directions) > 1:
        return None
    try:
        fig = optuna.visualization.plot_param_importances(study)
    except (ValueError, RuntimeError):
        return None
    fig.write_html(path, include_plotlyjs=True, full_html=True)
    return path


def trial_dsr(trial: optuna.trial.FrozenTrial, study: optuna.study.Study) -> float:
    """The deflated Sharpe ratio of ``trial`` (its daily returns) among the study's runs."""
    run = trial.user_attrs.get("run", {})
    sr, skew, kurt = run.get("daily_sharpe"), run.get("daily_skew"), run.get("daily_kurtosis")
    periods = int(run.get("daily_periods", 0))
    if sr is None or skew is None or kurt is None:
        return math.nan
    done = runs(study)
    sharpes = [t.user_attrs.get("run", {}).get("daily_sharpe") for t in done]
    values = [float(s) if s is not None else math.nan for s in sharpes]
    return deflated_sharpe(float(sr), periods, float(skew), float(kurt), values)


def best_dsr(study: optuna.study.Study) -> tuple[float, int]:
    """(deflated Sharpe ratio of the best trial, number of runs); NaN without a best."""
    best = best_trials(study, 1)
    count = len(runs(study))
    return (trial_dsr(best[0], study), count) if best else (math.nan, count)
