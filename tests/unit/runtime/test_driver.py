import asyncio
import time

from trading_engine.clock import SimClock
from trading_engine.runtime.driver import SimClockDriver


async def test_driver_advances_only_when_every_task_waits() -> None:
    clock = SimClock(start=100.0)
    seen: list[tuple[str, float]] = []
    queue: asyncio.Queue[float] = asyncio.Queue()

    async def producer() -> None:
        for _ in range(3):
            await clock.sleep(60)
            queue.put_nowait(clock.time())

    async def slow_consumer() -> None:
        for _ in range(3):
            stamp = await queue.get()
            for _ in range(20):  # many steps of work: time must not move meanwhile
                await asyncio.sleep(0)
            seen.append(("done", clock.time() - stamp))

    driver = SimClockDriver(clock, until=400.0)
    await asyncio.gather(producer(), slow_consumer(), driver.run())
    assert seen == [("done", 0.0)] * 3
    assert clock.time() == 400.0
    assert driver.steps == 3


async def test_driver_without_end_waits_for_the_next_sleeper() -> None:
    clock = SimClock(start=0.0)
    task = asyncio.create_task(SimClockDriver(clock).run())
    for _ in range(5):
        await asyncio.sleep(0)
    assert clock.time() == 0.0
    assert not task.done()
    await clock.sleep(5)
    assert clock.time() == 5.0
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_driver_with_end_stops_there_when_nobody_sleeps() -> None:
    clock = SimClock(start=0.0)
    await SimClockDriver(clock, until=10.0).run()
    assert clock.time() == 10.0


async def test_a_cancelled_driver_leaves_another_one_able_to_advance() -> None:
    first, second = SimClock(start=0.0), SimClock(start=0.0)
    cancelled = asyncio.create_task(SimClockDriver(first).run())
    for _ in range(3):
        await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.gather(cancelled, return_exceptions=True)
    driver = asyncio.create_task(SimClockDriver(second).run())
    await second.sleep(30)  # returns only if the remaining driver still sees the loop as idle
    assert second.time() == 30.0
    assert first.time() == 0.0
    driver.cancel()
    await asyncio.gather(driver, return_exceptions=True)


async def test_driver_keeps_time_still_while_held_and_waits_without_spinning() -> None:
    clock = SimClock(start=0.0)
    loop = asyncio.get_running_loop()
    iterations = 0
    run_once = loop._run_once  # type: ignore[attr-defined]

    def counted() -> None:
        nonlocal iterations
        iterations += 1
        run_once()

    loop._run_once = counted  # type: ignore[attr-defined]
    seen: list[float] = []

    async def writer() -> None:  # waits on a thread, as the journal writer's awaited commits
        with clock.hold():
            before = iterations
            await asyncio.to_thread(time.sleep, 0.1)
            seen.append(iterations - before)
            seen.append(clock.time())

    try:
        sleeper = asyncio.ensure_future(clock.sleep(60))
        await asyncio.sleep(0)
        await asyncio.gather(writer(), SimClockDriver(clock, until=60.0).run(), sleeper)
    finally:
        del loop._run_once  # type: ignore[attr-defined]
    spun, at_release = seen
    assert at_release == 0.0  # time stood still while held
    assert clock.time() == 60.0  # and moved once released
    assert spun < 20  # the loop slept in its selector: no busy loop for 100 ms


async def test_released_is_done_once_nobody_holds() -> None:
    clock = SimClock()
    assert clock.released().done()
    with clock.hold():
        with clock.hold():
            waiter = clock.released()
        assert not waiter.done()
    assert waiter.done()
