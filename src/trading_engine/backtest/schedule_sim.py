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
    count = len(streams)
    nxt = [0] * count
    sizes = [len(s.available_msc) for s in streams]
    avail = [s.available_msc.tolist() for s in streams]
    tfs = [s.timeframe_seconds for s in streams]
    can_be_due = {k for k in range(count) if due(0.0 + delay, delay, tfs[k])}
    out: list[tuple[float, int, int]] = []
    left = budget if budget is not None else sum(sizes)

    def poll(at: float) -> set[int]:
        nonlocal left
        now_msc = server_msc(at)
        fresh: set[int] = set()
        for k in range(count):
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

    def first_reaching(origin: float, spacing: float, target: int) -> int:
        """The least n >= 1 with server_msc(origin + n * spacing) >= target."""
        lower = target / 1000.0 - 2 * 3600.0 - (server_msc(origin) / 1000.0 - origin)
        n = max(1, math.floor((lower - origin) / spacing))
        while server_msc(origin + n * spacing) < target:
            n += 1
        return n

    def next_available() -> int:
        return min((avail[k][nxt[k]] for k in range(count) if nxt[k] < sizes[k]), default=_NEVER)

    p = start
    wake = next_wake(start, step, delay)
    missing: set[int] = set()
    quiet: set[int] = set()
    while left > 0 and any(nxt[k] < sizes[k] for k in range(count)):
        if missing:
            target = next_available()
            reachable = target != _NEVER and server_msc(wake) >= target
            retry = p + first_reaching(p, interval, target) * interval if reachable else wake
            if retry < wake:
                p = retry
                fresh = poll(p)
                missing -= fresh
                quiet -= fresh
                continue
        quiet |= missing
        missing = set()
        target = next_available()
        if target == _NEVER:
            break
        if can_be_due <= quiet and server_msc(wake) < target:
            # nothing to emit and no retry to start before the bar: jump to its boundary
            wake = wake + (first_reaching(wake, step, target)) * step
        p = wake
        fresh = poll(p)
        quiet -= fresh
        missing = {k for k in range(count) if due(wake, delay, tfs[k])} - fresh - quiet
        wake = next_wake(wake, step, delay)
    return out
