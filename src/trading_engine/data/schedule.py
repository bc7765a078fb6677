"""When the data service polls: bar-timed, the same arithmetic for the pipeline and a backtest.

The service sleeps until the next bar *boundary* (a multiple of the smallest stream timeframe,
at most one hour, on the engine's UTC clock) plus ``close_delay`` seconds, and polls every
stream. A stream whose timeframe divides that boundary is *due*: it should have a new closed bar
(MT5 closes a bar when the first tick of the next one arrives). While a due stream has produced
no new bar, the service polls again every ``fetch_interval`` seconds (a slow feed), until the
next boundary; once none is missing it sleeps until the next boundary. A stream that went a whole
boundary period without its bar is *quiet* (a closed market: a weekend, a holiday): it is polled
at boundaries only, without retries, until a bar comes again. So ``fetch_interval`` is now the
*retry* interval, not the polling period, and a closed market costs one poll per boundary.

Broker server time is UTC plus whole hours, so every multiple of a timeframe up to H1 in UTC is
one in server time too; streams above H1 (H2, H4, D1 …) are never due: their bars are taken by
the first poll after they close (at the latest the next hourly boundary).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["HOUR", "boundary_step", "due", "next_wake"]

HOUR = 3600


def boundary_step(timeframe_seconds: Iterable[int | None]) -> int:
    """Seconds between boundaries: the smallest timeframe, at most one hour."""
    fixed = [s for s in timeframe_seconds if s]
    return min(min(fixed, default=HOUR), HOUR)


def next_wake(now: float, step: int, delay: float) -> float:
    """The first boundary-plus-delay instant strictly after ``now``."""
    return (math.floor((now - delay) / step) + 1) * step + delay


def due(wake: float, delay: float, timeframe_seconds: int | None) -> bool:
    """Whether a stream of ``timeframe_seconds`` closes a bar at the boundary of ``wake``."""
    if not timeframe_seconds or timeframe_seconds > HOUR:
        return False
    boundary = round(wake - delay)
    return boundary % timeframe_seconds == 0
