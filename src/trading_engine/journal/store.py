"""The SQLite journal: orders, deals, positions, events, state blobs and persistent counters.

Decisions:

- **Synchronous API.** A write is one short transaction of tens of microseconds. The connection
  is opened with ``check_same_thread=False`` and guarded by a lock: the engine's services write
  through a ``JournalWriter`` (``journal.writer``), which applies the writes in its own thread,
  in batches; tools, tests and synchronous code call the journal directly.
- **Durability.** WAL mode with ``synchronous=NORMAL``: a commit survives a crash of the process
  (what a trading engine meets most), while an OS crash or power loss may lose the last few
  commits but never corrupts the file. Orders are the exception: ``insert_order`` commits with
  ``synchronous=FULL`` (the WAL is fsynced) because the row must exist before the request leaves,
  whatever happens next. ``durable_orders=False`` turns that off (backtests); ``":memory:"``
  gives a journal without a file.
- **Time** is never read here: every timestamp comes from the caller: the engine's clock (UTC
  epoch seconds) everywhere but a deal's ``time``, which is the terminal's, in the broker's
  server time as MetaTrader 5 stamps it.
- **Errors.** Every SQLite failure is raised as ``JournalError`` naming the file; a file written
  by a newer version, a file that is not a journal, or a corrupt file is refused at open.
"""

from __future__ import annotations

import dataclasses
import json
import operator
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, TypeVar

from trading_engine.errors import JournalError
from trading_engine.journal.schema import APPLICATION_ID, SCHEMA_VERSION, migrate

__all__ = [
    "MEMORY",
    "DealRow",
    "EventRow",
    "Journal",
    "OrderRow",
    "PositionRow",
]

MEMORY: Final = ":memory:"
"""Pass as ``path`` for a journal that lives in memory only."""


@dataclass(slots=True)
class OrderRow:
    """One order the engine sent or is about to send, keyed by its client id."""

    client_id: str
    symbol: str
    side: str
    volume: float
    magic: int
    state: str
    created_at: float
    updated_at: float
    price: float | None = None
    sl: float | None = None
    tp: float | None = None
    comment: str = ""
    strategy: str | None = None
    correlation_id: str | None = None
    order_ticket: int | None = None
    position_ticket: int | None = None
    deal_ticket: int | None = None
    retcode: int | None = None
    error: str | None = None
    filled_volume: float = 0.0
    fill_price: float | None = None
    intent: str = "open"
    position_to_close: int | None = None


@dataclass(slots=True)
class DealRow:
    """One deal (fill) from the terminal's history; ``entry`` is DEAL_ENTRY (0 in, 1 out, …)."""

    ticket: int
    symbol: str
    entry: int
    volume: float
    price: float
    time: float
    order_ticket: int | None = None
    position_ticket: int | None = None
    client_id: str | None = None
    side: str | None = None
    profit: float = 0.0
    commission: float = 0.0
    swap: float = 0.0
    fee: float = 0.0
    magic: int | None = None
    reason: int | None = None


@dataclass(slots=True)
class PositionRow:
    """One position as the engine knows it; ``state`` is ``'open'`` or ``'closed'``.

    ``identifier`` is MT5's position identifier (the opening order's ticket; it never changes
    while the ticket can). On close, ``profit`` and ``swap`` are the closing deals', ``fees``
    the commissions and fees of all its deals.
    """

    ticket: int
    symbol: str
    side: str
    volume: float
    price_open: float
    opened_at: float
    identifier: int | None = None
    client_id: str | None = None
    strategy: str | None = None
    sl: float | None = None
    tp: float | None = None
    magic: int | None = None
    closed_at: float | None = None
    price_close: float | None = None
    profit: float | None = None
    swap: float | None = None
    fees: float | None = None
    close_reason: str | None = None
    state: str = "open"


@dataclass(slots=True)
class EventRow:
    """One journaled event; ``payload`` is the decoded JSON object."""

    id: int
    time: float
    type: str
    correlation_id: str | None
    payload: dict[str, Any]


_Row = TypeVar("_Row", OrderRow, DealRow, PositionRow)


def _columns(cls: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


_ORDER_COLUMNS: Final = _columns(OrderRow)
_DEAL_COLUMNS: Final = _columns(DealRow)
_POSITION_COLUMNS: Final = _columns(PositionRow)
_ORDER_UPDATABLE: Final = frozenset(_ORDER_COLUMNS) - {"client_id", "created_at"}
_TEXT_FIELDS: Final = frozenset({"side", "state", "symbol", "intent"})


def _row_values(columns: tuple[str, ...]) -> Callable[[Any], list[Any]]:
    """A function giving a row's values in ``columns`` order as plain SQLite values (StrEnum
    members become their str value): one ``attrgetter`` call and a ``str`` of the text fields."""
    get = operator.attrgetter(*columns)
    text = [i for i, c in enumerate(columns) if c in _TEXT_FIELDS]

    def values(row: Any) -> list[Any]:
        out = list(get(row))
        for i in text:
            if out[i] is not None:
                out[i] = str(out[i])
        return out

    return values


def _insert_sql(table: str, columns: tuple[str, ...], verb: str = "INSERT") -> str:
    marks = ", ".join("?" for _ in columns)
    return f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({marks})"


_PAYLOAD_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), default=str)
"""``json.dumps(..., separators=(",", ":"), default=str)`` without building an encoder a call."""
_ORDER_VALUES: Final = _row_values(_ORDER_COLUMNS)
_DEAL_VALUES: Final = _row_values(_DEAL_COLUMNS)
_POSITION_VALUES: Final = _row_values(_POSITION_COLUMNS)
_INSERT_ORDER: Final = _insert_sql("orders", _ORDER_COLUMNS)
_RECORD_DEAL: Final = _insert_sql("deals", _DEAL_COLUMNS, "INSERT OR IGNORE")
_UPSERT_POSITION: Final = (
    f"{_insert_sql('positions', _POSITION_COLUMNS)} ON CONFLICT(ticket) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _POSITION_COLUMNS if c != "ticket")
)


class Journal:
    """A SQLite journal file (see the module docstring). Open with ``Journal.open(path)``."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: str,
        *,
        durable_orders: bool,
        max_events: int | None,
    ) -> None:
        self._conn = conn
        self._path = path
        self._durable_orders = durable_orders
        self._max_events = max_events
        self._lock = threading.RLock()
        self._closed = False
        self._event_count = int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
        self._update_sql: dict[tuple[str, ...], str] = {}

    # -- opening and closing -----------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        durable_orders: bool = True,
        max_events: int | None = 100_000,
        busy_timeout: float = 5.0,
    ) -> Journal:
        """Open (creating it and its parent directories if needed) and migrate a journal.

        ``max_events`` bounds the events table (oldest pruned first; None = unbounded). Raises
        ``JournalError`` for a file written by a newer version, a SQLite file that is not a
        journal, or a file that cannot be read.
        """
        if max_events is not None and max_events < 1:
            raise JournalError(f"max_events must be >= 1 or None, got {max_events}")
        name = str(path)
        if name != MEMORY:
            try:
                Path(name).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise JournalError(f"{name}: cannot create the journal directory: {exc}") from exc
        try:
            conn = sqlite3.connect(
                name, isolation_level=None, check_same_thread=False, timeout=busy_timeout
            )
        except sqlite3.Error as exc:
            raise JournalError(f"{name}: cannot open the journal: {exc}") from exc
        try:
            _prepare(conn, name)
            return cls(conn, name, durable_orders=durable_orders, max_events=max_events)
        except JournalError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise JournalError(f"{name}: unreadable or corrupt journal: {exc}") from exc

    def close(self) -> None:
        """Checkpoint the WAL into the main file and close; closing twice is harmless."""
        with self._lock:
            if self._closed:
                return
            try:
                if self._path != MEMORY:
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                raise JournalError(f"{self._path}: checkpoint at close failed: {exc}") from exc
            finally:
                self._conn.close()
                self._closed = True

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def path(self) -> str:
        """The file path (or ``":memory:"``)."""
        return self._path

    @property
    def durable_orders(self) -> bool:
        """True when an order row's commit is fsynced (``synchronous=FULL``)."""
        return self._durable_orders

    @property
    def closed(self) -> bool:
        """True after ``close()``."""
        return self._closed

    @property
    def schema_version(self) -> int:
        """``PRAGMA user_version`` of the open file."""
        return int(self._query_one("PRAGMA user_version")[0])

    @property
    def journal_mode(self) -> str:
        """SQLite's journal mode (``'wal'`` for a file journal)."""
        return str(self._query_one("PRAGMA journal_mode")[0])

    def flush(self) -> None:
        """Checkpoint the WAL into the main file (every write is already committed)."""
        if self._path != MEMORY:
            self._query_one("PRAGMA wal_checkpoint(TRUNCATE)")

    def integrity_check(self) -> list[str]:
        """``PRAGMA integrity_check``: ``[]`` when the file is sound, else SQLite's findings."""
        with self._guard("integrity check"):
            rows = self._conn.execute("PRAGMA integrity_check").fetchall()
        found = [str(r[0]) for r in rows]
        return [] if found == ["ok"] else found

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several writes into one transaction (committed at the end, rolled back on error).

        Inside it, ``insert_order`` does not switch to ``synchronous=FULL``; the outer commit
        follows the journal's normal setting.
        """
        with self._tx("transaction"):
            yield

    @contextmanager
    def batch(self, *, durable: bool) -> Iterator[None]:
        """One transaction for several writes (``JournalWriter``'s commit); with ``durable`` and
        ``durable_orders``, the commit is fsynced (``synchronous=FULL``) as an order row's is."""
        with self._lock:
            full = durable and self._durable_orders and not self._in_transaction()
            if full:
                self._pragma("synchronous = FULL")
            try:
                with self._tx("batch of writes"):
                    yield
            finally:
                if full:
                    self._pragma("synchronous = NORMAL")

    # -- orders ------------------------------------------------------------------------------

    def insert_order(self, row: OrderRow) -> None:
        """Journal a new order; committed (and fsynced with ``durable_orders``) on return.

        Raises ``JournalError`` when the client id is already journaled.
        """
        values = _ORDER_VALUES(row)
        with self._lock:
            self._check_open()
            durable = self._durable_orders and not self._in_transaction()
            if durable:
                self._pragma("synchronous = FULL")
            try:
                try:
                    self._conn.execute(_INSERT_ORDER, values)
                except sqlite3.IntegrityError as exc:
                    raise JournalError(
                        f"{self._path}: order {row.client_id!r} is already journaled"
                    ) from exc
                except sqlite3.Error as exc:
                    raise JournalError(
                        f"{self._path}: insert order {row.client_id} failed: {exc}"
                    ) from exc
            finally:
                if durable:
                    self._pragma("synchronous = NORMAL")

    def update_order(self, client_id: str, *, updated_at: float, **fields: Any) -> None:
        """Set ``fields`` (state, tickets, retcode, error, fill) of one order.

        Raises ``JournalError`` for an unknown client id or an unknown field.
        """
        names = tuple(fields)
        sql = self._update_sql.get(names)
        if sql is None:
            unknown = set(fields) - _ORDER_UPDATABLE
            if unknown:
                raise JournalError(f"cannot update order fields {sorted(unknown)}")
            assignments = ", ".join(f"{name} = ?" for name in (*names, "updated_at"))
            sql = self._update_sql[names] = f"UPDATE orders SET {assignments} WHERE client_id = ?"
        values = [str(v) if v is not None and k in _TEXT_FIELDS else v for k, v in fields.items()]
        values += (updated_at, client_id)
        # One statement on a primary key: atomic on its own (autocommit, or part of the open
        # transaction); when it matches no row nothing was written.
        if self._write(sql, values, "update order", client_id).rowcount != 1:
            raise JournalError(f"{self._path}: no journaled order {client_id!r}")

    def get_order(self, client_id: str) -> OrderRow | None:
        """The order with this client id, or None."""
        rows = self._select(OrderRow, "orders", "client_id = ?", (client_id,))
        return rows[0] if rows else None

    def order_by_ticket(self, order_ticket: int) -> OrderRow | None:
        """The order the terminal knows as ``order_ticket``, or None."""
        rows = self._select(OrderRow, "orders", "order_ticket = ?", (order_ticket,))
        return rows[0] if rows else None

    def orders(self, states: Iterable[str] | None = None) -> list[OrderRow]:
        """Orders (in one of ``states`` when given), oldest first."""
        if states is None:
            return self._select(OrderRow, "orders", None, (), "created_at, client_id")
        wanted = [str(s) for s in states]
        if not wanted:
            return []
        marks = ", ".join("?" for _ in wanted)
        return self._select(
            OrderRow, "orders", f"state IN ({marks})", tuple(wanted), "created_at, client_id"
        )

    # -- positions ---------------------------------------------------------------------------

    def upsert_position(self, row: PositionRow) -> None:
        """Insert the position, or replace every field of the one with the same ticket."""
        self._write(_UPSERT_POSITION, _POSITION_VALUES(row), "upsert position", row.ticket)

    def close_position(
        self,
        ticket: int,
        *,
        closed_at: float,
        price_close: float | None = None,
        profit: float | None = None,
        swap: float | None = None,
        fees: float | None = None,
        reason: str | None = None,
    ) -> bool:
        """Mark a position closed with its outcome; False when the ticket is not journaled."""
        cursor = self._write(
            "UPDATE positions SET state = 'closed', closed_at = ?, price_close = ?, "
            "profit = ?, swap = ?, fees = ?, close_reason = ? WHERE ticket = ?",
            (closed_at, price_close, profit, swap, fees, reason, ticket),
            "close position",
            ticket,
        )
        return cursor.rowcount == 1

    def rekey_position(self, old_ticket: int, new_ticket: int) -> bool:
        """Follow MT5 re-issuing a position under a new ticket; False for an unknown old ticket.

        The identifier is kept (set to the old ticket when it was not recorded).
        """
        with self._tx(f"rekey position {old_ticket}"):
            try:
                cursor = self._conn.execute(
                    "UPDATE positions SET ticket = ?, identifier = COALESCE(identifier, ?) "
                    "WHERE ticket = ?",
                    (new_ticket, old_ticket, old_ticket),
                )
            except sqlite3.IntegrityError as exc:
                raise JournalError(
                    f"{self._path}: position ticket {new_ticket} is already journaled"
                ) from exc
            return cursor.rowcount == 1

    def get_position(self, ticket: int) -> PositionRow | None:
        """The position with this ticket, or None."""
        rows = self._select(PositionRow, "positions", "ticket = ?", (ticket,))
        return rows[0] if rows else None

    def open_positions(self, symbol: str | None = None) -> list[PositionRow]:
        """Positions still open (for ``symbol`` when given), oldest first."""
        if symbol is None:
            return self._select(PositionRow, "positions", "state = 'open'", (), "opened_at, ticket")
        return self._select(
            PositionRow,
            "positions",
            "state = 'open' AND symbol = ?",
            (symbol,),
            "opened_at, ticket",
        )

    def closed_positions(self) -> list[PositionRow]:
        """Positions closed so far, in the order they closed."""
        return self._select(PositionRow, "positions", "state = 'closed'", (), "closed_at, ticket")

    # -- deals -------------------------------------------------------------------------------

    def record_deal(self, row: DealRow) -> bool:
        """Journal a deal once: True when it was new, False when the ticket was already there."""
        cursor = self._write(_RECORD_DEAL, _DEAL_VALUES(row), "record deal", row.ticket)
        return cursor.rowcount == 1

    def deals_for(
        self,
        *,
        position_ticket: int | None = None,
        client_id: str | None = None,
        order_ticket: int | None = None,
    ) -> list[DealRow]:
        """Deals matching every given filter (all deals when none), oldest first."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("position_ticket", position_ticket),
            ("client_id", client_id),
            ("order_ticket", order_ticket),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = " AND ".join(clauses) if clauses else None
        return self._select(DealRow, "deals", where, tuple(params), "time, ticket")

    def latest_deal_time(self) -> float | None:
        """The time of the newest journaled deal (where a history scan can resume), or None."""
        value = self._query_one("SELECT MAX(time) FROM deals")[0]
        return None if value is None else float(value)

    # -- events ------------------------------------------------------------------------------

    def record_event(
        self,
        type: str,
        correlation_id: str | None,
        payload: Mapping[str, Any] | None,
        time: float,
    ) -> int:
        """Append an event (payload stored as JSON); returns its id. Prunes past ``max_events``."""
        return self.record_event_text(
            type, correlation_id, self.encode_payload(type, payload), time
        )

    @staticmethod
    def encode_payload(type: str, payload: Mapping[str, Any] | None) -> str:
        """An event's payload as the JSON text stored; ``JournalError`` when it is not JSON."""
        try:
            return _PAYLOAD_ENCODER.encode(dict(payload or {}))
        except (TypeError, ValueError) as exc:
            raise JournalError(f"event {type!r}: payload is not JSON-serialisable: {exc}") from exc

    def record_event_text(
        self, type: str, correlation_id: str | None, payload: str, time: float
    ) -> int:
        """``record_event`` with the payload already encoded (``encode_payload``)."""
        with self._lock:
            cursor = self._write(
                "INSERT INTO events (time, type, correlation_id, payload) VALUES (?, ?, ?, ?)",
                (time, str(type), correlation_id, payload),
                "record event",
                type,
            )
            event_id = int(cursor.lastrowid or 0)
            self._event_count += 1
            limit = self._max_events
            if limit is not None and self._event_count > limit + max(1, limit // 10):
                self.prune_events(keep=limit)
            return event_id

    def events(
        self,
        *,
        type: str | None = None,
        since: float | None = None,
        limit: int | None = None,
    ) -> list[EventRow]:
        """Events, oldest first; ``limit`` keeps the newest ``limit`` of those matching."""
        clauses: list[str] = []
        params: list[Any] = []
        if type is not None:
            clauses.append("type = ?")
            params.append(type)
        if since is not None:
            clauses.append("time >= ?")
            params.append(since)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT id, time, type, correlation_id, payload FROM events{where} ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._guard("read events"):
            rows = self._conn.execute(sql, params).fetchall()
        return [EventRow(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in reversed(rows)]

    def prune_events(self, *, keep: int | None = None, before: float | None = None) -> int:
        """Delete events older than ``before`` and/or all but the newest ``keep``; the count."""
        deleted = 0
        with self._tx("prune events"):
            if before is not None:
                deleted += self._conn.execute(
                    "DELETE FROM events WHERE time < ?", (before,)
                ).rowcount
            if keep is not None:
                deleted += self._conn.execute(
                    "DELETE FROM events WHERE id NOT IN "
                    "(SELECT id FROM events ORDER BY id DESC LIMIT ?)",
                    (max(0, keep),),
                ).rowcount
            self._event_count = int(self._conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
        return deleted

    @property
    def event_count(self) -> int:
        """How many events the table holds."""
        return self._event_count

    # -- state and sequences -----------------------------------------------------------------

    def put_state(self, key: str, value: bytes, *, updated_at: float | None = None) -> None:
        """Store a blob under ``key`` (indicator snapshots, risk state, last processed bar)."""
        self._write(  # one statement: atomic on its own
            "INSERT INTO state (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) "
            "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (key, bytes(value), updated_at),
            "put state",
            key,
        )

    def get_state(self, key: str) -> bytes | None:
        """The blob stored under ``key``, or None."""
        with self._guard(f"get state {key}"):
            row = self._conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def delete_state(self, key: str) -> bool:
        """Remove ``key``; False when it was not there."""
        with self._tx(f"delete state {key}"):
            return self._conn.execute("DELETE FROM state WHERE key = ?", (key,)).rowcount == 1

    def state_keys(self, prefix: str = "") -> list[str]:
        """Keys starting with ``prefix``, sorted."""
        with self._guard("list state keys"):
            rows = self._conn.execute(
                "SELECT key FROM state WHERE substr(key, 1, ?) = ? ORDER BY key",
                (len(prefix), prefix),
            ).fetchall()
        return [str(r[0]) for r in rows]

    def next_sequence(self, name: str) -> int:
        """The next value (1, 2, …) of a persistent counter; values never repeat across restarts."""
        with self._tx(f"next sequence {name}"):
            self._conn.execute(
                "INSERT INTO sequences (name, value) VALUES (?, 1) "
                "ON CONFLICT(name) DO UPDATE SET value = value + 1",
                (name,),
            )
            row = self._conn.execute(
                "SELECT value FROM sequences WHERE name = ?", (name,)
            ).fetchone()
            return int(row[0])

    def advance_sequence(self, name: str, value: int) -> None:
        """Move a counter on to ``value``, a value ``next_sequence`` would give next (as the
        journal writer counts it); never back. One statement where ``next_sequence`` needs a
        read-back."""
        self._write(
            "INSERT INTO sequences (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = MAX(value, excluded.value)",
            (name, value),
            "advance sequence",
            name,
        )

    def current_sequence(self, name: str) -> int:
        """The last value ``next_sequence(name)`` gave (0 before the first)."""
        row = self._query_one("SELECT value FROM sequences WHERE name = ?", (name,))
        return 0 if row is None else int(row[0])

    # -- internals ---------------------------------------------------------------------------

    def _in_transaction(self) -> bool:
        return self._conn.in_transaction

    def _check_open(self) -> None:
        if self._closed:
            raise JournalError(f"{self._path}: the journal is closed")

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        with self._lock:
            self._check_open()
            try:
                yield
            except sqlite3.Error as exc:
                raise JournalError(f"{self._path}: {what} failed: {exc}") from exc

    def _write(
        self, sql: str, params: Sequence[Any], what: str = "write", subject: Any = ""
    ) -> sqlite3.Cursor:
        """One write statement, atomic on its own: SQLite's autocommit (no BEGIN/COMMIT round
        trips) outside a transaction, part of the open one inside it. The error names
        ``what subject`` (built only on failure: this is the writes' hot path)."""
        with self._lock:
            if self._closed:
                raise JournalError(f"{self._path}: the journal is closed")
            try:
                return self._conn.execute(sql, params)
            except sqlite3.Error as exc:
                raise JournalError(f"{self._path}: {what} {subject} failed: {exc}") from exc

    @contextmanager
    def _tx(self, what: str) -> Iterator[None]:
        """A write transaction; joins an open one instead of nesting."""
        with self._lock:
            self._check_open()
            if self._conn.in_transaction:
                with self._guard(what):
                    yield
                return
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise JournalError(f"{self._path}: {what} failed: {exc}") from exc
            try:
                with self._guard(what):
                    yield
                    self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def _pragma(self, statement: str) -> None:
        with self._guard(f"PRAGMA {statement}"):
            self._conn.execute(f"PRAGMA {statement}")

    def _query_one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        with self._guard(sql):
            return self._conn.execute(sql, params).fetchone()

    def _select(
        self,
        cls: type[_Row],
        table: str,
        where: str | None,
        params: tuple[Any, ...],
        order: str | None = None,
    ) -> list[_Row]:
        key = (cls, table, where, order)
        sql = _SELECT_SQL.get(key)
        if sql is None:
            sql = f"SELECT {', '.join(_columns(cls))} FROM {table}"
            if where:
                sql += f" WHERE {where}"
            if order:
                sql += f" ORDER BY {order}"
            _SELECT_SQL[key] = sql
        with self._lock:
            if self._closed:
                raise JournalError(f"{self._path}: the journal is closed")
            try:
                rows = self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise JournalError(f"{self._path}: read {table} failed: {exc}") from exc
        return [cls(*row) for row in rows]


_SELECT_SQL: dict[tuple[Any, ...], str] = {}
"""The SQL of each ``Journal._select`` shape, built once."""


def _prepare(conn: sqlite3.Connection, path: str) -> None:
    """Check that the file is a journal this code can read; set pragmas; migrate."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    tables = int(
        conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    )
    if app_id not in (0, APPLICATION_ID) or (app_id == 0 and tables):
        raise JournalError(f"{path}: not a trading-engine journal (a different SQLite database)")
    if version > SCHEMA_VERSION:
        raise JournalError(
            f"{path}: journal schema version {version} is newer than this engine's "
            f"{SCHEMA_VERSION}; upgrade trading-engine to open it"
        )
    if path != MEMORY:
        mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        if mode.lower() != "wal":
            raise JournalError(f"{path}: cannot switch the journal to WAL mode (got {mode})")
    conn.execute("PRAGMA synchronous = NORMAL")
    if version or tables:
        try:
            problems = [str(row[0]) for row in conn.execute("PRAGMA quick_check(5)").fetchall()]
        except sqlite3.Error as exc:
            problems = [str(exc)]
        if problems != ["ok"]:
            raise JournalError(
                f"{path}: corrupt journal (PRAGMA quick_check: {'; '.join(problems)}); restore "
                "a backup, or move the file aside to start a new journal (journal.path)"
            )
    try:
        migrate(conn)
    except sqlite3.Error as exc:
        raise JournalError(f"{path}: migrating the journal schema failed: {exc}") from exc
