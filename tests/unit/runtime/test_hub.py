import asyncio
from dataclasses import dataclass

from trading_engine.runtime.hub import EventHub


@dataclass
class Ping:
    n: int


@dataclass
class Pong:
    n: int


def test_hub_calls_several_observers_per_type_and_unsubscribes() -> None:
    hub = EventHub()
    first: list[int] = []
    second: list[int] = []
    stop_first = hub.subscribe(lambda e: first.append(e.n), Ping)
    hub.subscribe(lambda e: second.append(e.n), Ping)
    hub.publish(Ping(1))
    stop_first()
    hub.publish(Ping(2))
    hub.publish(Pong(3))
    assert first == [1]
    assert second == [1, 2]


def test_hub_failing_observer_does_not_stop_the_others() -> None:
    hub = EventHub()
    seen: list[int] = []

    def broken(event: object) -> None:
        raise RuntimeError("observer bug")

    hub.subscribe(broken, Ping)
    hub.subscribe(lambda e: seen.append(e.n), Ping)
    hub.publish(Ping(1))
    assert seen == [1]
    assert hub.observer_errors == 1


def test_hub_history_is_bounded_and_filterable() -> None:
    hub = EventHub(history_limit=3)
    for n in range(5):
        hub.publish(Ping(n) if n % 2 else Pong(n))
    assert [e.n for e in hub.history()] == [2, 3, 4]
    assert [e.n for e in hub.history(Ping)] == [3]
    assert hub.metrics()["published"] == {"Ping": 2, "Pong": 3}


async def test_hub_runs_coroutine_observers_and_counts_their_failures() -> None:
    hub = EventHub()
    seen: list[int] = []

    async def good(event: Ping) -> None:
        seen.append(event.n)

    async def bad(event: Ping) -> None:
        raise ValueError("async observer bug")

    hub.subscribe(good, Ping)
    hub.subscribe(bad)
    hub.publish(Ping(7))
    for _ in range(3):
        await asyncio.sleep(0)
    assert seen == [7]
    assert hub.observer_errors == 1
    await hub.close()
