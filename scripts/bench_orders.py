"""The cost of one order through the execution core (method of ``docs/performance.md``).

The fast engine (``BacktestEngine``) on ``scripts/bench_engine.py``'s EMA-cross configuration
(EURUSD M1, 0.1 lot, reversing on every cross: an order every ~14 bars) runs twice per round:
with the execution service and with it disabled (same bars, indicators and strategy; no order).
The difference over the orders sent is the cost of one order, all of it: ``Trader.enter/close``,
planner, risk, order states, journal writes, hub events, the terminal port and ``mt5sim``'s
``order_send``, positions and deals.

``--peer SRC`` runs the same measurement, round-robin in the same run, on another checkout's
``src`` directory (say ``main``'s, from ``git archive main src | tar -x -C /tmp/main``) and
prints the ratio. Each measurement runs in a fresh process (``sys.path`` picks the code) and
times the process's CPU time (less sensitive to other load on a shared machine than wall time);
before timing, both must give the same fingerprint and the same number of orders.

    python scripts/bench_orders.py --bars 50000 --rounds 7 --peer /tmp/main/src
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

_WORKER = r"""
import gc, json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from trading_engine.backtest.engine import BacktestEngine
from trading_engine.config import ConfigLoader, StrategyConfig

root, bars, execute = Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
cfg = ConfigLoader.load(
    root / "configs" / "eurusd.yaml",
    overrides={
        "journal.durable_orders": False,
        "terminal.sim.persist": False,
        "services.data_fetching.fetch_interval": 60,
        "orchestrator.health_check_interval": 3600,
        "terminal.sim.market_mode": "m1",
        "terminal.sim.history_days": 5,
        "logging.level": "ERROR",
        "terminal.sim.balance": 1e9,
        "risk.daily_loss_limit": 1e12,
        "risk.max_drawdown_pct": 100,
        "services.trade_execution.enabled": execute,
    },
)
strategy = StrategyConfig(
    name="ema_cross",
    class_path="ema_cross",
    params={"regime_filter": False, "sl_atr": 0, "tp_atr": 0, "volume": 0.1},
)
cfg = cfg.model_copy(update={"strategies": [strategy]})
# CPU time inside the execution core's handling of signals (``TradeExecutionService._execute``:
# risk, planner, journal, hub, port, mt5sim), measured around each call.
from trading_engine.execution.service import TradeExecutionService
inner = TradeExecutionService._execute
core = [0.0]
async def timed(self):
    started = time.thread_time()
    try:
        await inner(self)
    finally:
        core[0] += time.thread_time() - started
TradeExecutionService._execute = timed
BacktestEngine(cfg, bars=2000).run()  # warm-up: imports, numba caches
core[0] = 0.0
gc.collect()
started = time.process_time()  # CPU time: less sensitive to the other load on the machine
result = BacktestEngine(cfg, bars=bars).run()
seconds = time.process_time() - started
print(json.dumps({
    "seconds": seconds,
    "bars": result.bars,
    "orders": result.counts.get("orders", 0),
    "core_seconds": core[0],
    "fingerprint": result.fingerprint,
}))
"""


def measure(src: str, bars: int, execute: bool) -> dict[str, Any]:
    """One fresh-process run of the fast engine on the code under ``src``."""
    out = subprocess.run(
        [sys.executable, "-c", _WORKER, src, str(ROOT), str(bars), "1" if execute else "0"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": src},
    )
    if out.returncode != 0:
        raise SystemExit(f"bench_orders: the run on {src} failed:\n{out.stderr[-2000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def per_order_us(src: str, bars: int) -> tuple[float, float, float, dict[str, Any]]:
    """(µs per order of the whole engine, µs per order inside the execution core, bars/s with
    orders, the run with orders) for the code under ``src``."""
    with_orders = measure(src, bars, True)
    without = measure(src, bars, False)
    orders = max(1, int(with_orders["orders"]))
    cost = (with_orders["seconds"] - without["seconds"]) / orders * 1e6
    core = with_orders["core_seconds"] / orders * 1e6
    return cost, core, with_orders["bars"] / with_orders["seconds"], with_orders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--peer", help="another checkout's src directory to compare with")
    args = parser.parse_args()
    sides = {"this": str(ROOT / "src")}
    if args.peer:
        sides["peer"] = str(Path(args.peer).resolve())
    # Check before timing: the same trades and the same number of orders on every side.
    first = {name: measure(src, args.bars, True) for name, src in sides.items()}
    for name, run in first.items():
        print(f"{name}: {run['orders']} orders, fingerprint {run['fingerprint']}")
    if len({(r["fingerprint"], r["orders"]) for r in first.values()}) != 1:
        raise SystemExit("bench_orders: the sides disagree (fingerprint or orders); not timed")
    costs: dict[str, list[float]] = {name: [] for name in sides}
    cores: dict[str, list[float]] = {name: [] for name in sides}
    speeds: dict[str, list[float]] = {name: [] for name in sides}
    ratios: list[float] = []
    core_ratios: list[float] = []
    for k in range(args.rounds):
        for name, src in sides.items():
            cost, core, speed, _ = per_order_us(src, args.bars)
            costs[name].append(cost)
            cores[name].append(core)
            speeds[name].append(speed)
        line = ", ".join(
            f"{n} {costs[n][-1]:.0f} µs/order (core {cores[n][-1]:.0f}) {speeds[n][-1]:,.0f} bars/s"
            for n in sides
        )
        if "peer" in sides:
            ratios.append(costs["peer"][-1] / costs["this"][-1])
            core_ratios.append(cores["peer"][-1] / cores["this"][-1])
            line += f", peer/this {ratios[-1]:.2f}x (core {core_ratios[-1]:.2f}x)"
        print(f"round {k + 1}: {line}")
    for name in sides:
        c, e, s = costs[name], cores[name], speeds[name]
        print(
            f"{name}: per order min/median/max {min(c):.0f}/{statistics.median(c):.0f}/"
            f"{max(c):.0f} µs, in the execution core {statistics.median(e):.0f} µs; "
            f"bars/s (CPU) median {statistics.median(s):,.0f}"
        )
    print(
        f"machine: {os.cpu_count()} cpus, {platform.processor() or platform.machine()}, "
        f"python {platform.python_version()}, load {os.getloadavg()[0]:.2f}"
    )
    if ratios:
        print(
            f"per-order cost, peer / this (median of {len(ratios)} rounds): "
            f"{statistics.median(ratios):.2f}x whole engine, "
            f"{statistics.median(core_ratios):.2f}x execution core"
        )


if __name__ == "__main__":
    main()
