"""Positions: ``OpenPosition`` (one of ours), its read-only ``PositionView``, and ``Portfolio``.

The portfolio is owned by the engine, not by a service, so it outlives service restarts. The
execution stage writes it (fills, closes, reconciliation); the strategy stage only reads views of
it (``Portfolio.view``), to put the current position into each snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from trading_engine.model.side import Side

__all__ = ["OpenPosition", "Portfolio", "PositionView", "PositionViews"]


@dataclass(slots=True)
class PositionView:
    """The open position of a strategy on a symbol, as the engine knows it (a copy: read-only)."""

    ticket: int
    side: Side
    volume: float
    price_open: float
    sl: float | None = None
    tp: float | None = None
    profit: float = 0.0


class PositionViews(Protocol):
    """What a reader of positions may ask: the view of a strategy's position on a symbol."""

    def view(self, symbol: str, strategy: str) -> PositionView | None: ...


@dataclass(slots=True)
class OpenPosition:
    """One open position of ours (``ticket`` is the terminal's position ticket)."""

    ticket: int
    symbol: str
    side: Side
    volume: float
    price_open: float
    sl: float | None
    tp: float | None
    strategy: str
    client_id: str
    opened_at: float
    profit: float = 0.0

    def view(self) -> PositionView:
        """The strategy's read-only view of this position."""
        return PositionView(
            self.ticket, self.side, self.volume, self.price_open, self.sl, self.tp, self.profit
        )


@dataclass
class Portfolio:
    """Open positions by ticket; cheap lookups by symbol and strategy."""

    positions: dict[int, OpenPosition] = field(default_factory=dict)

    def add(self, position: OpenPosition) -> None:
        self.positions[position.ticket] = position

    def remove(self, ticket: int) -> OpenPosition | None:
        return self.positions.pop(ticket, None)

    def get(self, ticket: int) -> OpenPosition | None:
        return self.positions.get(ticket)

    def for_symbol(self, symbol: str, strategy: str | None = None) -> list[OpenPosition]:
        """Open positions on ``symbol`` (opened by ``strategy`` when given), oldest first."""
        return [
            p
            for p in self.positions.values()
            if p.symbol == symbol and (strategy is None or p.strategy == strategy)
        ]

    def view(self, symbol: str, strategy: str) -> PositionView | None:
        """The position a strategy holds on a symbol (its oldest), or None when flat."""
        if not self.positions:
            return None
        for position in self.positions.values():
            if position.symbol == symbol and position.strategy == strategy:
                return position.view()
        return None

    def __len__(self) -> int:
        return len(self.positions)
