"""Bars the way MT5 builds them: M1 from ticks, every other timeframe from M1 (numba kernels).

All times are server wall-clock epoch seconds. Rules:

- M1 bar of a minute that has ticks: ``open`` first bid, ``high``/``low`` max/min bid, ``close``
  last bid, ``tick_volume`` number of ticks, ``spread`` the **minimum** spread of the minute in
  points (MT5 stores one spread per bar; the minimum is the value most brokers' history shows),
  ``real_volume`` 0 (no exchange volume in FX). A minute without ticks has no bar.
- Higher timeframes aggregate M1 bars: first open, max high, min low, last close, summed volumes,
  minimum spread. M2…M30 and H1…H12 are aligned to server midnight (H4 at 00:00, 04:00, …), D1
  opens at server midnight, W1 is stamped Sunday 00:00 server time, MN1 the 1st of the month.
- ``ticks_from_m1`` synthesises ticks from M1 bars like MT5's tester in "1 minute OHLC" mode: one
  tick per bar for ``tick_volume`` 1 (the close), open and close for 2, open, the extreme away from
  the close, close for 3, and four ticks otherwise: open, low, high, close for a bar that closes at
  or above its open, open, high, low, close for a falling bar. They sit at +0 s, +20 s, +40 s and
  +59 s of the minute (the close always at +59 s); ask = bid + the bar's spread.
"""

from __future__ import annotations

from typing import Final

import numba as nb
import numpy as np
import numpy.typing as npt

from trading_engine.mt5sim.spec import constants as c
from trading_engine.mt5sim.spec.dtypes import RATES_DTYPE, TICKS_DTYPE

__all__ = [
    "TIMEFRAME_NAMES",
    "aggregate",
    "bar_open_time",
    "bar_open_times",
    "check_timeframe",
    "m1_from_bars",
    "m1_from_ticks",
    "m1_quotes_from_ticks",
    "merge_bars",
    "minute_bar",
    "period_seconds",
    "price_scale",
    "quotes_from_m1",
    "ticks_from_m1",
]

_DAY: Final = 86_400
_WEEK: Final = 7 * _DAY
_SUNDAY0: Final = 3 * _DAY  # 1970-01-04 was a Sunday

TIMEFRAME_NAMES: Final[dict[int, str]] = {
    value: name.removeprefix("TIMEFRAME_")
    for name, value in vars(c).items()
    if name.startswith("TIMEFRAME_")
}
"""Timeframe value → short name (``16385 → "H1"``)."""


def price_scale(point: float) -> float:
    """Points per price unit, exact for decimal points (``1e-5 → 100000.0``, not 99999.99…)."""
    scale = 1.0 / point
    nearest = round(scale)
    return float(nearest) if nearest and abs(scale - nearest) <= 1e-9 * scale else scale


def check_timeframe(timeframe: int) -> int:
    """Return ``timeframe`` if it is one of the 21 MT5 timeframes, else raise ``ValueError``."""
    if isinstance(timeframe, bool) or timeframe not in TIMEFRAME_NAMES:
        raise ValueError(f"unknown timeframe {timeframe!r}")
    return timeframe


def period_seconds(timeframe: int) -> int:
    """Length of a bar in seconds (W1 = 7 days; MN1 = 30 days, nominal: months vary)."""
    check_timeframe(timeframe)
    if timeframe == c.TIMEFRAME_MN1:
        return 30 * _DAY
    if timeframe == c.TIMEFRAME_W1:
        return _WEEK
    if timeframe & 0x4000:
        return (timeframe & 0x3FFF) * 3600
    return timeframe * 60


def bar_open_time(timeframe: int, server_seconds: float) -> int:
    """Open time of the ``timeframe`` bar containing the server instant ``server_seconds``."""
    return int(bar_open_times(timeframe, np.asarray([server_seconds]))[0])


def bar_open_times(timeframe: int, server_seconds: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Vectorised :func:`bar_open_time` (input seconds, float or int)."""
    t = np.floor(np.asarray(server_seconds, dtype=np.float64)).astype(np.int64)
    if timeframe == c.TIMEFRAME_MN1:
        check_timeframe(timeframe)
        months = t.astype("datetime64[s]").astype("datetime64[M]")
        return months.astype("datetime64[s]").astype(np.int64)
    if timeframe == c.TIMEFRAME_W1:
        return (t - _SUNDAY0) // _WEEK * _WEEK + _SUNDAY0
    period = period_seconds(timeframe)
    return t // period * period


def m1_from_ticks(ticks: npt.NDArray[np.void], point: float) -> npt.NDArray[np.void]:
    """M1 bars (RATES_DTYPE) of time-ordered ticks (TICKS_DTYPE); see the module rules."""
    return m1_quotes_from_ticks(ticks, point)[0]


@nb.njit(cache=True)
def _m1_quotes_kernel(tm, bid, ask, inv_point, out, first, ask_lo, ask_hi):  # type: ignore[no-untyped-def]
    """M1 bars of ticks into ``out`` (their count returned), recording each minute's first
    tick and ask extremes on the way."""
    n = tm.size
    j = -1
    cur = np.int64(-1)
    for i in range(n):
        minute = tm[i] // 60_000
        sp = np.int32(np.rint((ask[i] - bid[i]) * inv_point))
        b = bid[i]
        a = ask[i]
        if minute != cur:
            j += 1
            cur = minute
            out[j].time = minute * 60
            out[j].open = b
            out[j].high = b
            out[j].low = b
            out[j].close = b
            out[j].tick_volume = 1
            out[j].spread = sp
            out[j].real_volume = 0
            first[j] = tm[i]
            ask_lo[j] = a
            ask_hi[j] = a
        else:
            if b > out[j].high:
                out[j].high = b
            if b < out[j].low:
                out[j].low = b
            out[j].close = b
            out[j].tick_volume += 1
            if sp < out[j].spread:
                out[j].spread = sp
            if a < ask_lo[j]:
                ask_lo[j] = a
            if a > ask_hi[j]:
                ask_hi[j] = a
    return j + 1


MinuteQuoteColumns = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]
"""Per M1 bar: the first tick's ``time_msc`` and the lowest and highest ask of the minute."""


def m1_quotes_from_ticks(
    ticks: npt.NDArray[np.void], point: float
) -> tuple[npt.NDArray[np.void], MinuteQuoteColumns]:
    """:func:`m1_from_ticks` and, per bar, its first tick's time and ask extremes (one pass)."""
    if ticks.size == 0:
        return np.empty(0, dtype=RATES_DTYPE), (
            np.empty(0, np.int64),
            np.empty(0, np.float64),
            np.empty(0, np.float64),
        )
    minutes = ticks["time_msc"] // 60_000
    n = 1 + int(np.count_nonzero(minutes[1:] != minutes[:-1]))
    out = np.empty(n, dtype=RATES_DTYPE)
    first = np.empty(n, dtype=np.int64)
    ask_lo = np.empty(n, dtype=np.float64)
    ask_hi = np.empty(n, dtype=np.float64)
    _m1_quotes_kernel(
        ticks["time_msc"], ticks["bid"], ticks["ask"], price_scale(point), out, first, ask_lo,
        ask_hi,
    )  # fmt: skip
    return out, (first, ask_lo, ask_hi)


def minute_bar(ticks: npt.NDArray[np.void], point: float) -> npt.NDArray[np.void]:
    """The M1 bar (0- or 1-element array) of ticks that all lie in one minute."""
    return m1_from_ticks(ticks, point)


@nb.njit(cache=True)
def _aggregate_kernel(src, keys, out):  # type: ignore[no-untyped-def]
    j = -1
    cur = np.int64(0)
    for i in range(src.size):
        k = keys[i]
        if j < 0 or k != cur:
            j += 1
            cur = k
            out[j].time = k
            out[j].open = src[i].open
            out[j].high = src[i].high
            out[j].low = src[i].low
            out[j].close = src[i].close
            out[j].tick_volume = src[i].tick_volume
            out[j].spread = src[i].spread
            out[j].real_volume = src[i].real_volume
        else:
            if src[i].high > out[j].high:
                out[j].high = src[i].high
            if src[i].low < out[j].low:
                out[j].low = src[i].low
            out[j].close = src[i].close
            out[j].tick_volume += src[i].tick_volume
            out[j].real_volume += src[i].real_volume
            if src[i].spread < out[j].spread:
                out[j].spread = src[i].spread
    return j + 1


def aggregate(m1: npt.NDArray[np.void], timeframe: int) -> npt.NDArray[np.void]:
    """Bars of ``timeframe`` built from time-ordered M1 bars (RATES_DTYPE in, RATES_DTYPE out)."""
    check_timeframe(timeframe)
    if timeframe == c.TIMEFRAME_M1:
        return m1.copy()
    if m1.size == 0:
        return np.empty(0, dtype=RATES_DTYPE)
    keys = bar_open_times(timeframe, m1["time"])
    n = 1 + int(np.count_nonzero(keys[1:] != keys[:-1]))
    out = np.empty(n, dtype=RATES_DTYPE)
    _aggregate_kernel(m1, keys, out)
    return out


def merge_bars(parts: npt.NDArray[np.void], time: int) -> npt.NDArray[np.void]:
    """One bar (a 1-element RATES_DTYPE array) stamped ``time`` that aggregates ``parts``."""
    out = np.empty(1, dtype=RATES_DTYPE)
    if parts.size:
        _aggregate_kernel(parts, np.full(parts.size, time, dtype=np.int64), out)
    return out if parts.size else out[:0]


@nb.njit(cache=True)
def _ohlc_ticks_kernel(m1, starts, inv_point, out):  # type: ignore[no-untyped-def]
    for i in range(m1.size):
        o = m1[i].open
        h = m1[i].high
        lo = m1[i].low
        cl = m1[i].close
        tv = m1[i].tick_volume
        base = m1[i].time * 1000
        sp = m1[i].spread
        j = starts[i]
        if tv <= 1:
            prices = (cl, cl, cl, cl)
            k = 1
            offs = (59_000, 0, 0, 0)
        elif tv == 2:
            prices = (o, cl, cl, cl)
            k = 2
            offs = (0, 59_000, 0, 0)
        elif tv == 3:
            ext = lo if cl >= o else h
            prices = (o, ext, cl, cl)
            k = 3
            offs = (0, 30_000, 59_000, 0)
        elif cl >= o:
            prices = (o, lo, h, cl)
            k = 4
            offs = (0, 20_000, 40_000, 59_000)
        else:
            prices = (o, h, lo, cl)
            k = 4
            offs = (0, 20_000, 40_000, 59_000)
        for q in range(k):
            b = prices[q]
            t = base + offs[q]
            out[j + q].time = t // 1000
            out[j + q].time_msc = t
            out[j + q].bid = b
            out[j + q].ask = (np.rint(b * inv_point) + sp) / inv_point
            out[j + q].last = 0.0
            out[j + q].volume = 0
            out[j + q].flags = 6
            out[j + q].volume_real = 0.0


def ticks_from_m1(m1: npt.NDArray[np.void], point: float) -> npt.NDArray[np.void]:
    """Ticks synthesised from M1 bars in MT5's "1 minute OHLC" manner (module docstring)."""
    counts = np.clip(m1["tick_volume"].astype(np.int64), 1, 4)
    starts = np.zeros(m1.size, dtype=np.int64)
    if m1.size:
        np.cumsum(counts[:-1], out=starts[1:])
    out = np.empty(int(counts.sum()), dtype=TICKS_DTYPE)
    _ohlc_ticks_kernel(m1, starts, price_scale(point), out)
    return out


@nb.njit(cache=True)
def _ohlc_quotes_kernel(m1, inv_point, first, bid_lo, bid_hi, ask_lo, ask_hi):  # type: ignore[no-untyped-def]
    for i in range(m1.size):
        o = m1[i].open
        h = m1[i].high
        lo = m1[i].low
        cl = m1[i].close
        tv = m1[i].tick_volume
        # the bids of the bar's ticks (``_ohlc_ticks_kernel``): the close; the open from 2
        # ticks; the extreme away from the close from 3; both extremes from 4
        first[i] = m1[i].time * 1000 + (59_000 if tv <= 1 else 0)
        low = cl
        high = cl
        if tv >= 2:
            low = min(low, o)
            high = max(high, o)
        if tv == 3:
            ext = lo if cl >= o else h
            low = min(low, ext)
            high = max(high, ext)
        elif tv >= 4:
            low = min(low, lo, h)
            high = max(high, lo, h)
        bid_lo[i] = low
        bid_hi[i] = high
        # the ask rises with the bid: the extremes' asks are the ask extremes
        ask_lo[i] = (np.rint(low * inv_point) + m1[i].spread) / inv_point
        ask_hi[i] = (np.rint(high * inv_point) + m1[i].spread) / inv_point


def quotes_from_m1(
    m1: npt.NDArray[np.void], point: float
) -> tuple[MinuteQuoteColumns, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """What :func:`ticks_from_m1` makes of each bar, without making the ticks: ((first tick's
    ``time_msc``, lowest ask, highest ask), lowest bid, highest bid), exactly."""
    n = m1.size
    first = np.empty(n, dtype=np.int64)
    cols = [np.empty(n, dtype=np.float64) for _ in range(4)]
    if n:
        _ohlc_quotes_kernel(np.ascontiguousarray(m1), price_scale(point), first, *cols)
    return (first, cols[2], cols[3]), cols[0], cols[1]


def m1_from_bars(bars: npt.NDArray[np.void], timeframe: int) -> npt.NDArray[np.void]:
    """Bars of a timeframe above M1 spread over four flat M1 bars each, for replaying them.

    A bar becomes M1 bars at its open, a third and two thirds into it and in its last minute,
    priced open, low, high, close for a bar that closes at or above its open (open, high, low,
    close otherwise): the path MT5's tester assumes inside a bar. ``tick_volume`` goes to the
    first (all but 3), ``real_volume`` to the first, the spread to all four; aggregating the
    result to ``timeframe`` gives the input bars back (tick volumes below 4 become 4).
    """
    check_timeframe(timeframe)
    if timeframe == c.TIMEFRAME_M1 or bars.size == 0:
        return bars.copy()
    opens = bars["time"].astype(np.int64)
    if timeframe == c.TIMEFRAME_MN1:
        months = opens.astype("datetime64[s]").astype("datetime64[M]") + 1
        lengths = months.astype("datetime64[s]").astype(np.int64) - opens
    else:
        lengths = np.full(bars.size, period_seconds(timeframe), dtype=np.int64)
    minutes = lengths // 60
    offsets = np.stack([np.zeros_like(minutes), minutes // 3, 2 * minutes // 3, minutes - 1], 1)
    rising = bars["close"] >= bars["open"]
    prices = np.stack(
        [
            bars["open"],
            np.where(rising, bars["low"], bars["high"]),
            np.where(rising, bars["high"], bars["low"]),
            bars["close"],
        ],
        1,
    )
    out = np.zeros(bars.size * 4, dtype=RATES_DTYPE)
    out["time"] = (opens[:, None] + offsets * 60).ravel()
    flat = prices.ravel()
    for field in ("open", "high", "low", "close"):
        out[field] = flat
    tv = np.maximum(bars["tick_volume"].astype(np.int64), 4)
    vols = np.ones((bars.size, 4), dtype=np.int64)
    vols[:, 0] = tv - 3
    out["tick_volume"] = vols.ravel().astype(np.uint64)
    real = np.zeros((bars.size, 4), dtype=np.uint64)
    real[:, 0] = bars["real_volume"]
    out["real_volume"] = real.ravel()
    out["spread"] = np.repeat(bars["spread"], 4)
    return out
