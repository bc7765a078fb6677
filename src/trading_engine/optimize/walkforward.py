"""Walk-forward analysis: optimise each in-sample window, trade its best out of sample, report.

Per fold, a study of its own (``<study>-fold<k>`` in the same SQLite file) searches the in-sample
window only; the best parameters then run on the out-of-sample window that follows it. The
report holds what can be trusted: the out-of-sample curves joined (compounded) into one, per fold
the in-sample and out-of-sample statistics beside buy & hold, how much the chosen parameters move
from fold to fold, how many trials ran, and deflated Sharpe ratios. With a hold-out, the last
fold's best parameters run once on bars no search has seen.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from trading_engine.errors import ConfigError
from trading_engine.optimize.dsr import deflated_sharpe, sharpe_moments
from trading_engine.optimize.engine import TrialOutcome, Window, numeric
from trading_engine.optimize.folds import Fold, make_folds
from trading_engine.optimize.history import base_bars, load_bars
from trading_engine.optimize.metrics import buy_and_hold_return, daily_returns
from trading_engine.optimize.results import trial_dsr
from trading_engine.optimize.runner import OptimizeRequest, base_seconds, make_backend, prepare
from trading_engine.optimize.space import ParamSpec
from trading_engine.optimize.study import Progress, best_trials, open_study, run_search, runs
from trading_engine.optimize.workers import Backend, Job, TrialFailure
from trading_engine.optimize_config import WalkForwardConfig

if TYPE_CHECKING:
    import optuna

__all__ = [
    "FoldReport",
    "WalkForwardReport",
    "joined_equity",
    "joined_stats",
    "parameter_stability",
    "walk_forward",
]

OBJECTIVE_STATS = ("Return [%]", "Sharpe Ratio", "Max. Drawdown [%]", "# Trades")


@dataclass
class FoldReport:
    """One fold: its windows (server epoch s of the first bar, bar count), the chosen
    parameters, and the statistics in and out of sample beside buy & hold."""

    fold: Fold
    is_window: Window
    oos_window: Window
    params: dict[str, Any]
    trials: int
    is_stats: dict[str, float]
    oos_stats: dict[str, float]
    is_buy_hold: float
    oos_buy_hold: float
    is_dsr: float
    oos: TrialOutcome | None = field(default=None, repr=False)
    error: str | None = None


@dataclass
class WalkForwardReport:
    """All folds, the joined out-of-sample curve and its statistics, stability, the hold-out."""

    folds: list[FoldReport]
    times: npt.NDArray[np.int64]
    equity: npt.NDArray[np.float64]
    oos_stats: dict[str, float]
    oos_buy_hold: float
    stability: dict[str, dict[str, Any]]
    trials: int
    oos_dsr: float
    holdout: FoldReport | None = None


def joined_equity(
    parts: Sequence[TrialOutcome], initial: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], list[float]]:
    """The out-of-sample curves chained: each part scaled to start where the previous ended."""
    times: list[npt.NDArray[np.int64]] = []
    values: list[npt.NDArray[np.float64]] = []
    pnl: list[float] = []
    level = initial
    for part in parts:
        if part.equity.size == 0:
            continue
        scale = level / float(part.equity[0]) if part.equity[0] else 1.0
        times.append(part.times)
        values.append(part.equity * scale)
        pnl.extend(p * scale for p in part.pnl)
        level = float(values[-1][-1])
    if not times:
        return np.array([], dtype=np.int64), np.array([], dtype=np.float64), []
    return np.concatenate(times), np.concatenate(values), pnl


def joined_stats(
    parts: Sequence[TrialOutcome], initial: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], dict[str, float]]:
    """The out-of-sample curves joined (:func:`joined_equity`) and their statistics, by the
    backtest report's definitions (``backtest.stats``): the joined curve's, and its trades'
    (the P&L scaled as the curve is, the returns as they were)."""
    from trading_engine.backtest.stats import curve_figures, trade_figures

    times, equity, pnl = joined_equity(parts, initial)
    if not times.size:
        return times, equity, {}
    returns = [r for part in parts if part.equity.size for r in part.returns]
    return times, equity, numeric({**curve_figures(times, equity), **trade_figures(pnl, returns)})


def parameter_stability(
    chosen: Sequence[Mapping[str, Any]], space: Mapping[str, ParamSpec]
) -> dict[str, dict[str, Any]]:
    """Per parameter, how the folds' choices spread: for numbers the values, mean, standard
    deviation and that deviation as a share of the searched range; for choices the most chosen
    value and its share of the folds."""
    out: dict[str, dict[str, Any]] = {}
    for name, spec in space.items():
        values = [c[name] for c in chosen if name in c]
        if not values:
            continue
        if spec.kind == "choice":
            mode = max(set(values), key=values.count)
            out[name] = {
                "values": values,
                "mode": mode,
                "mode_share": values.count(mode) / len(values),
            }
            continue
        numbers = [float(v) for v in values]
        sd = statistics.pstdev(numbers) if len(numbers) > 1 else 0.0
        width = spec.high - spec.low
        out[name] = {
            "values": values,
            "mean": statistics.fmean(numbers),
            "std": sd,
            "std_of_range": sd / width if width > 0 else 0.0,
        }
    return out


def _trial_sharpes(study: optuna.study.Study) -> list[float]:
    sharpes = (t.user_attrs.get("run", {}).get("daily_sharpe") for t in runs(study))
    return [float(s) for s in sharpes if s is not None]


def _run(backend: Backend, params: dict[str, Any], window: Window) -> TrialOutcome:
    result = backend.submit(params, window).result()
    if isinstance(result, TrialFailure):
        raise RuntimeError(result.reason)
    return result


def walk_forward(
    request: OptimizeRequest,
    settings_wf: WalkForwardConfig,
    *,
    backend_factory: Callable[[Job], Backend] | None = None,
    on_progress: Callable[[int, Progress], None] | None = None,
) -> WalkForwardReport:
    """Run the walk-forward analysis of ``request`` (which must name a history)."""
    if request.history is None:
        raise ConfigError("walk-forward needs --history (the bars the folds cut)", key="--history")
    settings, job, window = prepare(request)
    assert window is not None
    assert job.bars_file is not None
    times, closes = base_bars(load_bars(job.bars_file), base_seconds(job.config))
    lo = int(np.searchsorted(times, window.start))
    span = window.bars if request.end is not None else times.size - lo
    folds = make_folds(
        span,
        in_sample=settings_wf.in_sample,
        out_of_sample=settings_wf.out_of_sample,
        step=settings_wf.step,
        anchored=settings_wf.anchored,
        holdout=settings_wf.holdout,
    )

    def win(a: int, b: int) -> Window:
        return Window(int(times[lo + a]), b - a)

    def bh(a: int, b: int) -> float:
        return buy_and_hold_return(closes[lo + a : lo + b])

    storage = request.out / "study.db"
    name = request.study or "walk-forward"
    make = backend_factory or (
        lambda j: make_backend(j, request.workers or job.config.optimize.workers, request.ray)
    )
    backend = make(job)
    reports: list[FoldReport] = []
    all_sharpes: list[float] = []
    total_trials = 0
    try:
        for fold in folds:
            study = open_study(storage, f"{name}-fold{fold.index}", settings)
            report_to: Callable[[Progress], None] | None = None
            if on_progress is not None:
                report_to = functools.partial(on_progress, fold.index)
            run_search(
                study,
                settings,
                backend,
                window=win(fold.is_start, fold.is_end),
                on_progress=report_to,
            )
            count = len(runs(study))
            total_trials += count
            sharpes = _trial_sharpes(study)
            all_sharpes.extend(sharpes)
            best = best_trials(study, 1)
            is_w, oos_w = win(fold.is_start, fold.is_end), win(fold.is_end, fold.oos_end)
            if not best:
                reports.append(
                    FoldReport(
                        fold,
                        is_w,
                        oos_w,
                        {},
                        count,
                        {},
                        {},
                        bh(fold.is_start, fold.is_end),
                        bh(fold.is_end, fold.oos_end),
                        math.nan,
                        error="no complete in-sample trial",
                    )
                )
                continue
            chosen = best[0]
            try:
                oos = _run(backend, dict(chosen.params), oos_w)
                oos_stats, error = oos.stats, None
            except RuntimeError as exc:
                oos, oos_stats, error = None, {}, f"out-of-sample run failed: {exc}"
            reports.append(
                FoldReport(
                    fold,
                    is_w,
                    oos_w,
                    dict(chosen.params),
                    count,
                    {
                        k: (v if v is not None else math.nan)
                        for k, v in chosen.user_attrs.get("stats", {}).items()
                    },
                    oos_stats,
                    bh(fold.is_start, fold.is_end),
                    bh(fold.is_end, fold.oos_end),
                    trial_dsr(chosen, study),
                    oos,
                    error,
                )
            )
        holdout = None
        last = next((r for r in reversed(reports) if r.params), None)
        if settings_wf.holdout and last is not None:
            end = folds[-1].oos_end
            h_start, h_end = span - settings_wf.holdout, span
            h_start = max(h_start, end)
            h_win = win(h_start, h_end)
            try:
                h_out: TrialOutcome | None = _run(backend, last.params, h_win)
                h_stats, h_err = h_out.stats if h_out else {}, None
            except RuntimeError as exc:
                h_out, h_stats, h_err = None, {}, f"hold-out run failed: {exc}"
            holdout = FoldReport(
                Fold(len(folds), h_start, h_start, h_end),
                h_win,
                h_win,
                last.params,
                0,
                {},
                h_stats,
                math.nan,
                bh(h_start, h_end),
                math.nan,
                h_out,
                h_err,
            )
    finally:
        backend.close()
    initial = job.config.terminal.sim.balance
    parts = [r.oos for r in reports if r.oos is not None]
    t, e, stats = joined_stats(parts, initial)
    sr, n, skew, kurt = sharpe_moments(daily_returns(t, e)) if t.size else (math.nan, 0, 0, 0)
    padded = all_sharpes + [math.nan] * max(0, total_trials - len(all_sharpes))
    oos_dsr = deflated_sharpe(sr, n, skew, kurt, padded)
    first, last_fold = folds[0], folds[-1]
    return WalkForwardReport(
        reports,
        t,
        e,
        stats,
        bh(first.is_end, last_fold.oos_end),
        parameter_stability([r.params for r in reports if r.params], settings.space),
        total_trials,
        oos_dsr,
        holdout,
    )
