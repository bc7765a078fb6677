"""``optimize``: from a configuration and the command line's additions to a finished study.

``prepare`` checks everything (space, targets, constraints, objectives, history, window) before a
trial runs, so a mistake is one ``ConfigError``; ``make_backend`` picks serial, local processes or
Ray; ``optimize`` runs the search and writes what a person looks at.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from trading_engine.config import SystemConfig
from trading_engine.errors import ConfigError
from trading_engine.optimize.constraints import parse_constraint
from trading_engine.optimize.engine import Window
from trading_engine.optimize.history import base_bars, cache_bars, load_bars
from trading_engine.optimize.objectives import parse_objective
from trading_engine.optimize.space import parse_param
from trading_engine.optimize.study import Progress, SearchSettings, open_study, run_search
from trading_engine.optimize.targets import resolve_targets
from trading_engine.optimize.workers import Backend, Job, LocalBackend, SerialBackend
from trading_engine.timeframes import timeframe_seconds

if TYPE_CHECKING:
    import optuna

__all__ = ["OptimizeRequest", "make_backend", "optimize", "prepare", "window_between"]


@dataclass
class OptimizeRequest:
    """The command line's part; ``None`` / empty keeps the configuration's ``optimize`` value."""

    config: SystemConfig
    config_dir: Path | None
    out: Path
    history: Path | None = None
    bars: int = 5000
    start: datetime | None = None
    end: datetime | None = None
    params: Sequence[str] = ()
    constraints: Sequence[str] = ()
    objectives: Sequence[str] = ()
    sampler: str | None = None
    trials: int | None = None
    timeout: float | None = None
    seed: int | None = None
    min_trades: int | None = None
    workers: int | None = None
    ray: str | None = None
    study: str | None = None
    top: int = 10
    plots: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def _cli_params(items: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        name, sep, spec = item.partition("=")
        if not sep or not name.strip() or not spec.strip():
            raise ConfigError(
                "expected NAME=lo:hi[:step] or NAME=a,b,c (e.g. ema_cross.fast=5:50:1)",
                key=f"--param {item}",
            )
        out[name.strip()] = spec.strip()
    return out


def search_settings(request: OptimizeRequest) -> SearchSettings:
    """The search of the configuration's ``optimize`` section with the command line applied."""
    section = request.config.optimize
    items = {**section.space, **_cli_params(request.params)}
    if not items:
        raise ConfigError(
            "an empty search space: give --param NAME=lo:hi:step or optimize.space",
            key="--param",
        )
    space = {name: parse_param(name, value) for name, value in items.items()}
    constraints = tuple(
        parse_constraint(text, space) for text in [*section.constraints, *request.constraints]
    )
    objective_texts = list(request.objectives) or section.objectives
    objectives = tuple(
        parse_objective(text, penalty=section.drawdown_penalty) for text in objective_texts
    )
    sampler = request.sampler or section.sampler
    if sampler == "grid":
        for spec in space.values():
            spec.values()  # a continuous range has no grid: one clear error now
    return SearchSettings(
        space=space,
        objectives=objectives,
        constraints=constraints,
        sampler=sampler,
        trials=request.trials if request.trials is not None else section.trials,
        seed=request.seed if request.seed is not None else section.seed,
        min_trades=request.min_trades if request.min_trades is not None else section.min_trades,
        timeout=request.timeout if request.timeout is not None else section.timeout,
    )


def base_seconds(config: SystemConfig) -> int:
    """Seconds of a bar of the base timeframe (the first of ``trading.timeframes``)."""
    return timeframe_seconds(config.trading.timeframes[0])


def window_between(
    times: np.ndarray[Any, np.dtype[np.int64]], start: int | None, end: int | None, first: int = 0
) -> Window:
    """The window of the bars whose opening times lie in ``[start, end)`` (server epoch s), from
    bar ``first`` at the earliest (the bars before feed the indicators' warm-up)."""
    lo = 0 if start is None else int(np.searchsorted(times, start, side="left"))
    lo = max(lo, first)
    hi = times.size if end is None else int(np.searchsorted(times, end, side="left"))
    if hi - lo < 1:
        raise ConfigError("no bar of the history lies between --from and --to", key="--from")
    return Window(int(times[lo]), hi - lo)


def _server_seconds(config: SystemConfig, moment: datetime | None) -> int | None:
    if moment is None:
        return None
    from trading_engine.mt5sim.market.servertime import ServerTime

    sim = config.terminal.sim
    st = (
        ServerTime.eet()
        if sim.server_utc_offset_hours is None
        else ServerTime.fixed(round(sim.server_utc_offset_hours * 3600))
    )
    return int(st.to_server(moment.timestamp()))


def prepare(request: OptimizeRequest) -> tuple[SearchSettings, Job, Window | None]:
    """Check the request and build the search settings, the job and the window."""
    require("optuna", "optimize")
    require("plotly", "optimize")
    settings = search_settings(request)
    targets = resolve_targets(request.config, list(settings.space), base_dir=request.config_dir)
    config = request.config
    if request.history is None and request.end is not None:
        raise ConfigError("--to needs --history (generated prices run --bars bars)", key="--to")
    bars_file = None
    window = None
    if request.history is not None:
        bars_file = cache_bars(request.history, request.out)
        times, _closes = base_bars(load_bars(bars_file), base_seconds(config))
        start = _server_seconds(config, request.start)
        end = _server_seconds(config, request.end)
        warmup = config.services.indicator_calculation.warmup_bars
        window = window_between(times, start, end, first=warmup)
        if request.end is None and window.bars > request.bars:
            window = Window(window.start, request.bars)
    elif request.start is not None:
        sim = config.terminal.sim.model_copy(update={"start": request.start})
        config = config.model_copy(
            update={"terminal": config.terminal.model_copy(update={"sim": sim})}
        )
    job = Job(config, targets, request.history, bars_file, request.bars, request.config_dir)
    return settings, job, window


def require(module: str, key: str) -> None:
    """A one-line error when ``module`` (of the ``research`` extra) is not installed."""
    try:
        importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"needs {module}: pip install -e '.[research]' (make test installs it)", key=key
        ) from None


def make_backend(job: Job, workers: int | None, ray: str | None) -> Backend:
    """Ray actors (``ray``: ``auto`` or an address), else ``workers`` processes (1 = serial)."""
    count = workers if workers else (os.cpu_count() or 1)
    if ray is not None:
        require("ray", "--ray")
        from trading_engine.optimize.ray_workers import RayBackend

        return RayBackend(job, address=ray, workers=workers or None)
    if count == 1:
        return SerialBackend(job)
    return LocalBackend(job, count)


@dataclass
class OptimizeOutcome:
    """The finished (or interrupted) study and the files written."""

    study: optuna.study.Study
    progress: Progress
    storage: Path
    files: dict[str, Path]


def write_results(
    study: optuna.study.Study, out: Path, *, plots: bool = True, top: int = 10
) -> dict[str, Path]:
    """Best trials (JSON), the heatmap and the importance plot; the paths written."""
    from trading_engine.optimize.results import write_heatmap, write_importance
    from trading_engine.optimize.study import best_trials

    files: dict[str, Path] = {}
    best = [
        {
            "number": t.number,
            "values": t.values,
            "params": t.params,
            "stats": t.user_attrs.get("stats", {}),
        }
        for t in best_trials(study, top)
    ]
    path = out / "best_trials.json"
    path.write_text(json.dumps(best, indent=2, default=str) + "\n")
    files["best trials"] = path
    if plots:
        heat = write_heatmap(study, out / "heatmap.html")
        if heat is not None:
            files["heatmap"] = heat
        imp = write_importance(study, out / "importance.html")
        if imp is not None:
            files["importance"] = imp
    return files


def optimize(
    request: OptimizeRequest, on_progress: Callable[[Progress], None] | None = None
) -> OptimizeOutcome:
    """Run the search of ``request``; the study lives in ``request.out / "study.db"``."""
    settings, job, window = prepare(request)
    request.out.mkdir(parents=True, exist_ok=True)
    storage = request.out / "study.db"
    name = request.study or "optimize"
    study = open_study(storage, name, settings)
    backend = make_backend(job, request.workers or request.config.optimize.workers, request.ray)
    try:
        progress = run_search(study, settings, backend, window=window, on_progress=on_progress)
    finally:
        backend.close()
    files = write_results(study, request.out, plots=request.plots, top=request.top)
    if request.plots and len(study.directions) == 1 and best_trials_exist(study):
        from trading_engine.optimize.engine import write_best_report
        from trading_engine.optimize.targets import apply_params

        files["report of the best"] = write_best_report(
            apply_params(job.config, job.targets, study.best_params),
            history=job.history,
            window=window,
            bars=job.bars,
            path=request.out / "best_report.html",
            config_dir=job.config_dir,
        )
    return OptimizeOutcome(study, progress, storage, files)


def best_trials_exist(study: optuna.study.Study) -> bool:
    from optuna.trial import TrialState

    return bool(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
