"""Bounds of a feed's quotes over a time window, without reading the window's ticks.

The trade server's catch-up (``server/catchup.py``) searches the ticks since its last instant for
events; most searches find none, and most can tell so from the range of the quotes alone: no
pending order reaches its price, no stop its level, and equity stays above stop-out even at the
worst quotes. ``DayBounds`` summarises one server day's ticks in fixed blocks of ``BLOCK_MS``
(the lowest and highest bid and ask of each block), made once per day from the day's ticks; a
window's bounds are then the extremes of the blocks it overlaps: a superset of the window's
quote range. Whether the window has a tick at all is answered exactly (two binary searches of
the day's tick times, as the window's read would do).
"""

from __future__ import annotations

import math
from typing import Final

import numba as nb
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


@nb.njit(cache=True)
def _blocks_kernel(times, bid, ask, start, before, bid_lo, bid_hi, ask_lo, ask_hi):  # type: ignore[no-untyped-def]
    nb_blocks = bid_lo.size
    for i in range(times.size):
        k = (times[i] - start) // BLOCK_MS
        k = min(max(k, 0), nb_blocks - 1)  # a tick stamped outside the day: first/last block
        before[k + 1] += 1
        b = bid[i]
        a = ask[i]
        if b < bid_lo[k]:
            bid_lo[k] = b
        if b > bid_hi[k]:
            bid_hi[k] = b
        if a < ask_lo[k]:
            ask_lo[k] = a
        if a > ask_hi[k]:
            ask_hi[k] = a
    for k in range(nb_blocks):
        before[k + 1] += before[k]


class DayBounds:
    """One server day's tick times and, per block, the ticks before it and the extremes of its
    quotes."""

    __slots__ = ("_ask_hi", "_ask_lo", "_before", "_bid_hi", "_bid_lo", "_start", "_times")

    def __init__(self, day: int, ticks: npt.NDArray[np.void], times: npt.NDArray[np.int64]) -> None:
        start = day * _DAY_MS
        self._start = start
        self._times = times
        cols = (
            np.full(_BLOCKS, math.inf),
            np.full(_BLOCKS, -math.inf),
            np.full(_BLOCKS, math.inf),
            np.full(_BLOCKS, -math.inf),
        )
        before = np.zeros(_BLOCKS + 1, dtype=np.int64)
        if times.size:
            _blocks_kernel(times, ticks["bid"], ticks["ask"], start, before, *cols)
        self._before: list[int] = before.tolist()
        self._bid_lo, self._bid_hi, self._ask_lo, self._ask_hi = (c.tolist() for c in cols)

    def within(self, lo_msc: int, hi_msc: int) -> Bounds | None:
        """Bounds of the day's ticks with ``lo_msc <= time_msc <= hi_msc``, None when there is
        none."""
        a = min(max((lo_msc - self._start) // BLOCK_MS, 0), _BLOCKS - 1)
        b = min(max((hi_msc - self._start) // BLOCK_MS, a), _BLOCKS - 1) + 1
        # a tick in a block strictly inside the window is in it; else search the edge blocks
        if b - a < 3 or self._before[b - 1] == self._before[a + 1]:
            times = self._times
            if times.searchsorted(lo_msc, "left") == times.searchsorted(hi_msc, "right"):
                return None
        return (
            min(self._bid_lo[a:b]),
            max(self._bid_hi[a:b]),
            min(self._ask_lo[a:b]),
            max(self._ask_hi[a:b]),
        )
