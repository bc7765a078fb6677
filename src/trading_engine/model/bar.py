"""``Bar``: what every stage reads of a closed bar, whatever carries it.

A bar travels as a row of an MT5 rates array (terminal, data), a ``NewCandleEvent`` (channels),
and a strategy ``Snapshot``; each of them offers these fields by attribute. Times are the bar's
open time in broker server-time epoch seconds, as MetaTrader 5 gives them.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["OHLC", "Bar"]


class OHLC(Protocol):
    """A bar's open time and prices."""

    @property
    def time(self) -> int: ...
    @property
    def open(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def close(self) -> float: ...


class Bar(OHLC, Protocol):
    """A closed bar of one stream (``symbol`` × ``timeframe``, MT5 timeframe code)."""

    @property
    def symbol(self) -> str: ...
    @property
    def timeframe(self) -> int: ...
