"""The search on real backtests: serial, two local workers and Ray agree; constraints, resume,
failures and Ctrl-C."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState
from tests.integration.optimize.conftest import grid, make_job

from trading_engine.config import SystemConfig
from trading_engine.optimize.constraints import parse_constraint
from trading_engine.optimize.engine import Window
from trading_engine.optimize.study import SearchSettings, open_study, run_search
from trading_engine.optimize.workers import (
    Backend,
    LocalBackend,
    SerialBackend,
    TrialResult,
)

SPACE = {"ema_cross.fast": "5:10:5", "ema_cross.slow": "20:30:10"}


def _search(
    tmp_path: Path, config: SystemConfig, backend_of: Any, settings: SearchSettings | None = None
) -> optuna.study.Study:
    settings = settings or grid(SPACE)
    study = open_study(tmp_path / "study.db", "s", settings)
    backend: Backend = backend_of(make_job(config, settings))
    try:
        run_search(study, settings, backend)
    finally:
        backend.close()
    return study


def _complete(study: optuna.study.Study) -> dict[tuple[Any, ...], float]:
    return {
        tuple(sorted(t.params.items())): float(t.value or 0.0)
        for t in study.get_trials(states=(TrialState.COMPLETE,))
    }


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> optuna.study.Study:
    from tests.integration.optimize.conftest import make_config

    return _search(tmp_path_factory.mktemp("serial"), make_config(), SerialBackend)


def test_serial_grid_runs_every_point(serial: optuna.study.Study) -> None:
    values = _complete(serial)
    assert len(values) == 4
    assert len(set(values.values())) > 1  # the parameters change the outcome
    assert all(t.user_attrs["stats"]["# Trades"] > 0 for t in serial.trials)


def test_two_local_workers_agree_with_serial(
    tmp_path: Path, config: SystemConfig, serial: optuna.study.Study
) -> None:
    backends: list[LocalBackend] = []

    def local(job: Any) -> LocalBackend:
        backends.append(LocalBackend(job, 2))
        return backends[-1]

    study = _search(tmp_path, config, local)
    assert study.best_params == serial.best_params
    assert _complete(study) == _complete(serial)
    assert len(backends[0].pids) == 2  # both workers ran trials


def test_ray_agrees_with_serial(
    tmp_path: Path, config: SystemConfig, serial: optuna.study.Study
) -> None:
    import ray

    from trading_engine.optimize.ray_workers import RayBackend

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        study = _search(tmp_path, config, lambda job: RayBackend(job, workers=2))
    finally:
        ray.shutdown()
    assert study.best_params == serial.best_params
    assert _complete(study) == _complete(serial)


def test_constraints_are_respected(tmp_path: Path, config: SystemConfig) -> None:
    space = {"ema_cross.fast": "10:20:10", "ema_cross.slow": "10:20:10"}
    settings = grid(
        space, constraints=(parse_constraint("ema_cross.fast < ema_cross.slow", space),)
    )
    study = _search(tmp_path, config, SerialBackend, settings)
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert [t.params for t in complete] == [{"ema_cross.fast": 10, "ema_cross.slow": 20}]
    pruned = study.get_trials(states=(TrialState.PRUNED,))
    assert len(pruned) == 3
    for t in pruned:
        assert t.params["ema_cross.fast"] >= t.params["ema_cross.slow"]
        assert t.user_attrs["reason"] == "constraint broken: ema_cross.fast < ema_cross.slow"
        assert "stats" not in t.user_attrs  # never run


def test_resumed_study_continues(tmp_path: Path, config: SystemConfig) -> None:
    first = _search(tmp_path, config, SerialBackend, grid(SPACE, trials=2))
    done = [t.params for t in first.trials]
    assert len(done) == 2
    again = _search(tmp_path, config, SerialBackend, grid(SPACE))
    params = [t.params for t in again.trials]
    assert params[:2] == done  # the earlier trials are kept, not rerun
    assert len(params) == 4
    assert len({tuple(sorted(p.items())) for p in params}) == 4  # then the two points left


def test_failing_trial_is_recorded_and_the_study_goes_on(
    tmp_path: Path, config: SystemConfig
) -> None:
    settings = grid({"ema_cross.sl_atr": "-1,2"})  # a negative stop distance is refused
    study = _search(tmp_path, config, SerialBackend, settings)
    failed = study.get_trials(states=(TrialState.FAIL,))
    assert [t.params for t in failed] == [{"ema_cross.sl_atr": -1}]
    assert "sl_atr" in failed[0].user_attrs["reason"]
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert [t.params for t in complete] == [{"ema_cross.sl_atr": 2}]


class _Interrupting:
    """Runs the first trial, then Ctrl-C arrives while the second one is being sent."""

    def __init__(self, job: Any) -> None:
        self.inner = SerialBackend(job)
        self.workers = 2
        self.calls = 0
        self.closed_with_cancel = False

    def submit(self, params: dict[str, Any], window: Window | None) -> Future[TrialResult]:
        self.calls += 1
        if self.calls == 2:
            raise KeyboardInterrupt
        return self.inner.submit(params, window)

    def close(self, *, cancel: bool = False) -> None:
        self.closed_with_cancel = cancel


def test_ctrl_c_saves_the_study_and_a_rerun_finishes_it(
    tmp_path: Path, config: SystemConfig
) -> None:
    settings = grid(SPACE)
    study = open_study(tmp_path / "study.db", "s", settings)
    backend = _Interrupting(make_job(config, settings))
    with pytest.raises(KeyboardInterrupt):
        run_search(study, settings, backend)
    assert backend.closed_with_cancel
    saved = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'study.db'}")
    assert [t.state for t in saved.trials] == [TrialState.FAIL, TrialState.RUNNING]
    assert saved.trials[0].user_attrs["reason"] == "interrupted"
    resumed = _search(tmp_path, config, SerialBackend, settings)
    assert len(_complete(resumed)) == 4  # the interrupted points ran again, nothing is missing
    states = [t.state for t in resumed.trials]
    assert states.count(TrialState.COMPLETE) == 4


class _Counting(SerialBackend):
    def __init__(self, job: Any) -> None:
        super().__init__(job)
        self.runs = 0

    def submit(self, params: dict[str, Any], window: Window | None) -> Future[TrialResult]:
        self.runs += 1
        return super().submit(params, window)


def test_a_point_proposed_again_is_not_run_again(tmp_path: Path, config: SystemConfig) -> None:
    from trading_engine.optimize.objectives import parse_objective
    from trading_engine.optimize.results import best_dsr
    from trading_engine.optimize.space import parse_space
    from trading_engine.optimize.study import runs

    settings = SearchSettings(
        space=parse_space({"ema_cross.fast": "5,10"}),
        objectives=(parse_objective("return"),),
        sampler="random",
        trials=6,
        seed=3,
    )
    backends: list[_Counting] = []

    def counting(job: Any) -> _Counting:
        backends.append(_Counting(job))
        return backends[-1]

    study = _search(tmp_path, config, counting, settings)
    assert len(study.trials) == 6
    distinct = {t.params["ema_cross.fast"] for t in study.trials}
    assert backends[0].runs == len(distinct)  # each point proposed runs once
    repeats = [t for t in study.trials if "repeat_of" in t.user_attrs]
    assert len(repeats) == 6 - len(distinct) >= 4
    for t in repeats:
        assert t.values == study.trials[t.user_attrs["repeat_of"]].values
    assert len(runs(study)) == len(distinct)
    assert best_dsr(study)[1] == len(distinct)
