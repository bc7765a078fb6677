"""The journal's schema as ordered migrations, versioned by ``PRAGMA user_version``.

Migration ``i`` (1-based) takes a file from version ``i - 1`` to ``i``; each runs in one
transaction together with the version bump, so a file is never left half migrated. A file is
marked as a journal by ``PRAGMA application_id``; append migrations, never edit released ones.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Final

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION", "migrate"]

APPLICATION_ID: Final = 0x54454A31
"""``PRAGMA application_id`` of a trading-engine journal ("TEJ1")."""

_V1: Final = """
CREATE TABLE orders (
    client_id       TEXT PRIMARY KEY,
    symbol          TEXT NOT NULL,
    side            TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    volume          REAL NOT NULL,
    price           REAL,
    sl              REAL,
    tp              REAL,
    magic           INTEGER NOT NULL,
    comment         TEXT NOT NULL DEFAULT '',
    strategy        TEXT,
    correlation_id  TEXT,
    state           TEXT NOT NULL,
    order_ticket    INTEGER,
    position_ticket INTEGER,
    deal_ticket     INTEGER,
    retcode         INTEGER,
    error           TEXT,
    filled_volume   REAL NOT NULL DEFAULT 0,
    fill_price      REAL,
    intent          TEXT NOT NULL DEFAULT 'open' CHECK (intent IN ('open', 'close')),
    position_to_close INTEGER,
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL
);
CREATE INDEX orders_state ON orders (state);
CREATE INDEX orders_order_ticket ON orders (order_ticket);
CREATE INDEX orders_position_ticket ON orders (position_ticket);

CREATE TABLE deals (
    ticket          INTEGER PRIMARY KEY,
    order_ticket    INTEGER,
    position_ticket INTEGER,
    client_id       TEXT,
    symbol          TEXT NOT NULL,
    side            TEXT,
    entry           INTEGER NOT NULL,
    volume          REAL NOT NULL,
    price           REAL NOT NULL,
    profit          REAL NOT NULL DEFAULT 0,
    commission      REAL NOT NULL DEFAULT 0,
    swap            REAL NOT NULL DEFAULT 0,
    fee             REAL NOT NULL DEFAULT 0,
    magic           INTEGER,
    reason          INTEGER,
    time            REAL NOT NULL
);
CREATE INDEX deals_position ON deals (position_ticket);
CREATE INDEX deals_client ON deals (client_id);
CREATE INDEX deals_order ON deals (order_ticket);
CREATE INDEX deals_time ON deals (time);

CREATE TABLE positions (
    ticket          INTEGER PRIMARY KEY,
    identifier      INTEGER,
    client_id       TEXT,
    strategy        TEXT,
    symbol          TEXT NOT NULL,
    side            TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    volume          REAL NOT NULL,
    price_open      REAL NOT NULL,
    sl              REAL,
    tp              REAL,
    magic           INTEGER,
    opened_at       REAL NOT NULL,
    closed_at       REAL,
    price_close     REAL,
    profit          REAL,
    swap            REAL,
    fees            REAL,
    close_reason    TEXT,
    state           TEXT NOT NULL CHECK (state IN ('open', 'closed'))
);
CREATE INDEX positions_state ON positions (state);
CREATE INDEX positions_identifier ON positions (identifier);

CREATE TABLE events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    time            REAL NOT NULL,
    type            TEXT NOT NULL,
    correlation_id  TEXT,
    payload         TEXT NOT NULL
);
CREATE INDEX events_time ON events (time);
CREATE INDEX events_type ON events (type);

CREATE TABLE state (
    key             TEXT PRIMARY KEY,
    value           BLOB NOT NULL,
    updated_at      REAL
);

CREATE TABLE sequences (
    name            TEXT PRIMARY KEY,
    value           INTEGER NOT NULL
);
"""

MIGRATIONS: Final[tuple[str, ...]] = (_V1,)
"""Migration scripts, oldest first; entry ``i`` upgrades version ``i`` to ``i + 1``."""

SCHEMA_VERSION: Final = len(MIGRATIONS)
"""The version this code writes and reads."""


def migrate(conn: sqlite3.Connection, migrations: Sequence[str] = MIGRATIONS) -> int:
    """Apply the migrations a file lacks, oldest first, each with its version bump atomically.

    ``conn`` must be in autocommit mode (``isolation_level=None``). Returns the version reached.
    A failing step is rolled back whole and its ``sqlite3.Error`` propagates; the steps before it
    stay applied. Raises ``ValueError`` for a file newer than ``migrations``.
    """
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > len(migrations):
        raise ValueError(f"schema version {version} is newer than {len(migrations)}")
    for target in range(version + 1, len(migrations) + 1):
        try:
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{migrations[target - 1]}\n"
                f"PRAGMA application_id = {APPLICATION_ID};\n"
                f"PRAGMA user_version = {target};\nCOMMIT;"
            )
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return len(migrations)
