"""The least time any backtest through the engine's own parts can take, against backtesting.py.

Issue 11 asks the fast engine for 2x backtesting.py's bars/s on 1M EURUSD M1 bars (EMA 12/26
cross, reversing), with no second implementation of trading logic: the same strategy objects on
the same ``Snapshot``, and orders executed by the simulated MT5 terminal. This script measures,
in one run, the parts no such engine can leave out, each on its own and bare:

- **set-up**: the simulated terminal built and the run's M1 bars generated and read once;
- **per bar**: the strategy object's ``evaluate`` on a ``Snapshot`` of each bar (EMA values from
  the engine's kernels, one values dict per bar; no event, channel, journal or risk check);
- **per order**: ``mt5sim``'s ``order_send`` called directly (no port, trader, planner, risk,
  journal or booking) for each of backtesting.py's trades, its entry and its exit, at their bars'
  times.

Their sum is a floor for the fast engine, which does all of this and more. backtesting.py runs the
same rules on the same bars (``bench_engine.EmaCross``) in the same run, round-robin; the number
of orders sent to the simulator must be twice its trades. Printed: each part, the floor, the
peer's time and the best ratio a floor-speed engine could reach (the median of rounds).

    python scripts/bench_floor.py --bars 1000000 --rounds 7
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench_engine import WARMUP, engine_config, run_backtesting_py
from trading_engine import mt5sim
from trading_engine.clock import SimClock
from trading_engine.indicators import kernels
from trading_engine.model.position import PositionView
from trading_engine.strategy.base import Snapshot
from trading_engine.strategy.ema_cross import EmaCross
from trading_engine.terminal.factory import open_terminal


def build(bars: int) -> tuple[Any, SimClock, np.ndarray[Any, Any], float]:
    """The simulated terminal, its clock, ``WARMUP + bars`` M1 bars, and the seconds it took."""
    cfg = engine_config(Path("unused.db"))
    started = time.perf_counter()
    clock = SimClock(cfg.terminal.sim.start.timestamp())
    built, _ = open_terminal(cfg.terminal, clock, cfg.trading.symbols)
    sim = dataclasses.replace(built.config, maxbars=bars + 10 * WARMUP)
    terminal = mt5sim.Terminal(sim, clock=clock.time, sleep=clock.advance)
    terminal.initialize()
    market = terminal.market
    first = int(terminal.copy_rates_from_pos("EURUSD", mt5sim.TIMEFRAME_M1, 1, WARMUP)["time"][0])
    chunks, start = [], first
    while sum(len(c) for c in chunks) < WARMUP + bars:  # a month at a time, ahead of the clock
        end = start + 30 * 86_400
        until = market.server_time.to_utc(end) + 1
        chunks.append(market.copy_rates_range("EURUSD", mt5sim.TIMEFRAME_M1, start, end, until))
        start = end + 1
    series = np.concatenate(chunks)[: WARMUP + bars]
    return terminal, clock, series, time.perf_counter() - started


def strategy_pass(series: np.ndarray[Any, Any]) -> tuple[float, int]:
    """``ema_cross``'s ``evaluate`` on a ``Snapshot`` of every bar after the warm-up, each
    carrying the position its signals so far hold (filled at once); the seconds and entries."""
    close = np.ascontiguousarray(series["close"], dtype=np.float64)
    fast = kernels.ema(close, 12).tolist()
    slow = kernels.ema(close, 26).tolist()
    rows = series.tolist()
    strategy = EmaCross({"regime_filter": False, "sl_atr": 0, "tp_atr": 0, "volume": 0.1})
    held: PositionView | None = None
    entries = 0
    started = time.perf_counter()
    for i in range(WARMUP, len(rows)):
        tm, o, h, lo, c, *_ = rows[i]
        values = {"ema_fast": fast[i], "ema_slow": slow[i]}
        snapshot = Snapshot("EURUSD", 1, tm, o, h, lo, c, values, "unknown", held, i + 1)
        signal = strategy.evaluate(snapshot)
        if signal is not None:
            if signal.action == "enter":
                entries += 1
                held = PositionView(entries, signal.side, 0.1, c)
            else:
                held = None
    return time.perf_counter() - started, entries


def order_seconds(terminal: Any, clock: SimClock, trades: Any) -> tuple[float, int]:
    """``order_send`` straight into the simulator for every trade's entry and exit, at the open
    time of the bar after each (backtesting.py fills at the next bar's open); the seconds spent
    inside ``order_send`` and the orders done."""
    spent = 0.0
    done = 0
    to_utc = terminal.market.server_time.to_utc
    for entry, exit_, size in zip(
        trades["EntryTime"], trades["ExitTime"], trades["Size"], strict=True
    ):
        side = mt5sim.ORDER_TYPE_BUY if size > 0 else mt5sim.ORDER_TYPE_SELL
        request: dict[str, Any] = {
            "action": mt5sim.TRADE_ACTION_DEAL,
            "symbol": "EURUSD",
            "volume": 0.1,
            "deviation": 50,
            "magic": 1,
            "type_filling": mt5sim.ORDER_FILLING_IOC,
        }
        for at, kind, position in ((entry, side, 0), (exit_, 1 - side, -1)):
            utc = to_utc(int(at.timestamp())) + 1.0
            if utc > clock.time():
                clock.advance_to(utc)
            if position == -1:
                position = terminal.positions_get(symbol="EURUSD")[0].ticket
            started = time.perf_counter()
            reply = terminal.order_send({**request, "type": kind, "position": position})
            spent += time.perf_counter() - started
            if reply is None or reply.retcode != mt5sim.TRADE_RETCODE_DONE:
                raise SystemExit(f"order at {at} refused: {reply}")
            done += 1
    return spent, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    strategy_pass(build(2_000)[2])  # warm-up: numba kernels compiled or loaded
    rows: list[dict[str, float]] = []
    for r in range(args.rounds):
        terminal, clock, series, setup = build(args.bars)
        bars = len(series) - WARMUP
        peer = run_backtesting_py(series, WARMUP)
        trades = peer["trades"]
        _, entries = strategy_pass(series)  # checked before it is timed
        if abs(entries - peer["entries"]) > 2:  # the run's edges (bench_engine.py)
            raise SystemExit(
                f"round {r}: ema_cross entered {entries} times, backtesting.py {peer['entries']}"
            )
        per_bar, _ = strategy_pass(series)
        orders, sent = order_seconds(terminal, clock, trades)
        if sent != 2 * len(trades):
            raise SystemExit(f"round {r}: {sent} orders for {len(trades)} trades")
        floor = setup + per_bar + orders
        rows.append(
            {
                "setup": setup,
                "bars_s": per_bar,
                "orders_s": orders,
                "floor": floor,
                "peer": peer["seconds"],
                "best": peer["seconds"] / floor,
                "per_order_us": orders / sent * 1e6,
                "per_bar_us": per_bar / bars * 1e6,
            }
        )
        print(
            f"round {r}: {bars:,} bars, {sent:,} orders; set-up {setup:.2f} s, strategy "
            f"{per_bar:.2f} s, order_send {orders:.2f} s: floor {floor:.2f} s; "
            f"backtesting.py {peer['seconds']:.2f} s"
        )

    def med(key: str) -> float:
        return statistics.median(row[key] for row in rows)

    print(
        f"\nper bar: strategy.evaluate {med('per_bar_us'):.2f} us; "
        f"per order: mt5sim order_send {med('per_order_us'):.1f} us"
    )
    print(
        f"floor {med('floor'):.2f} s (set-up {med('setup'):.2f}, strategy {med('bars_s'):.2f}, "
        f"orders {med('orders_s'):.2f}); backtesting.py {med('peer'):.2f} s"
    )
    print(
        f"{args.bars:,} M1 bars x {args.rounds} rounds; python {platform.python_version()}, "
        f"{os.cpu_count()} cpus, {platform.processor() or platform.machine()}"
    )
    print(
        f"best ratio an engine at the floor could reach (median of rounds): {med('best'):.2f}x "
        "(issue 11's target: 2.00x)"
    )


if __name__ == "__main__":
    main()
