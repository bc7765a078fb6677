"""``Service``: the lifecycle every engine component runs in, and its states.

A service is one asyncio task created by ``start()`` in the caller's event loop. The task runs
``on_start()``, then ``run()``, then ``on_stop()``; ``start()`` returns once ``on_start()`` has
finished, ``stop()`` cancels the task and waits for it (within a timeout, measured on a ``Clock``).
"""

from __future__ import annotations

import asyncio
import enum
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from loguru import logger

from trading_engine.clock import Clock, LiveClock
from trading_engine.errors import ServiceStateError

__all__ = ["Service", "ServiceState", "wait_task"]


class ServiceState(enum.Enum):
    """Where a service is in its life; see the diagram in ``Service``."""

    INITIALIZING = "initializing"
    STARTING = "starting"
    RUNNING = "running"
    DEGRADED = "degraded"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


_LIVE = (ServiceState.RUNNING, ServiceState.DEGRADED)


# ASYNC109: these timeouts are measured on the injected Clock, which asyncio.timeout cannot do.
async def wait_task(
    task: asyncio.Future[Any],
    timeout: float | None,  # noqa: ASYNC109
    clock: Clock,
) -> bool:
    """Wait until ``task`` is done or ``timeout`` seconds of ``clock`` time passed; True if done.

    Never raises the task's error and never cancels it. ``timeout=None`` waits without limit.
    """
    if task.done():
        return True
    if timeout is None:
        await asyncio.wait((task,))
        return True
    timer = asyncio.ensure_future(clock.sleep(timeout))
    try:
        await asyncio.wait((task, timer), return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not timer.done():
            timer.cancel()
            await asyncio.wait((timer,))
    return task.done()


class Service(ABC):
    """Base class of a long-running component: override ``run()``, and ``on_start``/``on_stop``.

    Hook order and states::

        INITIALIZING ──start()──► STARTING ── on_start() ──► RUNNING ⇄ DEGRADED ── run() ...
                                    │ on_start raised            │ run returned, raised, or
                                    ▼ (start() re-raises it)     │ was cancelled by stop()
                                  FAILED                         ▼
                                             STOPPING ── on_stop() ──► STOPPED, or FAILED
                                                                       (run or on_stop raised)

    - ``on_start()`` acquires resources and warms up; returning means ready. If it raises, the
      service is FAILED, ``start()`` re-raises the error and ``on_stop()`` is *not* called: an
      ``on_start`` that fails releases what it took itself.
    - ``run()`` is the main loop. Returning ends the service normally; raising makes it FAILED.
    - ``on_stop()`` releases; it runs once ``on_start()`` succeeded, however ``run()`` ended.
    - ``stop(timeout)`` cancels ``run()`` and waits for ``on_stop()``; a service still busy after
      ``timeout`` seconds is abandoned: an error is logged and the state is FAILED.
    - ``wait()`` returns when the service has ended and re-raises the error that ended it; it only
      observes: cancelling a task blocked in ``wait()`` leaves the service running.
    - The owner: ``async with service:`` starts it and stops it on exit, and ``serve()`` starts
      it, waits, and stops it on the way out; so cancelling the owner stops the service (for a
      supervisor, the whole tree).
    - ``start()`` twice or after ``stop()`` raises ``ServiceStateError``; ``stop()`` is idempotent.

    A subclass::

        class Doubler(Service):
            def __init__(self, inbox: Receiver[int], outbox: Sender[int], clock: Clock) -> None:
                super().__init__("doubler", clock=clock)
                self._inbox, self._outbox = inbox, outbox

            async def run(self) -> None:
                async for x in self._inbox:
                    await self._outbox.send(2 * x)
                self._outbox.close()
    """

    def __init__(self, name: str | None = None, *, clock: Clock | None = None) -> None:
        self.name: str = name if name is not None else type(self).__name__
        self.clock: Clock = clock if clock is not None else LiveClock()
        self._state = ServiceState.INITIALIZING
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self._degraded_reason: str | None = None
        self._stop_requested = False
        self._run_over = False  # run() has ended: on_stop() is running or done
        self._abandoned = False
        self._started_at: float | None = None

    # -- hooks ------------------------------------------------------------------------------

    async def on_start(self) -> None:  # noqa: B027  (an optional hook, empty on purpose)
        """Acquire resources and warm up; returning means ready. Default: nothing."""

    @abstractmethod
    async def run(self) -> None:
        """The main loop. Return to end normally; an exception fails the service."""

    async def on_stop(self) -> None:  # noqa: B027  (an optional hook, empty on purpose)
        """Release what ``on_start`` acquired. Default: nothing."""

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def state(self) -> ServiceState:
        """The current state."""
        return self._state

    @property
    def error(self) -> BaseException | None:
        """The exception that failed the service, if any."""
        return self._error

    @property
    def started_at(self) -> float | None:
        """``clock.monotonic()`` when ``run()`` began, None before."""
        return self._started_at

    def done(self) -> bool:
        """True once the service has ended (or was never started and is stopped)."""
        if self._task is None:
            return self._state in (ServiceState.STOPPED, ServiceState.FAILED)
        return self._task.done() or self._abandoned

    def add_done_callback(self, callback: Callable[[Service], object]) -> None:
        """Call ``callback(self)`` from the event loop once the service's task has ended."""
        if self._task is None:
            raise ServiceStateError(f"service {self.name!r} was not started")
        self._task.add_done_callback(lambda _task: callback(self))

    async def start(self) -> None:
        """Run ``on_start()`` and launch ``run()``; return once ready, re-raise a start-up error."""
        if self._state is not ServiceState.INITIALIZING:
            raise ServiceStateError(
                f"service {self.name!r} cannot start: it is {self._state.value}"
            )
        self._state = ServiceState.STARTING
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        task = loop.create_task(self._lifecycle(ready), name=f"service:{self.name}")
        self._task = task
        try:
            await ready
        except asyncio.CancelledError:
            # Our caller was cancelled while the service started: take the service down with it.
            task.cancel()
            await asyncio.wait((task,))
            raise
        except BaseException:
            await asyncio.wait((task,))
            raise

    async def stop(
        self,
        timeout: float | None = None,  # noqa: ASYNC109  (measured on a Clock)
        *,
        clock: Clock | None = None,
    ) -> None:
        """Cancel ``run()`` and wait for ``on_stop()``; abandon the task after ``timeout`` seconds.

        ``clock`` measures the timeout (default: the service's own). Idempotent.
        """
        task = self._task
        if task is None:
            if self._state is ServiceState.INITIALIZING:
                self._state = ServiceState.STOPPED
            return
        if task.done() or self._abandoned:
            return
        if not self._stop_requested and not self._run_over:
            task.cancel()  # once: a second cancel would interrupt on_stop()
        self._stop_requested = True
        if self._state in _LIVE:
            self._state = ServiceState.STOPPING
        if task is asyncio.current_task():
            return  # stop() called from run(): the cancellation lands at its next await
        if await wait_task(task, timeout, clock if clock is not None else self.clock):
            return
        self._abandoned = True
        self._state = ServiceState.FAILED
        self._error = TimeoutError(f"service {self.name!r} did not stop within {timeout} s")
        logger.error(
            "service {!r} ignored cancellation for {} s; abandoning its task {!r}",
            self.name,
            timeout,
            task.get_name(),
        )

    async def wait(self) -> None:
        """Wait until the service has ended; re-raise the error that failed it.

        Only observes: cancelling the waiting task does not touch the service.
        """
        task = self._task
        if task is None:
            raise ServiceStateError(f"service {self.name!r} was not started")
        if not task.done() and not self._abandoned:
            await asyncio.wait((task,))  # asyncio.wait never cancels what it waits for
        if self._error is not None:
            raise self._error

    async def serve(self) -> None:
        """Start, wait until the service ends, and stop it however the wait ends.

        The owner's form: cancelling the task that awaits ``serve()`` stops the service.
        """
        async with self:
            await self.wait()

    def set_degraded(self, reason: str) -> None:
        """Mark a running service as degraded (still working, not at full health)."""
        if self._state in _LIVE:
            if self._state is not ServiceState.DEGRADED or reason != self._degraded_reason:
                logger.warning("service {!r} degraded: {}", self.name, reason)
            self._state = ServiceState.DEGRADED
            self._degraded_reason = reason

    def set_healthy(self) -> None:
        """Return a degraded service to RUNNING."""
        if self._state is ServiceState.DEGRADED:
            logger.info("service {!r} recovered", self.name)
            self._state = ServiceState.RUNNING
            self._degraded_reason = None

    async def _lifecycle(self, ready: asyncio.Future[None]) -> None:
        """on_start, then run, then on_stop, with the state and error they leave."""
        if not await self._start(ready):
            return
        error, cancelled = await self._run_once()
        self._run_over = True
        if not self._abandoned:
            self._state = ServiceState.STOPPING
        try:
            await self.on_stop()
        except asyncio.CancelledError:
            logger.warning("service {!r}: on_stop was cancelled before it finished", self.name)
            cancelled = True
        except Exception as exc:
            logger.error("service {!r}: on_stop raised {!r}", self.name, exc)
            error = error or exc
        if not self._abandoned:
            self._error = error
            self._state = ServiceState.FAILED if error is not None else ServiceState.STOPPED
        if cancelled and not self._stop_requested:
            raise asyncio.CancelledError  # cancelled by someone else: end as cancelled

    async def _start(self, ready: asyncio.Future[None]) -> bool:
        """Run ``on_start`` and answer ``ready``; True when the service went on to run."""
        try:
            await self.on_start()
        except asyncio.CancelledError:
            self._state = ServiceState.STOPPED
            if not ready.done():
                ready.set_exception(
                    ServiceStateError(f"service {self.name!r} was stopped while starting")
                )
            if not self._stop_requested:
                raise
            return False
        except Exception as exc:
            self._state = ServiceState.FAILED
            self._error = exc
            if not ready.done():
                ready.set_exception(exc)
            return False
        if self._stop_requested:  # stop() arrived as on_start returned
            self._state = ServiceState.STOPPING
        else:
            self._state = ServiceState.RUNNING
        self._started_at = self.clock.monotonic()
        if not ready.done():
            ready.set_result(None)
        return True

    async def _run_once(self) -> tuple[BaseException | None, bool]:
        """Run ``run`` unless a stop came first: (the error it raised, whether it was cancelled)."""
        try:
            if not self._stop_requested:
                await self.run()
        except asyncio.CancelledError:
            if self._stop_requested:
                task = asyncio.current_task()
                if task is not None:
                    task.uncancel()
            return None, True
        except Exception as exc:
            return exc, False
        return None, False

    # -- observation ------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """State, degraded reason and error, for health endpoints."""
        return {
            "name": self.name,
            "state": self._state.value,
            "degraded_reason": self._degraded_reason,
            "error": repr(self._error) if self._error is not None else None,
        }

    def metrics(self) -> dict[str, Any]:
        """Numbers for metrics endpoints; subclasses extend the dict. Default: the state."""
        return {"name": self.name, "state": self._state.value}

    # -- async with -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self._state.value}>"
