"""Benchmark of the simulated MetaTrader 5 terminal (``trading_engine.mt5sim``).

Method of ``docs/performance.md``: seeded input, a warm-up call, interleaved rounds, min / median /
max and the median ratio to the peer, outputs checked before they are timed. Prints:

1. ticks generated per second (the seeded FX generator, one server day per call);
2. M1 bars built per second from those ticks, and the time to prepare 1 M M1 bars ("m1" mode);
3. ``copy_rates_from_pos(symbol, M1, 0, n)`` calls per second, and the ratio to slicing (and
   copying) the same bars out of a numpy array;
4. market ``order_send`` per second (open and close, hedging account);
5. a backtest-style replay: the clock steps one minute per bar, each step reads the last closed
   bar (``copy_rates_from_pos(symbol, M1, 1, 1)``) and every 100th step sends an order
   (alternately opening and closing a position); the share of the replay spent inside the
   simulator, and the replay's bars per second next to a numpy-only loop over the same bars;
6. microseconds per call of a backtest's hot path: the M1 poll with the clock advancing, the
   catch-up per minute (nothing open / one position with SL/TP), ``account_info``,
   ``positions_get``, ``symbol_info_tick``.

Usage: ``python scripts/bench_mt5sim.py [--rounds 7] [--replay-bars 1000000] [--replay-rounds 3]
[--calls-only]``
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any

import numpy as np

import trading_engine.mt5sim as mt5
from trading_engine.mt5sim import SimConfig, Terminal
from trading_engine.mt5sim.market.bars import m1_from_ticks
from trading_engine.mt5sim.market.data import generate_m1_bars
from trading_engine.mt5sim.market.servertime import DAY, ServerTime
from trading_engine.mt5sim.market.ticks import day_ticks, make_plan
from trading_engine.mt5sim.spec.symbols import DEFAULT_SYMBOLS

SEED = 20251125
START = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)  # a Wednesday
EURUSD = DEFAULT_SYMBOLS["EURUSD"]


class Clock:
    """A mutable simulated clock (UTC epoch seconds)."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def stats(xs: list[float]) -> str:
    return f"min {min(xs):.4g}  median {statistics.median(xs):.4g}  max {max(xs):.4g}"


def interleave(fns: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Run each function once per round, round-robin; each returns its own measured seconds."""
    out: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            out[k].append(f())
    return out


def timed(fn: Callable[[], Any], repeat: int) -> Callable[[], float]:
    def run() -> float:
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn()
        return (time.perf_counter() - t0) / repeat

    return run


# -- 1, 2: generation -----------------------------------------------------------------------


def bench_generation(rounds: int) -> None:
    st = ServerTime.eet()
    plan = make_plan(EURUSD, SEED)
    first_day = math.floor(st.to_server(START.timestamp()) / DAY)
    days = [d for d in range(first_day, first_day + 9) if 1 <= (d + 4) % 7 <= 5][:5]
    warm = day_ticks(EURUSD, plan, SEED, days[0], st)
    assert warm.size > 10_000
    assert np.all(np.diff(warm["time_msc"]) >= 0)
    ticks = np.concatenate([day_ticks(EURUSD, plan, SEED, d, st) for d in days])
    m1 = m1_from_ticks(ticks, EURUSD.point)
    assert m1.size > 5 * 1300
    assert np.all(np.diff(m1["time"]) > 0)
    assert np.isclose(m1["close"][-1], ticks["bid"][-1])
    n_ticks, n_bars = ticks.size, m1.size

    def gen() -> float:
        t0 = time.perf_counter()
        for d in days:
            day_ticks(EURUSD, plan, SEED, d, st)
        return time.perf_counter() - t0

    def build() -> float:
        t0 = time.perf_counter()
        m1_from_ticks(ticks, EURUSD.point)
        return time.perf_counter() - t0

    end = START.timestamp() + 800 * DAY
    bars = generate_m1_bars(EURUSD, 1_000_000, seed=SEED, end_utc=end, server_time=st)
    assert bars.size == 1_000_000
    assert np.all(np.diff(bars["time"]) > 0)

    def million() -> float:
        t0 = time.perf_counter()
        generate_m1_bars(EURUSD, 1_000_000, seed=SEED, end_utc=end, server_time=st)
        return time.perf_counter() - t0

    r = interleave({"gen": gen, "build": build, "million": million}, rounds)
    tps = [n_ticks / s for s in r["gen"]]
    bps = [n_bars / s for s in r["build"]]
    print(f"1. ticks generated per second ({n_ticks:,} ticks, 5 server days, EURUSD):")
    print(f"     {stats(tps)}")
    print(f"2. M1 bars built from ticks per second ({n_bars:,} bars): {stats(bps)}")
    print(f"   1,000,000 M1 bars prepared ('m1' mode), seconds: {stats(r['million'])}")


# -- 3: copy_rates_from_pos vs numpy slicing ----------------------------------------------------


def bench_copy_rates(rounds: int, n: int) -> float:
    clock = Clock(START.timestamp())
    term = Terminal(
        SimConfig(symbols=(EURUSD,), seed=SEED, start=START, history_days=10), clock=clock
    )
    assert term.initialize()
    whole = term.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M1, 0, 10_000)
    assert whole is not None
    assert whole.size == 10_000
    api = term.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M1, 0, n)
    assert api is not None
    assert np.array_equal(api, whole[-n:])
    k = 5_000

    def via_api() -> float:
        return timed(lambda: term.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M1, 0, n), k)()

    def via_slice_copy() -> float:
        return timed(lambda: whole[-n:].copy(), k)()

    def via_view() -> float:
        return timed(lambda: whole[-n:], k)()

    r = interleave({"api": via_api, "copy": via_slice_copy, "view": via_view}, rounds)
    ratio_copy = statistics.median(a / b for a, b in zip(r["api"], r["copy"], strict=True))
    ratio_view = statistics.median(a / b for a, b in zip(r["api"], r["view"], strict=True))
    print(f"3. copy_rates_from_pos(EURUSD, M1, 0, {n}) calls per second:")
    print(f"     api          {stats([1 / s for s in r['api']])}")
    print(f"     numpy a[-n:].copy() {stats([1 / s for s in r['copy']])}")
    print(f"     numpy a[-n:] (view) {stats([1 / s for s in r['view']])}")
    print(
        f"   ratio api / slice+copy (median per round): {ratio_copy:.2f}x;"
        f" api / view: {ratio_view:.1f}x"
    )
    return ratio_copy


# -- 4: order_send -----------------------------------------------------------------------------


def bench_order_send(rounds: int) -> None:
    clock = Clock(START.timestamp())
    term = Terminal(
        SimConfig(symbols=(EURUSD,), seed=SEED, start=START, history_days=2), clock=clock
    )
    assert term.initialize()
    buy = {"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "type": 0, "volume": 0.1}
    pairs = 200

    def run() -> float:
        t0 = time.perf_counter()
        for _ in range(pairs):
            r = term.order_send(buy)
            if r is None or r.retcode != 10009:
                raise AssertionError(r)
            c = term.order_send({**buy, "type": 1, "position": r.order})
            if c is None or c.retcode != 10009:
                raise AssertionError(c)
        return (time.perf_counter() - t0) / (2 * pairs)

    run()
    assert term.positions_total() == 0
    r = interleave({"send": run}, rounds)
    print(
        f"4. market order_send per second (open+close pairs, hedging): "
        f"{stats([1 / s for s in r['send']])}"
    )
    print(f"   history after the run: {term.history_deals_total(0, 2**40):,} deals")


# -- 5: backtest-style replay -------------------------------------------------------------------


def replay(bars: int) -> tuple[float, float, int]:
    """(total seconds, seconds inside the simulator, orders sent)."""
    clock = Clock(START.timestamp())
    term = Terminal(
        SimConfig(symbols=(EURUSD,), seed=SEED, start=START, history_days=1, market_mode="m1"),
        clock=clock,
    )
    term.initialize()
    send = term.order_send
    read = term.copy_rates_from_pos
    perf = time.perf_counter
    inside = 0.0
    orders = 0
    ticket = 0
    closes = 0.0
    t_start = perf()
    for i in range(bars):
        clock.t += 60.0
        a = perf()
        bar = read("EURUSD", 1, 1, 1)
        b = perf()
        inside += b - a
        if bar is not None and len(bar):
            closes += float(bar["close"][0])  # the "strategy"
        if i % 100 == 99:
            if ticket:
                req = {
                    "action": 1,
                    "symbol": "EURUSD",
                    "type": 1,
                    "volume": 0.1,
                    "position": ticket,
                }
            else:
                req = {"action": 1, "symbol": "EURUSD", "type": 0, "volume": 0.1}
            a = perf()
            r = send(req)
            inside += perf() - a
            orders += 1
            if r is not None and r.retcode == 10009:
                ticket = 0 if ticket else r.order
    total = perf() - t_start
    assert closes > 0
    return total, inside, orders


def numpy_replay(bars: np.ndarray) -> float:
    t0 = time.perf_counter()
    closes = 0.0
    for i in range(1, bars.size):
        closes += float(bars[i - 1 : i]["close"][0])
    assert closes > 0
    return time.perf_counter() - t0


def bench_replay(n_bars: int, rounds: int) -> None:
    replay(2_000)  # warm-up (numba kernels, caches)
    st = ServerTime.eet()
    peer_bars = generate_m1_bars(
        EURUSD, n_bars, seed=SEED, end_utc=START.timestamp() + 800 * DAY, server_time=st
    )
    totals, shares, peers = [], [], []
    orders = 0
    for _ in range(rounds):
        total, inside, orders = replay(n_bars)
        totals.append(total)
        shares.append(inside / total)
        peers.append(numpy_replay(peer_bars))
    ratio = statistics.median(a / b for a, b in zip(totals, peers, strict=True))
    print(f"5. replay of {n_bars:,} one-minute steps (bar read each step, {orders:,} orders):")
    print(f"     seconds {stats(totals)};  steps/s {stats([n_bars / s for s in totals])}")
    print(f"     share inside the simulator {stats([100 * s for s in shares])} %")
    print(
        f"     numpy-only loop over the same number of bars, seconds {stats(peers)};"
        f" ratio {ratio:.1f}x"
    )


# -- 6: per-call costs on a backtest's hot path -------------------------------------------------


def bench_calls(rounds: int, n: int = 20_000) -> None:
    """Microseconds per call of what a backtest calls per M1 bar and per trade."""
    clock = Clock(START.timestamp())
    term = Terminal(
        SimConfig(symbols=(EURUSD,), seed=SEED, start=START, history_days=5, market_mode="m1"),
        clock=clock,
    )
    assert term.initialize()
    assert term.symbol_select("EURUSD", True)
    read = term.copy_rates_from_pos
    whole = read("EURUSD", mt5.TIMEFRAME_M1, 0, 3)
    assert whole is not None
    assert whole.size == 3
    cu, nw = term._catchup, term._now

    def per_call(fn: Callable[[], Any], step: float = 0.0) -> Callable[[], float]:
        def run() -> float:
            t0 = time.perf_counter()
            if step:
                for _ in range(n):
                    clock.t += step
                    fn()
            else:
                for _ in range(n):
                    fn()
            return (time.perf_counter() - t0) / n * 1e6

        return run

    def catch_up() -> None:
        nw.at_utc(clock.t)
        cu.advance(nw.now_msc)

    empty = {
        "copy_rates_from_pos(M1, 0, 3), clock +60 s": per_call(
            lambda: read("EURUSD", 1, 0, 3), 60.0
        ),
        "copy_rates_from_pos(M1, 0, 3), same instant": per_call(lambda: read("EURUSD", 1, 0, 3)),
        "catch-up per minute, nothing open": per_call(catch_up, 60.0),
        "account_info, nothing open": per_call(term.account_info),
        "positions_get, nothing open": per_call(term.positions_get),
        "symbol_info_tick": per_call(lambda: term.symbol_info_tick("EURUSD")),
    }
    r = interleave(empty, rounds)
    tick = term.symbol_info_tick("EURUSD")
    assert tick is not None
    sent = term.order_send(
        {
            "action": mt5.TRADE_ACTION_DEAL,
            "symbol": "EURUSD",
            "type": mt5.ORDER_TYPE_BUY,
            "volume": 0.1,
            "sl": round(tick.bid - 0.5, 5),
            "tp": round(tick.ask + 0.5, 5),
        }
    )
    assert sent is not None
    assert sent.retcode == mt5.TRADE_RETCODE_DONE
    one = {
        "catch-up per minute, one position with SL/TP": per_call(catch_up, 60.0),
        "account_info, one position": per_call(term.account_info),
        "positions_get, one position": per_call(term.positions_get),
        "clock +60 s, copy_rates_from_pos + positions_get": per_call(
            lambda: (read("EURUSD", 1, 0, 3), term.positions_get()), 60.0
        ),
    }
    r.update(interleave(one, rounds))
    assert term.positions_total() == 1
    print(f"6. microseconds per call ({n:,} calls per round, EURUSD 'm1' mode):")
    for name, xs in r.items():
        print(f"     {name:52s} {stats(xs)}")


def machine() -> None:
    cpu = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = ", ".join(f"{p} {version(p)}" for p in ("numpy", "numba", "polars"))
    print(f"machine: {os.cpu_count()} cpu ({cpu}); Python {platform.python_version()}; {versions}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--n", type=int, default=100, help="bars per copy_rates_from_pos call")
    p.add_argument("--replay-bars", type=int, default=1_000_000)
    p.add_argument("--replay-rounds", type=int, default=3)
    p.add_argument("--calls-only", action="store_true", help="only the per-call costs (6.)")
    a = p.parse_args()
    print(f"bench_mt5sim: seed {SEED}, rounds {a.rounds} (replay: {a.replay_rounds})")
    if a.calls_only:
        bench_calls(a.rounds)
        machine()
        return
    bench_generation(a.rounds)
    ratio = bench_copy_rates(a.rounds, a.n)
    bench_order_send(a.rounds)
    bench_replay(a.replay_bars, a.replay_rounds)
    bench_calls(a.rounds)
    machine()
    print(f"ratio copy_rates_from_pos / numpy slice+copy: {ratio:.2f}x")


if __name__ == "__main__":
    main()
