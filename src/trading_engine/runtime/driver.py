"""Drive a ``SimClock`` as a discrete-event simulation.

Time jumps to the next sleeper's deadline whenever every other task of the event loop is waiting
(on a channel, an event or the clock itself). A backtest runs the live services unchanged this way,
as fast as the data allows: a service sleeping until the next bar close wakes only once the rest of
the pipeline has finished with the previous bar, so orders go out at the simulated time at which a
live engine would send them.

Only in-process work is seen: a task waiting on a worker thread or a wall-clock timer looks idle to
the driver, unless it waits inside ``SimClock.hold()`` (the journal writer's awaited commits do):
time then stands still until the wait is over, and the driver waits for its end (``released()``)
rather than spinning the loop, which would starve that thread of the GIL (a 5 ms switch interval
per hand-off). The simulated terminal is called in process, so
backtests qualify. A task that spins on ``asyncio.sleep(0)`` keeps the loop busy, so simulated
time stands still meanwhile.

Several drivers (engines, each with its own ``SimClock``) may share one loop: each counts the
others' parked wake-ups as idle, and each advances its own clock.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from typing import Any

from trading_engine.clock import SimClock

__all__ = ["SimClockDriver"]


class SimClockDriver:
    """Advance ``clock`` to the next deadline each time the loop has nothing else to run.

    With ``until``, ``run()`` returns once the next deadline lies beyond it, or once nobody sleeps
    and nothing runs, after moving the clock to ``until``. Without it, ``run()`` waits for the
    next sleeper and runs until cancelled. ``steps`` counts the jumps made.
    """

    def __init__(self, clock: SimClock, *, until: float | None = None) -> None:
        self.clock = clock
        self.until = until
        self.steps = 0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        ready = _ready_queue(loop)
        parked = _PARKED.setdefault(loop, _Parked())
        clock = self.clock
        finished: asyncio.Future[None] = loop.create_future()
        handle: asyncio.Handle | None = None
        waiter: asyncio.Future[None] | None = None

        def park(_: object = None) -> None:
            nonlocal handle
            parked.count += 1
            ready.append(again)
            handle = again

        def step() -> None:
            # A plain callback rather than a task (cheaper than a coroutine step), run once per
            # loop iteration while others work. Idle means: nothing runnable but other drivers,
            # parked like this one (each leaves one callback in the queue); counting them lets
            # several engines with their own SimClocks share a loop.
            nonlocal handle, waiter
            handle = None
            parked.count -= 1
            if len(ready) > parked.count:
                park()
                return
            if clock.held:  # a task waits on a thread: sleep in the selector until it is back
                waiter = clock.released()
                waiter.add_done_callback(park)
                return
            deadline = clock.next_deadline()
            if self.until is not None and (deadline is None or deadline > self.until):
                clock.advance_to(max(self.until, clock.time()))
                finished.set_result(None)
                return
            if deadline is None:
                waiter = asyncio.ensure_future(clock.sleeper_added())
                waiter.add_done_callback(park)
                return
            clock.advance_to(deadline)
            self.steps += 1
            park()

        # One handle, queued again each time: ``loop.call_soon`` would build a new one (and copy
        # the context) on every loop iteration, the driver's own cost per iteration.
        again = asyncio.Handle(step, (), loop)
        park()
        try:
            await finished
        finally:
            if handle is not None:  # parked: take this driver out of the count
                handle.cancel()
                parked.count -= 1
            if waiter is not None and not waiter.done():
                waiter.remove_done_callback(park)
                waiter.cancel()


class _Parked:
    """How many drivers of one loop are parked in their ``sleep(0)`` right now."""

    __slots__ = ("__weakref__", "count")

    def __init__(self) -> None:
        self.count = 0


_PARKED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Parked] = weakref.WeakKeyDictionary()


def _ready_queue(loop: asyncio.AbstractEventLoop) -> deque[Any]:
    """The loop's queue of runnable callbacks (CPython's default loops keep it in ``_ready``)."""
    ready = getattr(loop, "_ready", None)
    if not isinstance(ready, deque):
        raise RuntimeError("SimClockDriver needs a CPython asyncio event loop (not uvloop)")
    return ready
