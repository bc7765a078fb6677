"""``Signal``: what a strategy asks for (enter or exit a position)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from trading_engine.model.side import Side

__all__ = ["Signal"]


@dataclass(frozen=True, slots=True)
class Signal:
    """What a strategy asks for.

    ``action="enter"``: open a position on ``side`` with optional stops (absolute prices) and
    ``volume`` in lots (``None``: sized by the risk rules from ``sl``). ``action="exit"``: close
    the position of side ``side`` (``ticket``, when known, names it). ``reason`` is logged and
    journaled with the order.
    """

    action: Literal["enter", "exit"]
    side: Side
    sl: float | None = None
    tp: float | None = None
    volume: float | None = None
    reason: str = ""
    ticket: int | None = None
