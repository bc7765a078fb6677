"""The bars of a study, read once and saved as ``.npy`` so that every worker memory-maps them.

The parent reads the history file once (``cache_bars``); workers ``np.load(..., mmap_mode="r")``
the saved array (``load_bars``): pages are shared through the OS page cache, nothing is pickled
per trial. The base timeframe's bar opening times come from it (``base_bar_times``), and the
closes of those bars for buy & hold.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import numpy.typing as npt

from trading_engine.errors import ConfigError

__all__ = ["base_bars", "cache_bars", "load_bars"]


def cache_bars(history: Path, directory: Path) -> Path:
    """Save the bars of ``history`` once as ``directory/bars-<digest>.npy``; return its path."""
    from trading_engine.mt5sim.market.history import read_history

    try:
        stat = history.stat()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", key=str(history)) from None
    digest = hashlib.sha256(
        f"{history.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()
    ).hexdigest()[:16]
    target = directory / f"bars-{digest}.npy"
    if target.exists():
        return target
    try:
        kind, data = read_history(history)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the history: {exc}", key=str(history)) from None
    if kind != "bars" or len(data) < 2:
        raise ConfigError("expected bars, at least two", key=str(history))
    directory.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial.npy")
    np.save(partial, data, allow_pickle=False)
    partial.replace(target)
    return target


def load_bars(path: Path) -> npt.NDArray[np.void]:
    """The cached bars, memory-mapped read-only."""
    bars: npt.NDArray[np.void] = np.load(path, mmap_mode="r", allow_pickle=False)
    return bars


def base_bars(
    bars: npt.NDArray[np.void], seconds: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """(opening time, close) of each bar of a ``seconds`` timeframe built from ``bars``."""
    times = np.asarray(bars["time"], dtype=np.int64)
    opens = times - times % seconds
    last = np.r_[opens[1:] != opens[:-1], True]
    first = np.r_[True, opens[1:] != opens[:-1]]
    return opens[first], np.asarray(bars["close"], dtype=np.float64)[last]
