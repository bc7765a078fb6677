"""Helpers for the runtime tests: settle the event loop, drive a SimClock to a condition."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import pytest
from loguru import logger

from trading_engine.clock import SimClock

Settle = Callable[[], Awaitable[None]]
Drive = Callable[[SimClock, Callable[[], bool]], Awaitable[None]]


async def _settle() -> None:
    """Let every runnable task run until all of them wait on something (tests only)."""
    loop = asyncio.get_running_loop()
    for _ in range(10_000):
        await asyncio.sleep(0)
        if not loop._ready:  # type: ignore[attr-defined]  # private, but exact: nothing runnable
            return
    raise AssertionError("the event loop never settled")


async def _drive(clock: SimClock, until: Callable[[], bool]) -> None:
    """Settle; while ``until()`` is false, jump the clock to the next sleeper's deadline."""
    for _ in range(10_000):
        await _settle()
        if until():
            return
        deadline = clock.next_deadline()
        if deadline is None:
            raise AssertionError("stuck: the condition is false and nobody sleeps")
        clock.advance_to(deadline)
    raise AssertionError("the condition never became true")


@pytest.fixture
def settle() -> Settle:
    return _settle


@pytest.fixture
def drive() -> Drive:
    return _drive


@pytest.fixture
def clock() -> SimClock:
    return SimClock(start=1_000.0)


@pytest.fixture
def log_messages() -> Iterator[list[str]]:
    """Every message logged by trading_engine during the test, as ``LEVEL message``."""
    messages: list[str] = []
    logger.enable("trading_engine")
    sink = logger.add(lambda m: messages.append(f"{m.record['level'].name} {m.record['message']}"))
    try:
        yield messages
    finally:
        logger.remove(sink)
        logger.disable("trading_engine")
