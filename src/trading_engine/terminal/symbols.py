"""The engine's view of a symbol specification, read once from ``symbol_info``.

Bitmask and enum constants that the MetaTrader5 module does not export (``SYMBOL_FILLING_*``,
``SYMBOL_ORDER_*``, ``SYMBOL_EXPIRATION_*``) are defined here with their MQL5 values.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

from trading_engine.errors import TerminalError

__all__ = [
    "ORDER_FILLING_BOC",
    "ORDER_FILLING_FOK",
    "ORDER_FILLING_IOC",
    "ORDER_FILLING_RETURN",
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
    "SYMBOL_TRADE_EXECUTION_EXCHANGE",
    "SYMBOL_TRADE_EXECUTION_INSTANT",
    "SYMBOL_TRADE_EXECUTION_MARKET",
    "SYMBOL_TRADE_EXECUTION_REQUEST",
    "SYMBOL_TRADE_MODE_CLOSEONLY",
    "SYMBOL_TRADE_MODE_DISABLED",
    "SYMBOL_TRADE_MODE_FULL",
    "SYMBOL_TRADE_MODE_LONGONLY",
    "SYMBOL_TRADE_MODE_SHORTONLY",
    "SymbolRules",
    "step_decimals",
]

# filling_mode bitmask (not exported by the MetaTrader5 module)
SYMBOL_FILLING_FOK = 1
SYMBOL_FILLING_IOC = 2
SYMBOL_FILLING_BOC = 4
# the request's type_filling
ORDER_FILLING_FOK = 0
ORDER_FILLING_IOC = 1
ORDER_FILLING_RETURN = 2
ORDER_FILLING_BOC = 3
# order_mode bitmask (not exported)
SYMBOL_ORDER_MARKET = 1
SYMBOL_ORDER_LIMIT = 2
SYMBOL_ORDER_STOP = 4
SYMBOL_ORDER_STOP_LIMIT = 8
SYMBOL_ORDER_SL = 16
SYMBOL_ORDER_TP = 32
SYMBOL_ORDER_CLOSEBY = 64
# expiration_mode bitmask (not exported)
SYMBOL_EXPIRATION_GTC = 1
SYMBOL_EXPIRATION_DAY = 2
SYMBOL_EXPIRATION_SPECIFIED = 4
SYMBOL_EXPIRATION_SPECIFIED_DAY = 8
# trade_mode
SYMBOL_TRADE_MODE_DISABLED = 0
SYMBOL_TRADE_MODE_LONGONLY = 1
SYMBOL_TRADE_MODE_SHORTONLY = 2
SYMBOL_TRADE_MODE_CLOSEONLY = 3
SYMBOL_TRADE_MODE_FULL = 4
# trade_exemode
SYMBOL_TRADE_EXECUTION_REQUEST = 0
SYMBOL_TRADE_EXECUTION_INSTANT = 1
SYMBOL_TRADE_EXECUTION_MARKET = 2
SYMBOL_TRADE_EXECUTION_EXCHANGE = 3


@functools.lru_cache(maxsize=256)  # a few steps per symbol, asked for every request
def step_decimals(step: float) -> int:
    """Decimal places of a grid step: 0.01 → 2, 0.25 → 2, 1.0 → 0 (at most 10)."""
    text = f"{step:.10f}".rstrip("0")
    return len(text.split(".", 1)[1]) if "." in text else 0


@dataclass(frozen=True, slots=True)
class SymbolRules:
    """What the engine needs of a symbol to build valid requests.

    Distances ``stops_level`` and ``freeze_level`` are in points; ``tick_size`` falls back to
    ``point`` when the terminal reports 0.
    """

    name: str
    digits: int
    point: float
    tick_size: float
    tick_value: float
    contract_size: float
    volume_min: float
    volume_max: float
    volume_step: float
    volume_limit: float
    stops_level: int
    freeze_level: int
    filling_mode: int
    order_mode: int
    expiration_mode: int
    trade_mode: int
    exec_mode: int
    calc_mode: int
    spread_float: bool
    currency_base: str
    currency_profit: str
    currency_margin: str

    @classmethod
    def from_info(cls, info: Any) -> SymbolRules:
        """Build from a ``SymbolInfo`` (any object with its attribute names).

        Raises ``TerminalError`` when the specification cannot be traded on (non-positive point or
        volume step, min above max).
        """
        try:
            point = float(info.point)
            tick_size = float(info.trade_tick_size) or point
            rules = cls(
                name=str(info.name),
                digits=int(info.digits),
                point=point,
                tick_size=tick_size,
                tick_value=float(info.trade_tick_value),
                contract_size=float(info.trade_contract_size),
                volume_min=float(info.volume_min),
                volume_max=float(info.volume_max),
                volume_step=float(info.volume_step),
                volume_limit=float(info.volume_limit),
                stops_level=int(info.trade_stops_level),
                freeze_level=int(info.trade_freeze_level),
                filling_mode=int(info.filling_mode),
                order_mode=int(info.order_mode),
                expiration_mode=int(info.expiration_mode),
                trade_mode=int(info.trade_mode),
                exec_mode=int(info.trade_exemode),
                calc_mode=int(info.trade_calc_mode),
                spread_float=bool(info.spread_float),
                currency_base=str(info.currency_base),
                currency_profit=str(info.currency_profit),
                currency_margin=str(info.currency_margin),
            )
        except (AttributeError, TypeError, ValueError) as exc:
            raise TerminalError(f"unusable symbol specification: {exc}") from exc
        rules._validate()
        return rules

    def _validate(self) -> None:
        bad = [
            f"{name}={value}"
            for name, value in (
                ("point", self.point),
                ("tick_size", self.tick_size),
                ("volume_step", self.volume_step),
                ("volume_min", self.volume_min),
            )
            if not (math.isfinite(value) and value > 0)
        ]
        if self.volume_max < self.volume_min:
            bad.append(f"volume_max={self.volume_max} < volume_min={self.volume_min}")
        if bad:
            raise TerminalError(f"unusable symbol specification for {self.name}: {', '.join(bad)}")

    @property
    def volume_digits(self) -> int:
        """Decimal places of a normalised volume."""
        return step_decimals(self.volume_step)

    @property
    def stops_distance(self) -> float:
        """The minimum SL/TP distance from the current price, in price units."""
        return self.stops_level * self.point

    @property
    def freeze_distance(self) -> float:
        """The freeze distance, in price units."""
        return self.freeze_level * self.point

    def allows_filling(self, flag: int) -> bool:
        """True when the ``SYMBOL_FILLING_*`` flag is in ``filling_mode``."""
        return bool(self.filling_mode & flag)

    def allows_order(self, flag: int) -> bool:
        """True when the ``SYMBOL_ORDER_*`` flag is in ``order_mode``."""
        return bool(self.order_mode & flag)
