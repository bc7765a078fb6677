"""Vector tests over a slice of ticks: which order triggers, which stop is hit, and where first.

``extremes`` gives a slice's bid/ask range so that most slices are dismissed with four scalar
comparisons (``may_trigger``, ``may_stop``); only then are the per-tick masks built.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from trading_engine.mt5sim.server.ledger import OrderRecord, PositionRecord
from trading_engine.mt5sim.spec import constants as c

__all__ = ["extremes", "first", "may_stop", "may_trigger", "stop_mask", "trigger_mask"]

_MARKET = frozenset((c.ORDER_TYPE_BUY, c.ORDER_TYPE_SELL))  # the rest of a RETURN order


def extremes(
    bid: npt.NDArray[np.float64], ask: npt.NDArray[np.float64]
) -> tuple[float, float, float, float]:
    """(min bid, max bid, min ask, max ask); Python lists are faster for a few ticks."""
    if len(bid) <= 32:
        b, a = bid.tolist(), ask.tolist()
        return min(b), max(b), min(a), max(a)
    return float(bid.min()), float(bid.max()), float(ask.min()), float(ask.max())


def may_trigger(o: OrderRecord, ext: tuple[float, float, float, float]) -> bool:
    """Whether the slice's extremes reach the order's activation price."""
    t = o.type
    p = o.price_open
    if t in _MARKET:
        return True
    if t == c.ORDER_TYPE_BUY_LIMIT:
        return ext[2] <= p
    if t == c.ORDER_TYPE_SELL_LIMIT:
        return ext[1] >= p
    if t in (c.ORDER_TYPE_BUY_STOP, c.ORDER_TYPE_BUY_STOP_LIMIT):
        return ext[3] >= p
    return ext[0] <= p


def may_stop(p: PositionRecord, ext: tuple[float, float, float, float]) -> bool:
    """Whether the slice's extremes reach the position's SL or TP."""
    if p.buy:
        return bool((p.sl and ext[0] <= p.sl) or (p.tp and ext[1] >= p.tp))
    return bool((p.sl and ext[3] >= p.sl) or (p.tp and ext[2] <= p.tp))


def first(mask: npt.NDArray[np.bool_]) -> int:
    """Index of the first True, or -1."""
    if len(mask) == 0:
        return -1
    i = int(mask.argmax())
    return i if mask[i] else -1


def trigger_mask(
    o: OrderRecord, bid: npt.NDArray[np.float64], ask: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    t = o.type
    p = o.price_open
    if t in _MARKET:
        return np.ones(len(bid), dtype=np.bool_)
    if t == c.ORDER_TYPE_BUY_LIMIT:
        return ask <= p
    if t == c.ORDER_TYPE_SELL_LIMIT:
        return bid >= p
    if t in (c.ORDER_TYPE_BUY_STOP, c.ORDER_TYPE_BUY_STOP_LIMIT):
        return ask >= p
    return bid <= p


def stop_mask(
    p: PositionRecord, bid: npt.NDArray[np.float64], ask: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    price = bid if p.buy else ask
    mask = np.zeros(len(price), dtype=np.bool_)
    if p.buy:
        if p.sl:
            mask |= price <= p.sl
        if p.tp:
            mask |= price >= p.tp
    else:
        if p.sl:
            mask |= price >= p.sl
        if p.tp:
            mask |= price <= p.tp
    return mask
