"""Booking a closed position from its deals: the one rule shared by the trader and reconciliation.

A position's deals (same ``position_id``) are sorted by time (milliseconds when given), then by
ticket. The deals that close volume are those with entry ``OUT``, ``OUT_BY`` or ``INOUT`` (a
netting reversal closes the old position's volume and opens the rest the other way); their
volume-weighted price is the close price, their profit and swap are the position's. Commissions
and fees of *every* deal of the position count (the opening deal's included). The reason is the
last closing deal's (``DEAL_REASON_*``, docs/mt5-api.md §3.2).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from trading_engine.model.mt5 import CLOSING_ENTRIES, close_reason

__all__ = ["CloseBooking", "book_close", "deal_order"]


def _get(record: Any, name: str, default: Any = None) -> Any:
    if isinstance(record, dict):
        return record.get(name, default)
    return getattr(record, name, default)


def deal_order(deal: Any) -> tuple[int, int]:
    """Deals in time order (milliseconds when given), then by ticket."""
    msc = int(_get(deal, "time_msc", 0) or 0) or int(_get(deal, "time", 0) or 0) * 1000
    return msc, int(_get(deal, "ticket", 0))


@dataclass(frozen=True, slots=True)
class CloseBooking:
    """The figures of a close, from the position's deals."""

    volume: float
    """Volume closed (sum of the closing deals)."""
    price: float | None
    """Volume-weighted price of the closing deals (None without any)."""
    profit: float
    swap: float
    fees: float
    """Commissions and fees of every deal of the position."""
    time: int | None
    """Server time (seconds) of the last closing deal."""
    deal_reason: int | None
    """``DEAL_REASON_*`` of the last closing deal (None without any)."""
    closing: tuple[Any, ...]

    @property
    def reason(self) -> str | None:
        """The last closing deal's reason as a name (``"sl"``, ``"tp"``, ``"expert"`` …)."""
        if self.deal_reason is None:
            return None
        return close_reason(self.deal_reason)


def book_close(deals: Iterable[Any]) -> CloseBooking:
    """The close figures of one position from its deals (any order; see the module docstring)."""
    ordered = sorted(deals, key=deal_order)
    try:
        return _book_records(ordered)
    except AttributeError:
        pass  # dicts, or records without some field: read with the defaults below
    closing = [d for d in ordered if int(_get(d, "entry", -1)) in CLOSING_ENTRIES]
    volume = sum(float(_get(d, "volume", 0.0)) for d in closing)
    price = (
        sum(float(_get(d, "price", 0.0)) * float(_get(d, "volume", 0.0)) for d in closing) / volume
        if volume > 0
        else None
    )
    last = closing[-1] if closing else None
    return CloseBooking(
        volume=volume,
        price=price,
        profit=sum(float(_get(d, "profit", 0.0)) for d in closing),
        swap=sum(float(_get(d, "swap", 0.0)) for d in closing),
        fees=sum(float(_get(d, "commission", 0.0)) + float(_get(d, "fee", 0.0)) for d in ordered),
        time=int(_get(last, "time", 0)) if last is not None else None,
        deal_reason=int(_get(last, "reason", -1)) if last is not None else None,
        closing=tuple(closing),
    )


def _book_records(ordered: list[Any]) -> CloseBooking:
    """``book_close`` of records with every ``TradeDeal`` field (the terminal's answer), read
    by attribute; ``AttributeError`` for anything else."""
    closing = [d for d in ordered if int(d.entry) in CLOSING_ENTRIES]
    volume = sum(float(d.volume) for d in closing)
    price = sum(float(d.price) * float(d.volume) for d in closing) / volume if volume > 0 else None
    last = closing[-1] if closing else None
    return CloseBooking(
        volume=volume,
        price=price,
        profit=sum(float(d.profit) for d in closing),
        swap=sum(float(d.swap) for d in closing),
        fees=sum(float(d.commission) + float(d.fee) for d in ordered),
        time=int(last.time) if last is not None else None,
        deal_reason=int(last.reason) if last is not None else None,
        closing=tuple(closing),
    )
