"""Where trials run: in this process, in a pool of worker processes, or on Ray (``ray_workers``).

A ``Job`` (the base configuration, the parameter targets, the history) goes to each worker once;
a trial sends only its parameters and window. Each worker memory-maps the cached bars once. A
trial that raises comes back as ``TrialFailure`` with its reason, never as an exception.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import traceback
from collections.abc import Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from trading_engine.config import SystemConfig
from trading_engine.optimize.engine import TrialOutcome, Window, run_window
from trading_engine.optimize.history import load_bars
from trading_engine.optimize.targets import Target, apply_params

__all__ = [
    "Backend",
    "Job",
    "LocalBackend",
    "SerialBackend",
    "TrialFailure",
    "TrialResult",
    "run_trial",
]


@dataclass(frozen=True, slots=True)
class Job:
    """What every trial of a study shares; sent to each worker once."""

    config: SystemConfig
    targets: dict[str, Target]
    history: Path | None
    bars_file: Path | None
    bars: int
    config_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class TrialFailure:
    """A trial that raised: its reason (one line) and the traceback's last lines."""

    reason: str
    detail: str = ""


TrialResult = TrialOutcome | TrialFailure


class _Worker:
    """The per-process state: the job and the memory-mapped bars, loaded once."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.bars: npt.NDArray[np.void] | None = (
            load_bars(job.bars_file) if job.bars_file is not None else None
        )
        self.trials = 0

    def run(self, params: Mapping[str, Any], window: Window | None) -> TrialResult:
        self.trials += 1
        job = self.job
        try:
            config = apply_params(job.config, job.targets, params)
            if window is not None and self.bars is not None:
                _check_window(self.bars, window)
            return run_window(
                config,
                history=job.history,
                window=window,
                bars=job.bars,
                config_dir=job.config_dir,
            )
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a trial's failure is data, whatever it is
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
            detail = "".join(traceback.format_exception(exc)[-3:])[-2000:]
            return TrialFailure(reason, detail)


def _check_window(bars: npt.NDArray[np.void], window: Window) -> None:
    times = bars["time"]
    if window.start < int(times[0]) or window.start > int(times[-1]):
        raise ValueError(f"window start {window.start} outside the history")


_STATE: _Worker | None = None


def _init_worker(job: Job) -> None:
    global _STATE
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    from loguru import logger

    logger.remove()  # trials are silent; the parent reports
    _STATE = _Worker(job)


def _run_in_worker(params: dict[str, Any], window: Window | None) -> tuple[TrialResult, int]:
    assert _STATE is not None, "worker not initialised"
    return _STATE.run(params, window), os.getpid()


def run_trial(job: Job, params: Mapping[str, Any], window: Window | None = None) -> TrialResult:
    """One trial in this process (tests and the serial backend)."""
    return _Worker(job).run(params, window)


class Backend(Protocol):
    """Runs trials; ``workers`` of them at once."""

    workers: int

    def submit(self, params: dict[str, Any], window: Window | None) -> Future[TrialResult]: ...

    def close(self, *, cancel: bool = False) -> None: ...


class SerialBackend:
    """Trials one after the other in this process."""

    def __init__(self, job: Job) -> None:
        from loguru import logger

        logger.remove()
        self._worker = _Worker(job)
        self.workers = 1

    def submit(self, params: dict[str, Any], window: Window | None) -> Future[TrialResult]:
        future: Future[TrialResult] = Future()
        future.set_result(self._worker.run(params, window))
        return future

    def close(self, *, cancel: bool = False) -> None:
        return None


class LocalBackend:
    """A pool of ``workers`` processes (spawned: no forked locks), each initialised once."""

    def __init__(self, job: Job, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(job,),
        )
        self.pids: set[int] = set()

    def submit(self, params: dict[str, Any], window: Window | None) -> Future[TrialResult]:
        inner = self._pool.submit(_run_in_worker, params, window)
        outer: Future[TrialResult] = Future()

        def done(f: Future[tuple[TrialResult, int]]) -> None:
            if f.cancelled():
                outer.cancel()
                return
            exc = f.exception()
            if exc is not None:  # the worker died (killed, out of memory)
                outer.set_result(TrialFailure(f"worker lost: {type(exc).__name__}: {exc}"))
                return
            result, pid = f.result()
            self.pids.add(pid)
            outer.set_result(result)

        inner.add_done_callback(done)
        return outer

    def close(self, *, cancel: bool = False) -> None:
        if cancel:
            processes = list(getattr(self._pool, "_processes", {}).values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:  # running trials are abandoned, not awaited
                process.terminate()
            deadline = time.monotonic() + 5
            for process in processes:
                process.join(max(0.0, deadline - time.monotonic()))
        else:
            self._pool.shutdown(wait=True)
