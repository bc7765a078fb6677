from __future__ import annotations

import asyncio
import itertools
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from trading_engine.clock import SimClock
from trading_engine.errors import (
    DataIntegrityError,
    ServiceStateError,
    SupervisorGaveUp,
    TerminalConnectionError,
)
from trading_engine.runtime import (
    Backoff,
    Channel,
    ChildSpec,
    Receiver,
    Sender,
    Service,
    ServiceState,
    Supervisor,
)

Drive = Callable[[SimClock, Callable[[], bool]], Awaitable[None]]
Settle = Callable[[], Awaitable[None]]

# What one instance does, by step name: "run" (until stopped), "crash"/"exit"/"fatal"/"transient"
# after `after` seconds, "fail_start" (on_start raises), "stubborn" (ignores cancellation).
Step = tuple[str, float]


class Worker(Service):
    def __init__(self, name: str, step: Step, script: Script) -> None:
        super().__init__(name, clock=script.clock)
        self.step, self.script = step, script
        self.release = asyncio.Event()

    async def on_start(self) -> None:
        if self.step[0] == "fail_start":
            raise ConnectionError(f"{self.name} cannot start")
        self.script.log.append((self.script.clock.time(), f"start {self.name}"))

    async def run(self) -> None:
        kind, after = self.step
        if kind == "run":
            await asyncio.Event().wait()
        if kind == "stubborn":
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                await self.release.wait()
                return
        await self.clock.sleep(after)
        if kind == "crash":
            raise RuntimeError(f"{self.name} crashed")
        if kind == "fatal":
            raise DataIntegrityError(f"{self.name} saw a NaN price")
        if kind == "transient":
            raise TerminalConnectionError("IPC timeout")

    async def on_stop(self) -> None:
        self.script.log.append((self.script.clock.time(), f"stop {self.name}"))


@dataclass
class Script:
    clock: SimClock
    log: list[tuple[float, str]] = field(default_factory=list)
    plans: dict[str, deque[Step]] = field(default_factory=dict)
    instances: dict[str, list[Worker]] = field(default_factory=dict)

    def spec(self, name: str, *plan: Step, **options: object) -> ChildSpec:
        self.plans[name] = deque(plan)
        self.instances[name] = []

        def build() -> Service:
            steps = self.plans[name]
            worker = Worker(name, steps.popleft() if steps else ("run", 0.0), self)
            self.instances[name].append(worker)
            return worker

        return ChildSpec(name, build, **options)  # type: ignore[arg-type]

    def events(self) -> list[str]:
        return [event for _, event in self.log]


@pytest.fixture
def script(clock: SimClock) -> Script:
    return Script(clock)


def make(script: Script, *specs: ChildSpec, seed: int = 1, **options: object) -> Supervisor:
    return Supervisor(
        "sup",
        specs,
        clock=script.clock,
        rng=random.Random(seed),
        **options,  # type: ignore[arg-type]
    )


async def test_children_start_in_order_and_stop_in_reverse(script: Script) -> None:
    sup = make(script, script.spec("a"), script.spec("b"), script.spec("c"))
    await sup.start()
    assert script.events() == ["start a", "start b", "start c"]
    assert [sup.child(n).state for n in "abc"] == [ServiceState.RUNNING] * 3
    await sup.stop()
    assert script.events()[3:] == ["stop c", "stop b", "stop a"]
    assert sup.state is ServiceState.STOPPED


async def test_crashing_child_is_restarted_after_the_computed_delays(
    script: Script, clock: SimClock, drive: Drive
) -> None:
    backoff = Backoff(1.0, 30.0)
    sup = make(script, script.spec("a", *[("crash", 0.0)] * 4), seed=42, backoff=backoff)
    await sup.start()
    await drive(
        clock, lambda: len(script.instances["a"]) == 5 and sup.child("a").started_at is not None
    )
    rng = random.Random(42)
    expected = [backoff.delay(k, rng) for k in range(4)]
    starts = [t for t, e in script.log if e == "start a"]
    assert [b - a for a, b in itertools.pairwise(starts)] == pytest.approx(expected)
    health = sup.health()["children"]["a"]
    assert health["restarts"] == 4
    assert health["attempt"] == 4
    assert health["backoff"] == pytest.approx(expected[-1])
    assert health["last_error"] == "RuntimeError('a crashed')"
    assert health["last_error_at"] == pytest.approx(starts[-2])
    assert health["state"] == "running"
    await sup.stop()


async def test_backoff_attempt_resets_after_a_stable_run(
    script: Script, clock: SimClock, drive: Drive
) -> None:
    backoff = Backoff(1.0, 1_000.0)
    sup = make(
        script,
        script.spec("a", ("crash", 0.0), ("crash", 0.0), ("crash", 0.0), ("crash", 120.0)),
        backoff=backoff,
        stable_window=60.0,
        intensity=10,
    )
    await sup.start()
    await drive(clock, lambda: len(script.instances["a"]) == 4)
    assert sup.health()["children"]["a"]["attempt"] == 3
    await drive(clock, lambda: len(script.instances["a"]) == 5)
    health = sup.health()["children"]["a"]
    assert health["attempt"] == 1  # the 120 s run reset it before counting this failure
    assert health["backoff"] <= backoff.ceiling(0)
    await sup.stop()


async def test_budget_exceeded_stops_everything_in_reverse_order_and_raises_gave_up(
    script: Script, clock: SimClock, drive: Drive
) -> None:
    sup = make(
        script,
        script.spec("a"),
        script.spec("b", *[("crash", 1.0)] * 10),
        script.spec("c"),
        intensity=2,
        period=60.0,
    )
    await sup.start()
    waiting = asyncio.create_task(sup.wait())
    await drive(clock, waiting.done)
    with pytest.raises(SupervisorGaveUp) as caught:
        await waiting
    assert caught.value.supervisor == "sup"
    assert isinstance(caught.value.cause, RuntimeError)
    assert len(script.instances["b"]) == 3  # two restarts allowed, the third crash gives up
    assert script.events()[-2:] == ["stop c", "stop a"]
    assert sup.state is ServiceState.FAILED
    assert all(sup.child(n).state is ServiceState.STOPPED for n in "ac")


async def test_rest_for_one_restarts_the_crashed_child_and_those_after_it(
    script: Script, clock: SimClock, drive: Drive
) -> None:
    sup = make(
        script,
        script.spec("a"),
        script.spec("b", ("crash", 5.0)),
        script.spec("c"),
        script.spec("d"),
        strategy="rest_for_one",
    )
    await sup.start()
    first_a = sup.child("a")
    await drive(clock, lambda: len(script.instances["d"]) == 2)
    assert script.events()[4:] == ["stop b", "stop d", "stop c", "start b", "start c", "start d"]
    assert sup.child("a") is first_a
    assert [sup.health()["children"][n]["restarts"] for n in "abcd"] == [0, 1, 1, 1]
    await sup.stop()


async def test_one_for_all_restarts_every_child(
    script: Script, clock: SimClock, drive: Drive
) -> None:
    sup = make(
        script,
        script.spec("a"),
        script.spec("b", ("crash", 5.0)),
        script.spec("c"),
        strategy="one_for_all",
    )
    await sup.start()
    await drive(clock, lambda: len(script.instances["c"]) == 2)
    assert script.events()[3:] == ["stop b", "stop c", "stop a", "start a", "start b", "start c"]
    await sup.stop()


async def test_one_for_one_restarts_only_the_crashed_child(
    script: Script, clock: SimClock, drive: Drive
) -> None:
    sup = make(script, script.spec("a"), script.spec("b", ("crash", 5.0)), script.spec("c"))
    await sup.start()
    await drive(clock, lambda: len(script.instances["b"]) == 2)
    assert script.events()[3:] == ["stop b", "start b"]
    assert sup.state is ServiceState.RUNNING  # healthy again once the restart is done
    await sup.stop()


async def test_transient_errors_are_restarted_without_using_the_budget(
    script: Script, clock: SimClock, drive: Drive
) -> None:
    sup = make(script, script.spec("a", *[("transient", 1.0)] * 5), intensity=1)
    await sup.start()
    await drive(clock, lambda: len(script.instances["a"]) == 6)
    health = sup.health()
    assert sup.state is ServiceState.RUNNING
    assert health["budget"]["used"] == 0
    assert health["children"]["a"]["restarts"] == 5
    assert health["children"]["a"]["last_error"] == "TerminalConnectionError('IPC timeout')"
    await sup.stop()


async def test_fatal_error_is_not_restarted_and_stops_the_tree(
    script: Script, clock: SimClock, drive: Drive
) -> None:
    sup = make(script, script.spec("a"), script.spec("b", ("fatal", 2.0)), script.spec("c"))
    await sup.start()
    waiting = asyncio.create_task(sup.wait())
    await drive(clock, waiting.done)
    with pytest.raises(DataIntegrityError, match="NaN price"):
        await waiting
    assert len(script.instances["b"]) == 1
    assert script.events()[3:] == ["stop b", "stop c", "stop a"]
    assert sup.state is ServiceState.FAILED


async def test_restart_policies_decide_after_normal_and_abnormal_exits(
    script: Script, clock: SimClock, drive: Drive
) -> None:
    sup = make(
        script,
        script.spec("perm", ("exit", 1.0)),
        script.spec("trans_ok", ("exit", 1.0), restart="transient"),
        script.spec("trans_bad", ("crash", 1.0), restart="transient"),
        script.spec("temp", ("crash", 1.0), restart="temporary"),
        intensity=10,
    )
    await sup.start()
    await drive(clock, lambda: len(script.instances["perm"]) == 2)
    await drive(clock, lambda: len(script.instances["trans_bad"]) == 2)
    counts = {name: len(instances) for name, instances in script.instances.items()}
    assert counts == {"perm": 2, "trans_ok": 1, "trans_bad": 2, "temp": 1}
    children = sup.health()["children"]
    assert children["trans_ok"]["state"] == "stopped"
    assert children["temp"]["state"] == "failed"
    await sup.stop()


async def test_supervisor_ends_normally_when_every_child_has_finished(
    script: Script, clock: SimClock, drive: Drive
) -> None:
    sup = make(
        script,
        script.spec("a", ("exit", 3.0), restart="transient"),
        script.spec("b", ("exit", 5.0), restart="transient"),
    )
    await sup.start()
    waiting = asyncio.create_task(sup.wait())
    await drive(clock, waiting.done)
    await waiting
    assert sup.state is ServiceState.STOPPED
    assert clock.time() == 1_005.0


async def test_child_ignoring_cancellation_is_abandoned_after_its_timeout_with_an_error_logged(
    script: Script, clock: SimClock, drive: Drive, log_messages: list[str]
) -> None:
    sup = make(
        script, script.spec("a"), script.spec("stuck", ("stubborn", 0.0), shutdown_timeout=3.0)
    )
    await sup.start()
    stopping = asyncio.create_task(sup.stop())
    await drive(clock, stopping.done)
    assert clock.time() == 1_003.0
    assert sup.state is ServiceState.STOPPED
    assert sup.child("stuck").state is ServiceState.FAILED
    assert script.events()[-1] == "stop a"  # "a" was still stopped after giving up on "stuck"
    assert any(m.startswith("ERROR service 'stuck' ignored cancellation") for m in log_messages)
    script.instances["stuck"][0].release.set()
    await asyncio.wait([t for t in asyncio.all_tasks() if t.get_name() == "service:stuck"])


async def test_child_failing_at_first_start_fails_the_supervisor_start(script: Script) -> None:
    sup = make(script, script.spec("a"), script.spec("b"), script.spec("c", ("fail_start", 0)))
    tasks_before = asyncio.all_tasks()
    with pytest.raises(ConnectionError, match="c cannot start"):
        await sup.start()
    assert script.events() == ["start a", "start b", "stop b", "stop a"]
    assert sup.state is ServiceState.FAILED
    assert asyncio.all_tasks() == tasks_before


async def test_child_failing_to_restart_is_retried_after_its_backoff(
    script: Script, clock: SimClock, drive: Drive
) -> None:
    sup = make(
        script,
        script.spec("a", ("crash", 1.0), ("fail_start", 0), ("fail_start", 0)),
        intensity=5,
    )
    await sup.start()
    await drive(clock, lambda: len(script.instances["a"]) == 4)
    await drive(clock, lambda: sup.child("a").state is ServiceState.RUNNING)
    health = sup.health()
    assert health["children"]["a"]["restarts"] == 1
    assert health["budget"]["used"] == 3
    assert health["children"]["a"]["last_error"] == "ConnectionError('a cannot start')"
    await sup.stop()


async def test_restart_child_replaces_the_instance_on_request(script: Script) -> None:
    sup = make(script, script.spec("a"), script.spec("b"))
    await sup.start()
    old = sup.child("b")
    await sup.restart_child("b")
    assert sup.child("b") is not old
    assert old.state is ServiceState.STOPPED
    assert sup.child("b").state is ServiceState.RUNNING
    assert script.events()[2:] == ["stop b", "start b"]
    assert sup.health()["children"]["b"]["restarts"] == 1
    await sup.stop()
    with pytest.raises(ServiceStateError):
        await sup.restart_child("b")
    with pytest.raises(KeyError):
        sup.child("zzz")


async def test_nested_supervisor_that_gives_up_is_restarted_by_its_parent(
    script: Script, clock: SimClock, drive: Drive
) -> None:
    crashing_twice = script.spec("x", ("crash", 1.0), ("crash", 1.0))

    def inner() -> Service:
        return Supervisor("inner", [crashing_twice], intensity=1, clock=clock, rng=random.Random(3))

    worker = script.spec("w")
    outer = Supervisor(
        "outer",
        [ChildSpec("inner", inner, shutdown_timeout=None), worker],
        clock=clock,
        rng=random.Random(4),
    )
    async with outer:
        await drive(clock, lambda: outer.health()["children"]["inner"]["restarts"] == 1)
        health = outer.health()["children"]["inner"]
        assert health["last_error"].startswith("SupervisorGaveUp(")
        assert health["state"] == "running"
        assert "children" in health
        assert health["children"]["x"]["state"] == "running"
        assert outer.child("w").state is ServiceState.RUNNING
        assert len(script.instances["x"]) == 3
    assert outer.state is ServiceState.STOPPED
    assert script.events()[-2:] == ["stop w", "stop x"]  # reverse order, through the nesting


async def test_cancelling_the_owner_stops_the_tree_and_leaves_no_task(
    script: Script, clock: SimClock, drive: Drive
) -> None:
    tasks_before = asyncio.all_tasks()
    sup = make(script, script.spec("a", ("crash", 1.0)), script.spec("b"))

    async def owner() -> None:
        async with sup:
            await sup.wait()

    task = asyncio.create_task(owner())
    await drive(clock, lambda: len(script.instances["a"]) == 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sup.state is ServiceState.STOPPED
    assert script.events()[-2:] == ["stop b", "stop a"]
    assert asyncio.all_tasks() == tasks_before


async def test_stopping_during_a_backoff_leaves_no_task(
    script: Script, clock: SimClock, settle: Settle
) -> None:
    tasks_before = asyncio.all_tasks()
    sup = make(script, script.spec("a", ("crash", 0.0)), backoff=Backoff(100.0, 100.0))
    await sup.start()
    await settle()
    assert sup.health()["children"]["a"]["state"] == "restarting"
    assert sup.health()["state"] == "degraded"
    assert sup.health()["degraded_reason"] == "restarting a"
    await sup.stop()
    assert sup.state is ServiceState.STOPPED
    assert asyncio.all_tasks() == tasks_before


async def test_unhealthy_reports_only_the_children_neither_running_nor_stopped(
    script: Script, settle: Settle
) -> None:
    sup = make(
        script,
        script.spec("a"),
        script.spec("b", ("crash", 0.0)),
        strategy="one_for_one",
        backoff=Backoff(100.0, 100.0),
    )
    await sup.start()
    await settle()
    health = sup.health()["children"]
    assert [health[n]["state"] for n in "ab"] == ["running", "restarting"]
    assert sup.unhealthy() == {"b": health["b"]}  # the same report as health()'s
    await sup.stop()


async def test_health_and_metrics_report_each_child(script: Script) -> None:
    sup = make(script, script.spec("a"), strategy="rest_for_one")
    async with sup:
        health = sup.health()
        assert health["state"] == "running"
        assert health["strategy"] == "rest_for_one"
        assert health["budget"] == {"intensity": 5, "period": 60.0, "used": 0}
        assert health["children"]["a"] == {
            "state": "running",
            "restart": "permanent",
            "restarts": 0,
            "backoff": 0.0,
            "attempt": 0,
            "last_error": None,
            "last_error_at": None,
        }
        metrics = sup.metrics()
        assert metrics["restarts"] == 0
        assert metrics["children"]["a"]["metrics"] == {"name": "a", "state": "running"}


def test_supervisor_rejects_bad_configuration(clock: SimClock) -> None:
    spec = ChildSpec("a", lambda: Worker("a", ("run", 0), Script(clock)))
    with pytest.raises(ValueError, match="repeat"):
        Supervisor("s", [spec, spec], clock=clock)
    with pytest.raises(ValueError, match="strategy"):
        Supervisor("s", [spec], strategy="all_for_one", clock=clock)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="restart policy"):
        ChildSpec("a", spec.factory, restart="sometimes")  # type: ignore[arg-type]


class Stage(Service):
    def __init__(self, name: str, inbox: Receiver[int], outbox: Sender[int]) -> None:
        super().__init__(name)
        self.inbox, self.outbox = inbox, outbox

    async def run(self) -> None:
        async for item in self.inbox:
            if item < 0:
                raise ValueError("negative")
            await self.outbox.send(item + 1)


async def test_supervised_stage_keeps_its_channels_across_a_restart(clock: SimClock) -> None:
    inbox, outbox = Channel[int]("in", 4), Channel[int]("out", 4)
    sup = Supervisor(
        "pipe",
        [ChildSpec("stage", lambda: Stage("stage", inbox.receiver, outbox.sender))],
        backoff=Backoff(0.0, 0.0),
        clock=clock,
    )
    async with sup:
        await inbox.send(1)
        assert await outbox.receive() == 2
        first = sup.child("stage")
        await inbox.send(-1)
        await inbox.send(5)
        assert await outbox.receive() == 6
        assert sup.child("stage") is not first
        assert sup.health()["children"]["stage"]["restarts"] == 1


async def test_uptime_is_measured_on_the_supervisor_clock_whatever_the_child_clock(
    clock: SimClock, drive: Drive
) -> None:
    uptimes = deque([0.0, 0.0, 120.0])
    built: list[Service] = []

    class OwnClockChild(Service):
        def __init__(self, uptime: float | None) -> None:
            super().__init__("a")  # a LiveClock of its own
            self.uptime = uptime

        async def run(self) -> None:
            if self.uptime is None:
                await asyncio.Event().wait()
            else:
                await clock.sleep(self.uptime)
                raise RuntimeError("crash")

    def build() -> Service:
        built.append(OwnClockChild(uptimes.popleft() if uptimes else None))
        return built[-1]

    sup = Supervisor(
        "sup", [ChildSpec("a", build)], stable_window=60.0, clock=clock, rng=random.Random(5)
    )
    async with sup:
        await drive(clock, lambda: len(built) == 3)
        assert sup.health()["children"]["a"]["attempt"] == 2
        await drive(clock, lambda: len(built) == 4)
        assert sup.health()["children"]["a"]["attempt"] == 1  # the 120 s run reset the count
