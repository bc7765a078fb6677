"""Bitmask constants that ``SymbolInfo`` fields use but the ``MetaTrader5`` module does not export.

Values are MQL5's. ``SymbolInfo.filling_mode`` is a sum of ``SYMBOL_FILLING_*`` (there is no
RETURN flag: RETURN is allowed for every symbol in market/exchange mode), ``expiration_mode`` a sum
of ``SYMBOL_EXPIRATION_*``, ``order_mode`` a sum of ``SYMBOL_ORDER_*`` (127 = all). Users hard-code
these; the simulated module keeps them out of its public namespace, so import them from here.
"""

from __future__ import annotations

from typing import Final

SYMBOL_FILLING_FOK: Final = 1
SYMBOL_FILLING_IOC: Final = 2
SYMBOL_FILLING_BOC: Final = 4

SYMBOL_EXPIRATION_GTC: Final = 1
SYMBOL_EXPIRATION_DAY: Final = 2
SYMBOL_EXPIRATION_SPECIFIED: Final = 4
SYMBOL_EXPIRATION_SPECIFIED_DAY: Final = 8

SYMBOL_ORDER_MARKET: Final = 1
SYMBOL_ORDER_LIMIT: Final = 2
SYMBOL_ORDER_STOP: Final = 4
SYMBOL_ORDER_STOP_LIMIT: Final = 8
SYMBOL_ORDER_SL: Final = 16
SYMBOL_ORDER_TP: Final = 32
SYMBOL_ORDER_CLOSEBY: Final = 64

__all__ = [
    "SYMBOL_EXPIRATION_DAY",
    "SYMBOL_EXPIRATION_GTC",
    "SYMBOL_EXPIRATION_SPECIFIED",
    "SYMBOL_EXPIRATION_SPECIFIED_DAY",
    "SYMBOL_FILLING_BOC",
    "SYMBOL_FILLING_FOK",
    "SYMBOL_FILLING_IOC",
    "SYMBOL_ORDER_CLOSEBY",
    "SYMBOL_ORDER_LIMIT",
    "SYMBOL_ORDER_MARKET",
    "SYMBOL_ORDER_SL",
    "SYMBOL_ORDER_STOP",
    "SYMBOL_ORDER_STOP_LIMIT",
    "SYMBOL_ORDER_TP",
]
