"""Reconciliation of the journal with the terminal (pure): what happened while we were not looking.

Inputs are the journal's view, its unfinished ``Order`` objects and this engine's open positions
(any objects shaped like :class:`HeldPosition`, e.g. :class:`BookPosition`), and the terminal's
answers as plain records with MT5 field names, either the module's structs (attribute access) or
their ``_asdict()`` mappings: ``positions_get()``, ``orders_get()`` (pending orders),
``history_deals_get(from, to)`` and optionally ``history_orders_get(from, to)``. The deal history
must cover the time since the oldest unfinished order or open position of the journal; whatever
is older than the window cannot be seen.

The result, a :class:`Reconciliation`, is applied by the service in this order:

1. ``resolutions``: the new state of each unfinished order (:func:`apply_resolution` drives the
   legal transitions). An order is looked up by ``magic`` AND the tag in its comment, or by its
   order ticket when known: its deals (filled), a position it opened, a pending order (placed),
   the order history (canceled, expired, rejected). **Found nowhere, it was never executed: it
   becomes REJECTED and is never sent again** (a new signal makes a new order with a new id).
   A market order filled in part whose remainder is gone ends CANCELED with its
   ``filled_volume`` (the fill must still be booked).
2. ``adopted_positions``: this engine's positions (by ``magic``) missing from the journal,
   including those opened by a just-resolved order (``client_id`` then names it).
3. ``closed_positions``: journal positions gone from the terminal (closed by SL/TP, stop-out or
   by hand while away), and positions opened by a resolved order and already closed, with their
   closing deals' volume, price, P&L and reason; ``complete`` is False when the closing deals
   are not (all) in the window.
4. ``position_updates``: journal positions whose volume, SL or TP changed on the terminal.
5. ``adopted_orders``: this engine's pending orders missing from the journal.

``foreign_positions`` / ``foreign_orders`` (another ``magic``: manual trades, other robots) are
listed for information and never touched.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from trading_engine.events import Side
from trading_engine.execution.booking import book_close, deal_order
from trading_engine.execution.client_ids import TAG_PREFIX, parse_tag
from trading_engine.model.mt5 import (
    CLOSING_ENTRIES,
    HISTORY_ORDER_STATES,
    OPENING_ENTRIES,
    DealType,
)
from trading_engine.model.order import Order
from trading_engine.model.order_state import OrderState

__all__ = [
    "AdoptedOrder",
    "AdoptedPosition",
    "BookPosition",
    "ClosedPosition",
    "HeldPosition",
    "PositionUpdate",
    "Reconciliation",
    "Resolution",
    "apply_resolution",
    "reconcile",
]

_EPS = 1e-9


def _get(record: Any, name: str, default: Any = None) -> Any:
    if isinstance(record, Mapping):
        return record.get(name, default)
    return getattr(record, name, default)


def _side_of_type(kind: int) -> Side:
    """BUY for even MT5 order/deal/position types 0–7 (BUY, BUY_LIMIT, BUY_STOP …)."""
    return Side.BUY if int(kind) % 2 == 0 else Side.SELL


def _opt_price(value: Any) -> float | None:
    return float(value) if value else None


class HeldPosition(Protocol):
    """What reconciliation reads of a journal position (``BookPosition``, or the engine's own
    position type); an ``identifier`` attribute, when present, is used to match re-issued
    tickets."""

    @property
    def ticket(self) -> int: ...
    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> str: ...
    @property
    def volume(self) -> float: ...
    @property
    def price_open(self) -> float: ...
    @property
    def sl(self) -> float | None: ...
    @property
    def tp(self) -> float | None: ...
    @property
    def client_id(self) -> str | None: ...


@dataclass(slots=True)
class BookPosition:
    """An open position of this engine as the journal knows it.

    ``identifier`` is MT5's position identifier (the opening order's ticket; it never changes,
    while the ticket can); it defaults to ``ticket``.
    """

    ticket: int
    symbol: str
    side: Side
    volume: float
    price_open: float
    sl: float | None = None
    tp: float | None = None
    identifier: int | None = None
    client_id: str = ""
    strategy: str = ""

    @property
    def position_id(self) -> int:
        return self.identifier if self.identifier is not None else self.ticket


@dataclass(frozen=True, slots=True)
class Resolution:
    """The terminal's answer about one unfinished order."""

    client_id: str
    state: OrderState
    reason: str
    order_ticket: int | None = None
    position_ticket: int | None = None
    deal_ticket: int | None = None
    filled_volume: float | None = None
    fill_price: float | None = None


@dataclass(frozen=True, slots=True)
class AdoptedPosition:
    """A position of this engine (by magic) that the journal does not have."""

    ticket: int
    identifier: int
    symbol: str
    side: Side
    volume: float
    price_open: float
    sl: float | None
    tp: float | None
    time: int
    profit: float
    comment: str
    tag: str | None
    client_id: str | None
    """The journal order that opened it, when one matched."""


@dataclass(frozen=True, slots=True)
class ClosedPosition:
    """A position that ended while the engine was away, with its closing deals summed up.

    ``profit`` and ``swap`` are the closing deals'; ``fees`` the commission and fee of every deal
    of the position (opening deal included); ``net`` their sum. ``price_close`` is the
    volume-weighted price of the closing deals (``None`` without any).
    """

    ticket: int
    identifier: int
    symbol: str
    side: Side
    volume: float
    price_open: float
    price_close: float | None
    closed_volume: float
    profit: float
    swap: float
    fees: float
    time_close: int | None
    reason: str
    deal_tickets: tuple[int, ...]
    complete: bool
    client_id: str | None = None

    @property
    def net(self) -> float:
        return self.profit + self.swap + self.fees


@dataclass(frozen=True, slots=True)
class PositionUpdate:
    """A journal position whose volume or stops differ on the terminal."""

    ticket: int
    volume: float
    sl: float | None
    tp: float | None
    new_ticket: int | None = None
    """Set when MT5 re-issued the position under a new ticket (same identifier)."""


@dataclass(frozen=True, slots=True)
class AdoptedOrder:
    """A pending order of this engine (by magic) that the journal does not have."""

    ticket: int
    symbol: str
    side: Side
    type: int
    volume: float
    price_open: float
    sl: float | None
    tp: float | None
    comment: str
    tag: str | None


@dataclass(slots=True)
class Reconciliation:
    """Everything the service must apply; see the module docstring for the order."""

    resolutions: list[Resolution] = field(default_factory=list)
    adopted_positions: list[AdoptedPosition] = field(default_factory=list)
    closed_positions: list[ClosedPosition] = field(default_factory=list)
    position_updates: list[PositionUpdate] = field(default_factory=list)
    adopted_orders: list[AdoptedOrder] = field(default_factory=list)
    foreign_positions: list[int] = field(default_factory=list)
    foreign_orders: list[int] = field(default_factory=list)

    @property
    def changes(self) -> int:
        """How many things the service has to apply (0: journal and terminal agree)."""
        return (
            len(self.resolutions)
            + len(self.adopted_positions)
            + len(self.closed_positions)
            + len(self.position_updates)
            + len(self.adopted_orders)
        )

    def summary(self) -> str:
        """One line for the log."""
        return (
            f"{len(self.resolutions)} orders resolved, {len(self.adopted_positions)} positions "
            f"adopted, {len(self.closed_positions)} closed while away, "
            f"{len(self.position_updates)} updated, {len(self.adopted_orders)} orders adopted, "
            f"{len(self.foreign_positions)} foreign positions and {len(self.foreign_orders)} "
            "foreign orders left alone"
        )


def apply_resolution(order: Order, resolution: Resolution) -> None:
    """Move ``order`` to ``resolution.state`` through legal transitions.

    A ``NEW`` order found on the terminal is first marked ``SUBMITTED`` (it was sent); an order
    already in the resolved state only has its fields updated where the table allows it.
    """
    fields: dict[str, object] = {
        "order_ticket": resolution.order_ticket,
        "position_ticket": resolution.position_ticket,
        "deal_ticket": resolution.deal_ticket,
        "filled_volume": resolution.filled_volume,
        "fill_price": resolution.fill_price,
        "message": resolution.reason,
    }
    target = resolution.state
    if order.state is OrderState.NEW and target not in (OrderState.REJECTED, OrderState.CANCELED):
        order.transition(OrderState.SUBMITTED)
    if order.state is target and not order.can_transition(target):
        return  # e.g. still PLACED: nothing new
    order.transition(target, **fields)


# -- the reconciliation ------------------------------------------------------------------------


class _Deals:
    """The trade deals of the window, indexed for the lookups reconciliation needs."""

    def __init__(self, deals: Iterable[Any], magic: int, prefix: str) -> None:
        self.by_tag: dict[str, list[Any]] = {}
        self.by_order: dict[int, list[Any]] = {}
        self.by_position: dict[int, list[Any]] = {}
        for deal in deals:
            if int(_get(deal, "type", -1)) not in (DealType.BUY, DealType.SELL):
                continue  # balance, credit, commission … deals
            self.by_order.setdefault(int(_get(deal, "order", 0)), []).append(deal)
            self.by_position.setdefault(int(_get(deal, "position_id", 0)), []).append(deal)
            if int(_get(deal, "magic", 0)) == magic:
                tag = parse_tag(_get(deal, "comment", ""), prefix)
                if tag is not None:
                    self.by_tag.setdefault(tag, []).append(deal)

    def of_order(self, order_ticket: int | None, tag: str | None) -> list[Any]:
        found: dict[int, Any] = {}
        if tag is not None:
            found.update((int(_get(d, "ticket", 0)), d) for d in self.by_tag.get(tag, ()))
        if order_ticket:
            found.update(
                (int(_get(d, "ticket", 0)), d) for d in self.by_order.get(order_ticket, ())
            )
        return sorted(found.values(), key=deal_order)


def _vwap(deals: list[Any]) -> tuple[float, float | None]:
    volume = sum(float(_get(d, "volume", 0.0)) for d in deals)
    if volume <= 0:
        return 0.0, None
    price = sum(float(_get(d, "volume", 0.0)) * float(_get(d, "price", 0.0)) for d in deals)
    return volume, price / volume


def _fill_resolution(
    order: Order, deals: list[Any], *, pending_left: bool, position_ticket: int | None
) -> Resolution:
    volume, price = _vwap(deals)
    last = deals[-1]
    filled = min(volume, order.volume)
    complete = filled >= order.volume - _EPS
    if complete:
        state, reason = OrderState.FILLED, "filled (found in the deal history)"
    elif pending_left:
        state, reason = OrderState.PARTIALLY_FILLED, "partially filled, remainder pending"
    else:
        state = OrderState.CANCELED
        reason = f"partially filled ({filled:g} of {order.volume:g} lots), remainder canceled"
    return Resolution(
        order.client_id,
        state,
        reason,
        order_ticket=int(_get(last, "order", 0)) or order.order_ticket,
        position_ticket=position_ticket,
        deal_ticket=int(_get(last, "ticket", 0)) or None,
        filled_volume=filled,
        fill_price=price,
    )


def _resolve(
    order: Order,
    tag: str | None,
    deals: _Deals,
    positions: list[Any],
    pending: list[Any],
    history: list[Any],
    magic: int,
    prefix: str,
) -> Resolution | None:
    ticket = order.order_ticket

    def ours(record: Any, ticket_field: str) -> bool:
        if ticket and int(_get(record, ticket_field, 0)) == ticket:
            return True
        if int(_get(record, "magic", 0)) != magic or tag is None:
            return False
        return parse_tag(_get(record, "comment", ""), prefix) == tag

    live = next((o for o in pending if ours(o, "ticket")), None)
    entries = OPENING_ENTRIES if order.intent == "open" else CLOSING_ENTRIES
    order_deals = [d for d in deals.of_order(ticket, tag) if int(_get(d, "entry", -1)) in entries]

    if order_deals:
        if order.intent == "close":
            position_ticket = order.position_to_close
        else:
            position_id = int(_get(order_deals[-1], "position_id", 0))
            position_ticket = position_id or None
            for live_position in positions:  # MT5 may re-issue the ticket; the identifier stays
                if int(_get(live_position, "identifier", 0)) == position_id:
                    position_ticket = int(_get(live_position, "ticket", 0))
        return _fill_resolution(
            order, order_deals, pending_left=live is not None, position_ticket=position_ticket
        )

    if order.intent == "open":
        opened = next((p for p in positions if ours(p, "identifier")), None)
        if opened is not None:
            # Filled, but its deal is outside the window: the position is the evidence.
            return Resolution(
                order.client_id,
                OrderState.FILLED,
                "filled (found as an open position)",
                order_ticket=int(_get(opened, "identifier", 0)) or ticket,
                position_ticket=int(_get(opened, "ticket", 0)),
                filled_volume=order.volume,
                fill_price=float(_get(opened, "price_open", 0.0)) or None,
            )

    if live is not None:
        initial = float(_get(live, "volume_initial", order.volume))
        current = float(_get(live, "volume_current", initial))
        done = max(0.0, initial - current)
        state = OrderState.PARTIALLY_FILLED if done > _EPS else OrderState.PLACED
        if order.state is state and state is OrderState.PLACED:
            return None  # still pending, nothing new
        return Resolution(
            order.client_id,
            state,
            "pending on the terminal",
            order_ticket=int(_get(live, "ticket", 0)),
            filled_volume=done if done > _EPS else None,
        )

    past = next((h for h in history if ours(h, "ticket")), None)
    if past is not None and int(_get(past, "state", -1)) in HISTORY_ORDER_STATES:
        state = HISTORY_ORDER_STATES[int(_get(past, "state", -1))]
        if order.state is OrderState.NEW and state is OrderState.EXPIRED:
            state = OrderState.CANCELED
        return Resolution(
            order.client_id,
            state,
            f"{state} on the terminal (order history)",
            order_ticket=int(_get(past, "ticket", 0)),
        )

    if order.state in (OrderState.PLACED, OrderState.PARTIALLY_FILLED):
        return Resolution(
            order.client_id,
            OrderState.CANCELED,
            "no longer pending and no deal in the history window: treated as canceled",
        )
    return Resolution(
        order.client_id,
        OrderState.REJECTED,
        "not found in the terminal's positions, orders or deals: never executed; not resent",
    )


def _closed(
    *,
    ticket: int,
    identifier: int,
    symbol: str,
    side: Side,
    volume: float,
    price_open: float,
    deals: _Deals,
    client_id: str | None,
) -> ClosedPosition:
    booked = book_close(deals.by_position.get(identifier, ()))
    reason = booked.reason or "closed while away; no closing deal in the history window"
    return ClosedPosition(
        ticket=ticket,
        identifier=identifier,
        symbol=symbol,
        side=side,
        volume=volume,
        price_open=price_open,
        price_close=booked.price,
        closed_volume=booked.volume,
        profit=booked.profit,
        swap=booked.swap,
        fees=booked.fees,
        time_close=booked.time,
        reason=reason,
        deal_tickets=tuple(int(_get(d, "ticket", 0)) for d in booked.closing),
        complete=bool(booked.closing) and booked.volume >= volume - _EPS,
        client_id=client_id,
    )


def _differs(a: float | None, b: float | None) -> bool:
    return not math.isclose(a or 0.0, b or 0.0, rel_tol=0.0, abs_tol=1e-10)


def reconcile(
    *,
    magic: int,
    orders: Iterable[Order],
    positions: Iterable[HeldPosition],
    terminal_positions: Iterable[Any],
    terminal_orders: Iterable[Any],
    deals: Iterable[Any],
    history_orders: Iterable[Any] = (),
    tag_prefix: str = TAG_PREFIX,
) -> Reconciliation:
    """Compare the journal with the terminal; see the module docstring."""
    result = Reconciliation()
    deal_index = _Deals(deals, magic, tag_prefix)
    all_positions = list(terminal_positions)
    all_pending = list(terminal_orders)
    ours_positions = [p for p in all_positions if int(_get(p, "magic", 0)) == magic]
    ours_pending = [o for o in all_pending if int(_get(o, "magic", 0)) == magic]
    result.foreign_positions = [
        int(_get(p, "ticket", 0)) for p in all_positions if int(_get(p, "magic", 0)) != magic
    ]
    result.foreign_orders = [
        int(_get(o, "ticket", 0)) for o in all_pending if int(_get(o, "magic", 0)) != magic
    ]
    history = list(history_orders)

    claimed_pending: set[int] = set()
    resolved_open: list[tuple[Order, Resolution]] = []
    for order in (o for o in orders if not o.is_final):
        tag = parse_tag(order.comment, tag_prefix)
        resolution = _resolve(
            order, tag, deal_index, ours_positions, ours_pending, history, magic, tag_prefix
        )
        for claimed in (order.order_ticket, resolution.order_ticket if resolution else None):
            if claimed:
                claimed_pending.add(claimed)  # a journal order's ticket is never adopted
        if resolution is not None:
            result.resolutions.append(resolution)
            if order.intent == "open" and resolution.position_ticket:
                resolved_open.append((order, resolution))
    # position ticket -> client id of the order that opened it
    opened_by = {r.position_ticket: o.client_id for o, r in resolved_open if r.position_ticket}

    matched = _compare_positions(list(positions), ours_positions, deal_index, result)
    _adopt_positions(ours_positions, matched, opened_by, tag_prefix, result)
    live_tickets = {int(_get(p, "ticket", 0)) for p in ours_positions} | {
        int(_get(p, "identifier", 0)) for p in ours_positions
    }
    _closed_again(resolved_open, live_tickets, deal_index, result)
    _adopt_orders(ours_pending, claimed_pending, tag_prefix, result)
    return result


def _compare_positions(
    book: list[HeldPosition], ours: list[Any], deal_index: _Deals, result: Reconciliation
) -> set[int]:
    """Journal positions against the terminal's: closed ones booked, changed ones updated;
    returns the tickets of the terminal positions matched."""
    by_ticket = {int(_get(p, "ticket", 0)): p for p in ours}
    by_identifier = {int(_get(p, "identifier", 0)): p for p in ours}
    matched: set[int] = set()
    for held in book:
        held_id = getattr(held, "identifier", None) or held.ticket
        live = by_ticket.get(held.ticket) or by_identifier.get(held_id)
        if live is None:
            result.closed_positions.append(
                _closed(
                    ticket=held.ticket,
                    identifier=held_id,
                    symbol=held.symbol,
                    side=Side(held.side),
                    volume=held.volume,
                    price_open=held.price_open,
                    deals=deal_index,
                    client_id=held.client_id or None,
                )
            )
            continue
        live_ticket = int(_get(live, "ticket", 0))
        matched.add(live_ticket)
        volume = float(_get(live, "volume", 0.0))
        sl, tp = _opt_price(_get(live, "sl")), _opt_price(_get(live, "tp"))
        if (
            live_ticket != held.ticket
            or _differs(volume, held.volume)
            or _differs(sl, held.sl)
            or _differs(tp, held.tp)
        ):
            result.position_updates.append(
                PositionUpdate(
                    held.ticket,
                    volume,
                    sl,
                    tp,
                    new_ticket=live_ticket if live_ticket != held.ticket else None,
                )
            )
    return matched


def _adopt_positions(
    ours: list[Any],
    matched: set[int],
    opened_by: dict[int, str],
    tag_prefix: str,
    result: Reconciliation,
) -> None:
    """Our terminal positions the journal does not hold: adopted."""
    for live in ours:
        ticket = int(_get(live, "ticket", 0))
        if ticket in matched:
            continue
        comment = str(_get(live, "comment", "") or "")
        tag = parse_tag(comment, tag_prefix)
        result.adopted_positions.append(
            AdoptedPosition(
                ticket=ticket,
                identifier=int(_get(live, "identifier", 0)) or ticket,
                symbol=str(_get(live, "symbol", "")),
                side=_side_of_type(int(_get(live, "type", 0))),
                volume=float(_get(live, "volume", 0.0)),
                price_open=float(_get(live, "price_open", 0.0)),
                sl=_opt_price(_get(live, "sl")),
                tp=_opt_price(_get(live, "tp")),
                time=int(_get(live, "time", 0)),
                profit=float(_get(live, "profit", 0.0)),
                comment=comment,
                tag=tag,
                client_id=opened_by.get(ticket),
            )
        )


def _closed_again(
    resolved_open: list[tuple[Order, Resolution]],
    live_tickets: set[int],
    deal_index: _Deals,
    result: Reconciliation,
) -> None:
    """Positions opened by a resolved order and already closed again: booked closed."""
    for order, resolution in resolved_open:
        position = resolution.position_ticket
        if position is None or position in live_tickets:
            continue
        if resolution.filled_volume is None or resolution.filled_volume <= 0:
            continue
        result.closed_positions.append(
            _closed(
                ticket=position,
                identifier=position,
                symbol=order.symbol,
                side=order.side,
                volume=resolution.filled_volume,
                price_open=resolution.fill_price or 0.0,
                deals=deal_index,
                client_id=order.client_id,
            )
        )


def _adopt_orders(
    ours_pending: list[Any], claimed: set[int], tag_prefix: str, result: Reconciliation
) -> None:
    """Our pending orders on the terminal that no journal order claims: adopted."""
    for pending in ours_pending:
        ticket = int(_get(pending, "ticket", 0))
        if ticket in claimed:
            continue
        comment = str(_get(pending, "comment", "") or "")
        kind = int(_get(pending, "type", 0))
        result.adopted_orders.append(
            AdoptedOrder(
                ticket=ticket,
                symbol=str(_get(pending, "symbol", "")),
                side=_side_of_type(kind),
                type=kind,
                volume=float(_get(pending, "volume_current", 0.0)),
                price_open=float(_get(pending, "price_open", 0.0)),
                sl=_opt_price(_get(pending, "sl")),
                tp=_opt_price(_get(pending, "tp")),
                comment=comment,
                tag=parse_tag(comment, tag_prefix),
            )
        )
