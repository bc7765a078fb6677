"""``Supervisor``: restarts crashed services the Erlang/OTP way, with a budget and backoff.

A supervisor is itself a ``Service`` (so supervisors nest). It starts its children in order, each
fully started before the next, and stops them in reverse order. When a child's ``run()`` ends:

- returned normally: a ``permanent`` child is restarted (this counts in the budget); a
  ``transient`` or ``temporary`` one has ended for good.
- raised ``FatalError`` (or another of the ``fatal`` types): no restart. Every child is stopped
  (reverse order) and the supervisor fails with that error, so ``wait()`` re-raises it to the
  owner (a parent does the same).
- raised ``TransientError``: a transient failure escaped the service's own retries. The child is
  restarted (unless ``temporary``) after its backoff *without* using the restart budget, since it
  is not a crash; the growing backoff still bounds the rate.
- raised anything else: a crash. A ``temporary`` child ends; others are restarted if the budget
  allows, else every child is stopped (reverse order) and ``wait()`` raises
  ``SupervisorGaveUp(name, cause)``. A parent supervisor treats that as a crash of its child.

What is restarted depends on the strategy: ``one_for_one`` the child alone; ``rest_for_one`` the
child and every child after it (the pipeline); ``one_for_all`` every child (a session group).
Siblings in that group are stopped first, in reverse order; ``temporary`` siblings stopped this
way end for good (as in OTP). Then the supervisor waits ``Backoff.delay(k)`` seconds of its clock,
``k`` counting the crashed child's failures and reset to 0 when it had run ``stable_window``
seconds, and starts the group in order from fresh instances built by each spec's ``factory``. A
child that fails to start during a restart counts as a crash of that child and is retried after
its own backoff; the children after it wait. Exits are handled one at a time, in arrival order.

While children wait for their restart the supervisor is DEGRADED (reason: who is restarting).
When every child has ended for good, ``run()`` returns and the supervisor stops normally (a
finished backtest). ``stop()`` on the supervisor stops the children in reverse order, each within
its ``shutdown_timeout``; a child still running after it is abandoned with an error logged.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from loguru import logger

from trading_engine.clock import Clock
from trading_engine.errors import FatalError, ServiceStateError, SupervisorGaveUp, TransientError
from trading_engine.runtime.backoff import Backoff, BackoffTracker, RestartBudget
from trading_engine.runtime.service import Service, ServiceState

__all__ = ["ChildSpec", "RestartPolicy", "Strategy", "Supervisor"]

RestartPolicy = Literal["permanent", "transient", "temporary"]
Strategy = Literal["one_for_one", "rest_for_one", "one_for_all"]

_POLICIES = ("permanent", "transient", "temporary")
_STRATEGIES = ("one_for_one", "rest_for_one", "one_for_all")


@dataclass
class ChildSpec:
    """How to build and look after one child.

    ``factory`` builds a fresh, unstarted service for every start. ``restart``: ``permanent``
    (always restarted), ``transient`` (restarted only after an abnormal exit), ``temporary`` (never
    restarted). ``shutdown_timeout``: seconds the child gets to stop before it is abandoned
    (``None``: no limit, the usual choice for a nested supervisor).
    """

    name: str
    factory: Callable[[], Service]
    restart: RestartPolicy = "permanent"
    shutdown_timeout: float | None = 5.0
    progress: Callable[[], int] | None = None
    """Units of work the child has done so far (e.g. messages taken from its input), kept outside
    the instances. A crash after at most one unit since the child (re)started made no progress:
    it crashed on the unit it took (see ``Supervisor``'s ``max_stalled_crashes``)."""

    def __post_init__(self) -> None:
        if self.restart not in _POLICIES:
            raise ValueError(f"child {self.name!r}: unknown restart policy {self.restart!r}")
        if self.shutdown_timeout is not None and not self.shutdown_timeout >= 0.0:
            raise ValueError(f"child {self.name!r}: shutdown_timeout must be >= 0 or None")


class _Child:
    """The supervisor's record of one child across its instances."""

    __slots__ = (
        "ended",
        "expected_exit",
        "instance",
        "last_error",
        "last_error_at",
        "progress_at_start",
        "restarts",
        "spec",
        "stalled",
        "started_at",
        "tracker",
        "waiting",
    )

    def __init__(self, spec: ChildSpec, tracker: BackoffTracker) -> None:
        self.spec = spec
        self.tracker = tracker
        self.instance: Service | None = None
        self.ended = False  # will not be restarted (until restart_child)
        self.expected_exit = False  # the supervisor is stopping the current instance
        self.waiting = False  # stopped, waiting for its backoff to elapse
        self.restarts = 0
        self.started_at = 0.0  # the supervisor's clock.monotonic() when the instance was ready
        self.last_error: BaseException | None = None
        self.last_error_at: float | None = None
        self.progress_at_start = 0
        self.stalled = 0  # crashes in a row without progress

    def live(self) -> bool:
        return self.instance is not None and not self.instance.done()

    def report(self) -> dict[str, Any]:
        instance = self.instance
        entry: dict[str, Any] = {
            "state": "restarting"
            if self.waiting
            else (instance.state.value if instance is not None else "not started"),
            "restart": self.spec.restart,
            "restarts": self.restarts,
            "backoff": self.tracker.current,
            "attempt": self.tracker.attempt,
            "last_error": repr(self.last_error) if self.last_error is not None else None,
            "last_error_at": self.last_error_at,
        }
        if isinstance(instance, Supervisor):
            entry["children"] = instance.health()["children"]
        return entry


_WELL = (ServiceState.RUNNING, ServiceState.STOPPED)
"""Child states a health check does not warn about."""


class Supervisor(Service):
    """Starts, watches and restarts child services; see the module docstring for the rules.

    ``intensity`` restarts in ``period`` seconds form the budget; ``backoff`` and ``stable_window``
    shape the waits between restarts; ``clock`` measures every wait and time; ``rng`` draws the
    jitter (seed it for reproducible runs).
    """

    def __init__(
        self,
        name: str,
        children: Sequence[ChildSpec],
        *,
        strategy: Strategy = "one_for_one",
        intensity: int = 5,
        period: float = 60.0,
        backoff: Backoff = Backoff(0.5, 30.0),  # noqa: B008  (frozen, so sharing it is safe)
        stable_window: float = 60.0,
        max_stalled_crashes: int | None = None,
        fatal: tuple[type[BaseException], ...] = (FatalError,),
        clock: Clock,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(name, clock=clock)
        self.max_stalled_crashes = max_stalled_crashes
        self.fatal = fatal
        if strategy not in _STRATEGIES:
            raise ValueError(f"supervisor {name!r}: unknown strategy {strategy!r}")
        names = [spec.name for spec in children]
        if len(set(names)) != len(names):
            raise ValueError(f"supervisor {name!r}: child names repeat: {names}")
        self.strategy: Strategy = strategy
        self.backoff = backoff
        self.stable_window = stable_window
        self._budget = RestartBudget(intensity, period)
        self._rng = rng if rng is not None else random.Random()
        self._children = [_Child(spec, BackoffTracker(backoff, stable_window)) for spec in children]
        self._by_name = {child.spec.name: child for child in self._children}
        self._exits: deque[tuple[_Child, Service]] = deque()
        self._exit_waiter: asyncio.Future[None] | None = None
        self._lock = asyncio.Lock()
        self._restarts_total = 0

    # -- public -----------------------------------------------------------------------------

    def child(self, name: str) -> Service:
        """The current instance of child ``name`` (``KeyError`` if there is no such child)."""
        instance = self._by_name[name].instance
        if instance is None:
            raise ServiceStateError(f"supervisor {self.name!r}: child {name!r} was never started")
        return instance

    async def restart_child(self, name: str) -> None:
        """Stop child ``name`` (if running) and start a fresh instance now: no backoff, no budget.

        A start-up error of the new instance reaches the caller; the child then stays down.
        """
        record = self._by_name[name]
        async with self._lock:
            if self.state not in (ServiceState.RUNNING, ServiceState.DEGRADED):
                raise ServiceStateError(
                    f"supervisor {self.name!r} is {self.state.value}: cannot restart {name!r}"
                )
            await self._stop_child(record)
            logger.info("supervisor {!r}: restarting child {!r} on request", self.name, name)
            record.ended = True  # stays down if the start fails
            await self._start_child(record)
            record.ended = False
            record.restarts += 1
            self._restarts_total += 1

    def health(self) -> dict[str, Any]:
        """Own state, and each child's state, restart count, backoff, last error and its time."""
        report = super().health()
        report.update(
            strategy=self.strategy,
            restarts=self._restarts_total,
            budget={
                "intensity": self._budget.intensity,
                "period": self._budget.period,
                "used": self._budget.used(self.clock.monotonic()),
            },
            children={child.spec.name: child.report() for child in self._children},
        )
        return report

    def unhealthy(self) -> dict[str, dict[str, Any]]:
        """The report (as in ``health()``) of each child neither running nor stopped; cheap when
        every child is well (a health check's usual case: no report is built)."""
        out: dict[str, dict[str, Any]] = {}
        for child in self._children:
            instance = child.instance
            if not child.waiting and instance is not None and instance.state in _WELL:
                continue
            out[child.spec.name] = child.report()
        return out

    def metrics(self) -> dict[str, Any]:
        """Restart counters, and each child's state, restarts, backoff and own metrics."""
        report = super().metrics()
        report["restarts"] = self._restarts_total
        report["children"] = {
            child.spec.name: {
                "state": child.report()["state"],
                "restarts": child.restarts,
                "backoff": child.tracker.current,
                "metrics": child.instance.metrics() if child.instance is not None else {},
            }
            for child in self._children
        }
        return report

    # -- lifecycle hooks --------------------------------------------------------------------

    async def on_start(self) -> None:
        """Start the children in order; if one fails, stop the others (reverse) and re-raise."""
        for child in self._children:
            try:
                await self._start_child(child)
            except BaseException:
                await self._stop_all()
                raise

    async def run(self) -> None:
        """Handle child exits until every child has ended for good."""
        while True:
            async with self._lock:
                if all(child.ended for child in self._children):
                    logger.info("supervisor {!r}: every child has ended", self.name)
                    return
            child, instance = await self._next_exit()
            async with self._lock:
                if instance is child.instance and not child.expected_exit:
                    await self._handle_exit(child, instance)

    async def on_stop(self) -> None:
        """Stop every child in reverse start order."""
        await self._stop_all()

    # -- internals --------------------------------------------------------------------------

    def _on_exit(self, child: _Child, instance: Service) -> None:
        self._exits.append((child, instance))
        waiter = self._exit_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _next_exit(self) -> tuple[_Child, Service]:
        while not self._exits:
            self._exit_waiter = asyncio.get_running_loop().create_future()
            await self._exit_waiter
        return self._exits.popleft()

    async def _start_child(self, child: _Child) -> None:
        child.expected_exit = False
        child.waiting = False
        instance = child.spec.factory()
        child.instance = instance
        if child.spec.progress is not None:
            child.progress_at_start = child.spec.progress()
        await instance.start()
        child.started_at = self.clock.monotonic()
        instance.add_done_callback(lambda service: self._on_exit(child, service))

    async def _stop_child(self, child: _Child) -> None:
        instance = child.instance
        if instance is None or instance.done():
            return
        child.expected_exit = True
        await instance.stop(child.spec.shutdown_timeout, clock=self.clock)

    async def _stop_all(self) -> None:
        for child in reversed(self._children):
            await self._stop_child(child)

    async def _handle_exit(self, child: _Child, instance: Service) -> None:
        error = instance.error
        now = self.clock.monotonic()
        uptime = now - child.started_at  # on our clock: the child's may be another
        name = child.spec.name
        if error is None:
            if child.spec.restart != "permanent":
                logger.info("supervisor {!r}: child {!r} finished", self.name, name)
                child.ended = True
                return
            logger.warning("supervisor {!r}: permanent child {!r} returned", self.name, name)
        elif not self._failure_needs_restart(child, error):
            return
        counted = not isinstance(error, TransientError)
        if counted:
            self._charge_budget(child, error, now)
            self._check_progress(child, error)
        delay = child.tracker.failed(uptime, self._rng)
        group = self._restart_group(child)
        for sibling in reversed(group):
            if sibling is not child:
                await self._stop_child(sibling)
        group = [sibling for sibling in group if not sibling.ended]
        for sibling in group:
            sibling.waiting = True
        logger.warning(
            "supervisor {!r}: restarting {} in {:.3f} s ({}, {})",
            self.name,
            [sibling.spec.name for sibling in group],
            delay,
            self.strategy,
            "counted" if counted else "transient, not counted",
        )
        self.set_degraded(f"restarting {', '.join(sibling.spec.name for sibling in group)}")
        await self.clock.sleep(delay)
        await self._start_group(group)
        self.set_healthy()

    def _failure_needs_restart(self, child: _Child, error: BaseException) -> bool:
        """Record a child's error; False when it must not be restarted (fatal raises)."""
        name = child.spec.name
        child.last_error = error
        child.last_error_at = self.clock.time()
        if isinstance(error, self.fatal):
            logger.error(
                "supervisor {!r}: child {!r} hit a fatal error: {!r}", self.name, name, error
            )
            raise error
        if child.spec.restart == "temporary":
            logger.warning(
                "supervisor {!r}: temporary child {!r} failed, not restarted: {!r}",
                self.name,
                name,
                error,
            )
            child.ended = True
            return False
        logger.warning("supervisor {!r}: child {!r} failed: {!r}", self.name, name, error)
        return True

    def _charge_budget(self, child: _Child, error: BaseException | None, now: float) -> None:
        if self._budget.record(now):
            return
        logger.error(
            "supervisor {!r}: more than {} restarts in {} s (last: {!r} {!r}); giving up",
            self.name,
            self._budget.intensity,
            self._budget.period,
            child.spec.name,
            error,
        )
        raise SupervisorGaveUp(self.name, error) from error

    def _check_progress(self, child: _Child, error: BaseException | None) -> None:
        """Give up after ``max_stalled_crashes`` crashes in a row of a child that made no progress
        in between: a service that crashes on every message never exhausts a budget per period
        when messages come slower than the budget's rate (one bar a minute, 5 per 60 s)."""
        progress = child.spec.progress
        if progress is None or self.max_stalled_crashes is None:
            return
        done = progress() - child.progress_at_start
        child.stalled = child.stalled + 1 if done <= 1 else 0
        if child.stalled <= self.max_stalled_crashes:
            return
        logger.error(
            "supervisor {!r}: child {!r} crashed {} times in a row without progress (last: {!r});"
            " giving up",
            self.name,
            child.spec.name,
            child.stalled,
            error,
        )
        raise SupervisorGaveUp(self.name, error) from error

    def _restart_group(self, child: _Child) -> list[_Child]:
        """The children that the strategy takes down with ``child``, in start order.

        Temporary siblings among them are marked ended: they are stopped, never restarted (OTP).
        """
        if self.strategy == "one_for_one":
            group = [child]
        elif self.strategy == "rest_for_one":
            group = self._children[self._children.index(child) :]
        else:
            group = list(self._children)
        group = [sibling for sibling in group if sibling is child or not sibling.ended]
        for sibling in group:
            if sibling is not child and sibling.spec.restart == "temporary":
                sibling.ended = True
        return group

    async def _start_group(self, group: list[_Child]) -> None:
        """Start ``group`` in order; a child failing to start is retried after its own backoff."""
        queue = deque(group)
        while queue:
            sibling = queue[0]
            try:
                await self._start_child(sibling)
            except Exception as exc:
                sibling.waiting = False
                if not self._failure_needs_restart(sibling, exc):
                    queue.popleft()
                    continue
                if not isinstance(exc, TransientError):
                    self._charge_budget(sibling, exc, self.clock.monotonic())
                delay = sibling.tracker.failed(0.0, self._rng)
                sibling.waiting = True
                logger.warning(
                    "supervisor {!r}: child {!r} failed to start; retrying in {:.3f} s",
                    self.name,
                    sibling.spec.name,
                    delay,
                )
                await self.clock.sleep(delay)
                continue
            sibling.restarts += 1
            self._restarts_total += 1
            queue.popleft()
