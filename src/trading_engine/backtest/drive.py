"""Driving the engine's coroutines without an event loop (the backtest's "terminal lane").

Every await of the execution path (``Trader``, ``TerminalPort``) bottoms out in a terminal call
or a clock sleep. With the in-process simulator the port calls the terminal directly, and with an
:class:`InstantClock` a sleep moves simulated time at once: such a coroutine never suspends, so
:func:`drive` runs it to completion with one ``send(None)``. Live, the same coroutines run on the
event loop, where the port puts each terminal call on its one lane (a worker thread with a
timeout). One code path, two drivers; :func:`drive` raises if a coroutine does suspend, so a
backtest can never silently depend on the event loop.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

from trading_engine.clock import SimClock

__all__ = ["InstantClock", "drive"]

T = TypeVar("T")


class InstantClock(SimClock):
    """A ``SimClock`` whose ``sleep`` moves time forward at once instead of waiting."""

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds)


def drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro``, which must complete without suspending; its result."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("a coroutine of the backtest suspended (it needs an event loop)")
