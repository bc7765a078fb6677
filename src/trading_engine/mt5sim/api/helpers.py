"""The package's pure-Python trade helpers ``Buy``, ``Sell`` and ``Close``, over any MT5 API object.

Behaviour of the ``MetaTrader5`` 5.0.6231 helpers (``docs/mt5-api.md`` §1.1), written anew:
- a request is ``TRADE_ACTION_DEAL`` with ``symbol``, ``volume``, ``type``, ``price`` and
  ``deviation=10``, plus ``comment`` and ``position`` (= ``ticket``) when given; no filling mode
  (so FOK, the request default);
- with an explicit ``price`` one request is sent; without, the price is the tick's ask (buy) or
  bid (sell), re-read before each of up to 10 attempts, retried only while the answer is
  ``TRADE_RETCODE_REQUOTE`` or ``TRADE_RETCODE_PRICE_OFF``;
- ``Close(symbol)`` closes every buy/sell position of the symbol (or the one ``ticket``) with an
  opposite deal of its volume: True when all closed, "Partially" when some, False when none,
  None when the positions cannot be read.
"""

from __future__ import annotations

from typing import Any, Protocol

from trading_engine.mt5sim.spec import constants as c
from trading_engine.mt5sim.spec.structs import OrderSendResult, Tick, TradePosition

__all__ = ["Api", "buy", "close", "sell"]

_ATTEMPTS = 10
_RETRY = frozenset((c.TRADE_RETCODE_REQUOTE, c.TRADE_RETCODE_PRICE_OFF))


class Api(Protocol):
    """The three functions the helpers call."""

    def order_send(self, request: dict[str, Any], /) -> OrderSendResult | None: ...

    def symbol_info_tick(self, symbol: str, /) -> Tick | None: ...

    def positions_get(
        self, *, symbol: str | None = None, group: str | None = None, ticket: int | None = None
    ) -> tuple[TradePosition, ...] | None: ...


def _raw_order(
    api: Api,
    order_type: int,
    symbol: str,
    volume: float,
    price: float,
    comment: str | None,
    ticket: int | None,
) -> OrderSendResult | None:
    request: dict[str, Any] = {
        "action": c.TRADE_ACTION_DEAL,
        "symbol": symbol,
        "volume": volume,
        "type": order_type,
        "price": price,
        "deviation": 10,
    }
    if comment is not None:
        request["comment"] = comment
    if ticket is not None:
        request["position"] = ticket
    return api.order_send(request)


def _market(
    api: Api,
    order_type: int,
    symbol: str,
    volume: float,
    price: float | None,
    comment: str | None,
    ticket: int | None,
) -> OrderSendResult | None:
    if price is not None:
        return _raw_order(api, order_type, symbol, volume, price, comment, ticket)
    result: OrderSendResult | None = None
    for _ in range(_ATTEMPTS):
        tick = api.symbol_info_tick(symbol)
        if tick is None:
            return None
        quote = tick.ask if order_type == c.ORDER_TYPE_BUY else tick.bid
        result = _raw_order(api, order_type, symbol, volume, quote, comment, ticket)
        if result is None or result.retcode not in _RETRY:
            break
    return result


def buy(
    api: Api,
    symbol: str,
    volume: float,
    price: float | None = None,
    *,
    comment: str | None = None,
    ticket: int | None = None,
) -> OrderSendResult | None:
    """Market buy (``ticket`` closes that short position)."""
    return _market(api, c.ORDER_TYPE_BUY, symbol, volume, price, comment, ticket)


def sell(
    api: Api,
    symbol: str,
    volume: float,
    price: float | None = None,
    *,
    comment: str | None = None,
    ticket: int | None = None,
) -> OrderSendResult | None:
    """Market sell (``ticket`` closes that long position)."""
    return _market(api, c.ORDER_TYPE_SELL, symbol, volume, price, comment, ticket)


def close(
    api: Api, symbol: str, *, comment: str | None = None, ticket: int | None = None
) -> bool | str | None:
    """Close positions of ``symbol`` (or the one ``ticket``): True / "Partially" / False / None."""
    positions = (
        api.positions_get(ticket=ticket) if ticket is not None else api.positions_get(symbol=symbol)
    )
    if positions is None:
        return None
    tried = done = 0
    for pos in positions:
        if pos.type not in (c.POSITION_TYPE_BUY, c.POSITION_TYPE_SELL):
            continue
        tried += 1
        opposite = c.ORDER_TYPE_SELL if pos.type == c.POSITION_TYPE_BUY else c.ORDER_TYPE_BUY
        result = _market(api, opposite, symbol, pos.volume, None, comment, pos.ticket)
        if result is not None and result.retcode == c.TRADE_RETCODE_DONE:
            done += 1
    if done == 0:
        return False
    return True if done == tried else "Partially"
