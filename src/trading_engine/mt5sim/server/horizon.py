"""The catch-up's quiet span: how long the trade server is sure to have nothing to do.

With positions or orders open, every API call at a new instant made ``Catchup`` search the new
ticks for events (SL/TP, triggers, stop-out, expiry, rollover). ``Catchup`` now also looks
ahead once: the earliest event in ``(now, now + lookahead]`` bounds a span in which, as long as
the books are unchanged (``state_key``), there is provably nothing to do; calls inside it cost
a key comparison. The look-ahead starts short and grows while the books stay unchanged.

Why the answers stay identical: every event is a property of a tick (or of an instant: midnight,
expiry) and of the books, never of where a search window starts or ends; the stop-out pre-test
is monotone in the window's extremes. The span is used only where no other instant's quotes
enter the search: all positions and orders on one symbol whose profit is in the account
currency or converts through that symbol itself (``eligible``).
"""

from __future__ import annotations

import operator
from typing import Final

from trading_engine.mt5sim.server.trade_server import TradeServer

__all__ = ["LOOK_MAX_MS", "LOOK_MIN_MS", "StateKey", "eligible", "state_key"]

LOOK_MIN_MS: Final = 60 * 60_000
"""First look-ahead after the books change."""
LOOK_MAX_MS: Final = 86_400_000
"""Longest look-ahead (it never crosses the next server midnight anyway)."""

StateKey = tuple[object, ...]


_POSITION_KEY: Final = operator.attrgetter(
    "symbol", "type", "volume", "price_open", "sl", "tp", "swap", "margin"
)
_ORDER_KEY: Final = operator.attrgetter(
    "ticket", "symbol", "type", "price_open", "price_stoplimit", "time_expiration"
)


def state_key(server: TradeServer) -> StateKey:
    """Everything of the books that decides when the next event happens."""
    ledger = server.ledger
    fills = server.last_fill_msc
    return (
        ledger.balance,
        len(server.async_rejects),
        tuple(fills.items()) if fills else (),
        tuple(map(_POSITION_KEY, ledger.positions.values())),
        tuple(map(_ORDER_KEY, ledger.orders.values())) if ledger.orders else (),
    )


def eligible(server: TradeServer) -> bool:
    """Whether a quiet span may be used: one symbol, no conversion through another symbol."""
    ledger = server.ledger
    sym = None
    for book in (ledger.positions, ledger.orders):
        for x in book.values():
            if sym is None:
                sym = x.symbol
            elif x.symbol != sym:
                return False
    if sym is None:
        return False
    ccy = server.specs[sym].currency_profit
    if ccy == server.money.currency:
        return True
    pair = server.money.conversion_symbol(ccy)
    return pair is not None and pair[0] == sym
