"""Trade actions on orders and positions: PENDING, MODIFY, REMOVE, SLTP and CLOSE_BY.

Functions of the ``TradeServer`` (``trade_server.py``), which dispatches to them. Pending orders are
placed with retcode 10008; their price, stop-limit price, SL/TP, filling and expiration are
checked as in ``validation.py``; a pending order sent while the market is closed is refused with
10018, or placed and later rejected (``SimConfig.pending_when_closed="async_reject"``). Close-by
works on hedging accounts only: the first position closes at the open price of the second, the
second at its own open price, so the pair's profit is the difference of their open prices and no
spread is paid; both deals are OUT_BY.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trading_engine.mt5sim.server import validation as v
from trading_engine.mt5sim.server.ledger import OrderRecord
from trading_engine.mt5sim.server.money import is_buy
from trading_engine.mt5sim.server.trade_types import Outcome
from trading_engine.mt5sim.spec import constants as c
from trading_engine.mt5sim.spec.masks import (
    SYMBOL_ORDER_CLOSEBY,
    SYMBOL_ORDER_LIMIT,
    SYMBOL_ORDER_SL,
    SYMBOL_ORDER_STOP,
    SYMBOL_ORDER_STOP_LIMIT,
    SYMBOL_ORDER_TP,
)
from trading_engine.mt5sim.spec.structs import TradeRequest
from trading_engine.mt5sim.spec.symbols import SymbolSpec

if TYPE_CHECKING:
    from trading_engine.mt5sim.server.trade_server import TradeServer

__all__ = ["close_by", "modify", "pending", "remove", "sltp"]

_PENDING_BITS = {
    c.ORDER_TYPE_BUY_LIMIT: SYMBOL_ORDER_LIMIT,
    c.ORDER_TYPE_SELL_LIMIT: SYMBOL_ORDER_LIMIT,
    c.ORDER_TYPE_BUY_STOP: SYMBOL_ORDER_STOP,
    c.ORDER_TYPE_SELL_STOP: SYMBOL_ORDER_STOP,
    c.ORDER_TYPE_BUY_STOP_LIMIT: SYMBOL_ORDER_STOP_LIMIT,
    c.ORDER_TYPE_SELL_STOP_LIMIT: SYMBOL_ORDER_STOP_LIMIT,
}
_DAY_MS = 86_400_000
_STOP_LIMIT_TYPES = frozenset((c.ORDER_TYPE_BUY_STOP_LIMIT, c.ORDER_TYPE_SELL_STOP_LIMIT))


def pending(server: TradeServer, req: TradeRequest, check_only: bool) -> Outcome:
    """Place a pending order (10008), or refuse it."""
    spec = server.specs.get(req.symbol)
    if spec is None:
        return Outcome(c.TRADE_RETCODE_INVALID)
    bit = _PENDING_BITS.get(req.type)
    if bit is None or not spec.order_mode & bit:
        return Outcome(c.TRADE_RETCODE_INVALID_ORDER)
    buy = is_buy(req.type)
    rc = v.check_volume(spec, req.volume) or v.check_direction(spec, buy, True)
    if rc:
        return Outcome(rc)
    if server.over_volume_limit(spec, buy, req.volume):
        return Outcome(c.TRADE_RETCODE_LIMIT_VOLUME)
    is_open = server.market.is_open(spec.name)
    if not is_open and server.config.pending_when_closed == "reject":
        return Outcome(c.TRADE_RETCODE_MARKET_CLOSED)
    q = server.market.quote(spec.name)
    if q is None or (is_open and server.market.no_prices(spec.name)):
        return Outcome(c.TRADE_RETCODE_PRICE_OFF)
    bid, ask = q
    rc = (
        v.check_pending_price(spec, req.type, req.price, req.stoplimit, bid, ask)
        or v.check_filling(spec, req.type_filling, False, req.type)
        or _check_order_stops(spec, buy, req)
        or v.check_expiration(spec, req.type_time, req.expiration, server.market.now_msc // 1000)
    )
    if rc:
        return Outcome(rc, bid=bid, ask=ask)
    limit = server.config.limit_orders
    if limit and len(server.ledger.orders) >= limit:
        return Outcome(c.TRADE_RETCODE_LIMIT_ORDERS, bid=bid, ask=ask)
    if check_only:
        return Outcome(0, figures=server.figures())
    now = server.market.now_msc
    order = OrderRecord(
        ticket=server.ledger.new_order_ticket(),
        symbol=spec.name,
        type=req.type,
        volume_initial=req.volume,
        volume_current=req.volume,
        price_open=req.price,
        price_stoplimit=req.stoplimit if req.type in _STOP_LIMIT_TYPES else 0.0,
        sl=req.sl,
        tp=req.tp,
        type_time=req.type_time,
        type_filling=req.type_filling,
        time_expiration=_expiry(req.type_time, req.expiration, now),
        magic=req.magic,
        comment=req.comment,
        reason=c.ORDER_REASON_EXPERT,
        position_id=0,
        position_by_id=0,
        time_setup_msc=now,
    )
    order.price_current = ask if buy else bid
    server.ledger.orders[order.ticket] = order
    if not is_open:
        server.async_rejects.add(order.ticket)
    return Outcome(c.TRADE_RETCODE_PLACED, 0, order.ticket, req.volume, req.price, bid, ask)


def _check_order_stops(spec: SymbolSpec, buy: bool, req: TradeRequest) -> int:
    """SL/TP of a pending order, checked against its (stop-limit) price."""
    if (req.sl and not spec.order_mode & SYMBOL_ORDER_SL) or (
        req.tp and not spec.order_mode & SYMBOL_ORDER_TP
    ):
        return c.TRADE_RETCODE_INVALID_STOPS
    ref = req.stoplimit if req.type in _STOP_LIMIT_TYPES else req.price
    return v.check_stops(spec, buy, ref, req.sl, req.tp)


def _expiry(type_time: int, expiration: int, now_msc: int) -> int:
    """ORDER time_expiration in server seconds (0 = none)."""
    if type_time == c.ORDER_TIME_DAY:
        return (now_msc // _DAY_MS + 1) * 86_400
    if type_time == c.ORDER_TIME_SPECIFIED:
        return expiration
    if type_time == c.ORDER_TIME_SPECIFIED_DAY:
        return (expiration // 86_400 + 1) * 86_400
    return 0


def modify(server: TradeServer, req: TradeRequest, check_only: bool) -> Outcome:
    """Change a pending order's price, stop-limit, SL/TP and expiration."""
    order = server.ledger.orders.get(req.order)
    if order is None:
        return Outcome(c.TRADE_RETCODE_INVALID)
    spec = server.specs[order.symbol]
    buy = is_buy(order.type)
    q = server.market.quote(spec.name)
    if q is None:
        return Outcome(c.TRADE_RETCODE_PRICE_OFF)
    if not server.market.is_open(spec.name):
        return Outcome(c.TRADE_RETCODE_MARKET_CLOSED)
    bid, ask = q
    market_price = ask if buy else bid
    rc = v.frozen(spec, market_price, (order.price_open,))
    if rc:
        return Outcome(rc, bid=bid, ask=ask)
    stoplimit = req.stoplimit if order.type in _STOP_LIMIT_TYPES else 0.0
    probe = req._asdict()
    probe.update(type=order.type, stoplimit=stoplimit)
    preq = TradeRequest._make(tuple(probe.values()))
    rc = (
        v.check_pending_price(spec, order.type, req.price, stoplimit, bid, ask)
        or _check_order_stops(spec, buy, preq)
        or v.check_expiration(spec, req.type_time, req.expiration, server.market.now_msc // 1000)
    )
    if rc:
        return Outcome(rc, bid=bid, ask=ask)
    expiry = _expiry(req.type_time, req.expiration, server.market.now_msc)
    new = (req.price, stoplimit, req.sl, req.tp, req.type_time, expiry)
    old = (
        order.price_open,
        order.price_stoplimit,
        order.sl,
        order.tp,
        order.type_time,
        order.time_expiration,
    )
    if new == old:
        return Outcome(c.TRADE_RETCODE_NO_CHANGES, bid=bid, ask=ask)
    if check_only:
        return Outcome(0, figures=server.figures())
    order.price_open, order.price_stoplimit, order.sl, order.tp = new[:4]
    order.type_time, order.time_expiration = req.type_time, expiry
    return Outcome(c.TRADE_RETCODE_DONE, 0, order.ticket, order.volume_current, req.price, bid, ask)


def remove(server: TradeServer, req: TradeRequest, check_only: bool) -> Outcome:
    """Cancel a pending order."""
    order = server.ledger.orders.get(req.order)
    if order is None:
        return Outcome(c.TRADE_RETCODE_INVALID)
    spec = server.specs[order.symbol]
    q = server.market.quote(spec.name)
    if q is not None:
        rc = v.frozen(spec, q[1] if is_buy(order.type) else q[0], (order.price_open,))
        if rc:
            return Outcome(rc, bid=q[0], ask=q[1])
    if check_only:
        return Outcome(0, figures=server.figures())
    server.ledger.archive(order, c.ORDER_STATE_CANCELED, server.market.now_msc)
    server.async_rejects.discard(order.ticket)
    bid, ask = q if q is not None else (0.0, 0.0)
    return Outcome(c.TRADE_RETCODE_DONE, 0, order.ticket, order.volume_current, 0.0, bid, ask)


def sltp(server: TradeServer, req: TradeRequest, check_only: bool) -> Outcome:
    """Change a position's SL/TP (0 removes)."""
    pos = server.ledger.positions.get(req.position) if req.position else None
    if pos is None and server.netting and req.symbol and not req.position:
        pos = server.net_position(req.symbol)
    if pos is None:
        return Outcome(c.TRADE_RETCODE_POSITION_CLOSED)
    spec = server.specs[pos.symbol]
    q = server.market.quote(spec.name)
    if q is None:
        return Outcome(c.TRADE_RETCODE_PRICE_OFF)
    if not server.market.is_open(spec.name):
        return Outcome(c.TRADE_RETCODE_MARKET_CLOSED)
    bid, ask = q
    close_price = bid if pos.buy else ask
    if (req.sl and not spec.order_mode & SYMBOL_ORDER_SL) or (
        req.tp and not spec.order_mode & SYMBOL_ORDER_TP
    ):
        return Outcome(c.TRADE_RETCODE_INVALID_STOPS, bid=bid, ask=ask)
    rc = v.frozen(spec, close_price, (pos.sl, pos.tp)) or v.check_stops(
        spec, pos.buy, close_price, req.sl, req.tp
    )
    if rc:
        return Outcome(rc, bid=bid, ask=ask)
    if (req.sl, req.tp) == (pos.sl, pos.tp):
        return Outcome(c.TRADE_RETCODE_NO_CHANGES, bid=bid, ask=ask)
    if check_only:
        return Outcome(0, figures=server.figures())
    pos.sl, pos.tp = req.sl, req.tp
    pos.time_update_msc = server.market.now_msc
    return Outcome(c.TRADE_RETCODE_DONE, 0, 0, pos.volume, 0.0, bid, ask)


def close_by(server: TradeServer, req: TradeRequest, check_only: bool) -> Outcome:
    """Close a position by an opposite one (hedging accounts)."""
    if server.netting:
        return Outcome(c.TRADE_RETCODE_INVALID)
    pos = server.ledger.positions.get(req.position)
    by = server.ledger.positions.get(req.position_by)
    if pos is None or by is None:
        return Outcome(c.TRADE_RETCODE_POSITION_CLOSED)
    if pos.symbol != by.symbol or pos.buy == by.buy or pos.ticket == by.ticket:
        return Outcome(c.TRADE_RETCODE_INVALID)
    spec = server.specs[pos.symbol]
    if not spec.order_mode & SYMBOL_ORDER_CLOSEBY:
        return Outcome(c.TRADE_RETCODE_INVALID_ORDER)
    if spec.trade_mode == c.SYMBOL_TRADE_MODE_DISABLED:
        return Outcome(c.TRADE_RETCODE_TRADE_DISABLED)
    rc, bid, ask = server.quote_checks(spec)
    if rc:
        return Outcome(rc)
    rc = v.frozen(spec, bid if pos.buy else ask, (pos.sl, pos.tp)) or v.frozen(
        spec, bid if by.buy else ask, (by.sl, by.tp)
    )
    if rc:
        return Outcome(rc, bid=bid, ask=ask)
    if check_only:
        return Outcome(0, figures=server.figures())
    volume = min(pos.volume, by.volume)
    now = server.market.now_msc
    ledger = server.ledger
    order = OrderRecord(
        ticket=ledger.new_order_ticket(),
        symbol=spec.name,
        type=c.ORDER_TYPE_CLOSE_BY,
        volume_initial=volume,
        volume_current=0.0,
        price_open=0.0,
        price_stoplimit=0.0,
        sl=0.0,
        tp=0.0,
        type_time=c.ORDER_TIME_GTC,
        type_filling=c.ORDER_FILLING_FOK,
        time_expiration=0,
        magic=req.magic,
        comment=req.comment or f"#{pos.ticket} by #{by.ticket}",
        reason=c.ORDER_REASON_EXPERT,
        position_id=pos.identifier,
        position_by_id=by.identifier,
        time_setup_msc=now,
    )
    first = 0
    # the first position closes at the second's open price, the second at its own
    for p, price in ((pos, by.price_open), (by, by.price_open)):
        profit, swap = server.reduce(p, volume, price)
        deal = ledger.add_deal(
            order=order.ticket,
            time_msc=now,
            type_=c.DEAL_TYPE_SELL if p.buy else c.DEAL_TYPE_BUY,
            entry=c.DEAL_ENTRY_OUT_BY,
            magic=req.magic,
            position_id=p.identifier,
            reason=c.DEAL_REASON_EXPERT,
            volume=volume,
            price=price,
            commission=0.0,
            swap=swap,
            profit=profit,
            symbol=spec.name,
            comment=order.comment,
        )
        first = first or deal.ticket
    ledger.archive(order, c.ORDER_STATE_FILLED, now)
    return Outcome(c.TRADE_RETCODE_DONE, first, order.ticket, volume, 0.0, bid, ask)
