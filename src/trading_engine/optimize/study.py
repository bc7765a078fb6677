"""The search: Optuna's ask/tell in this process, trials on a backend, the study in SQLite.

Only this process writes the study (no SQLite lock contention between workers); a study of the
same name in the same file is resumed (a grid goes on with the points not yet run). A trial that
breaks a constraint is PRUNED without running, one with too few trades is PRUNED after running,
one that raises is FAILED; each with its reason in the user attribute ``reason``. Ctrl-C marks the
running trials FAILED ("interrupted"), stops the workers and re-raises, the study saved.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trading_engine.errors import ConfigError
from trading_engine.optimize.constraints import Constraint
from trading_engine.optimize.dsr import sharpe_moments
from trading_engine.optimize.engine import TrialOutcome, Window
from trading_engine.optimize.metrics import daily_returns
from trading_engine.optimize.objectives import Objective, TooFewTrades, check_trades
from trading_engine.optimize.space import ParamSpec, grid_points
from trading_engine.optimize.workers import Backend, TrialFailure

if TYPE_CHECKING:
    import optuna

__all__ = [
    "SAMPLERS",
    "Progress",
    "SearchSettings",
    "best_trials",
    "open_study",
    "run_search",
    "runs",
]

SAMPLERS = ("grid", "random", "tpe", "cmaes", "nsga2")


@dataclass(frozen=True)
class SearchSettings:
    """What to search and how."""

    space: dict[str, ParamSpec]
    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...] = ()
    sampler: str = "tpe"
    trials: int | None = None  # None: the whole grid (grid) or 100
    seed: int | None = None
    min_trades: int = 0
    timeout: float | None = None


@dataclass
class Progress:
    """Trials done, the best so far and the time left, for a progress line."""

    total: int
    done: int = 0
    failed: int = 0
    pruned: int = 0
    best: float | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def eta(self) -> float:
        """Seconds left at the pace so far."""
        if self.done == 0:
            return math.nan
        rate = (time.monotonic() - self.started) / self.done
        return rate * max(0, self.total - self.done)

    def line(self) -> str:
        best = "-" if self.best is None else f"{self.best:.6g}"
        eta = "?" if math.isnan(self.eta) else f"{self.eta:.0f}s"
        return (
            f"trials {self.done}/{self.total} (failed {self.failed}, pruned {self.pruned}); "
            f"best {best}; {eta} left"
        )


def _distributions(space: Mapping[str, ParamSpec]) -> dict[str, Any]:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out: dict[str, Any] = {}
    for name, spec in space.items():
        if spec.kind == "choice":
            out[name] = CategoricalDistribution(spec.choices)
        elif spec.kind == "int":
            out[name] = IntDistribution(int(spec.low), int(spec.high), step=int(spec.step or 1))
        elif spec.step is not None:
            high = spec.low + (len(spec.values()) - 1) * spec.step
            out[name] = FloatDistribution(spec.low, high, step=spec.step)
        else:
            out[name] = FloatDistribution(spec.low, spec.high, log=spec.log)
    return out


def _sampler(settings: SearchSettings) -> optuna.samplers.BaseSampler:
    import optuna

    seed = settings.seed
    kind = settings.sampler
    if kind not in SAMPLERS:
        raise ConfigError(f"unknown sampler {kind!r} ({', '.join(SAMPLERS)})", key="sampler")
    multi = len(settings.objectives) > 1
    if multi and kind not in ("nsga2", "random", "grid", "tpe"):
        raise ConfigError(f"{kind} optimises one objective; use nsga2", key="sampler")
    if kind == "grid":
        grid = {name: spec.values() for name, spec in settings.space.items()}
        return _GridSampler(grid, seed=seed)
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if kind == "cmaes":
        if any(spec.kind == "choice" for spec in settings.space.values()):
            raise ConfigError("cmaes searches numbers only; the space has a choice", key="sampler")
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    return optuna.samplers.NSGAIISampler(seed=seed)


def _grid_sampler_class() -> type[optuna.samplers.GridSampler]:
    import optuna

    class GridSampler(optuna.samplers.GridSampler):
        """Optuna's grid without its ``study.stop()`` when the grid is exhausted: outside
        ``study.optimize`` the search loop counts the points left itself."""

        def after_trial(self, *args: Any, **kwargs: Any) -> None:
            return None

    return GridSampler


def _GridSampler(grid: dict[str, Any], seed: int | None) -> optuna.samplers.BaseSampler:
    return _grid_sampler_class()(grid, seed=seed)


def _storage(path: Path) -> optuna.storages.RDBStorage:
    """The SQLite storage at ``path``: WAL journal, commits without fsync (``synchronous=NORMAL``:
    a crash of the machine may lose the last trials, never corrupt the file), a busy timeout for
    a dashboard reading alongside."""
    import sqlite3

    import optuna

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(path, timeout=30, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection

    return optuna.storages.RDBStorage(f"sqlite:///{path}", engine_kwargs={"creator": connect})


def open_study(
    storage: Path, name: str, settings: SearchSettings | None = None
) -> optuna.study.Study:
    """Create or resume the study ``name`` in the SQLite file ``storage``."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage.parent.mkdir(parents=True, exist_ok=True)
    url = _storage(storage)
    if settings is None:
        try:
            return optuna.load_study(study_name=name, storage=url)
        except KeyError:
            raise ConfigError(f"no study {name!r} in {storage}", key="--study") from None
    directions = [o.direction for o in settings.objectives]
    try:
        study = optuna.create_study(
            study_name=name,
            storage=url,
            sampler=_sampler(settings),
            directions=directions,
            load_if_exists=True,
        )
    except ValueError as exc:
        raise ConfigError(str(exc), key="--study") from None
    if [d.name.lower() for d in study.directions] != directions:
        raise ConfigError(
            f"study {name!r} in {storage} optimises {[d.name.lower() for d in study.directions]}, "
            f"not {directions}; choose another --study",
            key="--study",
        )
    study.set_user_attr("objectives", [o.label for o in settings.objectives])
    study.set_user_attr("space", sorted(settings.space))
    return study


def _key(params: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, repr(v)) for k, v in params.items()))


def _requeue_interrupted(study: optuna.study.Study) -> int:
    """Enqueue again the points of trials an earlier run left unfinished; their count."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    for t in trials:  # only this process writes the study: a RUNNING trial is a leftover
        if t.state == TrialState.RUNNING:
            study._storage.set_trial_user_attr(t._trial_id, "reason", "abandoned (run stopped)")
            study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
    trials = study.get_trials(deepcopy=False)
    settled = {_key(t.params) for t in trials if not _interrupted(t)}
    waiting = {_key(t.params): t.params for t in trials if t.state == TrialState.WAITING}
    again = {_key(t.params): t.params for t in trials if _interrupted(t)}
    count = 0
    for key, params in again.items():
        if key not in settled and key not in waiting:
            study.enqueue_trial(dict(params))
            count += 1
    return count + len(waiting)


def _interrupted(trial: optuna.trial.FrozenTrial) -> bool:
    from optuna.trial import TrialState

    reason = trial.user_attrs.get("reason", "")
    return trial.state == TrialState.FAIL and reason in ("interrupted", "abandoned (run stopped)")


def _grid_remaining(study: optuna.study.Study, settings: SearchSettings) -> int:
    settled = {_key(t.params) for t in study.get_trials(deepcopy=False) if t.state.is_finished()}
    settled -= {_key(t.params) for t in study.get_trials(deepcopy=False) if _interrupted(t)}
    return sum(_key(p) not in settled for p in grid_points(settings.space))


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _record(
    study: optuna.study.Study,
    trial: optuna.trial.Trial,
    result: TrialOutcome | TrialFailure,
    settings: SearchSettings,
) -> str:
    """Tell the study the trial's outcome; return its state's name."""
    from optuna.trial import TrialState

    if isinstance(result, TrialFailure):
        trial.set_user_attr("reason", result.reason)
        if result.detail:
            trial.set_user_attr("traceback", result.detail)
        study.tell(trial, state=TrialState.FAIL)
        return "fail"
    stats = {k: v for k, v in result.stats.items() if isinstance(v, int | float)}
    trial.set_user_attr("stats", {k: (v if math.isfinite(v) else None) for k, v in stats.items()})
    sharpe, periods, skew, kurt = sharpe_moments(daily_returns(result.times, result.equity))
    trial.set_user_attr(
        "run",  # one attribute, one write: each is a transaction of the study's database
        {
            "daily_sharpe": _finite(sharpe),
            "daily_periods": periods,
            "daily_skew": _finite(skew),
            "daily_kurtosis": _finite(kurt),
            "elapsed": result.elapsed,
        },
    )
    try:
        check_trades(stats, settings.min_trades)
        values = [o.value(stats) for o in settings.objectives]
    except TooFewTrades as exc:
        trial.set_user_attr("reason", str(exc))
        study.tell(trial, state=TrialState.PRUNED)
        return "pruned"
    except KeyError as exc:
        trial.set_user_attr("reason", str(exc.args[0]))
        study.tell(trial, state=TrialState.FAIL)
        return "fail"
    if not all(math.isfinite(v) for v in values):
        labels = [o.label for o, v in zip(settings.objectives, values, strict=True)]
        trial.set_user_attr("reason", f"objective undefined (NaN or infinite): {labels}")
        study.tell(trial, state=TrialState.FAIL)
        return "fail"
    study.tell(trial, values)
    return "complete"


def _finished_twin(
    study: optuna.study.Study, params: Mapping[str, Any]
) -> optuna.trial.FrozenTrial | None:
    from optuna.trial import TrialState

    key = _key(params)
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
        if _key(t.params) == key:
            return t
    return None


def runs(study: optuna.study.Study) -> list[optuna.trial.FrozenTrial]:
    """The trials that ran a backtest (not the repeats of a point, not those a constraint
    stopped before running): the N of the deflated Sharpe ratio."""
    return [
        t
        for t in study.get_trials(deepcopy=False)
        if t.state.is_finished()
        and "repeat_of" not in t.user_attrs
        and ("stats" in t.user_attrs or t.state.name == "FAIL")
    ]


def _repeat(
    study: optuna.study.Study, trial: optuna.trial.Trial, earlier: optuna.trial.FrozenTrial
) -> str:
    """Record ``trial`` with the outcome of the earlier trial of the same point."""
    from optuna.trial import TrialState

    for key, value in earlier.user_attrs.items():
        trial.set_user_attr(key, value)
    trial.set_user_attr("repeat_of", earlier.number)
    if earlier.state == TrialState.COMPLETE:
        study.tell(trial, earlier.values)
        return "complete"
    study.tell(trial, state=TrialState.PRUNED)
    return "pruned"


def run_search(
    study: optuna.study.Study,
    settings: SearchSettings,
    backend: Backend,
    *,
    window: Window | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> Progress:
    """Run the search on ``backend`` until its trial budget, the grid or the timeout is spent."""
    from optuna.trial import TrialState

    distributions = _distributions(settings.space)
    requeued = _requeue_interrupted(study)
    if settings.sampler == "grid":
        budget = _grid_remaining(study, settings)
        if settings.trials is not None:
            budget = min(budget, settings.trials)
    else:
        budget = settings.trials if settings.trials is not None else max(100, requeued)
    progress = Progress(total=budget)
    running: dict[Future[TrialOutcome | TrialFailure], optuna.trial.Trial] = {}
    asked = 0
    deadline = time.monotonic() + settings.timeout if settings.timeout else math.inf
    multi = len(settings.objectives) > 1

    def finished(state: str) -> None:
        progress.done += 1
        progress.failed += state == "fail"
        progress.pruned += state == "pruned"
        if state == "complete" and not multi:
            progress.best = study.best_value
        if on_progress is not None:
            on_progress(progress)

    try:
        while True:
            while asked < budget and len(running) < backend.workers and time.monotonic() < deadline:
                trial = study.ask(fixed_distributions=distributions)
                asked += 1
                params = dict(trial.params)
                broken = [str(c) for c in settings.constraints if not c.holds(params)]
                if broken:
                    trial.set_user_attr("reason", f"constraint broken: {'; '.join(broken)}")
                    study.tell(trial, state=TrialState.PRUNED)
                    finished("pruned")
                    continue
                earlier = _finished_twin(study, params)
                if earlier is not None:  # a sampler may propose a point again: no second run
                    finished(_repeat(study, trial, earlier))
                    continue
                running[backend.submit(params, window)] = trial
            if not running:
                break
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                trial = running.pop(future)
                finished(_record(study, trial, future.result(), settings))
    except KeyboardInterrupt:
        for trial in running.values():
            trial.set_user_attr("reason", "interrupted")
            study.tell(trial, state=TrialState.FAIL)
        backend.close(cancel=True)
        raise
    return progress


def best_trials(study: optuna.study.Study, count: int = 10) -> Sequence[optuna.trial.FrozenTrial]:
    """The best ``count`` complete trials (the Pareto front for several objectives)."""
    from optuna.trial import TrialState

    if len(study.directions) > 1:
        return study.best_trials[:count]
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    sign = -1 if study.direction.name.lower() == "maximize" else 1
    return sorted(complete, key=lambda t: (sign * float(t.value or 0.0), t.number))[:count]
