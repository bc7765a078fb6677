"""Restart arithmetic: full-jitter exponential backoff and a restart budget. Pure, no clock.

The supervisor asks these objects *how long* and *whether*; it does the waiting itself, through
its injected clock. Everything here takes the time as an argument, so it is tested alone.

- ``Backoff(base, cap)``: ``ceiling(k) = min(cap, base·2^k)`` and ``delay(k, rng)`` uniform in
  ``[0, ceiling(k)]`` ("full jitter", AWS architecture blog).
- ``BackoffTracker``: the attempt counter ``k`` of one child; it grows by one per failure and
  resets to 0 when the child had run for at least ``stable_window`` seconds before failing.
- ``RestartBudget(intensity, period)``: at most ``intensity`` restarts in any ``period`` seconds
  (Erlang/OTP supervisor intensity); ``record(now)`` returns False when a restart would exceed it.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

__all__ = ["Backoff", "BackoffTracker", "RestartBudget"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Full-jitter exponential backoff: ``delay(k) = uniform(0, min(cap, base·2^k))`` seconds."""

    base: float
    cap: float

    def __post_init__(self) -> None:
        if not (self.base >= 0.0 and self.cap >= 0.0):  # also rejects NaN
            raise ValueError(f"backoff base and cap must be >= 0, got {self.base}, {self.cap}")

    def ceiling(self, attempt: int) -> float:
        """The largest delay of attempt k (0: the first retry): ``min(cap, base·2^k)``."""
        if attempt < 0:
            raise ValueError(f"attempt must be >= 0, got {attempt}")
        try:
            return min(self.cap, self.base * 2.0**attempt)
        except OverflowError:  # 2.0**k beyond the float range: the cap has long been reached
            return self.cap

    def delay(self, attempt: int, rng: random.Random) -> float:
        """A delay drawn uniformly in ``[0, ceiling(attempt)]`` with ``rng``."""
        return rng.uniform(0.0, self.ceiling(attempt))


class BackoffTracker:
    """The backoff state of one restartable thing: which attempt comes next, and the last delay.

    ``failed(uptime, rng)`` returns the delay to wait before the next start. ``uptime`` is how long
    the failed run lasted; a run of at least ``stable_window`` seconds resets the attempt to 0 first
    (the Kubernetes CrashLoopBackOff rule), so an old incident does not lengthen a new one's wait.
    """

    __slots__ = ("attempt", "backoff", "current", "stable_window")

    def __init__(self, backoff: Backoff, stable_window: float) -> None:
        if not stable_window >= 0.0:
            raise ValueError(f"stable_window must be >= 0, got {stable_window}")
        self.backoff = backoff
        self.stable_window = stable_window
        self.attempt = 0
        self.current = 0.0

    def failed(self, uptime: float, rng: random.Random) -> float:
        """Count a failure after ``uptime`` seconds of running; return the delay before retrying."""
        if uptime >= self.stable_window:
            self.attempt = 0
        self.current = self.backoff.delay(self.attempt, rng)
        self.attempt += 1
        return self.current

    def reset(self) -> None:
        """Forget past failures."""
        self.attempt = 0
        self.current = 0.0

    def __repr__(self) -> str:
        return (
            f"BackoffTracker({self.backoff!r}, attempt={self.attempt}, current={self.current:.3f})"
        )


class RestartBudget:
    """At most ``intensity`` restarts within any window of ``period`` seconds.

    ``record(now)`` counts one restart at time ``now`` and returns True while the restarts in
    ``(now - period, now]`` number at most ``intensity``; False means the budget is exhausted and
    the caller should give up (OTP: "more than MaxR restarts in MaxT seconds"). ``intensity=0``
    allows no restart at all.
    """

    __slots__ = ("_times", "intensity", "period")

    def __init__(self, intensity: int, period: float) -> None:
        if intensity < 0:
            raise ValueError(f"intensity must be >= 0, got {intensity}")
        if not period > 0.0:
            raise ValueError(f"period must be > 0, got {period}")
        self.intensity = intensity
        self.period = period
        self._times: deque[float] = deque()

    def record(self, now: float) -> bool:
        """Count a restart at ``now``; False when it exceeds the budget."""
        self._forget(now)
        self._times.append(now)
        return len(self._times) <= self.intensity

    def used(self, now: float) -> int:
        """How many restarts fall in the window ending at ``now``."""
        self._forget(now)
        return len(self._times)

    def reset(self) -> None:
        """Forget every recorded restart."""
        self._times.clear()

    def _forget(self, now: float) -> None:
        horizon = now - self.period
        times = self._times
        while times and times[0] <= horizon:
            times.popleft()

    def __repr__(self) -> str:
        return f"RestartBudget(intensity={self.intensity}, period={self.period})"
