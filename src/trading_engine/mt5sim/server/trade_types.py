"""Value types of the trade server: the market view it needs, its answers and account figures."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple, Protocol

from trading_engine.mt5sim.server import validation as v
from trading_engine.mt5sim.server.ledger import PositionRecord
from trading_engine.mt5sim.spec.symbols import SymbolSpec

__all__ = ["DealPlan", "Figures", "MarketView", "Outcome"]


class MarketView(Protocol):
    """What the trade server needs to know of the market at the current instant."""

    now_msc: int

    def quote(self, symbol: str) -> tuple[float, float] | None:
        """Current (bid, ask), or None without prices."""
        ...

    def is_open(self, symbol: str) -> bool:
        """Whether the symbol trades now."""
        ...

    def no_prices(self, symbol: str) -> bool:
        """Whether the server has no usable quote now (faults, session opening)."""
        ...


@dataclasses.dataclass(slots=True)
class Outcome:
    """A trade request's answer before it becomes an ``OrderSendResult``/``OrderCheckResult``."""

    retcode: int
    deal: int = 0
    order: int = 0
    volume: float = 0.0
    price: float = 0.0
    bid: float = 0.0
    ask: float = 0.0
    figures: Figures | None = None

    @property
    def comment(self) -> str:
        """The server's comment for ``retcode``."""
        return v.RETCODE_COMMENTS.get(self.retcode, "Unknown error")


class Figures(NamedTuple):
    """Account figures: balance, floating profit, equity, margin, free margin, margin level."""

    balance: float
    profit: float
    equity: float
    margin: float
    margin_free: float
    margin_level: float


@dataclasses.dataclass(slots=True)
class DealPlan:
    """A validated market deal, ready to project or execute."""

    spec: SymbolSpec
    buy: bool
    volume: float
    price: float
    close: PositionRecord | None
    close_volume: float
    open_volume: float
