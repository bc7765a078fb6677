"""Conversions between the order/position models and the journal's rows (pure)."""

from __future__ import annotations

from trading_engine.events import Side
from trading_engine.execution.reconcile import AdoptedPosition, BookPosition
from trading_engine.journal.store import OrderRow, PositionRow
from trading_engine.model.order import Order
from trading_engine.model.order_state import OrderState
from trading_engine.model.position import OpenPosition

__all__ = [
    "adopted",
    "book_position",
    "open_position_from_row",
    "order_from_row",
    "order_row",
    "position_row",
]


def order_row(order: Order, now: float) -> OrderRow:
    """The journal row of an order, as it stands."""
    return OrderRow(
        client_id=order.client_id,
        symbol=order.symbol,
        side=str(order.side),
        volume=order.volume,
        magic=order.magic,
        state=str(order.state),
        created_at=now,
        updated_at=now,
        price=order.price,
        sl=order.sl,
        tp=order.tp,
        comment=order.comment,
        strategy=order.strategy,
        correlation_id=order.correlation_id,
        order_ticket=order.order_ticket,
        position_ticket=order.position_ticket,
        deal_ticket=order.deal_ticket,
        retcode=order.retcode,
        error=order.message or None,
        filled_volume=order.filled_volume,
        intent=order.intent,
        position_to_close=order.position_to_close,
    )


def order_from_row(row: OrderRow) -> Order:
    """The order a journal row describes (to resolve or reconcile it)."""
    return Order(
        client_id=row.client_id,
        symbol=row.symbol,
        side=Side(row.side),
        volume=row.volume,
        magic=row.magic,
        comment=row.comment,
        intent="close" if row.intent == "close" else "open",
        strategy=row.strategy or "",
        correlation_id=row.correlation_id or "",
        price=row.fill_price if row.fill_price is not None else row.price,
        sl=row.sl,
        tp=row.tp,
        position_to_close=row.position_to_close,
        state=OrderState(row.state),
        filled_volume=row.filled_volume,
        order_ticket=row.order_ticket,
        position_ticket=row.position_ticket,
        deal_ticket=row.deal_ticket,
        retcode=row.retcode,
        message=row.error or "",
        updated_at=row.updated_at,
        sent=row.state != str(OrderState.NEW),
    )


def position_row(position: OpenPosition, magic: int, identifier: int | None = None) -> PositionRow:
    """The journal row of an open position."""
    return PositionRow(
        ticket=position.ticket,
        symbol=position.symbol,
        side=str(position.side),
        volume=position.volume,
        price_open=position.price_open,
        opened_at=position.opened_at,
        identifier=identifier if identifier is not None else position.ticket,
        client_id=position.client_id or None,
        strategy=position.strategy or None,
        sl=position.sl,
        tp=position.tp,
        magic=magic,
    )


def open_position_from_row(row: PositionRow) -> OpenPosition:
    """The portfolio entry of an open journal position."""
    return OpenPosition(
        ticket=row.ticket,
        symbol=row.symbol,
        side=Side(row.side),
        volume=row.volume,
        price_open=row.price_open,
        sl=row.sl,
        tp=row.tp,
        strategy=row.strategy or "",
        client_id=row.client_id or "",
        opened_at=row.opened_at,
    )


def book_position(row: PositionRow) -> BookPosition:
    """The reconciliation's view of an open journal position."""
    return BookPosition(
        ticket=row.ticket,
        symbol=row.symbol,
        side=Side(row.side),
        volume=row.volume,
        price_open=row.price_open,
        sl=row.sl,
        tp=row.tp,
        identifier=row.identifier,
        client_id=row.client_id or "",
        strategy=row.strategy or "",
    )


def adopted(position: AdoptedPosition, strategy: str, now: float) -> OpenPosition:
    """The portfolio entry of a position found on the terminal and missing from the journal.

    ``opened_at`` is when the engine adopted it, on its own clock (UTC) like every journal time
    but the deals' (their ``time`` is the terminal's server time).
    """
    return OpenPosition(
        ticket=position.ticket,
        symbol=position.symbol,
        side=position.side,
        volume=position.volume,
        price_open=position.price_open,
        sl=position.sl,
        tp=position.tp,
        strategy=strategy,
        client_id=position.client_id or "",
        opened_at=now,  # the engine's clock (UTC); position.time is the terminal's server time
        profit=position.profit,
    )
