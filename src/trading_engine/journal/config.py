"""Settings of the SQLite journal (``journal``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from trading_engine.sections import Section

__all__ = ["JournalConfig"]


class JournalConfig(Section):
    """The SQLite journal of orders, deals, positions and events."""

    path: Path = Field(Path("journal/trading.db"), description="SQLite file")
    durable_orders: bool = Field(
        True, description="fsync each order row before it is sent (off: faster backtests)"
    )
