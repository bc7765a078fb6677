"""The journal on the event loop (one commit per write) against the journal writer (a thread,
batched commits), performance.md method: both in each round, order rotated, median of rounds.

Two measurements, each checked before its time counts:

- **fills**: ``--fills`` fills written as the trader writes one (a client id, the order row
  awaited committed and fsynced before the send, the order's fill, the position, the deal, three
  trading events), one after the other. Checked: both journals hold the same rows.
- **engine**: the whole engine (four services, the simulated terminal, a ``SimClock`` driven as
  fast as the pipeline allows) over ``--bars`` EURUSD M1 bars with a reversing EMA cross, the
  journal with ``durable_orders`` as a live engine has it. Checked: the same fills, at the same
  prices, in both (time stands still while a task awaits the writer).

Printed per mode: the journal's time on the event loop per fill (``WriterStats.caller_seconds``:
with the writer, queueing only; an awaited order row waits without blocking the loop), commits
per fill, and throughput (fills per second; engine bars per second).

    python scripts/bench_journal.py [--fills 2000] [--bars 3000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from trading_engine.clock import SimClock
from trading_engine.config import ConfigLoader, StrategyConfig, SystemConfig
from trading_engine.journal import DealRow, Journal, JournalWriter, OrderRow, PositionRow
from trading_engine.orchestrator import TradingOrchestrator

ROOT = Path(__file__).resolve().parent.parent
MODES = {"on the loop (before)": False, "writer thread (after)": True}


# -- fills ---------------------------------------------------------------------------------------


async def write_fills(path: Path, fills: int, thread: bool) -> dict[str, Any]:
    """``fills`` fills written as the trader writes them; the writer's figures."""
    with Journal.open(path) as journal:
        writer = JournalWriter(journal, thread=thread)
        started = time.perf_counter()
        for i in range(fills):
            seq = writer.next_sequence("client_id")
            client_id = f"te1-{seq:06d}"
            now = 1_700_000_000.0 + i
            await writer.insert_order(
                OrderRow(client_id, "EURUSD", "buy", 0.1, 7, "submitted", now, now, price=1.1)
            )
            writer.update_order(
                client_id,
                updated_at=now,
                state="filled",
                order_ticket=i + 1,
                filled_volume=0.1,
                fill_price=1.1,
            )
            writer.upsert_position(
                PositionRow(i + 1, "EURUSD", "buy", 0.1, 1.1, now, client_id=client_id)
            )
            writer.record_deal(DealRow(i + 1, "EURUSD", 0, 0.1, 1.1, now, order_ticket=i + 1))
            for kind in ("EntrySignalEvent", "OrderPlacedEvent", "OrderFilledEvent"):
                writer.record_event(kind, client_id, {"client_id": client_id, "price": 1.1}, now)
        await writer.flush()
        elapsed = time.perf_counter() - started
        writer.close()
        rows = tuple(
            journal._query_one(f"SELECT COUNT(*) FROM {table}")[0]
            for table in ("orders", "positions", "deals", "events")
        )
        return {"seconds": elapsed, "stats": writer.stats, "rows": rows, "fills": fills}


# -- the engine ----------------------------------------------------------------------------------


def engine_config(journal: Path) -> SystemConfig:
    """eurusd.yaml with a reversing EMA cross (many fills), durable order rows, no risk halt."""
    cfg = ConfigLoader.load(
        ROOT / "configs" / "eurusd.yaml",
        overrides={
            "journal.path": str(journal),
            "journal.durable_orders": True,
            "services.data_fetching.fetch_interval": 60,
            "orchestrator.health_check_interval": 3600,
            "terminal.sim.market_mode": "m1",
            "logging.level": "ERROR",
            "terminal.sim.balance": 1e9,
            "risk.daily_loss_limit": 1e12,
            "risk.max_drawdown_pct": 100,
        },
    )
    strategy = StrategyConfig(
        name="ema_cross",
        class_path="ema_cross",
        params={"regime_filter": False, "sl_atr": 0, "tp_atr": 0, "volume": 0.1},
    )
    return cfg.model_copy(update={"strategies": [strategy]})


async def run_engine(path: Path, bars: int, thread: bool) -> dict[str, Any]:
    cfg = engine_config(path)
    clock = SimClock(cfg.terminal.sim.start.timestamp())
    engine = TradingOrchestrator.from_config(cfg, clock=clock, max_bars=bars, journal_thread=thread)
    async with engine:
        started = time.perf_counter()
        summary = await engine.run()
        elapsed = time.perf_counter() - started
        writer = engine.journal_writer
        assert writer is not None
        stats = writer.stats
    with sqlite3.connect(path) as conn:
        fills = conn.execute(
            "SELECT client_id, state, fill_price FROM orders ORDER BY client_id"
        ).fetchall()
    return {"seconds": elapsed, "stats": stats, "rows": fills, "fills": summary.fills, "bars": bars}


# -- rounds --------------------------------------------------------------------------------------


def per_fill(result: dict[str, Any]) -> tuple[float, float]:
    stats = result["stats"]
    fills = max(1, result["fills"])
    return stats.caller_seconds / fills * 1e6, stats.commits / fills


def rounds(name: str, run: Any, n: int, rate: str) -> None:
    names = list(MODES)
    loop_us: dict[str, list[float]] = {m: [] for m in names}
    commits: dict[str, list[float]] = {m: [] for m in names}
    rates: dict[str, list[float]] = {m: [] for m in names}
    ratios: list[float] = []
    for r in range(n):
        order = names[r % 2 :] + names[: r % 2]
        results: dict[str, dict[str, Any]] = {}
        for mode in order:
            with tempfile.TemporaryDirectory() as tmp:
                results[mode] = asyncio.run(run(Path(tmp) / "bench.db", MODES[mode]))
        before, after = (results[m] for m in names)
        if before["rows"] != after["rows"] or before["fills"] != after["fills"]:
            raise SystemExit(f"{name}, round {r}: the two modes wrote different journals")
        for mode in names:
            us, c = per_fill(results[mode])
            loop_us[mode].append(us)
            commits[mode].append(c)
            unit = results[mode]["bars"] if rate == "bars" else results[mode]["fills"]
            rates[mode].append(unit / results[mode]["seconds"])
        ratios.append(loop_us[names[0]][-1] / loop_us[names[1]][-1])
    fills = results[names[0]]["fills"]
    print(f"\n{name}: {fills} fills per run, {n} rounds (median [min-max])")
    print(f"{'':24} {'loop us/fill':>22} {'commits/fill':>13} {rate + '/s':>24}")
    for mode in names:
        us, c, q = loop_us[mode], commits[mode], rates[mode]
        print(
            f"{mode:24} {statistics.median(us):>8.1f} [{min(us):.1f}-{max(us):.1f}]"
            f" {statistics.median(c):>13.2f}"
            f" {statistics.median(q):>10,.0f} [{min(q):,.0f}-{max(q):,.0f}]"
        )
    speedup = statistics.median(rates[names[1]]) / statistics.median(rates[names[0]])
    print(
        f"journal time on the loop, before / after (median of rounds): "
        f"{statistics.median(ratios):.1f}x; throughput after / before: {speedup:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fills", type=int, default=2_000)
    parser.add_argument("--bars", type=int, default=3_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:  # warm-up: numba kernels compiled or cached
        asyncio.run(run_engine(Path(tmp) / "warm.db", 500, True))
    rounds("fills", lambda p, t: write_fills(p, args.fills, t), args.rounds, "fills")
    rounds("engine", lambda p, t: run_engine(p, args.bars, t), args.rounds, "bars")
    print(
        f"\npython {platform.python_version()}, {os.cpu_count()} cpus, "
        f"{platform.processor() or platform.machine()}, journal on {tempfile.gettempdir()}"
    )


if __name__ == "__main__":
    main()
