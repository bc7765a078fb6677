"""Delivery once: acknowledged receives, redelivery to the next consumer, and ``relay``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from trading_engine.errors import ChannelClosed
from trading_engine.runtime import Channel, Delivery, relay

Settle = Callable[[], Awaitable[None]]


async def test_a_delivery_stays_in_flight_until_acknowledged() -> None:
    channel = Channel[str]("c", 4)
    await channel.send("a")
    await channel.send("b")
    consumer = channel.consumer()
    first = await consumer.receive()
    assert (first.message, first.attempt, first.redelivered) == ("a", 1, False)
    assert channel.stats().in_flight == 1
    assert [d.message for d in consumer.in_flight()] == ["a"]
    consumer.ack(first)
    consumer.ack(first)  # idempotent
    assert channel.stats().in_flight == 0
    assert consumer.qsize() == 1


async def test_a_new_consumer_gets_the_unacknowledged_deliveries_first_in_order() -> None:
    channel = Channel[int]("c", 8)
    for i in range(5):
        await channel.send(i)
    old = channel.consumer()
    taken = [await old.receive() for _ in range(3)]
    old.ack(taken[1])  # 0 and 2 stay in flight
    new = channel.consumer()
    assert old.retired
    assert not new.retired
    with pytest.raises(ChannelClosed):
        await old.receive()
    old.ack(taken[0])  # a retired consumer's ack changes nothing: the new one owns it
    got = [await new.receive() for _ in range(4)]
    assert [d.message for d in got] == [0, 2, 3, 4]
    assert [d.attempt for d in got] == [2, 2, 1, 1]
    assert got[0] is taken[0]  # the same record, with what the stage wrote on it
    stats = channel.stats()
    assert (stats.redelivered, stats.in_flight, stats.received) == (2, 4, 5)


async def test_iteration_acknowledges_a_delivery_when_the_loop_asks_for_the_next() -> None:
    channel = Channel[int]("c", 4)
    for i in range(3):
        await channel.send(i)
    channel.close()
    consumer = channel.consumer()
    seen: list[tuple[int, int]] = []
    async for delivery in consumer:
        seen.append((delivery.message, channel.stats().in_flight))
    assert seen == [(0, 1), (1, 1), (2, 1)]  # one in flight at a time
    assert channel.stats().in_flight == 0  # the last one acknowledged at the end


async def test_a_closed_channel_still_redelivers_before_it_ends() -> None:
    channel = Channel[int]("c", 4)
    await channel.send(1)
    await channel.consumer().receive()
    channel.close()
    consumer = channel.consumer()
    assert (await consumer.receive()).message == 1
    with pytest.raises(ChannelClosed):
        await consumer.receive()


async def test_a_consumer_cancelled_while_waiting_takes_nothing(settle: Settle) -> None:
    channel = Channel[int]("c", 4)
    waiting = asyncio.create_task(channel.consumer().receive())
    await settle()
    waiting.cancel()
    await settle()
    await channel.send(7)
    delivery = await channel.consumer().receive()
    assert (delivery.message, delivery.attempt) == (7, 1)


async def test_relay_sends_each_output_once_across_a_restart(settle: Settle) -> None:
    inbox = Channel[int]("in", 4)
    outbox = Channel[str]("out", 1)
    handled: list[int] = []

    def handle(n: int) -> list[str]:
        handled.append(n)
        return [f"{n}a", f"{n}b", f"{n}c"]

    await inbox.send(1)
    await inbox.send(2)
    first = asyncio.create_task(relay(inbox.consumer(), outbox.send, handle))
    await settle()  # "1a" fills the outbox; "1b" waits
    assert await outbox.receive() == "1a"
    await settle()  # "1b" sent; "1c" waits
    first.cancel()  # the stage is stopped in the middle of message 1
    await settle()
    assert first.cancelled()
    second = asyncio.create_task(relay(inbox.consumer(), outbox.send, handle))
    inbox.close()
    out = [await outbox.receive() for _ in range(5)]
    await second
    assert out == ["1b", "1c", "2a", "2b", "2c"]  # nothing lost, nothing twice
    assert handled == [1, 2]  # message 1 was not handled again
    assert inbox.stats().in_flight == 0


async def test_relay_handles_a_message_again_when_the_handler_raised() -> None:
    inbox = Channel[int]("in", 4)
    outbox = Channel[int]("out", 4)
    calls = 0

    def fails_once(n: int) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("bug")
        return [n * 10]

    await inbox.send(4)
    inbox.close()
    with pytest.raises(RuntimeError):
        await relay(inbox.consumer(), outbox.send, fails_once)
    await relay(inbox.consumer(), outbox.send, fails_once)
    assert [await outbox.receive()] == [40]
    assert inbox.stats().redelivered == 1


def test_a_delivery_shows_its_message_and_progress() -> None:
    delivery = Delivery("x")
    delivery.sent = 1
    assert repr(delivery) == "<Delivery attempt=1 sent=1 'x'>"


async def test_a_consumer_replaced_while_waiting_leaves_the_next_message_to_the_new_one() -> None:
    channel = Channel[str]("c", 4)
    old = channel.consumer()
    old_wait = asyncio.ensure_future(old.receive())
    await asyncio.sleep(0)  # the old consumer waits first in line
    new = channel.consumer()
    new_wait = asyncio.ensure_future(new.__anext__())
    await asyncio.sleep(0)
    await channel.send("a")  # wakes the first waiter, the retired one: it passes the wake on
    delivery = await asyncio.wait_for(new_wait, 1.0)
    assert (delivery.message, delivery.attempt) == ("a", 1)
    with pytest.raises(ChannelClosed):
        await old_wait
    assert channel.stats().in_flight == 1
