"""Skipping what cannot change anything: may a stop, a target or a stop-out have fired?

For each symbol the engine keeps, per M1 bar, the bid and ask extremes of the bar's ticks and the
bar's first tick (``load_m1_extremes``, one vector pass over the ticks, a month at a time).
``may_close`` answers, for the span since the last refresh of the positions: could any
position's SL or TP have been reached (bid for longs, ask for shorts, as the simulator triggers
them), or could equity have fallen to the stop-out level? One numba call per symbol gives the
span's extremes; the answer is conservative (True when unsure), so a skipped refresh is always
one that would have found nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numba as nb
import numpy as np
import numpy.typing as npt

__all__ = ["M1Extremes", "load_m1_extremes", "may_close", "span_extremes"]

_CHUNK_DAYS = 20
_DAY = 86_400


@dataclass(slots=True)
class M1Extremes:
    """Per M1 bar of a symbol: open time (server s), first tick (server ms), bid/ask extremes."""

    times: npt.NDArray[np.int64]
    first_msc: npt.NDArray[np.int64]
    bid_lo: npt.NDArray[np.float64]
    bid_hi: npt.NDArray[np.float64]
    ask_lo: npt.NDArray[np.float64]
    ask_hi: npt.NDArray[np.float64]


def load_m1_extremes(market: Any, symbol: str, from_srv: float, to_srv: float) -> M1Extremes:
    """The extremes of every M1 bar with ticks in ``[from_srv, to_srv]`` (server seconds)."""
    parts: list[tuple[npt.NDArray[Any], ...]] = []
    lo = int(from_srv) // 60 * 60
    end = int(to_srv)
    while lo <= end:
        hi = min(lo + _CHUNK_DAYS * _DAY, end + 1)
        ticks = market.ticks_between(symbol, lo * 1000 - 1, hi * 1000 - 1)
        if len(ticks):
            msc = np.ascontiguousarray(ticks["time_msc"], dtype=np.int64)
            minute = msc // 60_000
            starts = np.flatnonzero(np.diff(minute, prepend=minute[0] - 1))
            bid = np.ascontiguousarray(ticks["bid"], dtype=np.float64)
            ask = np.ascontiguousarray(ticks["ask"], dtype=np.float64)
            parts.append(
                (
                    minute[starts] * 60,
                    msc[starts],
                    np.minimum.reduceat(bid, starts),
                    np.maximum.reduceat(bid, starts),
                    np.minimum.reduceat(ask, starts),
                    np.maximum.reduceat(ask, starts),
                )
            )
        lo = hi
    if not parts:
        empty_i = np.empty(0, np.int64)
        empty_f = np.empty(0, np.float64)
        return M1Extremes(empty_i, empty_i, empty_f, empty_f, empty_f, empty_f)
    cols = [np.concatenate([p[k] for p in parts]) for k in range(6)]
    return M1Extremes(cols[0], cols[1], cols[2], cols[3], cols[4], cols[5])


@nb.njit(cache=True)
def _span(bid_lo, bid_hi, ask_lo, ask_hi, lo, hi):  # type: ignore[no-untyped-def]
    a = math.inf
    b = -math.inf
    c = math.inf
    d = -math.inf
    for i in range(lo, hi):
        if bid_lo[i] < a:
            a = bid_lo[i]
        if bid_hi[i] > b:
            b = bid_hi[i]
        if ask_lo[i] < c:
            c = ask_lo[i]
        if ask_hi[i] > d:
            d = ask_hi[i]
    return a, b, c, d


def span_extremes(
    ext: M1Extremes, since_msc: int, now_msc: int
) -> tuple[float, float, float, float]:
    """(min bid, max bid, min ask, max ask) over the M1 bars holding ticks in
    ``(since_msc, now_msc]`` (whole bars: a superset of those ticks)."""
    lo = int(ext.times.searchsorted(since_msc // 60_000 * 60, side="left"))
    hi = int(ext.times.searchsorted(now_msc // 1000, side="right"))
    if hi <= lo:
        return math.inf, -math.inf, math.inf, -math.inf
    result: tuple[float, float, float, float] = _span(
        ext.bid_lo, ext.bid_hi, ext.ask_lo, ext.ask_hi, lo, hi
    )
    return result


def may_close(
    terminal: Any,
    portfolio: Any,
    extremes: Mapping[str, M1Extremes],
    since_msc: int,
    now_msc: int,
) -> bool:
    """Whether a stop, target or stop-out may have closed a position in ``(since, now]``."""
    server = terminal.server
    spans: dict[str, tuple[float, float, float, float]] = {}
    worst = 0.0
    for p in portfolio.positions.values():
        ext = extremes.get(p.symbol)
        if ext is None:
            return True
        span = spans.get(p.symbol)
        if span is None:
            span = spans[p.symbol] = span_extremes(ext, since_msc, now_msc)
        bid_lo, bid_hi, ask_lo, ask_hi = span
        if not math.isfinite(bid_lo):
            continue  # no tick in the span: nothing can have happened to this symbol
        buy = str(p.side) == "buy"
        if buy and ((p.sl and bid_lo <= p.sl) or (p.tp and bid_hi >= p.tp)):
            return True
        if not buy and ((p.sl and ask_hi >= p.sl) or (p.tp and ask_lo <= p.tp)):
            return True
        spec = server.specs[p.symbol]
        value = spec.trade_contract_size * p.volume
        if spec.currency_profit != server.money.currency:
            value *= 2.0 / max(min(bid_lo, ask_lo), 1e-9)  # a generous bound on the conversion
        move = (p.price_open - bid_lo) if buy else (ask_hi - p.price_open)
        worst += max(0.0, move) * value
    if worst == 0.0:
        return False
    margin = server.account_margin()
    if margin <= 0:
        return False
    ledger = server.ledger
    swaps = sum(abs(q.swap) for q in ledger.positions.values())
    floor = ledger.balance - swaps - 1.5 * worst
    cfg = terminal.config
    if cfg.margin_so_mode == 0:  # ACCOUNT_STOPOUT_MODE_PERCENT
        return bool(floor / margin * 100.0 < cfg.margin_so_so * 1.2)
    return bool(floor < cfg.margin_so_so * 1.2)
