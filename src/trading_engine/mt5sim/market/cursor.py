"""Fast reads of one feed at the current instant: the newest M1 bars and the last tick.

A backtest polls ``copy_rates_from_pos(symbol, M1, 0, n)`` once per simulated minute and reads
quotes at each new instant. The general paths (``MarketData._series``, ``last_tick``) search the
whole M1 store and the day's ticks and rebuild the forming bar on every call; ``FeedCursor``
answers the same queries from a cursor on the current server day and minute:

- the day's M1 open times and tick times as Python lists (``bisect`` is several times cheaper
  than ``ndarray.searchsorted`` for one scalar), the tick times only once the day is read
  often (by M1 reads, or after a few dozen quote reads: a backtest reads the quote of a day a
  few times, and listing 35,000 ticks costs a millisecond);
- the day's *running bars* (``running_bars``): for each tick, the bar of its minute up to and
  including it, computed exactly as ``bars.minute_bar`` would; the forming bar is then one record.

Answers are byte-identical to ``MarketData.copy_rates_from_pos(symbol, TIMEFRAME_M1, ...)`` and
to the fields of ``MarketData.last_tick``.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from typing import Final

import numba as nb
import numpy as np
import numpy.typing as npt

from trading_engine.mt5sim.market.bars import price_scale
from trading_engine.mt5sim.market.feed import Feed
from trading_engine.mt5sim.market.servertime import DAY, ServerTime
from trading_engine.mt5sim.spec.dtypes import RATES_DTYPE, TICKS_DTYPE

__all__ = ["FeedCursor", "TickRow", "running_bars"]

_V: Final = np.dtype(f"V{RATES_DTYPE.itemsize}")
_EMPTY: Final = np.empty(0, dtype=RATES_DTYPE)
_NEVER: Final = -(1 << 62)
_LIST_AFTER: Final = 64  # quote reads of a day after which its tick times become a list

TickRow = tuple[int, float, float, float, int, int, int, float]
"""A tick's fields as Python scalars, in ``TICKS_DTYPE`` (and ``Tick``) order."""


@nb.njit(cache=True)
def _running_kernel(tm, bid, ask, inv_point, out):  # type: ignore[no-untyped-def]
    cur = np.int64(-1)
    for i in range(tm.size):
        minute = tm[i] // 60_000
        sp = np.int32(np.rint((ask[i] - bid[i]) * inv_point))
        b = bid[i]
        if i == 0 or minute != cur:
            cur = minute
            out[i].time = minute * 60
            out[i].open = b
            out[i].high = b
            out[i].low = b
            out[i].close = b
            out[i].tick_volume = 1
            out[i].spread = sp
            out[i].real_volume = 0
        else:
            p = out[i - 1]
            out[i].time = p.time
            out[i].open = p.open
            out[i].high = b if b > p.high else p.high
            out[i].low = b if b < p.low else p.low
            out[i].close = b
            out[i].tick_volume = p.tick_volume + 1
            out[i].spread = sp if sp < p.spread else p.spread
            out[i].real_volume = 0


def running_bars(ticks: npt.NDArray[np.void], point: float) -> npt.NDArray[np.void]:
    """For each of time-ordered ticks, the M1 bar of its minute's ticks up to it (RATES_DTYPE)."""
    out = np.empty(ticks.size, dtype=RATES_DTYPE)
    if ticks.size:
        _running_kernel(ticks["time_msc"], ticks["bid"], ticks["ask"], price_scale(point), out)
    return out


class FeedCursor:
    """M1 ``copy_rates_from_pos`` and the last tick of one feed, by a cursor on the current day."""

    __slots__ = (
        "_a",
        "_asks",
        "_at_index",
        "_at_utc",
        "_bids",
        "_day",
        "_day_m1",
        "_day_m1_start",
        "_feed",
        "_hi",
        "_i_closed",
        "_listed",
        "_m1v",
        "_minute",
        "_off",
        "_off_hi",
        "_off_lo",
        "_prev",
        "_reads",
        "_run",
        "_span",
        "_tick_list",
        "_ticks",
        "_times",
    )

    def __init__(self, feed: Feed, server_time: ServerTime) -> None:
        self._feed = feed
        self._span = server_time.offset_span
        self._off, self._off_lo, self._off_hi = 0, math.inf, -math.inf
        self._hi = -math.inf  # the feed holds every day below this server second
        self._m1v = feed.m1.bars.view(_V)
        self._day = _NEVER
        self._ticks = np.empty(0, dtype=TICKS_DTYPE)
        self._bids: list[float] | None = None
        self._asks: list[float] = []
        self._times = np.empty(0, dtype=np.int64)
        self._tick_list: list[int] = []
        self._listed = True  # ``_tick_list`` holds the day's tick times
        self._reads = 0  # quote reads of the day while it is not listed
        self._run: npt.NDArray[np.void] | None = None
        self._day_m1: list[int] = []
        self._day_m1_start = 0
        self._minute = _NEVER
        self._i_closed = 0
        self._a = 0
        self._prev: tuple[int, TickRow | None] = (_NEVER, None)
        self._at_utc = math.nan  # the instant of ``_at_index`` (``_last_index``)
        self._at_index = -1

    def _server(self, now_utc: float) -> float:
        """Server seconds of ``now_utc``, with the feed's data ensured up to them."""
        if not self._off_lo <= now_utc < self._off_hi:
            self._off, self._off_lo, self._off_hi = self._span(now_utc)
        s = now_utc + self._off
        if s >= self._hi:
            feed = self._feed
            feed.ensure(s)
            self._hi = feed.end_day() * DAY
            self._m1v = feed.m1.bars.view(_V)
        return s

    def _enter_day(self, day: int) -> None:
        feed = self._feed
        ticks, times = feed.day_ticks(day)
        self._day = day
        self._ticks = ticks
        self._bids = None
        self._asks = []
        self._times = times
        self._tick_list = []
        self._listed = False  # listed by the first M1 read or after _LIST_AFTER quote reads
        self._reads = 0
        self._run = None  # the day's running bars, made by the first M1 read that needs them
        m1_times = feed.m1.times
        lo = int(m1_times.searchsorted(day * DAY, side="left"))
        hi = int(m1_times.searchsorted((day + 1) * DAY, side="left"))
        self._day_m1_start = lo
        self._day_m1 = m1_times[lo:hi].tolist()
        self._minute = _NEVER
        self._at_utc = math.nan  # no instant's index of this day yet

    def _list_day(self) -> None:
        self._tick_list = self._times.tolist()
        self._listed = True

    def _right(self, msc: int) -> int:
        """The number of the day's ticks at or before ``msc``. A day read a few times (quotes for
        a few orders) is searched as an array; one read often (a polling loop) as a list."""
        if not self._listed:
            self._reads += 1
            if self._reads <= _LIST_AFTER:
                return int(self._times.searchsorted(msc, side="right"))
            self._list_day()
        return bisect_right(self._tick_list, msc)

    def _running(self) -> npt.NDArray[np.void]:
        """The current day's running bars (``running_bars``), made once per day on first use."""
        if self._run is None:
            self._run = running_bars(self._ticks, self._feed.spec.point).view(_V)
        return self._run

    def _last_index(self, now_utc: float) -> int:
        """Index in the current day's ticks of the last tick at or before ``now_utc`` (-1: none
        today); the last answer is kept, as the quote and the tick of one instant are read in
        turn."""
        if now_utc == self._at_utc:
            return self._at_index
        s = self._server(now_utc)
        day = math.floor(s / DAY)
        if day != self._day:
            self._enter_day(day)
        k = self._right(math.floor(s * 1000.0)) - 1
        self._at_utc = now_utc
        self._at_index = k
        return k

    def last_tick(self, now_utc: float) -> TickRow | None:
        """The fields of ``MarketData.last_tick(symbol, now_utc)`` (None: no tick)."""
        k = self._last_index(now_utc)
        if k < 0:
            return self._before_day()
        row: TickRow = self._ticks[k : k + 1].tolist()[0]
        return row

    def last_quote(self, now_utc: float) -> tuple[float, float] | None:
        """(bid, ask) of ``last_tick(now_utc)`` (None: no tick)."""
        k = self._last_index(now_utc)
        if k < 0:
            row = self._before_day()
            return None if row is None else (row[1], row[2])
        if self._bids is None:
            if not self._listed:
                tick = self._ticks[k]
                return float(tick["bid"]), float(tick["ask"])
            self._bids = self._ticks["bid"].tolist()  # the day's quotes as Python floats
            self._asks = self._ticks["ask"].tolist()
        return self._bids[k], self._asks[k]

    def _before_day(self) -> TickRow | None:
        """The last tick of the latest earlier day with bars (cached per day)."""
        if self._prev[0] != self._day:
            feed = self._feed
            m1_times = feed.m1.times
            i = int(m1_times.searchsorted(self._day * DAY, side="left")) - 1
            row: TickRow | None = None
            if i >= 0:
                ticks, _ = feed.day_ticks(int(m1_times[i]) // DAY)
                if ticks.size:
                    row = ticks[-1:].tolist()[0]
            self._prev = (self._day, row)
        return self._prev[1]

    def copy_rates_from_pos(
        self, start_pos: int, count: int, now_utc: float
    ) -> npt.NDArray[np.void]:
        """As ``MarketData.copy_rates_from_pos(symbol, TIMEFRAME_M1, start_pos, count, now_utc)``
        (``start_pos``, ``count`` >= 0)."""
        if not self._off_lo <= now_utc < self._off_hi or now_utc + self._off >= self._hi:
            s = self._server(now_utc)
        else:  # the common case of ``_server``, inline
            s = now_utc + self._off
        now_msc = math.floor(s * 1000.0)
        minute = math.floor(s / 60.0) * 60
        if minute != self._minute:
            day = minute // DAY
            if day != self._day:
                self._enter_day(day)
            self._minute = minute
            self._i_closed = self._day_m1_start + bisect_left(self._day_m1, minute)
            if not self._listed:
                self._list_day()
            self._a = bisect_left(self._tick_list, minute * 1000)
        a = self._a
        b = bisect_right(self._tick_list, now_msc, a)
        ncl = self._i_closed
        end = ncl - start_pos + (1 if b > a else 0)
        begin = end - count if end > count else 0
        if end <= begin:
            return _EMPTY.copy()
        m1v = self._m1v
        if end <= ncl:
            out = m1v[begin:end].copy()
        elif end <= m1v.size:
            out = m1v[begin:end].copy()
            out[-1] = self._running()[b - 1]
        else:
            out = np.empty(end - begin, dtype=_V)
            out[: ncl - begin] = m1v[begin:ncl]
            out[-1] = self._running()[b - 1]
        # opaque records copied as memory, then typed (``ndarray.view`` costs ~0.3 us more)
        return np.ndarray(end - begin, RATES_DTYPE, out)
