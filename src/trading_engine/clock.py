"""Time, injected: the engine's core never reads the wall clock itself.

- ``LiveClock``: the wall clock, ``asyncio.sleep``.
- ``ScaledClock``: simulated time running ``speed`` times faster than the wall clock (paper trading
  and demos on the simulated terminal).
- ``SimClock``: time moves only when advanced, so tests and backtests never wait on the wall
  clock; a ``sleep()`` returns once simulated time has reached its deadline.

All clocks speak UTC epoch seconds (``time()``) and monotonic seconds (``monotonic()``).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time as _time
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "LiveClock", "ScaledClock", "SimClock"]


@runtime_checkable
class Clock(Protocol):
    """What every service asks of time."""

    def time(self) -> float:
        """UTC epoch seconds."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class LiveClock:
    """The wall clock."""

    def time(self) -> float:
        return _time.time()

    def monotonic(self) -> float:
        return _time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """Simulated time from ``start``, running ``speed`` times faster than the wall clock."""

    def __init__(self, start: float, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.speed = speed
        self._start = start
        self._origin = _time.monotonic()

    def time(self) -> float:
        return self._start + (_time.monotonic() - self._origin) * self.speed

    def monotonic(self) -> float:
        return self.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)


class SimClock:
    """A clock that moves only when told to.

    ``sleep(s)`` parks the caller until ``advance()`` or ``advance_to()`` moves time to its
    deadline; a zero or negative sleep yields once and returns. ``next_deadline()`` tells a driver
    (a backtest runner, a test) where the earliest sleeper wakes.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._sleeper_waiters: list[asyncio.Future[None]] = []
        self._holds = 0
        self._release_waiters: list[asyncio.Future[None]] = []

    def time(self) -> float:
        return self._now

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Keep time still while a task waits on work outside the event loop (a thread), which
        a driver would otherwise take for idleness; see ``held``."""
        self._holds += 1
        try:
            yield
        finally:
            self._holds -= 1
            if not self._holds and self._release_waiters:
                waiters, self._release_waiters = self._release_waiters, []
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)

    @property
    def held(self) -> bool:
        """True while somebody is inside ``hold()``: time must not jump."""
        return self._holds > 0

    def released(self) -> asyncio.Future[None]:
        """A future done once nobody is inside ``hold()`` (at once when nobody is): a driver
        waits on it rather than spinning the loop, so the thread it waits for gets the GIL."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._holds:
            self._release_waiters.append(future)
        else:
            future.set_result(None)
        return future

    def monotonic(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._seq), future))
        if self._sleeper_waiters:
            for waiter in self._sleeper_waiters:
                if not waiter.done():
                    waiter.set_result(None)
            self._sleeper_waiters.clear()
        await future

    async def sleeper_added(self) -> None:
        """Return once somebody starts a sleep (a driver waits here when nobody sleeps)."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleeper_waiters.append(waiter)
        await waiter

    @property
    def sleepers(self) -> int:
        """How many sleeps are pending (cancelled ones included until their deadline passes)."""
        return sum(1 for _, _, f in self._sleepers if not f.done())

    def next_deadline(self) -> float | None:
        """The earliest pending deadline, or None when nobody sleeps."""
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` and wake every sleeper whose deadline has come."""
        if seconds < 0:
            raise ValueError(f"time cannot go back (advance by {seconds})")
        self.advance_to(self._now + seconds)

    def advance_to(self, when: float) -> None:
        """Move time to ``when`` (never backwards) and wake the sleepers due by then."""
        if when < self._now:
            raise ValueError(f"time cannot go back ({when} < {self._now})")
        self._now = when
        while self._sleepers and self._sleepers[0][0] <= when:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)
