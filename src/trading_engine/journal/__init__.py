"""The SQLite journal: orders (written before they are sent), deals, positions, events, state
blobs and persistent counters, in a versioned WAL-mode file.
"""

from trading_engine.journal.schema import SCHEMA_VERSION
from trading_engine.journal.store import MEMORY, DealRow, EventRow, Journal, OrderRow, PositionRow
from trading_engine.journal.writer import JournalWriter, WriterStats

__all__ = [
    "MEMORY",
    "SCHEMA_VERSION",
    "DealRow",
    "EventRow",
    "Journal",
    "JournalWriter",
    "OrderRow",
    "PositionRow",
    "WriterStats",
]
