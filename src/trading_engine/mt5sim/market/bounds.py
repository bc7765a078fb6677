"""Bounds of a feed's quotes over a time window, without reading the window's ticks.

The trade server's catch-up (``server/catchup.py``) searches the ticks since its last instant for
events; most searches find none, and most can tell so from the range of the quotes alone: no
pending order reaches its price, no stop its level, and equity stays above stop-out even at the
worst quotes. ``DayBounds`` summarises one server day's ticks in fixed blocks of ``BLOCK_MS``
(the lowest and highest bid and ask of each block, and the number of ticks before each block),
made once per day from the day's ticks; a window's bounds are then the extremes of the blocks it
overlaps: a superset of the window's quote range, exact about whether the window has any tick.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["BLOCK_MS", "UNBOUNDED", "Bounds", "DayBounds"]

BLOCK_MS: Final = 300_000
"""Width of a block (five minutes)."""
_DAY_MS: Final = 86_400_000
_BLOCKS: Final = _DAY_MS // BLOCK_MS

Bounds = tuple[float, float, float, float]
"""(lowest bid, highest bid, lowest ask, highest ask) that every tick of a window lies within."""
UNBOUNDED: Final[Bounds] = (-math.inf, math.inf, -math.inf, math.inf)


class DayBounds:
    """Per block of one server day: the ticks before it and the extremes of its quotes."""

    __slots__ = ("_ask_hi", "_ask_lo", "_before", "_bid_hi", "_bid_lo", "_start")

    def __init__(self, day: int, ticks: npt.NDArray[np.void], times: npt.NDArray[np.int64]) -> None:
        start = day * _DAY_MS
        self._start = start
        edges = times.searchsorted(start + BLOCK_MS * np.arange(_BLOCKS + 1), side="left")
        edges[0] = 0  # a tick stamped outside the day counts in the first or last block
        edges[-1] = times.size
        self._before: list[int] = edges.tolist()
        full = edges[:-1] < edges[1:]
        starts = edges[:-1][full]
        cols: list[list[float]] = []
        for field, fill, reduce in (
            ("bid", math.inf, np.minimum),
            ("bid", -math.inf, np.maximum),
            ("ask", math.inf, np.minimum),
            ("ask", -math.inf, np.maximum),
        ):
            col = np.full(_BLOCKS, fill)
            if starts.size:
                col[full] = reduce.reduceat(ticks[field], starts)
            cols.append(col.tolist())
        self._bid_lo, self._bid_hi, self._ask_lo, self._ask_hi = cols

    def within(self, lo_msc: int, hi_msc: int) -> Bounds | None:
        """Bounds of the ticks with ``lo_msc <= time_msc <= hi_msc`` (times within this day),
        or None when there is none."""
        a = (lo_msc - self._start) // BLOCK_MS
        b = (hi_msc - self._start) // BLOCK_MS + 1
        a = min(max(a, 0), _BLOCKS)
        b = min(max(b, a), _BLOCKS)
        if self._before[b] == self._before[a]:
            return None
        return (
            min(self._bid_lo[a:b]),
            max(self._bid_hi[a:b]),
            min(self._ask_lo[a:b]),
            max(self._ask_hi[a:b]),
        )
