"""Trade-server wall clock: UTC ↔ server time, with the EU daylight-saving rule, and the FX week.

MT5 stamps every bar and tick with the broker's wall clock written as if it were UTC. Most FX
brokers run on EET/EEST: UTC+2 in winter, UTC+3 from the last Sunday of March 01:00 UTC to the last
Sunday of October 01:00 UTC (the EU rule). ``ServerTime.fixed(offset)`` gives a constant offset.

Conversions. ``to_server(utc)`` is exact. ``to_utc(server)`` inverts it; a server time that occurs
twice (the repeated hour in October) maps to its first (summer) occurrence, and a server time that
never occurs (the skipped hour in March) maps with the winter offset.

FX week (in server time): open from Monday 00:00:00 to Friday 23:59:59 inclusive, closed on
Saturday and Sunday. With EET/EEST that is Sunday 22:00 (21:00 in summer) to Friday 22:00 (21:00)
UTC, as on real brokers. Holidays are not modelled.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import functools
import math
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "DAY",
    "WEEK",
    "ServerTime",
    "day_of_week",
    "eu_dst_transitions",
]

DAY: Final = 86_400
WEEK: Final = 7 * DAY
_FIRST_YEAR: Final = 1970
_LAST_YEAR: Final = 2200


def day_of_week(seconds: float) -> int:
    """Day of week of a (server) epoch second: 0 = Sunday … 6 = Saturday (MQL5 DAY_OF_WEEK_*)."""
    return (math.floor(seconds / DAY) + 4) % 7


def _last_sunday_0100_utc(year: int, month: int) -> int:
    """Epoch seconds of the last Sunday of ``month`` at 01:00 UTC."""
    nxt = _dt.date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - _dt.timedelta(days=1)
    last -= _dt.timedelta(days=(last.weekday() + 1) % 7)
    start = _dt.datetime(last.year, last.month, last.day, 1, tzinfo=_dt.UTC)
    return int(start.timestamp())


def eu_dst_transitions(first_year: int, last_year: int) -> npt.NDArray[np.int64]:
    """UTC epoch seconds of EU summer-time starts and ends, interleaved: [start, end, start, …]."""
    out: list[int] = []
    for year in range(first_year, last_year + 1):
        out.append(_last_sunday_0100_utc(year, 3))
        out.append(_last_sunday_0100_utc(year, 10))
    return np.asarray(out, dtype=np.int64)


@functools.cache
def _shared_transitions() -> npt.NDArray[np.int64]:
    trans = eu_dst_transitions(_FIRST_YEAR, _LAST_YEAR)
    trans.setflags(write=False)
    return trans


@dataclass(frozen=True, slots=True)
class ServerTime:
    """Server clock = UTC + ``base_offset`` seconds, + ``dst_shift`` during EU summer time.

    Use :meth:`eet` (the default of most FX brokers) or :meth:`fixed`.
    """

    base_offset: int = 2 * 3600
    dst_shift: int = 3600
    _transitions: npt.NDArray[np.int64] = field(init=False, repr=False, compare=False)
    _transition_list: list[int] = field(init=False, repr=False, compare=False)
    _last_span: list[tuple[int, float, float]] = field(init=False, repr=False, compare=False)
    """One entry: the span found last (consecutive calls nearly always fall in it)."""

    def __post_init__(self) -> None:
        trans = _shared_transitions() if self.dst_shift else np.empty(0, dtype=np.int64)
        object.__setattr__(self, "_transitions", trans)
        object.__setattr__(self, "_transition_list", trans.tolist())
        object.__setattr__(self, "_last_span", [(self.base_offset, math.inf, -math.inf)])

    @classmethod
    def eet(cls) -> ServerTime:
        """EET/EEST: UTC+2 in winter, UTC+3 in EU summer time."""
        return cls(base_offset=2 * 3600, dst_shift=3600)

    @classmethod
    def fixed(cls, offset_seconds: int) -> ServerTime:
        """A constant offset from UTC, no daylight saving."""
        return cls(base_offset=offset_seconds, dst_shift=0)

    def offset_at(self, utc_seconds: float) -> int:
        """Offset (seconds) of server time from UTC at the UTC instant ``utc_seconds``."""
        if not self.dst_shift:
            return self.base_offset
        return self.offset_span(utc_seconds)[0]

    def offset_span(self, utc_seconds: float) -> tuple[int, float, float]:
        """(offset, lo, hi): ``offset_at`` is ``offset`` for every UTC instant in ``[lo, hi)``."""
        if not self.dst_shift:
            return self.base_offset, -math.inf, math.inf
        last = self._last_span[0]
        if last[1] <= utc_seconds < last[2]:
            return last
        trans = self._transition_list
        idx = bisect.bisect_right(trans, utc_seconds)
        lo = float(trans[idx - 1]) if idx > 0 else -math.inf
        hi = float(trans[idx]) if idx < len(trans) else math.inf
        span = (self.base_offset + (self.dst_shift if idx % 2 == 1 else 0), lo, hi)
        self._last_span[0] = span
        return span

    def to_server(self, utc_seconds: float) -> float:
        """Server wall-clock epoch seconds for a UTC epoch second."""
        return utc_seconds + self.offset_at(utc_seconds)

    def to_utc(self, server_seconds: float) -> float:
        """UTC epoch seconds for a server wall-clock epoch second (see module notes on DST)."""
        if self.dst_shift:
            summer = server_seconds - self.base_offset - self.dst_shift
            if self.offset_at(summer) == self.base_offset + self.dst_shift:
                return summer
        return server_seconds - self.base_offset

    def offsets(self, utc_seconds: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Vectorised :meth:`offset_at`."""
        utc = np.asarray(utc_seconds)
        if not self.dst_shift:
            return np.full(utc.shape, self.base_offset, dtype=np.int64)
        idx = np.searchsorted(self._transitions, utc, side="right")
        return (self.base_offset + self.dst_shift * (idx % 2)).astype(np.int64)

    def to_server_array(self, utc_seconds: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Vectorised :meth:`to_server` (float seconds)."""
        utc = np.asarray(utc_seconds, dtype=np.float64)
        return utc + self.offsets(utc)

    def to_utc_array(self, server_seconds: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Vectorised :meth:`to_utc` (float seconds)."""
        srv = np.asarray(server_seconds, dtype=np.float64)
        winter = srv - self.base_offset
        if not self.dst_shift:
            return winter
        summer = winter - self.dst_shift
        in_summer = self.offsets(summer) == self.base_offset + self.dst_shift
        return np.where(in_summer, summer, winter)

    def is_open(self, utc_seconds: float) -> bool:
        """True from Monday 00:00:00 to Friday 23:59:59 server time (the FX week)."""
        return 1 <= day_of_week(self.to_server(utc_seconds)) <= 5
