"""The vocabulary every stage shares, at the bottom of the import graph.

``Side``; ``Bar`` (what a stage reads of a closed bar); ``Signal`` (a strategy's request);
``Order`` and its state machine (``OrderState``, ``TRANSITIONS``); ``OpenPosition``, its read-only
``PositionView`` and the ``Portfolio``; and ``mt5``, the one table of MT5 codes (trade return
codes and ``last_error()`` codes → outcome and order state; deal entries and reasons).
It imports nothing of the engine but ``errors``.
"""

from __future__ import annotations

from trading_engine.model.bar import OHLC, Bar
from trading_engine.model.mt5 import DealEntry, DealReason, Outcome, state_after_send
from trading_engine.model.order import Order, SendResult
from trading_engine.model.order_state import FINAL_STATES, TRANSITIONS, OrderState
from trading_engine.model.position import OpenPosition, Portfolio, PositionView, PositionViews
from trading_engine.model.side import Side
from trading_engine.model.signal import Signal

__all__ = [
    "FINAL_STATES",
    "OHLC",
    "TRANSITIONS",
    "Bar",
    "DealEntry",
    "DealReason",
    "OpenPosition",
    "Order",
    "OrderState",
    "Outcome",
    "Portfolio",
    "PositionView",
    "PositionViews",
    "SendResult",
    "Side",
    "Signal",
    "state_after_send",
]
