"""Helpers for the port tests: a simulated terminal on a SimClock, and a clock driver."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from trading_engine import mt5sim
from trading_engine.clock import SimClock
from trading_engine.terminal import PortSettings, TerminalPort

T = TypeVar("T")

START = datetime(2026, 11, 4, 10, 0, tzinfo=UTC).timestamp()  # a Wednesday, market open
SEED = 7


async def settle() -> None:
    """Let every runnable task run until all of them wait on something."""
    loop = asyncio.get_running_loop()
    for _ in range(10_000):
        await asyncio.sleep(0)
        if not loop._ready:  # type: ignore[attr-defined]  # private, but exact
            return
    raise AssertionError("the event loop never settled")


async def drive(
    clock: SimClock, work: Awaitable[T], waits: list[float] | None = None
) -> tuple[T, list[float]]:
    """Run ``work``, jumping the clock to each sleeper's deadline; return its result and waits.

    The waits are also appended to ``waits`` when given, so they survive ``work`` raising.
    """
    task = asyncio.ensure_future(work)
    waits = [] if waits is None else waits
    for _ in range(10_000):
        await settle()
        if task.done():
            return task.result(), waits
        deadline = clock.next_deadline()
        if deadline is None:
            raise AssertionError("work is blocked and nobody sleeps")
        waits.append(deadline - clock.time())
        clock.advance_to(deadline)
    raise AssertionError("work never finished")


class Rig:
    """A SimClock, a simulated terminal on it and a port to that terminal."""

    def __init__(self, config: mt5sim.SimConfig | None = None, **settings: Any) -> None:
        self.clock = SimClock(START)
        self.sim = mt5sim.Terminal(config or mt5sim.SimConfig(), clock=self.clock.time)
        values: dict[str, Any] = {
            "backoff_base": 0.5,
            "backoff_cap": 4.0,
            "reconnect_attempts": 4,
        }
        values.update(settings)
        self.settings = PortSettings(**values)
        self.port = TerminalPort(
            self.sim,
            clock=self.clock,
            settings=self.settings,
            in_process=True,
            rng=random.Random(SEED),
        )

    def expected_waits(self, attempts: range) -> list[float]:
        """The backoff delays the port must draw for these attempt numbers (same seed)."""
        from trading_engine.runtime.backoff import Backoff

        rng = random.Random(SEED)
        backoff = Backoff(self.settings.backoff_base, self.settings.backoff_cap)
        return [backoff.delay(k, rng) for k in attempts]


@pytest.fixture
async def rig() -> Rig:
    r = Rig()
    await r.port.connect()
    return r
