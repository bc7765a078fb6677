"""The SQLite journal: schema and versions, WAL, orders, positions, deals, events, state."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from trading_engine.errors import JournalError
from trading_engine.events import Side
from trading_engine.journal import (
    MEMORY,
    SCHEMA_VERSION,
    DealRow,
    Journal,
    OrderRow,
    PositionRow,
)
from trading_engine.journal.schema import APPLICATION_ID, migrate


def order(client_id: str = "te-1", state: str = "NEW", created_at: float = 100.0) -> OrderRow:
    return OrderRow(
        client_id=client_id,
        symbol="EURUSD",
        side=Side.BUY,
        volume=0.1,
        magic=4242,
        state=state,
        created_at=created_at,
        updated_at=created_at,
        price=1.0851,
        sl=1.083,
        tp=1.088,
        comment=f"te:{client_id}",
        strategy="ema_cross",
        correlation_id="abc-1",
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "dir" / "journal.sqlite"


@pytest.fixture
def journal(path: Path) -> Journal:
    j = Journal.open(path)
    yield j  # type: ignore[misc]
    j.close()


# -- schema, versions and files --------------------------------------------------------------


def test_open_creates_parent_dirs_and_the_versioned_schema(path: Path) -> None:
    with Journal.open(path) as j:
        assert j.schema_version == SCHEMA_VERSION >= 1
        assert path.exists()
    conn = sqlite3.connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"orders", "deals", "positions", "events", "state", "sequences"} <= tables
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    conn.close()


def test_file_journal_runs_in_wal_mode(journal: Journal) -> None:
    assert journal.journal_mode == "wal"


def test_reopen_keeps_data_and_does_not_migrate_again(path: Path) -> None:
    with Journal.open(path) as j:
        j.insert_order(order())
        j.put_state("risk", b"\x01\x02")
    with Journal.open(path) as j:
        assert j.schema_version == SCHEMA_VERSION
        assert j.get_order("te-1") == order()
        assert j.get_state("risk") == b"\x01\x02"


def test_migrations_apply_in_order_and_a_failing_step_is_rolled_back_whole(
    tmp_path: Path,
) -> None:
    conn = sqlite3.connect(tmp_path / "m.sqlite", isolation_level=None)
    steps = ["CREATE TABLE a (x);", "CREATE TABLE b (y); INSERT INTO a VALUES (1);"]
    assert migrate(conn, steps[:1]) == 1
    assert conn.execute("PRAGMA user_version").fetchone() == (1,)
    assert migrate(conn, steps) == 2  # only the missing step runs (a would already exist)
    assert conn.execute("SELECT x FROM a").fetchall() == [(1,)]
    broken = [*steps, "CREATE TABLE c (z); INSERT INTO nowhere VALUES (1);"]
    with pytest.raises(sqlite3.OperationalError, match="nowhere"):
        migrate(conn, broken)
    assert conn.execute("PRAGMA user_version").fetchone() == (2,)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "c" not in tables
    with pytest.raises(ValueError, match="newer"):
        migrate(conn, steps[:1])
    conn.close()


def test_file_from_a_newer_engine_is_rejected(path: Path) -> None:
    Journal.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(JournalError, match="newer than this engine"):
        Journal.open(path)


def test_corrupt_file_is_rejected_naming_the_path(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database, just sixty-odd bytes of garbage text....." * 40)
    with pytest.raises(JournalError, match=str(path.name)) as info:
        Journal.open(path)
    assert str(path) in str(info.value)


def test_other_sqlite_database_is_not_taken_over(path: Path) -> None:
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE unrelated (x)")
    conn.close()
    with pytest.raises(JournalError, match="not a trading-engine journal"):
        Journal.open(path)


def test_unusable_directory_raises_journal_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(JournalError):
        Journal.open(blocker / "journal.sqlite")


def test_closed_journal_refuses_work(path: Path) -> None:
    j = Journal.open(path)
    j.close()
    j.close()
    assert j.closed
    with pytest.raises(JournalError, match="closed"):
        j.get_order("x")


def test_in_memory_journal_works_without_a_file() -> None:
    with Journal.open(MEMORY) as j:
        j.insert_order(order())
        assert j.orders() == [order()]
        j.flush()


def test_integrity_check_of_a_sound_file_is_empty(journal: Journal) -> None:
    journal.insert_order(order())
    assert journal.integrity_check() == []


# -- orders ----------------------------------------------------------------------------------


def test_insert_update_and_query_orders(journal: Journal) -> None:
    journal.insert_order(order("te-1", created_at=100.0))
    journal.insert_order(order("te-2", created_at=101.0))
    journal.update_order(
        "te-1", updated_at=102.0, state="FILLED", order_ticket=555, deal_ticket=777, retcode=10009
    )
    journal.update_order("te-2", updated_at=103.0, state="UNKNOWN", error="timeout")
    first = journal.get_order("te-1")
    assert first is not None
    assert (first.state, first.order_ticket, first.deal_ticket, first.retcode) == (
        "FILLED",
        555,
        777,
        10009,
    )
    assert first.updated_at == 102.0
    assert first.created_at == 100.0
    assert [o.client_id for o in journal.orders()] == ["te-1", "te-2"]
    assert [o.client_id for o in journal.orders(["UNKNOWN", "SUBMITTED"])] == ["te-2"]
    assert journal.orders([]) == []
    assert journal.order_by_ticket(555) == first
    assert journal.get_order("nope") is None


def test_close_order_keeps_its_intent_and_target_position(journal: Journal) -> None:
    row = order("te-9")
    row.intent = "close"
    row.position_to_close = 555
    row.side = Side.SELL
    journal.insert_order(row)
    stored = journal.get_order("te-9")
    assert stored is not None
    assert (stored.intent, stored.position_to_close, stored.side) == ("close", 555, "sell")


def test_order_side_is_stored_as_plain_text(journal: Journal) -> None:
    journal.insert_order(order())
    stored = journal.get_order("te-1")
    assert stored is not None
    assert stored.side == "buy"
    assert type(stored.side) is str


def test_client_id_can_never_be_journaled_twice(journal: Journal) -> None:
    journal.insert_order(order())
    with pytest.raises(JournalError, match="already journaled"):
        journal.insert_order(order())


def test_update_of_unknown_order_or_field_raises(journal: Journal) -> None:
    with pytest.raises(JournalError, match="no journaled order"):
        journal.update_order("ghost", updated_at=1.0, state="FILLED")
    journal.insert_order(order())
    with pytest.raises(JournalError, match="cannot update"):
        journal.update_order("te-1", updated_at=1.0, created_at=5.0)
    with pytest.raises(JournalError, match="cannot update"):
        journal.update_order("te-1", updated_at=1.0, colour="red")


def test_order_is_committed_before_insert_returns(path: Path, journal: Journal) -> None:
    journal.insert_order(order())
    other = sqlite3.connect(path)  # a second connection sees only committed data
    assert other.execute("SELECT state FROM orders WHERE client_id='te-1'").fetchone() == ("NEW",)
    other.close()


def test_failed_transaction_rolls_back_every_write(journal: Journal) -> None:
    def write_then_fail() -> None:
        with journal.transaction():
            journal.insert_order(order("te-1"))
            journal.record_deal(DealRow(1, "EURUSD", 0, 0.1, 1.1, 5.0))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert journal.orders() == []
    assert journal.deals_for() == []
    journal.insert_order(order("te-1"))  # the journal is still usable
    assert len(journal.orders()) == 1


# -- positions -------------------------------------------------------------------------------


def test_positions_upsert_close_and_list_open(journal: Journal) -> None:
    journal.upsert_position(PositionRow(1, "EURUSD", "buy", 0.1, 1.085, 10.0, client_id="te-1"))
    journal.upsert_position(PositionRow(2, "GBPUSD", "sell", 0.2, 1.27, 11.0))
    journal.upsert_position(PositionRow(1, "EURUSD", "buy", 0.05, 1.085, 10.0, sl=1.08))
    one = journal.get_position(1)
    assert one is not None
    assert (one.volume, one.sl, one.client_id) == (0.05, 1.08, None)
    assert [p.ticket for p in journal.open_positions()] == [1, 2]
    assert [p.ticket for p in journal.open_positions("GBPUSD")] == [2]
    assert journal.close_position(1, closed_at=20.0, price_close=1.086, profit=5.0)
    assert not journal.close_position(99, closed_at=20.0)
    closed = journal.get_position(1)
    assert closed is not None
    assert (closed.state, closed.closed_at, closed.price_close, closed.profit) == (
        "closed",
        20.0,
        1.086,
        5.0,
    )
    assert [p.ticket for p in journal.open_positions()] == [2]


def test_closed_position_keeps_its_outcome(journal: Journal) -> None:
    journal.upsert_position(PositionRow(7, "EURUSD", "sell", 0.1, 1.09, 1.0, identifier=7))
    journal.close_position(
        7, closed_at=9.0, price_close=1.08, profit=100.0, swap=-1.5, fees=-0.7, reason="tp"
    )
    row = journal.get_position(7)
    assert row is not None
    assert (row.profit, row.swap, row.fees, row.close_reason) == (100.0, -1.5, -0.7, "tp")


def test_reissued_position_is_rekeyed_and_keeps_its_identifier(journal: Journal) -> None:
    journal.upsert_position(PositionRow(10, "EURUSD", "buy", 0.1, 1.08, 1.0, client_id="te-1"))
    journal.upsert_position(PositionRow(20, "EURUSD", "buy", 0.1, 1.08, 1.0))
    assert journal.rekey_position(10, 11)
    assert journal.get_position(10) is None
    moved = journal.get_position(11)
    assert moved is not None
    assert (moved.identifier, moved.client_id) == (10, "te-1")
    assert not journal.rekey_position(99, 100)
    with pytest.raises(JournalError, match="already journaled"):
        journal.rekey_position(11, 20)


# -- deals -----------------------------------------------------------------------------------


def test_deals_are_idempotent_on_ticket(journal: Journal) -> None:
    deal = DealRow(900, "EURUSD", 0, 0.1, 1.0851, 50.0, order_ticket=555, position_ticket=555)
    assert journal.record_deal(deal) is True
    assert journal.record_deal(deal) is False
    assert journal.record_deal(DealRow(900, "EURUSD", 1, 9.9, 9.9, 99.0)) is False
    assert journal.deals_for() == [deal]


def test_deals_are_found_by_position_client_and_order(journal: Journal) -> None:
    journal.record_deal(DealRow(2, "EURUSD", 1, 0.1, 1.09, 60.0, 556, 555, "te-1", "sell", 4.9))
    journal.record_deal(DealRow(1, "EURUSD", 0, 0.1, 1.08, 50.0, 555, 555, "te-1", "buy"))
    journal.record_deal(DealRow(3, "GBPUSD", 0, 0.2, 1.27, 55.0, 600, 600, "te-2", "buy"))
    assert [d.ticket for d in journal.deals_for(position_ticket=555)] == [1, 2]
    assert [d.ticket for d in journal.deals_for(client_id="te-2")] == [3]
    assert [d.ticket for d in journal.deals_for(order_ticket=556)] == [2]
    assert [d.ticket for d in journal.deals_for(position_ticket=555, order_ticket=555)] == [1]
    assert journal.latest_deal_time() == 60.0


def test_latest_deal_time_of_an_empty_journal_is_none(journal: Journal) -> None:
    assert journal.latest_deal_time() is None


# -- events ----------------------------------------------------------------------------------


def test_events_round_trip_their_json_payload(journal: Journal) -> None:
    first = journal.record_event("order_placed", "c-1", {"ticket": 5, "price": 1.5}, 10.0)
    second = journal.record_event("fill", None, None, 11.0)
    assert second > first
    events = journal.events()
    assert [(e.type, e.correlation_id, e.payload, e.time) for e in events] == [
        ("order_placed", "c-1", {"ticket": 5, "price": 1.5}, 10.0),
        ("fill", None, {}, 11.0),
    ]
    assert [e.type for e in journal.events(type="fill")] == ["fill"]
    assert [e.time for e in journal.events(since=10.5)] == [11.0]
    assert [e.time for e in journal.events(limit=1)] == [11.0]


def test_event_payload_that_cannot_be_json_is_refused_and_nothing_is_written(
    journal: Journal,
) -> None:
    circular: dict[str, object] = {}
    circular["self"] = circular
    with pytest.raises(JournalError, match="JSON"):
        journal.record_event("x", None, circular, 1.0)
    with pytest.raises(JournalError, match="JSON"):
        journal.record_event("x", None, {"k": {(1, 2): "tuple key"}}, 1.0)
    assert journal.events() == []
    journal.record_event("x", None, {"when": Path("/tmp/x")}, 1.0)  # other objects become text
    assert journal.events()[0].payload == {"when": "/tmp/x"}


def test_events_are_pruned_to_the_retention_limit(path: Path) -> None:
    with Journal.open(path, max_events=10) as j:
        for i in range(40):
            j.record_event("tick", None, {"i": i}, float(i))
            assert j.event_count <= 11
        kept = [e.payload["i"] for e in j.events()]
        assert kept == list(range(40 - len(kept), 40))
        assert 10 <= len(kept) <= 11


def test_prune_events_by_age_and_count(journal: Journal) -> None:
    for i in range(10):
        journal.record_event("e", None, {"i": i}, float(i))
    assert journal.prune_events(before=3.0) == 3
    assert journal.prune_events(keep=4) == 3
    assert [e.time for e in journal.events()] == [6.0, 7.0, 8.0, 9.0]
    assert journal.event_count == 4


# -- state and sequences ---------------------------------------------------------------------


def test_state_blobs_are_stored_replaced_listed_and_deleted(journal: Journal) -> None:
    assert journal.get_state("bar:EURUSD:M1") is None
    journal.put_state("bar:EURUSD:M1", b"1700000000", updated_at=1.0)
    journal.put_state("bar:EURUSD:M1", b"1700000060", updated_at=2.0)
    journal.put_state("bar:GBPUSD:M1", b"\x00\xff")
    journal.put_state("risk", b"{}")
    assert journal.get_state("bar:EURUSD:M1") == b"1700000060"
    assert journal.state_keys("bar:") == ["bar:EURUSD:M1", "bar:GBPUSD:M1"]
    assert journal.delete_state("risk") is True
    assert journal.delete_state("risk") is False
    assert journal.state_keys() == ["bar:EURUSD:M1", "bar:GBPUSD:M1"]


def test_sequence_counts_up_and_survives_reopen(path: Path) -> None:
    with Journal.open(path) as j:
        assert [j.next_sequence("client_id") for _ in range(3)] == [1, 2, 3]
        assert j.next_sequence("other") == 1
    with Journal.open(path) as j:
        assert j.next_sequence("client_id") == 4
        assert j.next_sequence("other") == 2


def test_advance_sequence_moves_a_counter_on_and_never_back(path: Path) -> None:
    with Journal.open(path) as j:
        j.advance_sequence("client_id", 1)  # a counter that did not exist yet
        assert j.current_sequence("client_id") == 1
        j.advance_sequence("client_id", 5)
        j.advance_sequence("client_id", 3)  # an older value does not move it back
        assert j.current_sequence("client_id") == 5
    with Journal.open(path) as j:
        assert j.next_sequence("client_id") == 6


def test_update_order_refuses_an_unknown_field_after_a_known_set_was_used(
    journal: Journal,
) -> None:
    journal.insert_order(order())
    journal.update_order("te-1", updated_at=101.0, state="submitted", retcode=10009)
    with pytest.raises(JournalError, match="cannot update order fields"):
        journal.update_order("te-1", updated_at=102.0, state="filled", nonsense=1)
    with pytest.raises(JournalError, match="no journaled order"):
        journal.update_order("te-2", updated_at=102.0, state="submitted", retcode=10009)
    row = journal.get_order("te-1")
    assert row is not None
    assert (row.state, row.retcode, row.updated_at) == ("submitted", 10009, 101.0)


def test_flush_folds_the_wal_into_the_main_file(path: Path, journal: Journal) -> None:
    journal.insert_order(order())
    wal = path.with_name(path.name + "-wal")
    assert wal.exists()
    assert wal.stat().st_size > 0
    journal.flush()
    assert wal.stat().st_size == 0


def test_durable_orders_can_be_turned_off(path: Path) -> None:
    with Journal.open(path, durable_orders=False) as j:
        j.insert_order(order())
        assert j.get_order("te-1") is not None


def test_journal_lists_closed_positions_in_closing_order(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.db") as journal:
        for ticket, opened in ((1, 10.0), (2, 11.0), (3, 12.0)):
            journal.upsert_position(
                PositionRow(ticket, "EURUSD", "buy", 0.1, 1.1, opened_at=opened)
            )
        journal.close_position(2, closed_at=20.0, profit=5.0)
        journal.close_position(1, closed_at=30.0, profit=-2.0)
        assert [p.ticket for p in journal.closed_positions()] == [2, 1]
        assert [p.ticket for p in journal.open_positions()] == [3]
