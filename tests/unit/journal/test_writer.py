"""The journal writer: writes off the event loop, in order, batched; the order row awaited
committed (and fsynced) before its send; failures surface; reads see every earlier write."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from trading_engine.clock import SimClock
from trading_engine.errors import JournalError
from trading_engine.journal import DealRow, Journal, JournalWriter, OrderRow, PositionRow
from trading_engine.runtime.driver import SimClockDriver


def order(client_id: str) -> OrderRow:
    return OrderRow(client_id, "EURUSD", "buy", 0.1, 4242, "submitted", 100.0, 100.0, price=1.1)


def position(ticket: int) -> PositionRow:
    return PositionRow(ticket, "EURUSD", "buy", 0.1, 1.1, 100.0)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal.open(tmp_path / "j.db") as j:
        yield j


def committed_orders(journal: Journal) -> list[str]:
    """What another connection sees: committed rows only."""
    with sqlite3.connect(journal.path) as conn:
        return [r[0] for r in conn.execute("SELECT client_id FROM orders ORDER BY client_id")]


async def test_the_order_row_is_committed_and_fsynced_when_insert_order_returns(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    pragmas: list[str] = []
    original = journal._pragma
    monkeypatch.setattr(journal, "_pragma", lambda s: (pragmas.append(s), original(s)))
    writer = JournalWriter(journal)
    writer.upsert_position(position(1))
    await writer.insert_order(order("te-1"))
    assert committed_orders(journal) == ["te-1"]
    assert pragmas == ["synchronous = FULL", "synchronous = NORMAL"]  # around that commit
    assert writer.stats.durable_commits >= 1
    writer.close()
    assert journal.get_position(1) is not None


async def test_writes_queued_together_are_committed_in_one_transaction_in_order(
    journal: Journal,
) -> None:
    writer = JournalWriter(journal)
    with journal._lock:  # the writer thread waits: the writes pile up
        writer.insert_order_nowait(order("te-1"))
        writer.update_order("te-1", updated_at=101.0, state="filled", filled_volume=0.1)
        writer.upsert_position(position(7))
        writer.record_deal(DealRow(70, "EURUSD", 0, 0.1, 1.1, 100.0, position_ticket=7))
        writer.close_position(7, closed_at=102.0, profit=3.0)
        writer.record_event("OrderFilledEvent", "c-1", {"price": 1.1}, 101.0)
        assert committed_orders(journal) == []
    writer.close()
    assert writer.stats.writes == 6
    assert writer.stats.commits <= 2  # the first may have been taken alone before the lock
    row = journal.get_order("te-1")
    assert row is not None
    assert (row.state, row.filled_volume) == ("filled", 0.1)
    closed = journal.get_position(7)
    assert closed is not None
    assert (closed.state, closed.profit) == ("closed", 3.0)
    assert [e.type for e in journal.events()] == ["OrderFilledEvent"]


async def test_a_read_sees_every_write_made_before_it(journal: Journal) -> None:
    writer = JournalWriter(journal)
    for i in range(50):
        writer.insert_order_nowait(order(f"te-{i:03d}"))
    writer.update_order("te-049", updated_at=101.0, state="filled")
    assert len(writer.orders()) == 50
    found = writer.get_order("te-049")
    assert found is not None
    assert found.state == "filled"
    assert writer.pending() == 0
    writer.close()


async def test_sequences_are_counted_here_and_persist(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with Journal.open(path) as j:
        j.next_sequence("client_id")  # 1, from an earlier run
        writer = JournalWriter(j)
        assert [writer.next_sequence("client_id") for _ in range(3)] == [2, 3, 4]
        writer.close()
    with Journal.open(path) as j:
        assert j.current_sequence("client_id") == 4
        assert j.next_sequence("client_id") == 5


@pytest.mark.parametrize("thread", [True, False], ids=["thread", "inline"])
async def test_a_failed_write_halts_the_writer_and_surfaces_everywhere(
    journal: Journal, thread: bool
) -> None:
    errors: list[JournalError] = []
    writer = JournalWriter(journal, on_error=errors.append, thread=thread)
    await writer.insert_order(order("te-1"))
    if thread:
        writer.update_order("te-404", updated_at=1.0, state="filled")  # no such order
        with pytest.raises(JournalError, match="te-404"):
            await writer.insert_order(order("te-2"))  # queued behind it: never committed
    else:
        with pytest.raises(JournalError, match="te-404"):
            writer.update_order("te-404", updated_at=1.0, state="filled")
    await asyncio.sleep(0)  # on_error is called on the loop
    assert [str(e) for e in errors] == [str(writer.error)]
    with pytest.raises(JournalError, match="te-404"):
        writer.upsert_position(position(1))  # every later call raises it
    with pytest.raises(JournalError, match="te-404"):
        writer.orders()
    with pytest.raises(JournalError):
        writer.close()
    assert committed_orders(journal) == ["te-1"]


async def test_a_payload_that_is_not_json_is_refused_at_the_call(journal: Journal) -> None:
    writer = JournalWriter(journal)
    circular: dict[str, object] = {}
    circular["self"] = circular
    with pytest.raises(JournalError, match="not JSON"):
        writer.record_event("X", None, circular, 1.0)
    assert writer.error is None
    writer.close()


async def test_the_inline_writer_commits_each_write_at_once(journal: Journal) -> None:
    writer = JournalWriter(journal, thread=False)
    writer.insert_order_nowait(order("te-1"))
    assert committed_orders(journal) == ["te-1"]
    await writer.insert_order(order("te-2"))
    writer.update_order("te-2", updated_at=2.0, state="filled")
    assert (writer.stats.writes, writer.stats.commits, writer.stats.durable_commits) == (3, 3, 1)
    writer.close()


async def test_the_inline_writer_applies_a_failing_write_once_and_halts(journal: Journal) -> None:
    writer = JournalWriter(journal, thread=False)
    writer.insert_order_nowait(order("te-1"))
    with pytest.raises(JournalError, match="already journaled"):
        await writer.insert_order(order("te-1"))
    assert writer.error is not None
    with pytest.raises(JournalError):
        writer.update_order("te-1", updated_at=2.0, state="filled")
    assert committed_orders(journal) == ["te-1"]


def test_the_inline_writer_without_durable_orders_halts_on_a_failing_write() -> None:
    with Journal.open(":memory:", durable_orders=False) as j:
        writer = JournalWriter(j, thread=False)
        writer.insert_order_nowait(order("te-1"))
        with pytest.raises(JournalError, match="already journaled"):
            writer.insert_order_nowait(order("te-1"))
        assert writer.error is not None
        with pytest.raises(JournalError):
            writer.upsert_position(position(1))
        assert [r.client_id for r in j.orders()] == ["te-1"]
        assert j.get_position(1) is None
        assert (writer.stats.writes, writer.stats.commits) == (1, 1)


async def test_close_commits_what_is_queued_and_refuses_later_writes(journal: Journal) -> None:
    writer = JournalWriter(journal)
    with journal._lock:
        for i in range(20):
            writer.insert_order_nowait(order(f"te-{i:03d}"))
        closing = threading.Thread(target=writer.close)
        closing.start()
    closing.join()
    assert len(committed_orders(journal)) == 20
    writer.close()  # idempotent
    assert writer.closed
    with pytest.raises(JournalError, match="closed"):
        writer.upsert_position(position(1))


async def test_simulated_time_stands_still_while_a_task_awaits_the_writer(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    insert = journal.insert_order

    def slow_insert(row: OrderRow) -> None:
        time.sleep(0.05)  # in the writer's thread: the loop has nothing to do meanwhile
        insert(row)

    monkeypatch.setattr(journal, "insert_order", slow_insert)
    clock = SimClock(1_000.0)
    driver = asyncio.create_task(SimClockDriver(clock).run())
    sleeper = asyncio.create_task(clock.sleep(60))  # the driver would jump to 1,060 when idle
    writer = JournalWriter(journal, hold=clock.hold)
    await writer.insert_order(order("te-1"))
    assert clock.time() == 1_000.0
    assert not clock.held
    await sleeper  # once nothing waits on the writer, time moves on
    assert clock.time() == 1_060.0
    driver.cancel()
    writer.close()
