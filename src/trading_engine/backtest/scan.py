"""Skipping what cannot change anything: may a stop, a target or a stop-out have fired?

For each symbol the engine keeps, per M1 bar, the bid and ask extremes of the bar's ticks and the
bar's first tick (``MarketData.minute_quotes``: the simulator records them while it builds the M1
bars).
``quiet_until`` scans forward from the last refresh of the positions to the first M1 bar where
any position's SL or TP could be reached (bid for longs, ask for shorts, as the simulator
triggers them) or where a bound on the equity could fall to the stop-out level, at most to the
next server midnight (swaps). Until then a candle does not need a refresh; the bounds are
conservative (extremes of whole bars, generous conversion and margin factors), so a skipped
refresh is always one that would have found nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numba as nb

from trading_engine.mt5sim.market.data import MinuteQuotes

__all__ = ["quiet_until"]

_DAY = 86_400


@nb.njit(cache=True)
def _first_stop(bid_lo, bid_hi, ask_lo, ask_hi, start, n, buy, sl, tp):  # type: ignore[no-untyped-def]
    for i in range(start, n):
        if buy:
            if (sl > 0.0 and bid_lo[i] <= sl) or (tp > 0.0 and bid_hi[i] >= tp):
                return i
        elif (sl > 0.0 and ask_hi[i] >= sl) or (tp > 0.0 and ask_lo[i] <= tp):
            return i
    return n


@nb.njit(cache=True)
def _first_loss(bid_lo, ask_hi, start, n, long_units, long_cost, short_units, short_cost, limit):  # type: ignore[no-untyped-def]
    for i in range(start, n):
        loss = (long_cost - long_units * bid_lo[i]) + (short_units * ask_hi[i] - short_cost)
        if loss >= limit:
            return i
    return n


def quiet_until(
    terminal: Any,
    portfolio: Any,
    extremes: Mapping[str, MinuteQuotes],
    since_msc: int,
) -> int:
    """The server millisecond before which no stop, target or stop-out can close a position,
    scanning forward from ``since_msc`` (the last refresh) to the next server midnight at most
    (swaps change the account there). One numba scan per position and per symbol."""
    day_end = (since_msc // 86_400_000 + 1) * 86_400_000
    horizon = day_end
    server = terminal.server
    symbols: dict[str, list[Any]] = {}
    for p in portfolio.positions.values():
        symbols.setdefault(p.symbol, []).append(p)
    if not symbols:
        return day_end
    margin = server.account_margin()
    ledger = server.ledger
    swaps = sum(abs(q.swap) for q in ledger.positions.values())
    cfg = terminal.config
    if cfg.margin_so_mode == 0:  # percent of the margin; margin itself moves with prices
        level = cfg.margin_so_so / 100.0 * margin * 1.8
    else:
        level = cfg.margin_so_so * 1.2
    cushion = (ledger.balance - swaps - level) / len(symbols)
    for symbol, mine in symbols.items():
        ext = extremes.get(symbol)
        if ext is None:
            return since_msc
        start = int(ext.time.searchsorted(since_msc // 60_000 * 60, side="left"))
        stop = int(ext.time.searchsorted(day_end // 1000, side="left"))  # to midnight only
        if start >= stop:
            continue
        for p in mine:
            buy = str(p.side) == "buy"
            if p.sl or p.tp:
                i = _first_stop(
                    ext.bid_low, ext.bid_high, ext.ask_low, ext.ask_high, start, stop, buy,
                    float(p.sl or 0.0), float(p.tp or 0.0),
                )  # fmt: skip
                if i < stop:
                    horizon = min(horizon, int(ext.time[i]) * 1000)
        if cushion <= 0:
            return since_msc
        spec = server.specs[symbol]
        rate = 1.0
        if spec.currency_profit != server.money.currency:
            rate = 2.0 / max(float(ext.bid_low[start:stop].min(initial=math.inf)), 1e-9)
        units = [spec.trade_contract_size * p.volume * rate for p in mine]
        long_units = sum(u for u, p in zip(units, mine, strict=True) if str(p.side) == "buy")
        short_units = sum(u for u, p in zip(units, mine, strict=True) if str(p.side) != "buy")
        long_cost = sum(
            u * p.price_open for u, p in zip(units, mine, strict=True) if str(p.side) == "buy"
        )
        short_cost = sum(
            u * p.price_open for u, p in zip(units, mine, strict=True) if str(p.side) != "buy"
        )
        i = _first_loss(
            ext.bid_low, ext.ask_high, start, stop, long_units, long_cost, short_units, short_cost,
            cushion / 1.5,
        )  # fmt: skip
        if i < stop:
            horizon = min(horizon, int(ext.time[i]) * 1000)
    return max(horizon, since_msc)
