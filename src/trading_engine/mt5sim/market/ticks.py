"""Seeded FX price generator: ticks (or M1 bars directly) one server day at a time, in numba.

Two layers, both deterministic for a seed:

1. **Day plan** (:class:`DayPlan`), one row per calendar server day from 1990-01-01, drawn
   sequentially from ``(seed, symbol)``: the log price at the day's open, the regime of the day
   (``RANGE`` 0, ``UP`` 1, ``DOWN`` -1; regimes last ``regime_days`` trading days on average, a
   trend drifts about 0.8 daily standard deviations a day, a range day moves half as much and mean
   reverts intraday) and a volatility multiplier (log-AR(1), persistent over weeks). The price
   reverts slowly (half-life 120 trading days) to ``start_price`` so it stays realistic for
   decades.
   Saturday and Sunday carry no change except the Monday-open gap (``weekend_gap``).
2. **Day chunk**: the ticks of one trading day (Monday…Friday in server time), seeded from
   ``(seed, symbol, day index)``, so a day's ticks are the same whatever was asked before.
   Arrivals are a Poisson process whose rate follows the UTC hour (quiet Asian night, busy London
   and New York, thin around the 21:00–23:00 UTC rollover); the tick log-return has GARCH(1,1)
   variance (clustering) scaled so that the annual volatility is ``volatility`` and busy hours move
   more; range days add mean reversion towards the day's path; the path is then bridged (linear
   correction) to end at the next day's planned open, which keeps days continuous. The spread
   (points) floats: it is redrawn on a third of the ticks around ``spread_points`` × hour factor
   × volatility factor, never below ``min_spread_points``. Bid is rounded to ``digits``, ask = bid
   + spread. Ticks that change neither bid nor ask are dropped (MT5 records none); flags are
   TICK_FLAG_BID/ASK for what changed.

``day_m1`` draws M1 bars directly with the same plan and intraday model (Poisson tick count per
minute, GARCH per minute, high/low from the Brownian-bridge extreme distribution): the kernel is
about 30x faster than the tick kernel; used by the "m1" mode of
:class:`~trading_engine.mt5sim.market.data.MarketData`.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Final, NamedTuple

import numba as nb
import numpy as np
import numpy.typing as npt

from trading_engine.mt5sim.market.bars import price_scale
from trading_engine.mt5sim.market.servertime import DAY, ServerTime
from trading_engine.mt5sim.spec.dtypes import RATES_DTYPE, TICKS_DTYPE, copy_records
from trading_engine.mt5sim.spec.symbols import SymbolSpec

__all__ = [
    "DOWN",
    "PLAN_FIRST_DAY",
    "RANGE",
    "UP",
    "DayPlan",
    "day_m1",
    "day_seed",
    "day_ticks",
    "hour_activity",
    "is_trading_day",
    "make_plan",
]

RANGE: Final = 0
UP: Final = 1
DOWN: Final = -1

PLAN_FIRST_DAY: Final = 7305  # 1990-01-01 as a day index (server days since 1970-01-01)
_PLAN_DAYS: Final = 80_000  # through 2209
_TRADING_DAYS_PER_YEAR: Final = 260.0
_MINUTES_PER_DAY: Final = 1440

# Activity per UTC hour (normalised to mean 1 below): Asia quiet, London and NY busy.
_RAW_ACTIVITY: Final = np.array(
    [0.55, 0.6, 0.6, 0.55, 0.5, 0.5, 0.6, 0.9, 1.3, 1.4, 1.3, 1.2,
     1.5, 1.8, 1.8, 1.6, 1.3, 1.0, 0.8, 0.7, 0.55, 0.3, 0.25, 0.4]
)  # fmt: skip
_ACTIVITY_UTC: Final = _RAW_ACTIVITY / _RAW_ACTIVITY.mean()
_SPREAD_UTC: Final = np.array([*[1.3] * 7, 1.1, *[1.0] * 13, 2.5, 2.0, 1.5])

_GARCH_TICK: Final = (0.015, 0.984)
_GARCH_MINUTE: Final = (0.06, 0.92)


def hour_activity(
    utc_offset_seconds: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Activity and spread factors for each **server** hour 0…23 given the server's UTC offset."""
    shift = round(utc_offset_seconds / 3600)
    idx = (np.arange(24) - shift) % 24
    return _ACTIVITY_UTC[idx].copy(), _SPREAD_UTC[idx].copy()


def _mix(*parts: int) -> int:
    """SplitMix64-style mixing of integers into a 32-bit seed (stable across processes)."""
    x = 0x9E3779B97F4A7C15
    mask = (1 << 64) - 1
    for p in parts:
        x = (x ^ (p & mask)) * 0xBF58476D1CE4E5B9 & mask
        x ^= x >> 31
        x = (x * 0x94D049BB133111EB) & mask
        x ^= x >> 29
    return x & 0xFFFFFFFF


def day_seed(seed: int, symbol: str, day: int, stream: int = 0) -> int:
    """The 32-bit RNG seed of one day chunk of one symbol."""
    return _mix(seed, zlib.crc32(symbol.encode()), day, stream)


@dataclass(frozen=True, slots=True)
class DayPlan:
    """Per-day plan of one symbol, indexed by ``day - PLAN_FIRST_DAY``."""

    log_open: npt.NDArray[np.float64]
    regime: npt.NDArray[np.int8]
    vol_mult: npt.NDArray[np.float64]
    sigma_day: float

    def index(self, day: int) -> int:
        """Row of ``day`` (server day index); ``ValueError`` outside 1990–2209."""
        i = day - PLAN_FIRST_DAY
        if not 0 <= i < self.log_open.size - 1:
            raise ValueError(f"day {day} is outside the generator's range (1990-2209)")
        return i


@nb.njit(cache=True)
def _plan_kernel(seed, first_dow, x_mean, sigma_day, regime_days, weekend_gap, x, reg, vm):  # type: ignore[no-untyped-def]
    np.random.seed(seed)
    theta = math.log(2.0) / 120.0
    phi = 0.95
    lv_sd = 0.3
    lv = 0.0
    xp = x_mean
    regime = 0
    left = np.random.geometric(1.0 / regime_days)
    for d in range(x.size):
        dow = (first_dow + d) % 7
        v = math.exp(lv - 0.5 * lv_sd * lv_sd)
        x[d] = xp
        reg[d] = regime
        vm[d] = v
        if 1 <= dow <= 5:
            z = np.random.standard_normal()
            if regime == 0:
                xp += theta * (x_mean - xp) + 0.5 * sigma_day * v * z
            else:
                xp += theta * (x_mean - xp) + regime * 0.8 * sigma_day * v + sigma_day * v * z
            lv = phi * lv + lv_sd * math.sqrt(1.0 - phi * phi) * np.random.standard_normal()
            left -= 1
            if left <= 0:
                u = np.random.random()
                if regime == 0:
                    regime = 0 if u < 0.3 else (1 if u < 0.65 else -1)
                else:
                    regime = 0 if u < 0.6 else (1 if u < 0.8 else -1)
                left = np.random.geometric(1.0 / regime_days)
        elif dow == 0:
            xp += weekend_gap * sigma_day * v * np.random.standard_normal()


def make_plan(spec: SymbolSpec, seed: int) -> DayPlan:
    """The day plan of ``spec`` for ``seed`` (about 2 ms; cache it)."""
    n = _PLAN_DAYS
    x = np.empty(n)
    reg = np.empty(n, dtype=np.int8)
    vm = np.empty(n)
    sigma_day = spec.volatility / math.sqrt(_TRADING_DAYS_PER_YEAR)
    first_dow = (PLAN_FIRST_DAY + 4) % 7
    _plan_kernel(
        day_seed(seed, spec.name, -1),
        first_dow,
        math.log(spec.start_price),
        sigma_day,
        max(spec.regime_days, 1.0),
        spec.weekend_gap,
        x,
        reg,
        vm,
    )
    for a in (x, reg, vm):
        a.setflags(write=False)
    return DayPlan(x, reg, vm, sigma_day)


@nb.njit(cache=True)
def _ticks_kernel(  # type: ignore[no-untyped-def]
    seed, day_msc, rate_ms, spread_hour, x0, x1, kappa, s2, alpha, beta,
    scale, spread_typ, spread_min, t_buf, x_buf, h_buf, out,
):  # fmt: skip
    np.random.seed(seed)
    cap = t_buf.size
    hour_ms = 3_600_000.0
    n = 0
    t = 0.0
    hour = 0
    while hour < 24:
        dt = -math.log(1.0 - np.random.random()) / rate_ms[hour]
        end = (hour + 1) * hour_ms
        if t + dt >= end:
            t = end
            hour += 1
            continue
        t += dt
        if n >= cap:
            return -1
        t_buf[n] = t
        n += 1
    if n == 0:
        return 0
    omega = s2 * (1.0 - alpha - beta)
    h = s2
    xp = x0
    day_ms = 24 * hour_ms
    for i in range(n):
        frac = t_buf[i] / day_ms
        center = x0 + (x1 - x0) * frac
        e = math.sqrt(h) * np.random.standard_normal()
        xp = xp - kappa * (xp - center) + e
        x_buf[i] = xp
        h_buf[i] = h
        h = omega + alpha * e * e + beta * h
    shift = x1 - x_buf[n - 1]
    j = 0
    prev_b = np.int64(-1)
    prev_a = np.int64(-1)
    sp = spread_typ
    for i in range(n):
        frac = t_buf[i] / day_ms
        hour = int(t_buf[i] // hour_ms)
        if i == 0 or np.random.random() < 0.35:
            volf = 0.75 + 0.25 * math.sqrt(h_buf[i] / s2)
            raw = (
                spread_typ * spread_hour[hour] * volf * math.exp(0.2 * np.random.standard_normal())
            )
            sp = max(spread_min, np.int64(np.rint(raw)))
        mid = math.exp(x_buf[i] + shift * frac) * scale
        b = np.int64(np.rint(mid - 0.5 * sp))
        a = b + sp
        if b == prev_b and a == prev_a:
            continue
        flags = (2 if b != prev_b else 0) | (4 if a != prev_a else 0)
        tm = day_msc + np.int64(t_buf[i])
        out[j].time = tm // 1000
        out[j].time_msc = tm
        out[j].bid = b / scale
        out[j].ask = a / scale
        out[j].last = 0.0
        out[j].volume = 0
        out[j].flags = flags
        out[j].volume_real = 0.0
        prev_b = b
        prev_a = a
        j += 1
    return j


class _DayInputs(NamedTuple):
    x0: float  # log price at the day's open
    x1: float  # log price the day's path is bridged to (next day's open)
    kappa: float  # per-tick mean reversion (range days), 0 on trend days
    s2: float  # unconditional per-tick variance of log returns
    activity: npt.NDArray[np.float64]  # tick-rate factor per server hour
    spread_hour: npt.NDArray[np.float64]  # spread factor per server hour


def _day_inputs(spec: SymbolSpec, plan: DayPlan, day: int, server_time: ServerTime) -> _DayInputs:
    i = plan.index(day)
    offset = server_time.offset_at(day * DAY + DAY / 2 - server_time.base_offset)
    activity, spread_hour = hour_activity(offset)
    per_day = spec.ticks_per_minute * _MINUTES_PER_DAY
    is_range = int(plan.regime[i]) == RANGE
    return _DayInputs(
        x0=float(plan.log_open[i]),
        x1=float(plan.log_open[i + 1]),
        kappa=math.log(2.0) / (spec.ticks_per_minute * 120.0) if is_range else 0.0,
        s2=(plan.sigma_day * float(plan.vol_mult[i])) ** 2 / per_day,
        activity=activity,
        spread_hour=spread_hour,
    )


def is_trading_day(day: int) -> bool:
    """Monday to Friday in server time: the days the generator makes prices for."""
    return 1 <= (day + 4) % 7 <= 5


def day_ticks(
    spec: SymbolSpec, plan: DayPlan, seed: int, day: int, server_time: ServerTime
) -> npt.NDArray[np.void]:
    """Ticks (TICKS_DTYPE) of server day ``day``; empty on Saturday and Sunday."""
    if not is_trading_day(day):
        return np.empty(0, dtype=TICKS_DTYPE)
    d = _day_inputs(spec, plan, day, server_time)
    per_day = spec.ticks_per_minute * _MINUTES_PER_DAY
    rate_ms = d.activity * (spec.ticks_per_minute / 60_000.0)
    cap = int(per_day * 1.2 + 10 * math.sqrt(per_day) + 1000)
    while True:
        t_buf = np.empty(cap)
        x_buf = np.empty(cap)
        h_buf = np.empty(cap)
        out = np.empty(cap, dtype=TICKS_DTYPE)
        n = _ticks_kernel(
            day_seed(seed, spec.name, day), day * DAY * 1000, rate_ms, d.spread_hour,
            d.x0, d.x1, d.kappa, d.s2, _GARCH_TICK[0], _GARCH_TICK[1], price_scale(spec.point),
            spec.spread_points, spec.min_spread_points, t_buf, x_buf, h_buf, out,
        )  # fmt: skip
        if n >= 0:
            return copy_records(out[:n])
        cap *= 2


@nb.njit(cache=True)
def _m1_kernel(  # type: ignore[no-untyped-def]
    seed, day_s, rate_min, spread_hour, x0, x1, kappa, s2, alpha, beta,
    scale, spread_typ, spread_min, cnt, xo, xh, xl, xc, out,
):  # fmt: skip
    np.random.seed(seed)
    omega = 1.0 - alpha - beta
    h = 1.0
    xp = x0
    n = 0
    for m in range(1440):
        hour = m // 60
        k = np.random.poisson(rate_min[hour])
        if k == 0:
            continue
        frac = (m + 0.5) / 1440.0
        center = x0 + (x1 - x0) * frac
        o = xp - kappa * (xp - center) + math.sqrt(s2 * h) * np.random.standard_normal()
        v = (k - 1) * s2 * h
        decay = (1.0 - kappa) ** (k - 1)
        c = center + (o - center) * decay + math.sqrt(v) * np.random.standard_normal()
        d = c - o
        hi = 0.5 * (o + c + math.sqrt(d * d - 2.0 * v * math.log(1.0 - np.random.random())))
        lo = 0.5 * (o + c - math.sqrt(d * d - 2.0 * v * math.log(1.0 - np.random.random())))
        e2 = ((c - xp) ** 2) / (k * s2)
        h = omega + alpha * e2 + beta * h
        cnt[n] = k
        xo[n] = o
        xh[n] = hi
        xl[n] = lo
        xc[n] = c
        out[n].time = day_s + m * 60
        volf = 0.75 + 0.25 * math.sqrt(h)
        raw = spread_typ * spread_hour[hour] * volf * math.exp(0.2 * np.random.standard_normal())
        out[n].spread = max(spread_min, np.int64(np.rint(raw * (0.9 if k > 1 else 1.0))))
        xp = c
        n += 1
    if n == 0:
        return 0
    shift = x1 - xc[n - 1]
    for i in range(n):
        frac = (out[i].time - day_s + 30.0) / 86400.0
        s = shift * frac
        bo = np.rint(math.exp(xo[i] + s) * scale)
        bc = np.rint(math.exp(xc[i] + s) * scale)
        bh = max(np.rint(math.exp(xh[i] + s) * scale), bo, bc)
        bl = min(np.rint(math.exp(xl[i] + s) * scale), bo, bc)
        out[i].open = bo / scale
        out[i].high = bh / scale
        out[i].low = bl / scale
        out[i].close = bc / scale
        out[i].tick_volume = cnt[i]
        out[i].real_volume = 0
    return n


def day_m1(
    spec: SymbolSpec, plan: DayPlan, seed: int, day: int, server_time: ServerTime
) -> npt.NDArray[np.void]:
    """M1 bars (RATES_DTYPE) of server day ``day`` drawn directly (no ticks); empty on weekends."""
    if not is_trading_day(day):
        return np.empty(0, dtype=RATES_DTYPE)
    d = _day_inputs(spec, plan, day, server_time)
    cnt = np.empty(_MINUTES_PER_DAY, dtype=np.int64)
    xs = np.empty((4, _MINUTES_PER_DAY))
    out = np.empty(_MINUTES_PER_DAY, dtype=RATES_DTYPE)
    n = _m1_kernel(
        day_seed(seed, spec.name, day, 1), day * DAY, d.activity * spec.ticks_per_minute,
        d.spread_hour, d.x0, d.x1, d.kappa, d.s2, _GARCH_MINUTE[0], _GARCH_MINUTE[1],
        price_scale(spec.point),
        spec.spread_points, spec.min_spread_points, cnt, xs[0], xs[1], xs[2], xs[3], out,
    )  # fmt: skip
    return copy_records(out[:n])
