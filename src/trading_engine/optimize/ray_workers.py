"""Trials on Ray: one actor per CPU of the cluster, driven by the same Optuna ask/tell loop.

Why Ray tasks under Optuna's ask/tell rather than Ray Tune with its Optuna search: the study
stays the one SQLite file the local path writes (resumable, optuna-dashboard reads it, the same
failed/pruned records), there is one search loop to test instead of two, and an actor keeps the
job and the bars between trials where Tune would start a trainable per trial. The price is that
the driver must reach the cluster (``ray.init(address=...)``), which Tune needs too.

The bars go into Ray's object store once (``ray.put``); actors on the driver's node read them
zero-copy from shared memory, actors elsewhere get one copy per node, written next to them as a
Parquet file when the driver's history path does not exist there. Importing this module imports
Ray: only ``--ray`` does.
"""

from __future__ import annotations

import tempfile
from collections import deque
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import ray

from trading_engine.optimize.engine import Window
from trading_engine.optimize.history import load_bars
from trading_engine.optimize.workers import Job, TrialFailure, TrialResult, _Worker

__all__ = ["RayBackend"]


class _RayWorker:
    """A Ray actor holding one ``_Worker`` (the job and the bars) for all its trials."""

    def __init__(self, job: Job, bars: npt.NDArray[np.void] | None) -> None:
        from loguru import logger

        logger.remove()
        if job.history is not None and not job.history.exists() and bars is not None:
            from trading_engine.mt5sim.market.history import write_parquet

            directory = Path(tempfile.mkdtemp(prefix="te-ray-"))
            history = directory / "history.parquet"
            write_parquet(history, np.asarray(bars))
            np.save(directory / "bars.npy", np.asarray(bars))
            job = replace(job, history=history, bars_file=directory / "bars.npy")
        elif job.bars_file is not None and not job.bars_file.exists():
            job = replace(job, bars_file=None)
        self.worker = _Worker(job)

    def run(self, params: dict[str, Any], window: Window | None) -> TrialResult:
        return self.worker.run(params, window)


class RayBackend:
    """``workers`` actors (default: the cluster's CPUs) on the Ray instance at ``address``.

    ``address``: ``auto`` joins a running instance (``RAY_ADDRESS`` or one started on this
    machine) or else starts a local one; ``local`` always starts a local one; anything else is
    the address of a cluster (``ray://host:10001``, ``host:6379``).
    """

    def __init__(self, job: Job, *, address: str = "auto", workers: int | None = None) -> None:
        self._started = False
        if not ray.is_initialized():
            self._started = True
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address == "local":
                ray.init(**kwargs)
            elif address == "auto":
                try:
                    ray.init(address="auto", **kwargs)
                except (ConnectionError, RuntimeError):
                    ray.init(**kwargs)
            else:
                ray.init(address=address, **kwargs)
        cpus = int(ray.cluster_resources().get("CPU", 1))  # type: ignore[no-untyped-call]
        self.workers = workers or max(1, cpus)
        bars = load_bars(job.bars_file) if job.bars_file is not None else None
        bars_ref = ray.put(np.asarray(bars)) if bars is not None else None
        actor = ray.remote(num_cpus=1)(_RayWorker)
        self._actors: list[Any] = [actor.remote(job, bars_ref) for _ in range(self.workers)]
        self._idle: deque[Any] = deque(self._actors)

    def submit(self, params: dict[str, Any], window: Window | None) -> Future[TrialResult]:
        actor = self._idle.popleft()
        inner: Future[TrialResult] = actor.run.remote(params, window).future()
        outer: Future[TrialResult] = Future()

        def done(f: Future[TrialResult]) -> None:
            self._idle.append(actor)
            if f.cancelled():
                outer.cancel()
                return
            exc = f.exception()
            if exc is not None:
                text = str(exc).strip().splitlines()
                outer.set_result(
                    TrialFailure(
                        f"ray worker lost: {type(exc).__name__}: {text[0] if text else ''}"
                    )
                )
                return
            outer.set_result(f.result())

        inner.add_done_callback(done)
        return outer

    def close(self, *, cancel: bool = False) -> None:
        for actor in self._actors:
            ray.kill(actor)
        self._actors.clear()
        if self._started:
            ray.shutdown()
