"""Per-symbol stores behind :class:`~trading_engine.mt5sim.market.data.MarketData`.

A feed holds the symbol's M1 bars (complete server days, appended as the simulated time advances)
with a contiguous copy of their open times for binary search, the derived bars of each timeframe
(rebuilt incrementally from M1), and gives the ticks of any server day (generated, loaded or
synthesised from M1, with a small LRU cache). Arrays handed out are read-only. A feed whose M1
bars are built from ticks also keeps, per M1 bar, the first tick's time and the ask extremes
(``quotes``), recorded in the same pass, so that nobody has to generate the ticks again to know
them.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import OrderedDict
from typing import Final

import numpy as np
import numpy.typing as npt

from trading_engine.mt5sim.market.bars import (
    MinuteQuoteColumns,
    aggregate,
    m1_from_bars,
    m1_quotes_from_ticks,
    period_seconds,
    ticks_from_m1,
)
from trading_engine.mt5sim.market.servertime import DAY, ServerTime
from trading_engine.mt5sim.market.ticks import DayPlan, day_m1, day_ticks, is_trading_day, make_plan
from trading_engine.mt5sim.spec import constants as c
from trading_engine.mt5sim.spec.dtypes import RATES_DTYPE, TICKS_DTYPE, put_records
from trading_engine.mt5sim.spec.symbols import SymbolSpec

__all__ = ["DayTicks", "Feed", "GeneratedFeed", "GrowingBars", "GrowingQuotes", "HistoryFeed"]

DayTicks = tuple[npt.NDArray[np.void], npt.NDArray[np.int64]]
"""The ticks of one server day and their ``time_msc`` as a contiguous array."""

_MINUTES: Final = 1440  # at most one M1 bar per minute of a trading day
_EMPTY_TICKS: Final = np.empty(0, dtype=TICKS_DTYPE)
_EMPTY_TIMES: Final = np.empty(0, dtype=np.int64)
_EMPTY_TICKS.setflags(write=False)
_EMPTY_TIMES.setflags(write=False)


def _readonly_day(ticks: npt.NDArray[np.void]) -> DayTicks:
    times = np.ascontiguousarray(ticks["time_msc"])
    ticks.setflags(write=False)
    times.setflags(write=False)
    return ticks, times


class GrowingBars:
    """An append-only RATES_DTYPE array with amortised O(1) appends and a contiguous time index."""

    __slots__ = ("_bars", "_bars_view", "_n", "_times", "_times_view")

    def __init__(self, capacity: int = 4096) -> None:
        self._bars = np.empty(capacity, dtype=RATES_DTYPE)
        self._times = np.empty(capacity, dtype=np.int64)
        self._n = 0
        self._refresh()

    def _refresh(self) -> None:
        self._bars_view = self._bars[: self._n]
        self._bars_view.flags.writeable = False
        self._times_view = self._times[: self._n]
        self._times_view.flags.writeable = False

    def __len__(self) -> int:
        return self._n

    def reserve(self, extra: int) -> None:
        """Make room for ``extra`` more bars at once (a bulk generation: one allocation and no
        copy of a half-full buffer on the way; the room not yet written costs no memory)."""
        need = self._n + extra
        if need > self._bars.size:
            cap = max(need, 2 * self._bars.size)
            grown = np.empty(cap, dtype=RATES_DTYPE)
            put_records(grown, 0, self._bars[: self._n])
            times = np.empty(cap, dtype=np.int64)
            times[: self._n] = self._times[: self._n]
            self._bars, self._times = grown, times

    def append(self, bars: npt.NDArray[np.void]) -> None:
        """Append time-ordered bars that start after the last stored one."""
        need = self._n + bars.size
        self.reserve(bars.size)
        put_records(self._bars, self._n, bars)
        self._times[self._n : need] = bars["time"]
        self._n = need
        self._refresh()

    def truncate(self, n: int) -> None:
        """Keep the first ``n`` bars."""
        self._n = min(self._n, n)
        self._refresh()

    @property
    def bars(self) -> npt.NDArray[np.void]:
        """Read-only view of the stored bars."""
        return self._bars_view

    @property
    def times(self) -> npt.NDArray[np.int64]:
        """Read-only contiguous view of the bars' open times."""
        return self._times_view


class GrowingQuotes:
    """Per stored M1 bar (same index): the first tick's ``time_msc`` and the ask extremes;
    append-only, amortised O(1), read-only views."""

    __slots__ = ("_cols", "_n")

    def __init__(self, capacity: int = 4096) -> None:
        self._cols = (
            np.empty(capacity, dtype=np.int64),
            np.empty(capacity, dtype=np.float64),
            np.empty(capacity, dtype=np.float64),
        )
        self._n = 0

    def reserve(self, extra: int) -> None:
        """Make room for ``extra`` more bars at once (as ``GrowingBars.reserve``)."""
        need = self._n + extra
        if need > self._cols[0].size:
            cap = max(need, 2 * self._cols[0].size)
            first, ask_lo, ask_hi = (np.empty(cap, dtype=np.int64), np.empty(cap), np.empty(cap))
            for new, old in zip((first, ask_lo, ask_hi), self._cols, strict=True):
                new[: self._n] = old[: self._n]
            self._cols = (first, ask_lo, ask_hi)

    def append(self, quotes: MinuteQuoteColumns) -> None:
        """Append the quotes of the bars just appended to the M1 store."""
        need = self._n + quotes[0].size
        self.reserve(quotes[0].size)
        for col, part in zip(self._cols, quotes, strict=True):
            col[self._n : need] = part
        self._n = need

    def window(self, lo: int, hi: int) -> MinuteQuoteColumns:
        """Copies of the quotes of bars ``lo`` to ``hi`` (exclusive)."""
        first, ask_lo, ask_hi = self._cols
        return first[lo:hi].copy(), ask_lo[lo:hi].copy(), ask_hi[lo:hi].copy()


class Feed(ABC):
    """Base feed: M1 store, derived timeframes, day-tick cache. Subclasses supply the data."""

    def __init__(self, spec: SymbolSpec, server_time: ServerTime, tick_cache_days: int) -> None:
        self.spec = spec
        self.server_time = server_time
        self.m1 = GrowingBars()
        self.quotes: GrowingQuotes | None = None
        """First tick and ask extremes per M1 bar, when the bars are built from ticks."""
        self._derived: dict[int, tuple[GrowingBars, int]] = {}
        self._cache: OrderedDict[int, DayTicks] = OrderedDict()
        self._cache_days = max(1, tick_cache_days)

    # -- to be provided by subclasses ---------------------------------------------------------
    @abstractmethod
    def ensure(self, server_seconds: float) -> None:
        """Make data available up to ``server_seconds``."""

    @abstractmethod
    def _load_day_ticks(self, day: int) -> npt.NDArray[np.void]:
        """Ticks of a held server day (uncached)."""

    @abstractmethod
    def first_day(self) -> int:
        """First server day index with data (or that would have data)."""

    @abstractmethod
    def end_day(self) -> int:
        """One past the last server day index currently held."""

    # -- shared -------------------------------------------------------------------------------
    def day_ticks(self, day: int) -> DayTicks:
        """Ticks of server day ``day`` (empty outside the held range)."""
        if not self.first_day() <= day < self.end_day():
            return _EMPTY_TICKS, _EMPTY_TIMES
        hit = self._cache.get(day)
        if hit is not None:
            self._cache.move_to_end(day)
            return hit
        entry = _readonly_day(self._load_day_ticks(day))
        self._remember(day, entry)
        return entry

    def _remember(self, day: int, entry: DayTicks) -> None:
        self._cache[day] = entry
        self._cache.move_to_end(day)
        while len(self._cache) > self._cache_days:
            self._cache.popitem(last=False)

    def m1_of_day(self, day: int) -> npt.NDArray[np.void]:
        """Stored M1 bars of server day ``day``."""
        times = self.m1.times
        lo = int(times.searchsorted(day * DAY, side="left"))
        hi = int(times.searchsorted((day + 1) * DAY, side="left"))
        return self.m1.bars[lo:hi]

    def bars(self, timeframe: int) -> GrowingBars:
        """All stored bars of ``timeframe`` (M1 itself for M1), brought up to date with M1."""
        if timeframe == c.TIMEFRAME_M1:
            return self.m1
        store, used = self._derived.get(timeframe, (GrowingBars(256), 0))
        n_m1 = len(self.m1)
        if n_m1 > used:
            if len(store):
                last_open = int(store.times[-1])
                start = int(self.m1.times.searchsorted(last_open, side="left"))
                store.truncate(len(store) - 1)
            else:
                start = 0
            store.append(aggregate(self.m1.bars[start:n_m1], timeframe))
            self._derived[timeframe] = (store, n_m1)
        return store


class GeneratedFeed(Feed):
    """Synthetic data from :mod:`~trading_engine.mt5sim.market.ticks`, generated day by day.

    ``mode="ticks"`` generates ticks and builds M1 from them; ``mode="m1"`` draws M1 bars directly
    and serves ticks synthesised from them ("1 minute OHLC"), about 10x faster end to end.
    """

    def __init__(
        self,
        spec: SymbolSpec,
        server_time: ServerTime,
        *,
        seed: int,
        first_day: int,
        mode: str,
        tick_cache_days: int,
        plan: DayPlan | None = None,
    ) -> None:
        if mode not in ("ticks", "m1"):
            raise ValueError(f"mode must be 'ticks' or 'm1', not {mode!r}")
        super().__init__(spec, server_time, tick_cache_days)
        self.seed = seed
        self.mode = mode
        self.plan = plan if plan is not None else make_plan(spec, seed)
        self.plan.index(first_day)
        self._first = first_day
        self._next = first_day
        if mode == "ticks":
            self.quotes = GrowingQuotes()

    def first_day(self) -> int:
        return self._first

    def end_day(self) -> int:
        return self._next

    def ensure(self, server_seconds: float) -> None:
        target = math.floor(server_seconds / DAY)
        if target - self._next >= 7:
            # a stretch at once: room for every minute of it and of a week after it (a caller
            # that asks a little further next must not make the store copy itself: views of
            # the old buffer, held by a cursor or a memo, would keep it alive)
            days = range(self._next, target + 8)
            room = _MINUTES * sum(is_trading_day(d) for d in days)
            self.m1.reserve(room)
            if self.quotes is not None:
                self.quotes.reserve(room)
        while self._next <= target:
            day = self._next
            if self.mode == "ticks":
                ticks = day_ticks(self.spec, self.plan, self.seed, day, self.server_time)
                bars, quotes = m1_quotes_from_ticks(ticks, self.spec.point)
                self.m1.append(bars)
                if self.quotes is not None:
                    self.quotes.append(quotes)
                self._next = day + 1
                if ticks.size and day >= target - 1:
                    self._remember(day, _readonly_day(ticks))
            else:
                self.m1.append(day_m1(self.spec, self.plan, self.seed, day, self.server_time))
                self._next = day + 1

    def _load_day_ticks(self, day: int) -> npt.NDArray[np.void]:
        if self.mode == "ticks":
            return day_ticks(self.spec, self.plan, self.seed, day, self.server_time)
        return ticks_from_m1(self.m1_of_day(day), self.spec.point)


def _check_order(name: str, bars: npt.NDArray[np.void]) -> None:
    times = bars["time"]
    if times.size > 1 and not bool(np.all(np.diff(times) > 0)):
        raise ValueError(f"{name}: bars are not in strictly increasing time order")
    if bool(np.any(times % 60 != 0)):
        raise ValueError(f"{name}: bar times are not whole minutes")


def _lengths(opens: npt.NDArray[np.int64], timeframe: int) -> npt.NDArray[np.int64]:
    """Each bar's length in seconds (MN1: its calendar month)."""
    if timeframe == c.TIMEFRAME_MN1:
        nxt = opens.astype("datetime64[s]").astype("datetime64[M]") + 1
        return nxt.astype("datetime64[s]").astype(np.int64) - opens
    return np.full(opens.size, period_seconds(timeframe), dtype=np.int64)


class HistoryFeed(Feed):
    """Recorded history: ticks (M1 built from them) or bars (ticks synthesised per day).

    Bars of a timeframe above M1 (``timeframe``) are stored as the M1 bars of
    :func:`~trading_engine.mt5sim.market.bars.m1_from_bars`; the timeframe's own bars aggregate back
    to the file's. Market hours follow the data (:meth:`open_at`).
    """

    def __init__(
        self,
        spec: SymbolSpec,
        server_time: ServerTime,
        *,
        ticks: npt.NDArray[np.void] | None = None,
        m1: npt.NDArray[np.void] | None = None,
        timeframe: int = c.TIMEFRAME_M1,
        tick_cache_days: int = 8,
    ) -> None:
        super().__init__(spec, server_time, tick_cache_days)
        self._ticks = ticks
        self._tick_times: npt.NDArray[np.int64] | None = None
        if ticks is not None:
            order_ok = ticks.size < 2 or bool(np.all(np.diff(ticks["time_msc"]) >= 0))
            if not order_ok:
                raise ValueError(f"{spec.name}: ticks are not in time order")
            self._tick_times = np.ascontiguousarray(ticks["time_msc"])
            ticks.setflags(write=False)
            bars, quotes = m1_quotes_from_ticks(ticks, spec.point)
            self.m1.append(bars)
            self.quotes = GrowingQuotes(max(1, bars.size))
            self.quotes.append(quotes)
        elif m1 is not None:
            _check_order(spec.name, m1)
            self.m1.append(m1_from_bars(m1, timeframe))
        self.timeframe = timeframe if ticks is None else c.TIMEFRAME_M1
        base = m1 if ticks is None and m1 is not None else self.m1.bars
        self._base_times = np.ascontiguousarray(base["time"], dtype=np.int64)
        self._base_ends = self._base_times + _lengths(self._base_times, self.timeframe)
        self._max_gap = max(3600, int(period_seconds(self.timeframe)))
        times = self.m1.times
        self._first = int(times[0] // DAY) if times.size else 0
        self._end = int(times[-1] // DAY) + 1 if times.size else 0

    def first_day(self) -> int:
        return self._first

    def end_day(self) -> int:
        return self._end

    def ensure(self, server_seconds: float) -> None:
        """Recorded history is complete: nothing to do."""

    def open_at(self, server_seconds: float) -> bool:
        """Whether the market was open: inside a bar of the data (its close included) or in a
        gap between two bars shorter than an hour (or one bar, above H1)."""
        times = self._base_times
        i = int(times.searchsorted(server_seconds, side="right")) - 1
        if i < 0:
            return False
        end = int(self._base_ends[i])
        if server_seconds <= end:
            return True
        return i + 1 < times.size and int(times[i + 1]) - end < self._max_gap

    def _load_day_ticks(self, day: int) -> npt.NDArray[np.void]:
        if self._ticks is not None and self._tick_times is not None:
            lo = int(self._tick_times.searchsorted(day * DAY * 1000, side="left"))
            hi = int(self._tick_times.searchsorted((day + 1) * DAY * 1000, side="left"))
            return self._ticks[lo:hi]
        return ticks_from_m1(self.m1_of_day(day), self.spec.point)
