"""The search loop with every sampler, on a synthetic objective (no backtest): fast and exact."""

from __future__ import annotations

import math
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from optuna.trial import TrialState

from trading_engine.errors import ConfigError
from trading_engine.optimize.engine import TrialOutcome, Window
from trading_engine.optimize.objectives import parse_objective
from trading_engine.optimize.results import best_table, write_heatmap, write_importance
from trading_engine.optimize.space import parse_space
from trading_engine.optimize.study import Progress, SearchSettings, open_study, run_search
from trading_engine.optimize.workers import TrialFailure, TrialResult

DAY = 86_400


class Synthetic:
    """Return [%] = 10 - (x - 12)² / 10 - (y - 40)² / 100; trades = y; fails when x == 13."""

    workers = 2

    def submit(self, params: dict[str, Any], window: Window | None) -> Future[TrialResult]:
        future: Future[TrialResult] = Future()
        x, y = float(params["x"]), float(params.get("y", 40))
        if x == 13:
            future.set_result(TrialFailure("ValueError: thirteen"))
            return future
        ret = 10 - (x - 12) ** 2 / 10 - (y - 40) ** 2 / 100
        times = np.arange(10, dtype=np.int64) * DAY
        equity = 100.0 * (1 + ret / 100) ** (np.arange(10) / 9)
        stats = {"Return [%]": ret, "# Trades": y, "Max. Drawdown [%]": -abs(x - 12)}
        future.set_result(TrialOutcome(stats, times, equity, [ret], 0.0))
        return future

    def close(self, *, cancel: bool = False) -> None:
        return None


def _run(tmp_path: Path, **kwargs: Any) -> Any:
    space = kwargs.pop("space", {"x": "2:30:1", "y": "20:60:5"})
    objectives = kwargs.pop("objectives", ["return"])
    settings = SearchSettings(
        space=parse_space(space),
        objectives=tuple(parse_objective(o) for o in objectives),
        **kwargs,
    )
    study = open_study(tmp_path / "s.db", "s", settings)
    seen: list[Progress] = []
    progress = run_search(study, settings, Synthetic(), on_progress=seen.append)
    return study, progress, seen


@pytest.mark.parametrize("sampler", ["random", "tpe", "cmaes"])
def test_single_objective_samplers_approach_the_optimum(tmp_path: Path, sampler: str) -> None:
    study, progress, seen = _run(tmp_path, sampler=sampler, trials=25, seed=1)
    assert progress.done == 25
    assert len(seen) == 25
    assert study.best_value > 8.0  # the optimum is 10 at x=12, y=40
    assert study.best_params["x"] != 13


def test_grid_counts_failures_and_progress(tmp_path: Path) -> None:
    study, progress, seen = _run(tmp_path, sampler="grid", space={"x": "11:14:1"})
    assert progress.total == 4
    assert progress.done == 4
    assert progress.failed == 1
    assert study.best_params == {"x": 12}
    failed = study.get_trials(states=(TrialState.FAIL,))
    assert failed[0].user_attrs["reason"] == "ValueError: thirteen"
    assert seen[-1].line().startswith("trials 4/4 (failed 1, pruned 0); best 10;")


def test_minimum_trades_prunes(tmp_path: Path) -> None:
    study, progress, _ = _run(
        tmp_path, sampler="grid", space={"x": "12", "y": "20:40:20"}, min_trades=30
    )
    assert progress.pruned == 1
    pruned = study.get_trials(states=(TrialState.PRUNED,))[0]
    assert pruned.params["y"] == 20
    assert pruned.user_attrs["reason"] == "20 trades, fewer than the minimum 30"


def test_nsga2_keeps_a_pareto_front(tmp_path: Path) -> None:
    study, progress, _ = _run(
        tmp_path, sampler="nsga2", trials=20, seed=2, objectives=["return", "min:trades"]
    )
    assert progress.done == 20
    front = study.best_trials
    assert front
    for a in front:  # no point of the front dominates another
        for b in front:
            assert not (a.values[0] > b.values[0] and a.values[1] < b.values[1]), (
                "a dominated trial on the front"
            )
    lines = best_table(study)
    assert lines[0].split()[:4] == ["rank", "trial", "Return", "[%]"]
    assert lines[0].count("Return [%]") == 1  # the objective's column, not again among stats


def test_cmaes_refuses_a_choice(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cmaes searches numbers only"):
        _run(tmp_path, sampler="cmaes", space={"x": "12,14"}, trials=2)


def test_plots_are_self_contained(tmp_path: Path) -> None:
    study, _, _ = _run(tmp_path, sampler="grid", space={"x": "10:14:2", "y": "30:50:10"})
    heat = write_heatmap(study, tmp_path / "h.html")
    imp = write_importance(study, tmp_path / "i.html")
    assert heat is not None
    assert imp is not None
    text = heat.read_text()
    assert "Return [%] over x and y" in text or "Return [%] over y and x" in text
    assert "<script src=" not in text  # plotly.js inlined, no network needed
    assert "Importance" in imp.read_text() or "importance" in imp.read_text()


def test_timeout_stops_asking(tmp_path: Path) -> None:
    _, progress, _ = _run(tmp_path, sampler="random", trials=10_000, timeout=0.5, seed=1)
    assert 0 < progress.done < 10_000
    assert math.isnan(Progress(total=3).eta)
