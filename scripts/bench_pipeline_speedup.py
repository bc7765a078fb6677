"""The asyncio pipeline against an earlier revision of itself, side by side (docs/performance.md).

Each round runs, in fresh processes and alternating, the pipeline backtest of the shipped
configuration (``configs/eurusd.yaml``: fetch_interval 5, a health check every simulated minute,
EMA cross with ATR stops; ``--health-check-interval`` changes the checks for both trees) over
``--bars`` bars on a ``SimClock``, once with this tree's sources and once with ``--baseline``'s
(a source tree of the earlier revision, e.g. ``git archive <rev> | tar -x -C DIR``), each with
its own tree's shipped configuration (an older tree refuses keys added since). The same
orchestrator calls run in both; the runs must make the same number of candles. Printed: bars per
second of each, and the median ratio.

    python scripts/bench_pipeline_speedup.py --baseline /tmp/rev-src --bars 20000 --rounds 7
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import asyncio, inspect, json, sys, tempfile, time
from pathlib import Path
from trading_engine.clock import SimClock
from trading_engine.config import ConfigLoader
from trading_engine.orchestrator import TradingOrchestrator

async def main(bars: int, config: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        overrides = {
            "journal.path": str(Path(tmp) / "j.db"), "journal.durable_orders": False,
            "logging.level": "ERROR"}
        if len(sys.argv) > 3:  # --health-check-interval
            overrides["orchestrator.health_check_interval"] = float(sys.argv[3])
        options = {}
        # As ``run_pipeline`` (``backtest --engine pipeline``) runs it, where the tree has them:
        # no paper account file, the journal written in the loop (no writer thread).
        if "journal_thread" in inspect.signature(TradingOrchestrator).parameters:
            options["journal_thread"] = False
        try:
            cfg = ConfigLoader.load(config, overrides={**overrides, "terminal.sim.persist": False})
        except Exception:  # a tree before the paper account file
            cfg = ConfigLoader.load(config, overrides=overrides)
        clock = SimClock(cfg.terminal.sim.start.timestamp())
        engine = TradingOrchestrator.from_config(cfg, clock=clock, max_bars=bars, **options)
        async with engine:
            started = time.perf_counter()
            summary = await engine.run()
            elapsed = time.perf_counter() - started
        print(json.dumps({"bars": summary.bars, "seconds": elapsed, "orders": summary.orders}))

asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
"""


def run(src: Path, bars: int, health: float | None = None) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src / "src")}
    extra = [] if health is None else [str(health)]
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(bars), str(src / "configs" / "eurusd.yaml"), *extra],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True)
    parser.add_argument("--bars", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--health-check-interval",
        type=float,
        default=None,
        help="seconds between the orchestrator's health checks (default: the shipped 60)",
    )
    args = parser.parse_args()
    run(ROOT, 500)  # warm-up: numba caches of both trees
    run(args.baseline, 500)
    now_rates: list[float] = []
    then_rates: list[float] = []
    for r in range(args.rounds):
        now = run(ROOT, args.bars, args.health_check_interval)
        then = run(args.baseline, args.bars, args.health_check_interval)
        if now["bars"] != then["bars"]:
            raise SystemExit(f"round {r}: {now['bars']} bars against {then['bars']}")
        now_rates.append(now["bars"] / now["seconds"])
        then_rates.append(then["bars"] / then["seconds"])
        print(
            f"round {r}: this tree {now_rates[-1]:,.0f} bars/s ({now['orders']:.0f} orders), "
            f"baseline {then_rates[-1]:,.0f} bars/s ({then['orders']:.0f} orders)"
        )
    ratios = [a / b for a, b in zip(now_rates, then_rates, strict=True)]
    health = args.health_check_interval
    checks = "shipped health checks" if health is None else f"health checks every {health:g} s"
    print(f"{args.bars:,} bars x {args.rounds} rounds, {checks}, {os.cpu_count()} cpus")
    print(f"ratio pipeline now / baseline (median of rounds): {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
