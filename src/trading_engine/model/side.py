"""``Side``: the direction of a signal, an order or a position."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Side"]


class Side(StrEnum):
    """Direction of a signal, an order or a position."""

    BUY = "buy"
    SELL = "sell"
