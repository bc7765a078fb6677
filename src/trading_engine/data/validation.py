"""Bar validation and detection of newly closed bars (pure: no I/O, no clock).

Bars arrive as MT5 rates arrays (``copy_rates_*``: fields ``time, open, high, low, close,
tick_volume, spread, real_volume``, oldest first, ``time`` = bar open in server-time epoch seconds).

Rules, in the order they are checked (the first failing one is the reason):

============================  ==================================================================
reason                        meaning
============================  ==================================================================
``invalid_time``              ``time`` is not a positive integer
``non_finite``                an OHLC price is NaN or infinite
``non_positive_price``        an OHLC price is zero or negative
``high_below_low``            ``high < low``
``open_outside_range``        ``open`` is outside ``[low, high]``
``close_outside_range``       ``close`` is outside ``[low, high]``
``negative_volume``           ``tick_volume`` or ``real_volume`` is negative
``absurd_range``              ``high`` above twice ``low``, or a range (``high - low``) above
                              ``max_range`` (``BarValidator``: ``absurd_ratio`` times the mean
                              range of the stream's recent bars, an ATR; a bar of 1e308 would
                              poison every indicator after it)
``misaligned_time``           ``time`` is not a multiple of the bar length (intraday and D1 only)
``duplicate_time``            ``time`` equals the previous accepted bar's
``out_of_order``              ``time`` is older than the previous accepted bar's
============================  ==================================================================

Gaps (bars missing between two accepted bars) are information, not a rejection: MT5 produces no
bar for a minute without ticks. Missing bar slots that fall on a Saturday or Sunday (server time)
are the weekend closure and are not counted as missing.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

__all__ = [
    "BarBatch",
    "BarFields",
    "BarReject",
    "BarValidator",
    "Gap",
    "detect_gap",
    "new_closed_bars",
    "validate_bar",
    "validate_ohlc",
    "validate_rates",
]

_DAY = 86_400
_RANGE_WARMUP = 20  # bars before the stream's own mean range bounds the next bar's
_RANGE_ALPHA = 2.0 / 101.0  # the mean range follows about the last 100 bars


class BarReject(StrEnum):
    """Why a bar was rejected (the values are the counters' keys and the logged reason)."""

    INVALID_TIME = "invalid_time"
    NON_FINITE = "non_finite"
    NON_POSITIVE_PRICE = "non_positive_price"
    HIGH_BELOW_LOW = "high_below_low"
    OPEN_OUTSIDE_RANGE = "open_outside_range"
    CLOSE_OUTSIDE_RANGE = "close_outside_range"
    NEGATIVE_VOLUME = "negative_volume"
    ABSURD_RANGE = "absurd_range"
    MISALIGNED_TIME = "misaligned_time"
    DUPLICATE_TIME = "duplicate_time"
    OUT_OF_ORDER = "out_of_order"


_SEQUENCE_REASONS = frozenset({BarReject.DUPLICATE_TIME, BarReject.OUT_OF_ORDER})


class BarFields(Protocol):
    """A bar readable by field name: a row of an MT5 rates array, or a mapping."""

    def __getitem__(self, key: str, /) -> Any: ...


def _aligned_period(timeframe_seconds: int | None) -> int | None:
    """The bar length if bar times must be multiples of it (intraday and D1), else ``None``."""
    if timeframe_seconds is None or timeframe_seconds <= 0 or _DAY % timeframe_seconds:
        return None
    return timeframe_seconds


def validate_ohlc(
    time: int,
    open: float,
    high: float,
    low: float,
    close: float,
    tick_volume: float = 0,
    real_volume: float = 0,
    *,
    previous_time: int | None = None,
    timeframe_seconds: int | None = None,
    max_range: float | None = None,
) -> BarReject | None:
    """The reason a bar given as plain values is rejected, or ``None`` when it is valid.

    ``previous_time`` is the open time of the last accepted bar of the same stream;
    ``timeframe_seconds`` enables the alignment check (pass ``None`` for W1 and MN1);
    ``max_range`` the largest plausible ``high - low``.
    """
    if time <= 0:
        return BarReject.INVALID_TIME
    prices = (open, high, low, close)
    if not all(math.isfinite(p) for p in prices):
        return BarReject.NON_FINITE
    if min(prices) <= 0.0:
        return BarReject.NON_POSITIVE_PRICE
    if high < low:
        return BarReject.HIGH_BELOW_LOW
    if not low <= open <= high:
        return BarReject.OPEN_OUTSIDE_RANGE
    if not low <= close <= high:
        return BarReject.CLOSE_OUTSIDE_RANGE
    if tick_volume < 0 or real_volume < 0:
        return BarReject.NEGATIVE_VOLUME
    if high > 2.0 * low or (max_range is not None and high - low > max_range):
        return BarReject.ABSURD_RANGE
    period = _aligned_period(timeframe_seconds)
    if period is not None and time % period:
        return BarReject.MISALIGNED_TIME
    if previous_time is not None:
        if time == previous_time:
            return BarReject.DUPLICATE_TIME
        if time < previous_time:
            return BarReject.OUT_OF_ORDER
    return None


def validate_bar(
    bar: BarFields,
    *,
    previous_time: int | None = None,
    timeframe_seconds: int | None = None,
    max_range: float | None = None,
) -> BarReject | None:
    """The reason ``bar`` (a rates row or a mapping with MT5 field names) is rejected, or ``None``.

    ``tick_volume`` and ``real_volume`` are optional in a mapping. See :func:`validate_ohlc`.
    """

    def optional(name: str) -> float:
        try:
            return float(bar[name])
        except (KeyError, ValueError, IndexError):
            return 0.0

    return validate_ohlc(
        int(bar["time"]),
        float(bar["open"]),
        float(bar["high"]),
        float(bar["low"]),
        float(bar["close"]),
        optional("tick_volume"),
        optional("real_volume"),
        previous_time=previous_time,
        timeframe_seconds=timeframe_seconds,
        max_range=max_range,
    )


def validate_rates(
    rates: npt.NDArray[Any],
    *,
    previous_time: int | None = None,
    timeframe_seconds: int | None = None,
    max_range: float | None = None,
) -> tuple[npt.NDArray[np.bool_], list[tuple[int, BarReject]]]:
    """Validate a whole rates array at once (vectorised; same rules as :func:`validate_ohlc`).

    Returns ``(accepted, rejections)``: a boolean mask of the accepted rows and, for each rejected
    row, ``(row index, reason)``. A row is checked for sequence against the newest bar accepted
    before it (or ``previous_time``), exactly as if the rows were validated one by one.
    """
    n = len(rates)
    if n == 0:
        return np.zeros(0, dtype=np.bool_), []
    times = rates["time"].astype(np.int64, copy=False)
    o = rates["open"].astype(np.float64, copy=False)
    h = rates["high"].astype(np.float64, copy=False)
    lo = rates["low"].astype(np.float64, copy=False)
    c = rates["close"].astype(np.float64, copy=False)
    code = np.zeros(n, dtype=np.int8)  # 0 = ok, else 1 + index into _ORDER

    def mark(condition: npt.NDArray[np.bool_], reason: BarReject) -> None:
        # Only the first failing rule is kept: later rules never overwrite an earlier reason.
        code[(code == 0) & condition] = _CODE[reason]

    with np.errstate(invalid="ignore"):
        mark(times <= 0, BarReject.INVALID_TIME)
        finite = np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(c)
        mark(~finite, BarReject.NON_FINITE)
        mark((o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0), BarReject.NON_POSITIVE_PRICE)
        mark(h < lo, BarReject.HIGH_BELOW_LOW)
        mark((o < lo) | (o > h), BarReject.OPEN_OUTSIDE_RANGE)
        mark((c < lo) | (c > h), BarReject.CLOSE_OUTSIDE_RANGE)
    names = rates.dtype.names or ()
    negative = np.zeros(n, dtype=np.bool_)
    for name in ("tick_volume", "real_volume"):
        if name in names and rates.dtype[name].kind in "if":
            negative |= rates[name] < 0
    mark(negative, BarReject.NEGATIVE_VOLUME)
    with np.errstate(invalid="ignore", over="ignore"):
        absurd = h > 2.0 * lo
        if max_range is not None:
            absurd |= (h - lo) > max_range
    mark(absurd, BarReject.ABSURD_RANGE)
    period = _aligned_period(timeframe_seconds)
    if period is not None:
        mark(times % period != 0, BarReject.MISALIGNED_TIME)

    # Sequence: compare each row with the newest well-formed row before it. Rows rejected for
    # sequence never raise that maximum, so this equals checking against the last accepted bar.
    floor = np.iinfo(np.int64).min
    candidate = np.where(code == 0, times, floor)
    newest_before = np.empty(n, dtype=np.int64)
    newest_before[0] = floor if previous_time is None else previous_time
    if n > 1:
        newest_before[1:] = np.maximum.accumulate(candidate[:-1])
        if previous_time is not None:
            np.maximum(newest_before, previous_time, out=newest_before)
    has_before = newest_before != floor
    mark(has_before & (times == newest_before), BarReject.DUPLICATE_TIME)
    mark(has_before & (times < newest_before), BarReject.OUT_OF_ORDER)

    accepted = code == 0
    rejections = [(int(i), _ORDER[code[i] - 1]) for i in np.flatnonzero(~accepted)]
    return accepted, rejections


_ORDER: tuple[BarReject, ...] = tuple(BarReject)
_CODE = {reason: index + 1 for index, reason in enumerate(_ORDER)}


def new_closed_bars(
    rates: npt.NDArray[Any], last_time: int | None, candle_index: int = 1
) -> npt.NDArray[Any]:
    """The bars of ``rates`` that are closed and newer than ``last_time``.

    ``rates`` is an answer of ``copy_rates_from_pos(symbol, timeframe, 0, n)``: oldest first, its
    last row the still-forming bar 0. ``candle_index`` is the MT5 position of the newest bar to act
    on: ``1`` (the default) is the last closed bar, so the forming bar is never emitted; ``0``
    acts on the forming bar itself (partial OHLC, emitted once when its open time is first seen
    and never updated); ``k > 1`` acts ``k - 1`` bars late. A bar is only known to be closed once
    the terminal has a newer one, i.e. at the first tick of the next bar.
    """
    if candle_index < 0:
        raise ValueError(f"candle_index must be >= 0, got {candle_index}")
    end = len(rates) - candle_index
    if end <= 0:
        return rates[:0]
    eligible = rates[:end]
    if last_time is None:
        return eligible
    return eligible[eligible["time"] > last_time]


@dataclass(frozen=True, slots=True)
class Gap:
    """Bars missing between two accepted bars of a stream (information, never a rejection).

    ``missing_bars`` counts the absent bar slots on weekdays (Monday–Friday, server time);
    ``weekend_bars`` those on Saturday and Sunday, the usual market closure.
    """

    previous_time: int
    time: int
    missing_bars: int
    weekend_bars: int


def _weekday(epoch_seconds: int) -> int:
    """Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday)."""
    return (epoch_seconds // _DAY + 3) % 7


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def detect_gap(previous_time: int, time: int, timeframe_seconds: int | None) -> Gap | None:
    """The gap between consecutive accepted bars, or ``None`` when none is missing.

    Only for bar lengths of one day or less (W1 and MN1 have no regular grid here: pass
    ``None``). Bar slots are counted on the grid ``previous_time + k·timeframe_seconds``.
    """
    if timeframe_seconds is None or not 0 < timeframe_seconds <= _DAY:
        return None
    span = time - previous_time
    if span <= timeframe_seconds:
        return None
    slots = _ceil_div(span, timeframe_seconds) - 1  # k = 1 … slots lie strictly between
    if slots <= 0:
        return None
    first = previous_time + timeframe_seconds
    last = previous_time + slots * timeframe_seconds
    weekend = 0
    for day in range(first // _DAY, last // _DAY + 1):
        if _weekday(day * _DAY) < 5:
            continue
        start, stop = day * _DAY, (day + 1) * _DAY
        k_from = max(1, _ceil_div(start - previous_time, timeframe_seconds))
        k_to = min(slots, _ceil_div(stop - previous_time, timeframe_seconds) - 1)
        if k_to >= k_from:
            weekend += k_to - k_from + 1
    return Gap(previous_time, time, slots - weekend, weekend)


_SMALL = 32
"""Answers up to this many rows are validated row by row (cheaper than numpy's fixed costs)."""


def _field_positions(dtype: np.dtype[Any]) -> tuple[int, int, int, int, int, int, int]:
    """Positions of time, open, high, low, close, tick_volume, real_volume (-1: absent)."""
    names = dtype.names or ()
    index = {name: i for i, name in enumerate(names)}
    try:
        core = [index[name] for name in ("time", "open", "high", "low", "close")]
    except KeyError as exc:
        raise ValueError(f"rates lack the field {exc.args[0]!r}: {names}") from None
    t, o, h, lo, c = core
    return t, o, h, lo, c, index.get("tick_volume", -1), index.get("real_volume", -1)


@dataclass(slots=True)
class BarBatch:
    """What one poll produced: the accepted bars, the rejected ones, the gaps seen."""

    accepted: npt.NDArray[Any]
    rejected: list[tuple[int, BarReject]] = field(default_factory=list)
    """``(bar time, reason)`` of each rejected bar."""
    gaps: list[Gap] = field(default_factory=list)
    """Gaps with weekday bars missing (weekend-only gaps are not listed)."""


class BarValidator:
    """Validates one stream (symbol × timeframe) poll after poll and counts what it rejects.

    Feed it every terminal answer (:meth:`process`); it returns each closed bar exactly once, in
    order, or rejects it with a reason. A malformed bar is rejected and counted once, not again on
    every later poll that still contains it; bars the stream already passed (``time`` ≤ the last
    accepted bar's) are the normal overlap of polling and are silently skipped.
    """

    __slots__ = (
        "_dtype",
        "_fields",
        "_range_mean",
        "_ranges",
        "_seen_bad",
        "absurd_ratio",
        "accepted",
        "gaps",
        "last_time",
        "missing_bars",
        "rejections",
        "symbol",
        "timeframe",
        "timeframe_seconds",
    )

    def __init__(
        self,
        symbol: str,
        timeframe: int,
        *,
        timeframe_seconds: int | None,
        last_time: int | None = None,
        absurd_ratio: float = 50.0,
    ) -> None:
        self.symbol = symbol
        self.absurd_ratio = absurd_ratio
        """A bar whose range exceeds this many times the recent mean range is rejected."""
        self._range_mean = 0.0  # exponential mean of accepted ranges (an ATR) ...
        self._ranges = 0  # ... over this many bars
        self.timeframe = timeframe
        self.timeframe_seconds = timeframe_seconds
        self.last_time = last_time
        """Open time of the last accepted bar (``None`` before the first)."""
        self.accepted = 0
        self.rejections: Counter[BarReject] = Counter()
        self.gaps = 0
        self.missing_bars = 0
        self._seen_bad: set[int] = set()
        self._dtype: np.dtype[Any] | None = None
        self._fields: tuple[int, int, int, int, int, int, int] = (0, 0, 0, 0, 0, -1, -1)

    @property
    def rejected(self) -> int:
        """Total bars rejected, all reasons."""
        return sum(self.rejections.values())

    def max_range(self) -> float | None:
        """The largest plausible range of the next bar (None until enough bars were seen)."""
        if self._ranges < _RANGE_WARMUP or self._range_mean <= 0.0:
            return None
        return self.absurd_ratio * self._range_mean

    def _learn_range(self, high: float, low: float) -> None:
        self._ranges += 1
        alpha = max(_RANGE_ALPHA, 1.0 / self._ranges)
        self._range_mean += alpha * ((high - low) - self._range_mean)

    def _learn_ranges(self, bars: npt.NDArray[Any]) -> None:
        if len(bars) == 0:
            return
        ranges = (bars["high"].astype(np.float64) - bars["low"].astype(np.float64))[-200:]
        for value in ranges.tolist():
            self._ranges += 1
            alpha = max(_RANGE_ALPHA, 1.0 / self._ranges)
            self._range_mean += alpha * (value - self._range_mean)

    def _batch_max_range(self, bars: npt.NDArray[Any]) -> float | None:
        """The bound for a batch: from the stream's history, else from the batch's own median
        range (robust to the outliers it is looking for)."""
        known = self.max_range()
        if known is not None or len(bars) < _RANGE_WARMUP:
            return known
        with np.errstate(invalid="ignore", over="ignore"):
            ranges = bars["high"].astype(np.float64) - bars["low"].astype(np.float64)
        ranges = ranges[np.isfinite(ranges) & (ranges > 0)]
        if len(ranges) < _RANGE_WARMUP:
            return None
        return self.absurd_ratio * float(np.median(ranges))

    def process(self, rates: npt.NDArray[Any], *, candle_index: int = 1) -> BarBatch:
        """Accept the newly closed, valid bars of a ``copy_rates_from_pos(…, 0, n)`` answer.

        Small answers (the usual poll of a few bars) take a scalar path that gives the same
        result as the vectorised one at a fraction of its fixed cost.
        """
        if len(rates) <= _SMALL:
            return self._process_small(rates, candle_index)
        fresh = new_closed_bars(rates, self.last_time, candle_index)
        if self._seen_bad and len(fresh):
            fresh = fresh[~np.isin(fresh["time"], np.fromiter(self._seen_bad, dtype=np.int64))]
        return self._validate(fresh)

    def process_closed(self, bars: npt.NDArray[Any]) -> BarBatch:
        """Accept the valid bars of an array known to hold closed bars only (history, replay)."""
        if self.last_time is not None and len(bars):
            bars = bars[bars["time"] > self.last_time]
        if self._seen_bad and len(bars):
            bars = bars[~np.isin(bars["time"], np.fromiter(self._seen_bad, dtype=np.int64))]
        return self._validate(bars)

    def check(self, bar: BarFields) -> BarReject | None:
        """Validate and, if valid, accept a single bar; counts a rejection like :meth:`process`."""
        time = int(bar["time"])
        reason = validate_bar(
            bar,
            previous_time=self.last_time,
            timeframe_seconds=self.timeframe_seconds,
            max_range=self.max_range(),
        )
        if reason is None:
            self._learn_range(float(bar["high"]), float(bar["low"]))
            tf, last = self.timeframe_seconds, self.last_time
            if last is not None and tf is not None and 0 < tf <= _DAY and time - last > tf:
                self._note_gap(detect_gap(last, time, tf), [])
            self._bookkeep(1, time)
        else:
            self._count(time, reason)
        return reason

    def _validate(self, bars: npt.NDArray[Any]) -> BarBatch:
        if len(bars) == 0:
            return BarBatch(bars)
        mask, rejections = validate_rates(
            bars,
            previous_time=self.last_time,
            timeframe_seconds=self.timeframe_seconds,
            max_range=self._batch_max_range(bars),
        )
        times = bars["time"]
        rejected = [(int(times[i]), reason) for i, reason in rejections]
        for time, reason in rejected:
            self._count(time, reason)
        accepted = bars if not rejections else bars[mask]
        self._learn_ranges(accepted)
        gaps: list[Gap] = []
        self._accept_times(accepted["time"].astype(np.int64, copy=False), gaps)
        return BarBatch(accepted, rejected, gaps)

    def _process_small(self, rates: npt.NDArray[Any], candle_index: int) -> BarBatch:
        if candle_index < 0:
            raise ValueError(f"candle_index must be >= 0, got {candle_index}")
        end = len(rates) - candle_index
        if end <= 0:
            return BarBatch(rates[:0])
        if rates.dtype is not self._dtype:
            self._fields = _field_positions(rates.dtype)
            self._dtype = rates.dtype
        ti, oi, hi, li, ci, tvi, rvi = self._fields
        start_time = self.last_time
        previous = start_time
        seen_bad = set(self._seen_bad) if self._seen_bad else None  # as before this answer
        tf = self.timeframe_seconds
        keep: list[int] = []
        times: list[int] = []
        rejected: list[tuple[int, BarReject]] = []
        for i, row in enumerate(rates[:end].tolist()):
            time = row[ti]
            if (start_time is not None and time <= start_time) or (seen_bad and time in seen_bad):
                continue
            reason = validate_ohlc(
                time,
                row[oi],
                row[hi],
                row[li],
                row[ci],
                0 if tvi < 0 else row[tvi],
                0 if rvi < 0 else row[rvi],
                previous_time=previous,
                timeframe_seconds=tf,
                max_range=self.max_range(),
            )
            if reason is None:
                self._learn_range(row[hi], row[li])
                keep.append(i)
                times.append(time)
                previous = time
            else:
                rejected.append((time, reason))
                self._count(time, reason)
        if not keep:
            return BarBatch(rates[:0], rejected)
        if keep[-1] - keep[0] + 1 == len(keep):
            accepted = rates[keep[0] : keep[-1] + 1]
        else:
            accepted = rates[keep]
        gaps: list[Gap] = []
        if tf is not None and 0 < tf <= _DAY:
            before = start_time
            for time in times:
                if before is not None and time - before > tf:
                    self._note_gap(detect_gap(before, time, tf), gaps)
                before = time
        self._bookkeep(len(times), times[-1])
        return BarBatch(accepted, rejected, gaps)

    def _note_gap(self, gap: Gap | None, gaps: list[Gap]) -> None:
        if gap is not None and gap.missing_bars > 0:
            gaps.append(gap)
            self.gaps += 1
            self.missing_bars += gap.missing_bars

    def _bookkeep(self, accepted: int, last_time: int) -> None:
        self.accepted += accepted
        self.last_time = last_time
        if self._seen_bad:
            self._seen_bad = {t for t in self._seen_bad if t > last_time}

    def _count(self, time: int, reason: BarReject) -> None:
        self.rejections[reason] += 1
        if reason not in _SEQUENCE_REASONS:
            self._seen_bad.add(time)

    def _accept_times(self, times: npt.NDArray[np.int64], gaps: list[Gap]) -> None:
        if len(times) == 0:
            return
        tf = self.timeframe_seconds
        if tf is not None and 0 < tf <= _DAY:
            previous = (
                times if self.last_time is None else np.concatenate(([self.last_time], times))
            )
            for i in np.flatnonzero(np.diff(previous) > tf):
                self._note_gap(detect_gap(int(previous[i]), int(previous[i + 1]), tf), gaps)
        self._bookkeep(len(times), int(times[-1]))

    def stats(self) -> dict[str, Any]:
        """Counters for metrics: accepted, rejected by reason, gaps, missing bars, last time."""
        return {
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "rejected_by_reason": {str(reason): n for reason, n in self.rejections.items()},
            "gaps": self.gaps,
            "missing_bars": self.missing_bars,
            "last_time": self.last_time,
        }
