"""The trade server's request checks: pure functions returning a TRADE_RETCODE (0 = passes).

Rules (``docs/mt5-api.md`` §4.2–4.3 and the MT5 help "Fill Policy"):
- volume within [volume_min, volume_max] and on the volume_step grid → else 10014;
- prices on the tick-size grid and on the right side of the market → else 10015;
- SL/TP on the right side and at least ``trade_stops_level`` points from the reference price
  (the close price for positions and market orders, the open price for pending orders) → 10016;
- anything within ``trade_freeze_level`` points of activation cannot be changed → 10029;
- filling: instant/request execution allow FOK only for market orders; market execution FOK/IOC
  if the symbol's ``filling_mode`` has the bit (RETURN not for market orders); exchange execution
  FOK/IOC by bit and RETURN; pending orders RETURN always, FOK/IOC by bit, BOC (limit orders
  only) by bit → 10030;
- ``trade_mode``: DISABLED → 10017; opening against LONGONLY/SHORTONLY → 10042/10043;
  opening in CLOSEONLY → 10044;
- ``type_time`` allowed by ``expiration_mode``, a SPECIFIED expiration in the future → 10022.
"""

from __future__ import annotations

from typing import Final

from trading_engine.mt5sim.spec.constants import (
    ORDER_FILLING_BOC,
    ORDER_FILLING_FOK,
    ORDER_FILLING_IOC,
    ORDER_FILLING_RETURN,
    ORDER_TIME_DAY,
    ORDER_TIME_GTC,
    ORDER_TIME_SPECIFIED,
    ORDER_TIME_SPECIFIED_DAY,
    ORDER_TYPE_BUY_LIMIT,
    ORDER_TYPE_BUY_STOP,
    ORDER_TYPE_BUY_STOP_LIMIT,
    ORDER_TYPE_SELL_LIMIT,
    ORDER_TYPE_SELL_STOP,
    ORDER_TYPE_SELL_STOP_LIMIT,
    SYMBOL_TRADE_EXECUTION_EXCHANGE,
    SYMBOL_TRADE_EXECUTION_INSTANT,
    SYMBOL_TRADE_EXECUTION_MARKET,
    SYMBOL_TRADE_EXECUTION_REQUEST,
    SYMBOL_TRADE_MODE_CLOSEONLY,
    SYMBOL_TRADE_MODE_DISABLED,
    SYMBOL_TRADE_MODE_LONGONLY,
    SYMBOL_TRADE_MODE_SHORTONLY,
    TRADE_RETCODE_CLOSE_ONLY,
    TRADE_RETCODE_FROZEN,
    TRADE_RETCODE_INVALID_EXPIRATION,
    TRADE_RETCODE_INVALID_FILL,
    TRADE_RETCODE_INVALID_PRICE,
    TRADE_RETCODE_INVALID_STOPS,
    TRADE_RETCODE_INVALID_VOLUME,
    TRADE_RETCODE_LONG_ONLY,
    TRADE_RETCODE_SHORT_ONLY,
    TRADE_RETCODE_TRADE_DISABLED,
)
from trading_engine.mt5sim.spec.masks import (
    SYMBOL_EXPIRATION_DAY,
    SYMBOL_EXPIRATION_GTC,
    SYMBOL_EXPIRATION_SPECIFIED,
    SYMBOL_EXPIRATION_SPECIFIED_DAY,
    SYMBOL_FILLING_BOC,
    SYMBOL_FILLING_FOK,
    SYMBOL_FILLING_IOC,
)
from trading_engine.mt5sim.spec.symbols import SymbolSpec

__all__ = [
    "RETCODE_COMMENTS",
    "check_direction",
    "check_expiration",
    "check_filling",
    "check_pending_price",
    "check_stops",
    "check_volume",
    "frozen",
    "on_grid",
    "volume_on_grid",
]

RETCODE_COMMENTS: Final[dict[int, str]] = {
    0: "Done",
    10004: "Requote",
    10006: "Request rejected",
    10007: "Request canceled by trader",
    10008: "Request executed",
    10009: "Request executed",
    10010: "Request executed partially",
    10011: "Request processing error",
    10012: "Request canceled by timeout",
    10013: "Invalid request",
    10014: "Invalid volume",
    10015: "Invalid price",
    10016: "Invalid stops",
    10017: "Trade disabled",
    10018: "Market closed",
    10019: "No money",
    10020: "Prices changed",
    10021: "No prices",
    10022: "Invalid expiration",
    10023: "Order state changed",
    10024: "Too many requests",
    10025: "No changes",
    10026: "AutoTrading disabled by server",
    10027: "AutoTrading disabled by client",
    10028: "Request locked for processing",
    10029: "Order or position frozen",
    10030: "Unsupported filling mode",
    10031: "No connection",
    10032: "Only real accounts allowed",
    10033: "Limit orders reached",
    10034: "Volume limit reached",
    10035: "Invalid order type",
    10036: "Position already closed",
    10038: "Invalid close volume",
    10039: "Close order already exists",
    10040: "Limit positions reached",
    10041: "Pending order activation rejected, order canceled",
    10042: "Only long positions allowed",
    10043: "Only short positions allowed",
    10044: "Only position closing allowed",
    10045: "FIFO rule: close older positions first",
}
"""The ``comment`` of an ``OrderSendResult`` for each retcode."""

_EPS: Final = 1e-9
_LIMITS = frozenset((ORDER_TYPE_BUY_LIMIT, ORDER_TYPE_SELL_LIMIT))
_STOP_LIMITS = frozenset((ORDER_TYPE_BUY_STOP_LIMIT, ORDER_TYPE_SELL_STOP_LIMIT))


def on_grid(value: float, step: float) -> bool:
    """Whether ``value`` is a multiple of ``step`` (to 1e-7 of a step)."""
    if step <= 0:
        return True
    k = value / step
    return bool(abs(k - round(k)) <= 1e-6)


def volume_on_grid(spec: SymbolSpec, volume: float) -> bool:
    """Whether ``volume`` is a whole number of ``volume_step`` above ``volume_min``."""
    return on_grid(volume - spec.volume_min, spec.volume_step)


def check_volume(spec: SymbolSpec, volume: float) -> int:
    """10014 unless ``volume`` is within bounds and on the step grid."""
    if not volume > 0 or volume < spec.volume_min - _EPS or volume > spec.volume_max + _EPS:
        return TRADE_RETCODE_INVALID_VOLUME
    if not volume_on_grid(spec, volume):
        return TRADE_RETCODE_INVALID_VOLUME
    return 0


def check_direction(spec: SymbolSpec, buy: bool, opening: bool) -> int:
    """The trade-mode rule for a deal in direction ``buy`` that opens (or only reduces)."""
    mode = spec.trade_mode
    if mode == SYMBOL_TRADE_MODE_DISABLED:
        return TRADE_RETCODE_TRADE_DISABLED
    if not opening:
        return 0
    if mode == SYMBOL_TRADE_MODE_CLOSEONLY:
        return TRADE_RETCODE_CLOSE_ONLY
    if mode == SYMBOL_TRADE_MODE_LONGONLY and not buy:
        return TRADE_RETCODE_LONG_ONLY
    if mode == SYMBOL_TRADE_MODE_SHORTONLY and buy:
        return TRADE_RETCODE_SHORT_ONLY
    return 0


def check_filling(spec: SymbolSpec, filling: int, market: bool, order_type: int) -> int:
    """10030 unless ``filling`` suits the execution mode, the symbol and the order kind."""
    bits = spec.filling_mode
    exe = spec.trade_exemode
    if market:
        if exe in (SYMBOL_TRADE_EXECUTION_INSTANT, SYMBOL_TRADE_EXECUTION_REQUEST):
            ok = filling == ORDER_FILLING_FOK
        elif exe in (SYMBOL_TRADE_EXECUTION_MARKET, SYMBOL_TRADE_EXECUTION_EXCHANGE):
            ok = (
                (filling == ORDER_FILLING_FOK and bool(bits & SYMBOL_FILLING_FOK))
                or (filling == ORDER_FILLING_IOC and bool(bits & SYMBOL_FILLING_IOC))
                or (filling == ORDER_FILLING_RETURN and exe == SYMBOL_TRADE_EXECUTION_EXCHANGE)
            )
        else:
            ok = False
    else:
        ok = (
            filling == ORDER_FILLING_RETURN
            or (filling == ORDER_FILLING_FOK and bool(bits & SYMBOL_FILLING_FOK))
            or (filling == ORDER_FILLING_IOC and bool(bits & SYMBOL_FILLING_IOC))
            or (
                filling == ORDER_FILLING_BOC
                and bool(bits & SYMBOL_FILLING_BOC)
                and order_type in _LIMITS | _STOP_LIMITS
            )
        )
    return 0 if ok else TRADE_RETCODE_INVALID_FILL


def check_stops(spec: SymbolSpec, buy: bool, reference: float, sl: float, tp: float) -> int:
    """10016 unless SL/TP (0 = none) are on grid, on the right side, ``stops_level`` away."""
    gap = spec.trade_stops_level * spec.point
    tick = spec.trade_tick_size or spec.point
    for level in (sl, tp):
        if level < 0 or (level > 0 and not on_grid(level, tick)):
            return TRADE_RETCODE_INVALID_STOPS
    tol = tick * 1e-6
    below_ok = (sl == 0 or _below(sl, reference, gap, tol)) if buy else True
    above_ok = (tp == 0 or _above(tp, reference, gap, tol)) if buy else True
    if not buy:
        below_ok = tp == 0 or _below(tp, reference, gap, tol)
        above_ok = sl == 0 or _above(sl, reference, gap, tol)
    return 0 if below_ok and above_ok else TRADE_RETCODE_INVALID_STOPS


def _below(level: float, ref: float, gap: float, tol: float) -> bool:
    """``level`` is under ``ref`` by at least ``gap`` (and strictly under it)."""
    return level < ref - tol and ref - level >= gap - tol


def _above(level: float, ref: float, gap: float, tol: float) -> bool:
    """``level`` is over ``ref`` by at least ``gap`` (and strictly over it)."""
    return level > ref + tol and level - ref >= gap - tol


def check_pending_price(
    spec: SymbolSpec, order_type: int, price: float, stoplimit: float, bid: float, ask: float
) -> int:
    """10015 unless the pending price (and stop-limit price) sit on the right side of the market."""
    tick = spec.trade_tick_size or spec.point
    gap = spec.trade_stops_level * spec.point
    if price <= 0 or not on_grid(price, tick):
        return TRADE_RETCODE_INVALID_PRICE
    if order_type in _STOP_LIMITS and (stoplimit <= 0 or not on_grid(stoplimit, tick)):
        return TRADE_RETCODE_INVALID_PRICE
    t = order_type
    tol = tick * 1e-6
    ok: bool
    if t == ORDER_TYPE_BUY_LIMIT:
        ok = _below(price, ask, gap, tol)
    elif t == ORDER_TYPE_SELL_LIMIT:
        ok = _above(price, bid, gap, tol)
    elif t == ORDER_TYPE_BUY_STOP:
        ok = _above(price, ask, gap, tol)
    elif t == ORDER_TYPE_SELL_STOP:
        ok = _below(price, bid, gap, tol)
    elif t == ORDER_TYPE_BUY_STOP_LIMIT:
        ok = _above(price, ask, gap, tol) and stoplimit <= price + tol
    elif t == ORDER_TYPE_SELL_STOP_LIMIT:
        ok = _below(price, bid, gap, tol) and stoplimit >= price - tol
    else:
        ok = False
    return 0 if ok else TRADE_RETCODE_INVALID_PRICE


def check_expiration(spec: SymbolSpec, type_time: int, expiration: int, now_s: int) -> int:
    """10022 unless ``type_time`` is allowed and a SPECIFIED expiration lies in the future."""
    bit = {
        ORDER_TIME_GTC: SYMBOL_EXPIRATION_GTC,
        ORDER_TIME_DAY: SYMBOL_EXPIRATION_DAY,
        ORDER_TIME_SPECIFIED: SYMBOL_EXPIRATION_SPECIFIED,
        ORDER_TIME_SPECIFIED_DAY: SYMBOL_EXPIRATION_SPECIFIED_DAY,
    }.get(type_time)
    if bit is None or not spec.expiration_mode & bit:
        return TRADE_RETCODE_INVALID_EXPIRATION
    if type_time in (ORDER_TIME_SPECIFIED, ORDER_TIME_SPECIFIED_DAY) and expiration <= now_s:
        return TRADE_RETCODE_INVALID_EXPIRATION
    return 0


def frozen(spec: SymbolSpec, market_price: float, levels: tuple[float, ...]) -> int:
    """10029 if any non-zero level lies within ``trade_freeze_level`` points of the market."""
    gap = spec.trade_freeze_level * spec.point
    if gap <= 0:
        return 0
    tol = (spec.trade_tick_size or spec.point) * 1e-6
    for level in levels:
        if level > 0 and abs(level - market_price) < gap - tol:
            return TRADE_RETCODE_FROZEN
    return 0
