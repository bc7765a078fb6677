"""``AccountStore``: a simulated terminal's account in a SQLite file, as a demo server keeps it.

What a server would remember is written in one transaction each time it changes: the account
(balance, ticket sequences), open positions, pending orders, the order and deal history, the
instant the trade server has processed the market up to, and the state of the execution model's
random generator (slippage, requotes). The market itself is not stored: generated prices are a
pure function of (seed, symbol, server day), so the market a resumed terminal regenerates is the
one the account traded on. The identity of the account (login, server, currency, margin mode,
leverage, symbols, and the market's seed, start and history) is stored with it; a terminal built
with another identity refuses the file (``AccountMismatch``).

Writes happen after every ``order_send`` and after every call whose catch-up changed the books
(SL, TP, stop-out, pending activation, swap); the clock alone is written at most once per
simulated minute. Each write is one SQLite transaction in WAL mode: a process killed at any
instant leaves the file at the last committed state, never half-written.

Tables: ``meta`` (key → JSON), ``positions`` and ``orders`` (rewritten whole: a handful of rows),
``history_orders`` and ``deals`` (append-only, in the server's order).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
import uuid
from collections.abc import Iterator, Mapping
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trading_engine.mt5sim.server.ledger import OrderRecord, PositionRecord
from trading_engine.mt5sim.spec.structs import TradeDeal

if TYPE_CHECKING:
    from trading_engine.mt5sim.api.core import TerminalCore
    from trading_engine.mt5sim.config import SimConfig

__all__ = [
    "AccountMismatch",
    "AccountStore",
    "StoredBooks",
    "read_books",
    "saved_clock",
    "saved_start",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS positions (ticket INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (ticket INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS history_orders (seq INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deals (seq INTEGER PRIMARY KEY, data TEXT NOT NULL);
"""
_APPLICATION_ID = 0x54455341  # "TESA": a trading-engine simulated account
_CLOCK_EVERY_S = 60.0


class AccountMismatch(ValueError):
    """The account file was made for another account or market than the terminal's config."""


def identity(config: SimConfig) -> dict[str, Any]:
    """What must be the same for a stored account to belong to a terminal built from ``config``."""
    return {
        "login": config.login,
        "server": config.server,
        "currency": config.currency,
        "margin_mode": config.margin_mode,
        "leverage": config.leverage,
        "symbols": sorted(config.specs()),
        "seed": config.seed,
        "start": None if config.start is None else config.start.timestamp(),
        "history_days": config.history_days,
        "market_mode": config.market_mode,
        "history_files": None
        if config.history_files is None
        else {k: str(v) for k, v in sorted(config.history_files.items())},
    }


@dataclasses.dataclass(frozen=True, slots=True)
class StoredBooks:
    """What an account file holds (read-only, e.g. to audit a journal against it)."""

    positions: list[PositionRecord]
    orders: list[OrderRecord]
    history_orders: list[OrderRecord]
    deals: list[TradeDeal]
    balance: float


def read_books(path: str | Path) -> StoredBooks:
    """The books stored in the account file at ``path`` (read-only)."""
    try:
        conn = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
        try:

            def rows(table: str, key: str) -> list[list[Any]]:
                query = f"SELECT data FROM {table} ORDER BY {key}"
                return [json.loads(d) for (d,) in conn.execute(query)]

            books = conn.execute("SELECT value FROM meta WHERE key = 'books'").fetchone()
            return StoredBooks(
                positions=[PositionRecord(*r) for r in rows("positions", "ticket")],
                orders=[OrderRecord(*r) for r in rows("orders", "ticket")],
                history_orders=[OrderRecord(*r) for r in rows("history_orders", "seq")],
                deals=[TradeDeal._make(tuple(r)) for r in rows("deals", "seq")],
                balance=float(json.loads(books[0])["balance"]) if books else 0.0,
            )
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise AccountMismatch(f"{path}: unreadable account file: {exc}") from None


def _saved_meta(path: str | Path, key: str) -> Any:
    """The JSON value of ``key`` in the account file's ``meta`` table, or None when there is no
    such file or value. Read without taking the file over."""
    p = Path(path)
    if not p.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise AccountMismatch(f"{p}: not a simulated account file: {exc}") from None
    return None if row is None else json.loads(row[0])


def saved_clock(path: str | Path) -> tuple[float, float] | None:
    """``(simulated UTC time, wall time)`` of the account file's last write, or None when there
    is no such file (or it holds no account yet)."""
    value = _saved_meta(path, "clock")
    return None if value is None else (float(value["utc"]), float(value["wall"]))


def saved_start(path: str | Path) -> float | None:
    """The market start (UTC epoch seconds) the account file's account was made with, or None
    when there is no such file, no account in it yet, or it was made without a start."""
    identity = _saved_meta(path, "identity")
    start = None if identity is None else identity.get("start")
    return None if start is None else float(start)


class AccountStore:
    """One account file; ``attach(core)`` restores it into a terminal (or starts it) and then
    ``changed(core)`` / ``save(core)`` keep it up to date."""

    def __init__(self, path: str | Path, *, resume: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not resume:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        try:
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            app_id = int(self._conn.execute("PRAGMA application_id").fetchone()[0])
            tables = int(
                self._conn.execute(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
                ).fetchone()[0]
            )
            if app_id not in (0, _APPLICATION_ID) or (app_id == 0 and tables):
                raise AccountMismatch(f"{self.path}: not a simulated account file")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.executescript(_SCHEMA)
            self._conn.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
        except sqlite3.Error as exc:
            raise AccountMismatch(f"{self.path}: unreadable account file: {exc}") from None
        self.account_id = ""
        self.resumed = False
        self._deals_written = 0
        self._history_written = 0
        self._fingerprint: tuple[Any, ...] = ()
        self._clock_written = float("-inf")

    # -- attaching ------------------------------------------------------------------------------

    def attach(self, core: TerminalCore) -> bool:
        """Restore the stored account into ``core`` (True), or store ``core``'s fresh account
        (False). ``AccountMismatch`` when the file belongs to another account or market."""
        meta = self._meta()
        wanted = identity(core.config)
        if "identity" not in meta:
            self.account_id = uuid.uuid4().hex
            self._put_meta({"identity": wanted, "account_id": self.account_id})
            self.save(core)
            return False
        stored = meta["identity"]
        different = sorted(k for k in wanted if stored.get(k) != wanted[k])
        if different:
            raise AccountMismatch(
                f"{self.path}: this simulated account was made with other settings "
                f"({', '.join(different)}); start a fresh account (run --fresh) or point "
                "terminal.sim.account_path at another file"
            )
        self.account_id = str(meta["account_id"])
        self._restore(core, meta)
        self.resumed = True
        return True

    def _restore(self, core: TerminalCore, meta: Mapping[str, Any]) -> None:
        ledger, server, catchup = core.ledger, core.server, core._catchup
        ledger.positions = {
            p.ticket: p for p in (PositionRecord(*row) for row in self._rows("positions"))
        }
        ledger.orders = {o.ticket: o for o in (OrderRecord(*row) for row in self._rows("orders"))}
        ledger.history_orders = {
            o.ticket: o for o in (OrderRecord(*row) for row in self._rows("history_orders"))
        }
        ledger.deals = []
        ledger.deals_by_position = {}
        ledger.deals_by_order = {}
        for row in self._rows("deals"):
            deal = TradeDeal._make(tuple(row))
            ledger.deals.append(deal)
            ledger.deals_by_position.setdefault(deal.position_id, []).append(deal)
            ledger.deals_by_order.setdefault(deal.order, []).append(deal)
        books = meta["books"]
        ledger.balance = float(books["balance"])
        ledger._next_order = int(books["next_order"])
        ledger._next_deal = int(books["next_deal"])
        server.async_rejects = set(books["async_rejects"])
        server.last_fill_msc = {int(k): int(v) for k, v in books["last_fill_msc"].items()}
        server.rng.bit_generator.state = books["rng"]
        core._request_id = int(books["request_id"])
        catchup.resync(int(books["synced_msc"]), int(books["rolled_msc"]))
        self._deals_written = len(ledger.deals)
        self._history_written = len(ledger.history_orders)
        self._fingerprint = _fingerprint(core)

    # -- writing --------------------------------------------------------------------------------

    def changed(self, core: TerminalCore, now_utc: float) -> None:
        """Write the account when its books changed since the last write, else the clock once
        per simulated minute."""
        fingerprint = _fingerprint(core)
        if fingerprint != self._fingerprint:
            self.save(core)
        elif now_utc - self._clock_written >= _CLOCK_EVERY_S:
            self._write(lambda: self._put_clock(core), "clock")

    def save(self, core: TerminalCore) -> None:
        """Write the whole account state in one transaction."""
        self._write(lambda: self._put_books(core), "account")
        self._fingerprint = _fingerprint(core)

    def _write(self, body: Any, what: str) -> None:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                body()
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise OSError(f"{self.path}: writing the {what} failed: {exc}") from exc

    def _put_books(self, core: TerminalCore) -> None:
        ledger, server, catchup = core.ledger, core.server, core._catchup
        conn = self._conn
        conn.execute("DELETE FROM positions")
        conn.executemany(
            "INSERT INTO positions (ticket, data) VALUES (?, ?)",
            [(p.ticket, json.dumps(dataclasses.astuple(p))) for p in ledger.positions.values()],
        )
        conn.execute("DELETE FROM orders")
        conn.executemany(
            "INSERT INTO orders (ticket, data) VALUES (?, ?)",
            [(o.ticket, json.dumps(dataclasses.astuple(o))) for o in ledger.orders.values()],
        )
        new_history = list(islice(ledger.history_orders.values(), self._history_written, None))
        conn.executemany(
            "INSERT INTO history_orders (seq, data) VALUES (?, ?)",
            [
                (self._history_written + i, json.dumps(dataclasses.astuple(o)))
                for i, o in enumerate(new_history)
            ],
        )
        conn.executemany(
            "INSERT INTO deals (seq, data) VALUES (?, ?)",
            [
                (i, json.dumps(list(ledger.deals[i])))
                for i in range(self._deals_written, len(ledger.deals))
            ],
        )
        books = {
            "balance": ledger.balance,
            "next_order": ledger._next_order,
            "next_deal": ledger._next_deal,
            "async_rejects": sorted(server.async_rejects),
            "last_fill_msc": {str(k): v for k, v in server.last_fill_msc.items()},
            "rng": server.rng.bit_generator.state,
            "request_id": core._request_id,
            "synced_msc": catchup.synced_msc,
            "rolled_msc": catchup.rolled_msc,
        }
        self._put_meta({"books": books})
        self._put_clock(core)
        self._history_written += len(new_history)
        self._deals_written = len(ledger.deals)

    def _put_clock(self, core: TerminalCore) -> None:
        utc = core.now_utc
        self._put_meta({"clock": {"utc": utc, "wall": time.time()}})
        self._clock_written = utc

    def _put_meta(self, values: Mapping[str, Any]) -> None:
        self._conn.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [(key, json.dumps(value)) for key, value in values.items()],
        )

    # -- reading --------------------------------------------------------------------------------

    def _meta(self) -> dict[str, Any]:
        rows = self._conn.execute("SELECT key, value FROM meta").fetchall()
        return {str(k): json.loads(v) for k, v in rows}

    def _rows(self, table: str) -> Iterator[list[Any]]:
        key = "ticket" if table in ("positions", "orders") else "seq"
        for (data,) in self._conn.execute(f"SELECT data FROM {table} ORDER BY {key}"):
            yield json.loads(data)

    def close(self) -> None:
        """Checkpoint and close the file."""
        try:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self._conn.close()


def _fingerprint(core: TerminalCore) -> tuple[Any, ...]:
    """Cheap summary of the books: equal fingerprints, nothing to write."""
    ledger = core.ledger
    return (
        len(ledger.deals),
        ledger._next_order,
        len(ledger.history_orders),
        tuple((p.ticket, p.volume, p.sl, p.tp, p.swap) for p in ledger.positions.values()),
        tuple(
            (o.ticket, o.volume_current, o.price_open, o.sl, o.tp, o.state)
            for o in ledger.orders.values()
        ),
        len(core.server.async_rejects),
    )
