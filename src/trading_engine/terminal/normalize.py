"""Pure request normalisation: volumes, prices, filling mode, stops and market-order requests.

Every request is shaped to the symbol's rules before it is sent, so the terminal's own checks
(10014 volume, 10015 price, 10016 stops, 10030 filling) do not fire for reasons the engine can
know in advance. Everything here raises ``OrderError`` with a message naming the violation.

Decisions:

- Volumes are floored onto the ``volume_step`` grid (never rounded up: risk sizing is an upper
  bound), capped at ``volume_max``; below ``volume_min`` after flooring is an error.
- Prices are rounded to the nearest ``trade_tick_size`` multiple, then to ``digits``.
- Stops closer than ``trade_stops_level`` raise unless ``adjust=True``, which pushes them out to
  the minimum distance; a stop on the wrong side of the price always raises.
- Comments are ASCII printable and at most 26 characters (brokers reject 27–31 and up, mt5-api
  §4.3); a longer comment is an error rather than being cut, since it carries the client id.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

from trading_engine.errors import OrderError
from trading_engine.events import Side
from trading_engine.terminal.symbols import (
    ORDER_FILLING_FOK,
    ORDER_FILLING_IOC,
    ORDER_FILLING_RETURN,
    SYMBOL_FILLING_FOK,
    SYMBOL_FILLING_IOC,
    SYMBOL_ORDER_LIMIT,
    SYMBOL_ORDER_MARKET,
    SYMBOL_ORDER_SL,
    SYMBOL_ORDER_STOP,
    SYMBOL_ORDER_STOP_LIMIT,
    SYMBOL_ORDER_TP,
    SYMBOL_TRADE_EXECUTION_EXCHANGE,
    SYMBOL_TRADE_EXECUTION_MARKET,
    SYMBOL_TRADE_MODE_CLOSEONLY,
    SYMBOL_TRADE_MODE_DISABLED,
    SYMBOL_TRADE_MODE_LONGONLY,
    SYMBOL_TRADE_MODE_SHORTONLY,
    SymbolRules,
    step_decimals,
)

__all__ = [
    "MAX_COMMENT_LENGTH",
    "ORDER_TIME_GTC",
    "ORDER_TYPE_BUY",
    "ORDER_TYPE_SELL",
    "TRADE_ACTION_DEAL",
    "OrderKind",
    "Side",
    "as_side",
    "build_market_request",
    "check_comment",
    "check_stops",
    "normalize_price",
    "normalize_volume",
    "order_type_of",
    "pick_filling",
]

MAX_COMMENT_LENGTH = 26
TRADE_ACTION_DEAL = 1
ORDER_TYPE_BUY = 0
ORDER_TYPE_SELL = 1
ORDER_TIME_GTC = 0


def as_side(value: Side | str | int) -> Side:
    """Accept a ``Side``, ``'buy'``/``'sell'`` (any case) or an MT5 order type 0/1."""
    if isinstance(value, Side):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if value in (ORDER_TYPE_BUY, ORDER_TYPE_SELL):
            return Side.BUY if value == ORDER_TYPE_BUY else Side.SELL
    elif isinstance(value, str) and value.lower() in ("buy", "sell"):
        return Side(value.lower())
    raise OrderError(f"not a side: {value!r}")


def order_type_of(side: Side | str | int) -> int:
    """The MT5 ORDER_TYPE of a market order on ``side`` (BUY=0, SELL=1)."""
    return ORDER_TYPE_BUY if as_side(side) is Side.BUY else ORDER_TYPE_SELL


class OrderKind(StrEnum):
    """What kind of order a filling mode is picked for."""

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


_KIND_FLAG = {
    OrderKind.MARKET: SYMBOL_ORDER_MARKET,
    OrderKind.LIMIT: SYMBOL_ORDER_LIMIT,
    OrderKind.STOP: SYMBOL_ORDER_STOP,
    OrderKind.STOP_LIMIT: SYMBOL_ORDER_STOP_LIMIT,
}


def _finite(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise OrderError(f"{name} is not a finite number: {value!r}")
    return value


def normalize_volume(rules: SymbolRules, volume: float) -> float:
    """Floor ``volume`` onto the step grid and cap it at ``volume_max``.

    Raises ``OrderError`` when the volume is not positive or falls below ``volume_min``.
    """
    volume = _finite("volume", volume)
    if volume <= 0:
        raise OrderError(f"{rules.name}: volume must be positive, got {volume}")
    step = rules.volume_step
    capped = min(volume, rules.volume_max)
    # The small epsilon keeps 0.3 / 0.1 = 2.9999999999999996 on step 3.
    steps = math.floor(capped / step + 1e-9)
    result = round(steps * step, rules.volume_digits)
    if result < rules.volume_min - step * 1e-9:
        raise OrderError(
            f"{rules.name}: volume {volume} is below the minimum {rules.volume_min} (step {step})"
        )
    return result


def normalize_price(rules: SymbolRules, price: float) -> float:
    """Round ``price`` to the nearest tick and to the symbol's digits."""
    price = _finite("price", price)
    tick = rules.tick_size
    digits = max(rules.digits, step_decimals(tick))
    return round(round(price / tick) * tick, digits)


def pick_filling(rules: SymbolRules, order_kind: OrderKind | str = OrderKind.MARKET) -> int:
    """The ``type_filling`` to send for this order kind, from the execution mode and bitmask.

    Market orders: Request and Instant execution take FOK only; Market execution takes FOK or IOC
    (Return is not allowed for market orders there), FOK preferred so that nothing is left half
    filled; Exchange execution takes FOK, IOC or Return (FOK, then IOC, then Return). Pending
    orders (limit, stop, stop-limit) are sent with Return, which every execution mode accepts for
    them, so that the unfilled rest stays in the book. Raises ``OrderError`` when the symbol allows
    no filling mode for the order or does not allow the order kind at all.
    """
    kind = OrderKind(order_kind)
    if rules.order_mode and not rules.allows_order(_KIND_FLAG[kind]):
        raise OrderError(
            f"{rules.name}: {kind} orders are not allowed (order_mode {rules.order_mode})"
        )
    if kind is not OrderKind.MARKET:
        return ORDER_FILLING_RETURN
    if rules.exec_mode == SYMBOL_TRADE_EXECUTION_MARKET:
        if rules.allows_filling(SYMBOL_FILLING_FOK):
            return ORDER_FILLING_FOK
        if rules.allows_filling(SYMBOL_FILLING_IOC):
            return ORDER_FILLING_IOC
        raise OrderError(
            f"{rules.name}: market execution allows neither FOK nor IOC "
            f"(filling_mode {rules.filling_mode})"
        )
    if rules.exec_mode == SYMBOL_TRADE_EXECUTION_EXCHANGE:
        if rules.allows_filling(SYMBOL_FILLING_FOK):
            return ORDER_FILLING_FOK
        if rules.allows_filling(SYMBOL_FILLING_IOC):
            return ORDER_FILLING_IOC
        return ORDER_FILLING_RETURN
    return ORDER_FILLING_FOK


def check_stops(
    rules: SymbolRules,
    side: Side | str | int,
    price: float,
    sl: float | None,
    tp: float | None,
    bid: float,
    ask: float,
    *,
    pending: bool = False,
    adjust: bool = False,
) -> tuple[float, float]:
    """Validate SL/TP against the stops level; return them normalised (0.0 = none).

    The reference price is where the position would close now (Bid for a buy, Ask for a sell),
    or ``price`` for a pending order. A stop must lie on its side of the reference and at least
    ``stops_level`` points away. Too close: ``OrderError``, or with ``adjust=True`` the stop is
    moved out to the minimum distance. Wrong side: always ``OrderError``.
    """
    direction = as_side(side)
    if pending:
        ref = _finite("price", price)
    else:
        buy = direction is Side.BUY
        ref = _finite("bid" if buy else "ask", bid if buy else ask)
    if ref <= 0:
        raise OrderError(f"{rules.name}: no price to check stops against (reference {ref})")
    dist = rules.stops_distance
    tolerance = rules.tick_size / 2
    # below = the stop must lie below the reference (buy SL, sell TP)
    out: list[float] = []
    for label, value, below in (
        ("stop loss", sl, direction is Side.BUY),
        ("take profit", tp, direction is Side.SELL),
    ):
        if value is None or value == 0:
            out.append(0.0)
            continue
        level = normalize_price(rules, _finite(label, value))
        gap = (ref - level) if below else (level - ref)
        where = "below" if below else "above"
        if gap <= 0:
            raise OrderError(
                f"{rules.name}: {direction} {label} {level} must be {where} "
                f"the reference price {ref}"
            )
        if gap + tolerance < dist:
            if not adjust:
                raise OrderError(
                    f"{rules.name}: {direction} {label} {level} is {gap:.10g} from {ref}, "
                    f"closer than the stops level of {rules.stops_level} points ({dist:.10g})"
                )
            target = ref - dist if below else ref + dist
            ticks = target / rules.tick_size
            grid = math.floor(ticks + 1e-9) if below else math.ceil(ticks - 1e-9)
            level = normalize_price(rules, grid * rules.tick_size)
        out.append(level)
    return out[0], out[1]


def check_comment(comment: str) -> str:
    """Return ``comment`` if it is printable ASCII of at most 26 characters, else raise."""
    if len(comment) > MAX_COMMENT_LENGTH:
        raise OrderError(
            f"comment {comment!r} is {len(comment)} characters; at most {MAX_COMMENT_LENGTH}"
        )
    if not (comment.isascii() and comment.isprintable()):  # " " to "~" only
        raise OrderError(f"comment {comment!r} must be printable ASCII")
    return comment


def build_market_request(
    rules: SymbolRules,
    side: Side | str | int,
    volume: float,
    tick: Any,
    *,
    sl: float | None = None,
    tp: float | None = None,
    deviation: int = 10,
    magic: int = 0,
    comment: str = "",
    position: int | None = None,
    adjust_stops: bool = False,
) -> dict[str, Any]:
    """A ``TRADE_ACTION_DEAL`` request dict, normalised to ``rules`` and priced from ``tick``.

    ``tick`` is anything with ``bid`` and ``ask``. With ``position`` the request closes (part of)
    that position and carries no stops; ``side`` is then the closing side (the opposite of the
    position's) and ``volume`` at most the position's (the server answers 10038 otherwise).
    Raises ``OrderError`` when the symbol's trade mode or order mode forbids the order, when there
    are no prices, or for any normalisation failure.
    """
    direction = as_side(side)
    closing = position is not None
    if rules.trade_mode == SYMBOL_TRADE_MODE_DISABLED:
        raise OrderError(f"{rules.name}: trading is disabled for the symbol")
    if not closing:
        if rules.trade_mode == SYMBOL_TRADE_MODE_CLOSEONLY:
            raise OrderError(f"{rules.name}: close only; new positions are not allowed")
        if rules.trade_mode == SYMBOL_TRADE_MODE_LONGONLY and direction is Side.SELL:
            raise OrderError(f"{rules.name}: long only; cannot open a sell")
        if rules.trade_mode == SYMBOL_TRADE_MODE_SHORTONLY and direction is Side.BUY:
            raise OrderError(f"{rules.name}: short only; cannot open a buy")
    if deviation < 0:
        raise OrderError(f"deviation must be >= 0, got {deviation}")
    if not 0 <= magic < 2**64:
        raise OrderError(f"magic must be an unsigned 64-bit integer, got {magic}")
    bid = _finite("bid", getattr(tick, "bid", math.nan))
    ask = _finite("ask", getattr(tick, "ask", math.nan))
    if bid <= 0 or ask <= 0:
        raise OrderError(f"{rules.name}: no prices (bid {bid}, ask {ask})")
    filling = pick_filling(rules, OrderKind.MARKET)
    price = normalize_price(rules, ask if direction is Side.BUY else bid)
    if closing:
        if sl or tp:
            raise OrderError(f"{rules.name}: a closing request carries no stop loss or take profit")
        stop_loss, take_profit = 0.0, 0.0
    else:
        if sl and rules.order_mode and not rules.allows_order(SYMBOL_ORDER_SL):
            raise OrderError(f"{rules.name}: stop loss not allowed (order_mode {rules.order_mode})")
        if tp and rules.order_mode and not rules.allows_order(SYMBOL_ORDER_TP):
            raise OrderError(
                f"{rules.name}: take profit not allowed (order_mode {rules.order_mode})"
            )
        stop_loss, take_profit = check_stops(
            rules, direction, price, sl, tp, bid, ask, adjust=adjust_stops
        )
    request: dict[str, Any] = {
        "action": TRADE_ACTION_DEAL,
        "symbol": rules.name,
        "volume": normalize_volume(rules, volume),
        "type": order_type_of(direction),
        "price": price,
        "sl": stop_loss,
        "tp": take_profit,
        "deviation": int(deviation),
        "magic": int(magic),
        "comment": check_comment(comment),
        "type_time": ORDER_TIME_GTC,
        "type_filling": filling,
    }
    if closing:
        request["position"] = int(position)  # type: ignore[arg-type]
    return request
