from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from mypy import api as mypy_api

from trading_engine.errors import ChannelClosed
from trading_engine.runtime import Channel, Receiver, Sender

Settle = Callable[[], Awaitable[None]]


async def test_items_arrive_in_order_and_stats_count_them() -> None:
    channel = Channel[int]("numbers", 4)
    for i in range(3):
        await channel.send(i)
    assert [await channel.receive() for _ in range(2)] == [0, 1]
    stats = channel.stats()
    assert (stats.name, stats.maxsize, stats.policy) == ("numbers", 4, "block")
    assert (stats.depth, stats.peak_depth, stats.sent, stats.received, stats.dropped) == (
        1,
        3,
        3,
        2,
        0,
    )
    assert stats.blocked_seconds == 0.0
    assert not stats.closed


async def test_full_channel_blocks_the_producer_until_a_receive_and_counts_the_time(
    settle: Settle,
) -> None:
    ticks = iter([10.0, 12.5])
    channel = Channel[str]("orders", 1, timer=lambda: next(ticks))
    await channel.send("a")
    assert channel.send_nowait("b") is False
    sending = asyncio.create_task(channel.send("b"))
    await settle()
    assert not sending.done()
    assert channel.stats().waiting_senders == 1
    assert await channel.receive() == "a"
    await sending
    assert await channel.receive() == "b"
    stats = channel.stats()
    assert stats.blocked_seconds == 2.5
    assert (stats.sent, stats.received, stats.dropped) == (2, 2, 0)


async def test_receiver_waits_on_an_empty_channel_until_a_send(settle: Settle) -> None:
    channel = Channel[int]("c", 2)
    receiving = asyncio.create_task(channel.receive())
    await settle()
    assert not receiving.done()
    assert channel.stats().waiting_receivers == 1
    await channel.send(7)
    assert await receiving == 7


async def test_coalesce_keeps_the_latest_items_and_counts_drops() -> None:
    channel = Channel[int]("bars", 2, policy="coalesce")
    for i in range(5):
        await channel.send(i)
    assert channel.send_nowait(5) is True
    assert [channel.receive_nowait(), channel.receive_nowait()] == [4, 5]
    stats = channel.stats()
    assert (stats.sent, stats.received, stats.dropped, stats.depth) == (6, 2, 4, 0)
    assert stats.sent == stats.received + stats.dropped + stats.depth
    assert stats.blocked_seconds == 0.0


async def test_closed_channel_rejects_producers() -> None:
    channel = Channel[int]("c", 2)
    channel.close()
    with pytest.raises(ChannelClosed, match="'c' is closed"):
        await channel.send(1)
    with pytest.raises(ChannelClosed):
        channel.send_nowait(1)


async def test_close_ends_async_for_after_the_buffer_drains(settle: Settle) -> None:
    channel = Channel[int]("c", 8)
    received: list[int] = []

    async def consume() -> None:
        async for item in channel.receiver:
            received.append(item)

    consumer = asyncio.create_task(consume())
    for i in range(3):
        await channel.send(i)
    await settle()
    await channel.send(3)
    channel.close()
    await consumer
    assert received == [0, 1, 2, 3]
    with pytest.raises(ChannelClosed):
        await channel.receive()
    with pytest.raises(ChannelClosed):
        channel.receive_nowait()


async def test_close_wakes_every_waiting_consumer_and_producer(settle: Settle) -> None:
    empty = Channel[int]("empty", 1)
    consumers = [asyncio.create_task(empty.receive()) for _ in range(3)]
    full = Channel[int]("full", 1)
    await full.send(0)
    producer = asyncio.create_task(full.send(1))
    await settle()
    empty.close()
    full.close()
    for consumer in consumers:
        with pytest.raises(ChannelClosed):
            await consumer
    with pytest.raises(ChannelClosed):
        await producer
    assert full.receive_nowait() == 0  # what was sent before close is still delivered
    assert full.stats().sent == 1


async def test_cancelled_receiver_passes_its_wakeup_to_the_next(settle: Settle) -> None:
    channel = Channel[int]("c", 4)
    first = asyncio.create_task(channel.receive())
    second = asyncio.create_task(channel.receive())
    await settle()
    channel.send_nowait(1)  # wakes `first`...
    first.cancel()  # ...which is cancelled before it runs
    await settle()
    assert await second == 1
    assert first.cancelled()


async def test_cancelled_sender_passes_its_wakeup_to_the_next(settle: Settle) -> None:
    channel = Channel[int]("c", 1)
    channel.send_nowait(0)
    first = asyncio.create_task(channel.send(1))
    second = asyncio.create_task(channel.send(2))
    await settle()
    assert channel.receive_nowait() == 0  # wakes `first`...
    first.cancel()  # ...which is cancelled before it runs
    await settle()
    assert second.done()
    assert channel.receive_nowait() == 2
    assert channel.stats().sent == 2


async def test_join_returns_once_every_item_was_received(settle: Settle) -> None:
    channel = Channel[int]("c", 4)
    await channel.join()  # empty: returns at once
    for i in range(3):
        channel.send_nowait(i)
    joining = asyncio.create_task(channel.receiver.join())
    await settle()
    channel.receive_nowait()
    channel.receive_nowait()
    await settle()
    assert not joining.done()
    channel.receive_nowait()
    await settle()
    assert joining.done()


async def test_receive_nowait_on_an_empty_open_channel_raises_queue_empty() -> None:
    with pytest.raises(asyncio.QueueEmpty):
        Channel[int]("c", 1).receive_nowait()


async def test_ends_expose_only_their_side_and_call_the_channel_directly() -> None:
    channel = Channel[int]("c", 2)
    sender: Sender[int] = channel.sender
    receiver: Receiver[int] = channel.receiver
    assert not hasattr(sender, "receive")
    assert not hasattr(receiver, "send")
    await sender.send(1)
    assert sender.send_nowait(2)
    assert receiver.qsize() == 2
    assert await receiver.receive() == 1
    assert receiver.receive_nowait() == 2
    sender.close()
    assert receiver.closed
    assert sender.closed
    assert sender.name == receiver.name == "c"
    assert sender.stats() == receiver.stats() == channel.stats()


def test_channel_refuses_an_unbounded_size_or_an_unknown_policy() -> None:
    with pytest.raises(ValueError, match="maxsize"):
        Channel[int]("c", 0)
    with pytest.raises(ValueError, match="policy"):
        Channel[int]("c", 1, policy="drop")  # type: ignore[arg-type]


async def test_many_producers_and_consumers_lose_and_duplicate_nothing() -> None:
    channel = Channel[int]("c", 3)
    got: list[int] = []

    async def produce(start: int) -> None:
        for i in range(start, start + 200):
            await channel.send(i)

    async def consume() -> None:
        async for item in channel:
            got.append(item)

    consumers = [asyncio.create_task(consume()) for _ in range(3)]
    await asyncio.gather(*(produce(k * 1000) for k in range(4)))
    channel.close()
    await asyncio.gather(*consumers)
    assert sorted(got) == sorted(k * 1000 + i for k in range(4) for i in range(200))
    assert channel.stats().peak_depth == 3


def test_mypy_strict_rejects_a_wrong_item_type_at_a_send(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(
        "from trading_engine.runtime import Channel\n"
        "async def produce() -> None:\n"
        "    channel = Channel[int]('c', 1)\n"
        "    await channel.send(1)\n"
        "    await channel.send('one')\n"
        "    await channel.sender.send(b'1')\n"
        "    text: str = await channel.receiver.receive()\n"
    )
    out, _, status = mypy_api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path), str(snippet)]
    )
    errors = [line.split(": error: ", 1)[1] for line in out.splitlines() if ": error: " in line]
    assert status == 1
    assert errors == [
        'Argument 1 to "send" of "Channel" has incompatible type "str"; expected "int"  [arg-type]',
        'Argument 1 has incompatible type "bytes"; expected "int"  [arg-type]',
        'Incompatible types in assignment (expression has type "int", variable has type "str")'
        "  [assignment]",
    ]
