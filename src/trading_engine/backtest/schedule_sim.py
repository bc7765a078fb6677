"""When the pipeline would see each bar: the data service's poll schedule, computed ahead.

The data service polls at bar boundaries plus ``close_delay`` and retries every
``fetch_interval`` while a due stream has no new bar (``data/schedule.py``). A bar is there for
a poll at UTC instant ``p`` when the first tick at or after its close is stamped no later than
the terminal's server millisecond of ``p`` (MT5 closes a bar with the next one's first tick).
:func:`detection_plan` replays that schedule over the whole history without polling anything:
one step per boundary, and a retry stretch (a weekend) jumps straight to the first retry at or
after the next tick. The result lists, in the order the pipeline emits them, every bar with the
instant it is emitted at.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trading_engine.data.schedule import boundary_step, due, next_wake

__all__ = ["StreamBars", "detection_plan"]

_NEVER = np.iinfo(np.int64).max


@dataclass(slots=True)
class StreamBars:
    """A stream's accepted bars after the start, with each one's availability (server ms of
    the first tick at or after its close; ``_NEVER`` when no later tick exists)."""

    timeframe_seconds: int | None
    available_msc: npt.NDArray[np.int64]


def detection_plan(
    streams: Sequence[StreamBars],
    *,
    start: float,
    delay: float,
    interval: float,
    server_msc: Callable[[float], int],
    budget: int | None,
) -> list[tuple[float, int, int]]:
    """``(utc instant, stream index, bar index)`` of every emitted bar, in emission order."""
    step = boundary_step(s.timeframe_seconds for s in streams)
    nxt = [0] * len(streams)
    sizes = [len(s.available_msc) for s in streams]
    avail = [s.available_msc.tolist() for s in streams]
    out: list[tuple[float, int, int]] = []
    left = budget if budget is not None else sum(sizes)
    p = start
    missing: set[int] = set()

    def poll(at: float) -> set[int]:
        nonlocal left
        now_msc = server_msc(at)
        fresh: set[int] = set()
        for k in range(len(streams)):
            a = avail[k]
            i = nxt[k]
            while i < sizes[k] and a[i] <= now_msc and left > 0:
                out.append((at, k, i))
                i += 1
                left -= 1
            if i != nxt[k]:
                fresh.add(k)
                nxt[k] = i
        return fresh

    while left > 0 and any(nxt[k] < sizes[k] for k in range(len(streams))):
        if missing:
            pending = [avail[k][nxt[k]] for k in range(len(streams)) if nxt[k] < sizes[k]]
            target = min(pending)
            if target == _NEVER:
                break
            # the first retry instant p + n*interval (n >= 1) whose server ms reaches the tick
            gap = (target - server_msc(p)) / 1000.0 - 7200.0  # a server offset change: start early
            n = max(1, math.floor(gap / interval))
            while server_msc(p + n * interval) < target:
                n += 1
            p = p + n * interval
            missing -= poll(p)
            continue
        wake = next_wake(p, step, delay)
        p = wake
        missing = {k for k, s in enumerate(streams) if due(wake, delay, s.timeframe_seconds)}
        missing -= poll(p)
    return out
