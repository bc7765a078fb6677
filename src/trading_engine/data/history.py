"""``ClosedHistory``: the data stage's reads of past bars, for the stages that warm up from them.

The data stage owns the terminal's bar reads: the live polls (``service``) and these history reads
(the indicator stage's warm-up). Malformed bars are left out by the rules applied to live bars
(``validation``), counted and logged: a single NaN would poison an EMA for good.
"""

from __future__ import annotations

from typing import Any

from loguru import logger

from trading_engine.data.validation import validate_rates
from trading_engine.terminal.port import TerminalPort
from trading_engine.timeframes import fixed_seconds, timeframe_name

__all__ = ["ClosedHistory"]


class ClosedHistory:
    """Closed bars of a stream read from the terminal, validated."""

    def __init__(self, port: TerminalPort) -> None:
        self._port = port

    async def closed_bars(self, symbol: str, timeframe: int, count: int) -> tuple[Any, int]:
        """Up to ``count`` closed bars before the forming one (an MT5 rates array, oldest
        first, or None when the terminal has none) and how many malformed bars were left out."""
        rates = await self._port.copy_rates_from_pos(symbol, timeframe, 0, count + 1)
        if rates is None or len(rates) <= 1:
            return None, 0
        closed = rates[:-1]  # bar 0 is still forming
        accepted, rejections = validate_rates(closed, timeframe_seconds=fixed_seconds(timeframe))
        if not rejections:
            return closed, 0
        logger.warning(
            "history of {} {}: {} malformed bars left out ({})",
            symbol,
            timeframe_name(timeframe),
            len(rejections),
            ", ".join(f"{int(closed['time'][i])}: {why}" for i, why in rejections[:5]),
        )
        return closed[accepted], len(rejections)
