from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from trading_engine.clock import SimClock
from trading_engine.errors import ServiceStateError
from trading_engine.runtime import Channel, Receiver, Sender, Service, ServiceState

Settle = Callable[[], Awaitable[None]]
Drive = Callable[[SimClock, Callable[[], bool]], Awaitable[None]]


def state(service: Service) -> ServiceState:
    """The state, read through a call so that mypy does not narrow it between two awaits."""
    return service.state


class Recorder(Service):
    """Records its hooks; ``run`` waits for ``finish`` and then returns or raises ``fail_with``."""

    def __init__(self, name: str = "rec", *, clock: SimClock | None = None) -> None:
        super().__init__(name, clock=clock)
        self.calls: list[str] = []
        self.finish = asyncio.Event()
        self.fail_with: Exception | None = None
        self.start_error: Exception | None = None

    async def on_start(self) -> None:
        self.calls.append("on_start")
        if self.start_error is not None:
            raise self.start_error

    async def run(self) -> None:
        self.calls.append("run")
        try:
            await self.finish.wait()
        except asyncio.CancelledError:
            self.calls.append("cancelled")
            raise
        if self.fail_with is not None:
            raise self.fail_with

    async def on_stop(self) -> None:
        self.calls.append("on_stop")


async def test_start_returns_ready_and_stop_runs_the_hooks_in_order(settle: Settle) -> None:
    service = Recorder()
    assert state(service) is ServiceState.INITIALIZING
    await service.start()
    assert state(service) is ServiceState.RUNNING
    await settle()
    assert service.calls == ["on_start", "run"]
    await service.stop()
    assert service.calls == ["on_start", "run", "cancelled", "on_stop"]
    assert state(service) is ServiceState.STOPPED
    assert service.error is None
    await service.wait()  # a stopped service waits no more and raises nothing


async def test_run_returning_stops_the_service_normally() -> None:
    service = Recorder()
    await service.start()
    service.finish.set()
    await service.wait()
    assert state(service) is ServiceState.STOPPED
    assert service.calls == ["on_start", "run", "on_stop"]


async def test_wait_reraises_the_error_that_failed_run() -> None:
    service = Recorder()
    await service.start()
    service.fail_with = RuntimeError("boom")
    service.finish.set()
    with pytest.raises(RuntimeError, match="boom"):
        await service.wait()
    assert state(service) is ServiceState.FAILED
    assert service.calls[-1] == "on_stop"  # resources are released after a crash too
    assert service.health()["error"] == "RuntimeError('boom')"


async def test_start_up_error_reaches_the_caller_and_fails_the_service() -> None:
    service = Recorder()
    service.start_error = ConnectionError("no terminal")
    tasks_before = asyncio.all_tasks()
    with pytest.raises(ConnectionError, match="no terminal"):
        await service.start()
    assert state(service) is ServiceState.FAILED
    assert service.calls == ["on_start"]  # neither run nor on_stop
    assert asyncio.all_tasks() == tasks_before


async def test_start_twice_or_after_stop_raises_service_state_error() -> None:
    service = Recorder()
    await service.start()
    with pytest.raises(ServiceStateError, match="cannot start: it is running"):
        await service.start()
    await service.stop()
    with pytest.raises(ServiceStateError, match="cannot start: it is stopped"):
        await service.start()
    never_started = Recorder()
    await never_started.stop()
    assert state(never_started) is ServiceState.STOPPED
    with pytest.raises(ServiceStateError):
        await never_started.start()


async def test_wait_before_start_raises_service_state_error() -> None:
    with pytest.raises(ServiceStateError, match="not started"):
        await Recorder().wait()


async def test_stop_is_idempotent() -> None:
    service = Recorder()
    await service.start()
    await service.stop()
    await service.stop()
    assert service.calls.count("on_stop") == 1


class Stubborn(Service):
    """Ignores the first cancellation until ``release`` is set."""

    def __init__(self, clock: SimClock) -> None:
        super().__init__("stubborn", clock=clock)
        self.release = asyncio.Event()

    async def run(self) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await self.release.wait()  # swallows the cancellation


async def test_service_ignoring_cancellation_is_abandoned_after_the_timeout_with_an_error_logged(
    clock: SimClock, drive: Drive, log_messages: list[str]
) -> None:
    service = Stubborn(clock)
    await service.start()
    stopping = asyncio.create_task(service.stop(timeout=5.0))
    await drive(clock, stopping.done)
    assert clock.time() == 1_005.0
    assert state(service) is ServiceState.FAILED
    assert isinstance(service.error, TimeoutError)
    expected = "ERROR service 'stubborn' ignored cancellation for 5.0 s"
    assert any(m.startswith(expected) for m in log_messages)
    service.release.set()  # let the abandoned task end so the test leaves nothing behind
    await asyncio.wait([t for t in asyncio.all_tasks() if t.get_name() == "service:stubborn"])
    assert state(service) is ServiceState.FAILED


async def test_degraded_state_is_reported_and_can_recover(log_messages: list[str]) -> None:
    service = Recorder()
    await service.start()
    service.set_degraded("terminal slow")
    assert state(service) is ServiceState.DEGRADED
    assert service.health()["degraded_reason"] == "terminal slow"
    service.set_healthy()
    assert state(service) is ServiceState.RUNNING
    assert service.health()["degraded_reason"] is None
    await service.stop()
    assert "WARNING service 'rec' degraded: terminal slow" in log_messages


async def test_cancelling_the_owner_stops_the_service(settle: Settle) -> None:
    service = Recorder()
    tasks_before = asyncio.all_tasks()
    task = asyncio.create_task(service.serve())
    await settle()
    assert state(service) is ServiceState.RUNNING
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert state(service) is ServiceState.STOPPED
    assert service.calls[-1] == "on_stop"
    assert asyncio.all_tasks() == tasks_before


async def test_cancelling_a_task_blocked_in_wait_leaves_the_service_running(
    settle: Settle,
) -> None:
    service = Recorder()
    await service.start()
    waiter = asyncio.create_task(service.wait())
    await settle()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert state(service) is ServiceState.RUNNING
    await service.stop()


async def test_serve_returns_when_run_ends_and_reraises_its_error() -> None:
    service = Recorder()
    service.fail_with = RuntimeError("boom")
    service.finish.set()
    with pytest.raises(RuntimeError, match="boom"):
        await service.serve()
    assert state(service) is ServiceState.FAILED


async def test_stop_while_starting_makes_start_raise_and_leaves_no_task(settle: Settle) -> None:
    gate = asyncio.Event()

    class SlowStart(Recorder):
        async def on_start(self) -> None:
            await gate.wait()

    service = SlowStart()
    tasks_before = asyncio.all_tasks()
    starting = asyncio.create_task(service.start())
    await settle()
    assert state(service) is ServiceState.STARTING
    await service.stop()
    with pytest.raises(ServiceStateError, match="stopped while starting"):
        await starting
    assert state(service) is ServiceState.STOPPED
    assert service.calls == []
    assert asyncio.all_tasks() == tasks_before


async def test_on_stop_error_fails_a_service_that_otherwise_stopped_cleanly(
    log_messages: list[str],
) -> None:
    class BadRelease(Recorder):
        async def on_stop(self) -> None:
            raise OSError("disk gone")

    service = BadRelease()
    await service.start()
    await service.stop()
    assert state(service) is ServiceState.FAILED
    assert isinstance(service.error, OSError)
    assert any("on_stop raised OSError('disk gone')" in m for m in log_messages)


class Doubler(Service):
    def __init__(self, inbox: Receiver[int], outbox: Sender[int]) -> None:
        super().__init__("doubler")
        self._inbox, self._outbox = inbox, outbox

    async def run(self) -> None:
        async for x in self._inbox:
            await self._outbox.send(2 * x)
        self._outbox.close()


async def test_a_service_between_two_channels_processes_until_its_input_closes() -> None:
    inbox, outbox = Channel[int]("in", 2), Channel[int]("out", 2)
    async with Doubler(inbox.receiver, outbox.sender) as doubler:
        results: list[int] = []
        for i in range(5):
            await inbox.send(i)
            results.append(await outbox.receive())
        inbox.close()
        await doubler.wait()
        assert [x async for x in outbox] == []
    assert results == [0, 2, 4, 6, 8]
    assert state(doubler) is ServiceState.STOPPED
    assert doubler.metrics() == {"name": "doubler", "state": "stopped"}


async def test_stop_while_on_stop_runs_after_a_crash_waits_without_interrupting_it(
    settle: Settle,
) -> None:
    gate = asyncio.Event()

    class SlowRelease(Recorder):
        async def on_stop(self) -> None:
            await gate.wait()
            self.calls.append("released")

    service = SlowRelease()
    await service.start()
    service.fail_with = RuntimeError("boom")
    service.finish.set()
    await settle()
    assert state(service) is ServiceState.STOPPING  # run crashed, on_stop is waiting on the gate
    stopping = asyncio.create_task(service.stop())
    await settle()
    assert not stopping.done()
    gate.set()
    await stopping
    assert service.calls[-1] == "released"
    assert state(service) is ServiceState.FAILED
    assert isinstance(service.error, RuntimeError)
