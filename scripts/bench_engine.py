"""The engine's two backtest engines against backtesting.py on the same M1 bars (method of
``docs/performance.md``).

One round runs, back to back: the asyncio pipeline (four services, channels, supervisor,
journal, the simulated terminal polled bar-timed, a ``SimClock`` driven as fast as the pipeline
allows) over ``--bars`` EURUSD M1 bars with ``ema_cross``; the fast engine (``BacktestEngine``)
on the same configuration; then backtesting.py 0.6.6 running the same EMA(12)/EMA(26) cross,
reversing on each cross, over the very same bars (warm-up history included, EMAs from the
engine's own kernels so both see the same crosses).

Checked before timing counts: the pipeline and backtesting.py make the same number of entries
(± 2 at the run's edges), the fast engine exactly the pipeline's. Printed: bars per second of
each, the ratios (median over rounds), candle → order-sent latency p50/p99 of the pipeline (wall
clock, from the candle's publication to the order's ``OrderPlacedEvent``, published once the
terminal's reply is journaled; split at the bar's first signal into the stages before it and the
execution stage with the order path; and, apart, to the moment the request is handed to the
terminal's ``order_send``), its resident memory every 10 % of
the run (the pipeline runs as ``backtest --engine pipeline`` runs it: journal without a thread);
then an H1 ``ema_cross`` with ATR stops and targets on the same number of M1 bars (fast engine,
M1 bars covered per second, and the set-up's share: everything before the first bar is traded),
and the fast engine's peak resident memory on that run over 100k, 300k and ``--bars`` M1 bars
(each in a fresh process) with its growth per 100k bars.

    python scripts/bench_engine.py --bars 1000000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from array import array
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover

from trading_engine import mt5sim
from trading_engine.backtest.engine import BacktestEngine
from trading_engine.clock import SimClock
from trading_engine.config import ConfigLoader, StrategyConfig, SystemConfig
from trading_engine.events import (
    EntrySignalEvent,
    ExitSignalEvent,
    NewCandleEvent,
    OrderPlacedEvent,
)
from trading_engine.indicators import kernels
from trading_engine.journal.store import MEMORY
from trading_engine.orchestrator import TradingOrchestrator
from trading_engine.terminal.factory import open_terminal

ROOT = Path(__file__).resolve().parent.parent
WARMUP = 1000


def engine_config(journal: Path) -> SystemConfig:
    """eurusd.yaml, with a pure EMA cross (no regime filter, no stops, 0.1 lot, reversing) and
    an account that no risk limit stops."""
    cfg = ConfigLoader.load(
        ROOT / "configs" / "eurusd.yaml",
        overrides={
            "journal.path": str(journal),
            "journal.durable_orders": False,
            "terminal.sim.persist": False,  # a backtest: no paper account file
            "services.data_fetching.fetch_interval": 60,
            "orchestrator.health_check_interval": 3600,
            "terminal.sim.market_mode": "m1",
            "terminal.sim.history_days": 5,
            "logging.level": "ERROR",
            # no risk halt or stop-out may end the trading early: both sides must trade every cross
            "terminal.sim.balance": 1e9,
            "risk.daily_loss_limit": 1e12,
            "risk.max_drawdown_pct": 100,
            # backtesting.py trades every signal: no bar detected late (a gap in the generated
            # ticks) may have its signal refused as stale (9 in 1M bars with the default 1 bar)
            "services.trade_execution.max_signal_age_bars": 10_000,
        },
    )
    strategy = StrategyConfig(
        name="ema_cross",
        class_path="ema_cross",
        params={"regime_filter": False, "sl_atr": 0, "tp_atr": 0, "volume": 0.1},
    )
    return cfg.model_copy(update={"strategies": [strategy]})


class Probe:
    """Wall-clock latency candle → order placed, split at the bar's first signal (candle →
    signal: the data, indicator and strategy stages and their hops; signal → order placed: the
    execution stage and the order path), and resident memory every 10 % of the bars."""

    def __init__(self, bars: int) -> None:
        self.every = max(1, bars // 10)
        self.seen = 0
        self.candle_at: dict[str, float] = {}
        self.signal_at: dict[str, float] = {}
        self.latency = array("d")
        self.to_signal = array("d")
        self.to_order = array("d")
        self.to_terminal = array("d")
        self.sent_at = 0.0
        self.rss_mb: list[float] = []

    def candle(self, event: NewCandleEvent) -> None:
        self.seen += 1
        if len(self.candle_at) > 4096:
            self.candle_at.clear()
            self.signal_at.clear()
        self.candle_at[event.correlation_id] = time.perf_counter()
        if self.seen % self.every == 0:
            self.rss_mb.append(_rss_mb())

    def signal(self, event: EntrySignalEvent | ExitSignalEvent) -> None:
        self.signal_at.setdefault(event.correlation_id, time.perf_counter())

    def sending(self, send: Any) -> Any:
        """``send`` (the terminal's ``order_send``) noting when each request is handed over."""

        def order_send(request: Any) -> Any:
            self.sent_at = time.perf_counter()
            return send(request)

        return order_send

    def order(self, event: OrderPlacedEvent) -> None:
        now = time.perf_counter()
        started = self.candle_at.get(event.correlation_id)
        signalled = self.signal_at.get(event.correlation_id)
        if started is not None:
            self.latency.append(now - started)
            # one terminal lane: the last request handed over is this fill's
            self.to_terminal.append(self.sent_at - started)
            if signalled is not None:
                self.to_signal.append(signalled - started)
                self.to_order.append(now - signalled)


async def run_engine(bars: int) -> dict[str, Any]:
    cfg = engine_config(Path(MEMORY))
    clock = SimClock(cfg.terminal.sim.start.timestamp())
    built, _ = open_terminal(cfg.terminal, clock, cfg.trading.symbols)
    # The whole run must stay readable afterwards for the peer: no "max bars in chart" cap.
    sim = dataclasses.replace(built.config, maxbars=bars + 10 * WARMUP)
    terminal = mt5sim.Terminal(sim, clock=clock.time, sleep=clock.advance)
    terminal.initialize()
    history = terminal.copy_rates_from_pos("EURUSD", mt5sim.TIMEFRAME_M1, 1, WARMUP)
    # As ``backtest --engine pipeline`` runs it: the journal in memory, written in the loop.
    engine = TradingOrchestrator.from_config(
        cfg,
        clock=clock,
        terminal=terminal,
        in_process=True,
        max_bars=bars,
        journal_thread=False,
    )
    probe = Probe(bars)
    terminal.order_send = probe.sending(terminal.order_send)
    engine.subscribe(NewCandleEvent, probe.candle)
    engine.subscribe(EntrySignalEvent, probe.signal)
    engine.subscribe(ExitSignalEvent, probe.signal)
    engine.subscribe(OrderPlacedEvent, probe.order)
    async with engine:
        gc.freeze()
        started = time.perf_counter()
        summary = await engine.run()
        elapsed = time.perf_counter() - started
        last = engine.data_state.validators[("EURUSD", mt5sim.TIMEFRAME_M1)].last_time
        first = int(history["time"][-1]) + 1
        run_bars = _bars_between(terminal, first, last)
        entries = _filled_entries(engine.journal)
    gc.unfreeze()
    return {
        "bars": summary.bars,
        "seconds": elapsed,
        "entries": entries,
        "series": np.concatenate((history, run_bars)),
        "latency": np.frombuffer(probe.latency, dtype=np.float64).copy(),
        "to_signal": np.frombuffer(probe.to_signal, dtype=np.float64).copy(),
        "to_order": np.frombuffer(probe.to_order, dtype=np.float64).copy(),
        "to_terminal": np.frombuffer(probe.to_terminal, dtype=np.float64).copy(),
        "rss_mb": probe.rss_mb,
    }


def run_fast(bars: int) -> dict[str, Any]:
    """The fast engine (``BacktestEngine``) on the same configuration and bars."""
    cfg = engine_config(Path("unused.db"))
    gc.collect()
    started = time.perf_counter()
    result = BacktestEngine(cfg, bars=bars).run()
    elapsed = time.perf_counter() - started
    return {
        "bars": result.bars,
        "seconds": elapsed,
        "entries": len(result.trades) + result.open_positions,
        "fingerprint": result.fingerprint,
    }


def h1_config() -> SystemConfig:
    """``ema_cross`` on H1 with ATR stops (2) and targets (3), on M1-generated data."""
    cfg = ConfigLoader.load(
        ROOT / "configs" / "eurusd.yaml",
        overrides={
            "terminal.sim.market_mode": "m1",
            "terminal.sim.history_days": 30,
            "trading.timeframes": ["H1"],
            "services.indicator_calculation.warmup_bars": 200,
            "logging.level": "ERROR",
            "terminal.sim.balance": 1e6,
            "risk.daily_loss_limit": 1e9,
            "risk.max_drawdown_pct": 100,
        },
    )
    strategy = StrategyConfig(
        name="ema_cross",
        class_path="ema_cross",
        params={"regime_filter": False, "sl_atr": 2, "tp_atr": 3, "volume": 0.1},
    )
    return cfg.model_copy(update={"strategies": [strategy]})


def run_h1(m1_bars: int) -> dict[str, Any]:
    """The fast engine on H1 over about ``m1_bars`` M1 bars; M1 bars covered per second."""
    cfg = h1_config()
    engine = BacktestEngine(cfg, bars=max(1, m1_bars // 60))
    started = time.perf_counter()
    result = engine.run()
    elapsed = time.perf_counter() - started
    covered = (result.end - result.start) // 60  # M1 slots of the run (weekends included)
    return {
        "seconds": elapsed,
        "m1_bars": covered,
        "trades": len(result.trades),
        "reasons": sorted({t.close_reason for t in result.trades}),
        "refreshes": engine.refreshes,
        "skipped": engine.refreshes_skipped,
        "setup": engine.setup_seconds,
    }


def _peak_rss_of_fast_run(bars: int) -> float:
    """Peak resident memory (MB) of a fresh process that runs the fast engine's H1 run over
    ``bars`` M1 bars."""
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent (this process,
    # big after the pipeline's run), VmHWM belongs to the new program's own memory
    code = (
        "import sys; sys.path.insert(0, sys.argv[2]);"
        "from bench_engine import run_h1; run_h1(int(sys.argv[1]));"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0];"
        "print(int(hwm.split()[1]) / 1024)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(bars), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def _bars_between(terminal: Any, first: int, last: int) -> np.ndarray[Any, Any]:
    """The M1 bars from ``first`` to ``last`` (server time), fetched a month at a time."""
    chunks = []
    start = first
    while start <= last:
        end = min(start + 30 * 86_400, last)
        chunks.append(terminal.copy_rates_range("EURUSD", mt5sim.TIMEFRAME_M1, start, end))
        start = end + 1
    return np.concatenate(chunks)


def _filled_entries(journal: Any) -> int:
    return sum(1 for o in journal.orders() if o.intent == "open" and (o.filled_volume or 0) > 0)


class EmaCross(Strategy):  # type: ignore[misc]  # backtesting.py is untyped
    """backtesting.py's side: ``ema_cross``'s rules (exit on the opposite cross, then enter the
    new way on a later bar if the EMAs still point that way), EMAs from the engine's kernels."""

    def init(self) -> None:
        close = np.asarray(self.data.Close, dtype=np.float64)
        self.fast = self.I(kernels.ema, close, 12)
        self.slow = self.I(kernels.ema, close, 26)
        self.pending = 0

    def next(self) -> None:
        up = crossover(self.fast, self.slow)
        down = crossover(self.slow, self.fast)
        if self.position:
            if (up and self.position.is_short) or (down and self.position.is_long):
                self.position.close()
                self.pending = 1 if up else -1
            return
        side = 1 if up else -1 if down else 0
        if not side and self.pending:
            sign = np.sign(self.fast[-1] - self.slow[-1])
            side = self.pending if sign == self.pending else 0
        self.pending = 0
        if side > 0:
            self.buy(size=0.1)
        elif side < 0:
            self.sell(size=0.1)


def run_backtesting_py(series: np.ndarray[Any, Any], warmup: int) -> dict[str, Any]:
    frame = pd.DataFrame(
        {
            "Open": series["open"],
            "High": series["high"],
            "Low": series["low"],
            "Close": series["close"],
            "Volume": series["tick_volume"].astype(np.float64),
        },
        index=pd.to_datetime(series["time"], unit="s"),
    )
    bt = Backtest(frame, EmaCross, cash=1_000_000, commission=0.0, finalize_trades=True)
    started = time.perf_counter()
    stats = bt.run()
    elapsed = time.perf_counter() - started
    trades = stats["_trades"]
    entries = int((trades["EntryBar"] >= warmup).sum())
    return {"bars": len(series) - warmup, "seconds": elapsed, "entries": entries, "trades": trades}


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _fmt(values: list[float]) -> str:
    return f"{min(values):>10,.0f} {statistics.median(values):>10,.0f} {max(values):>10,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run_engine(2_000))  # warm-up: numba kernels compiled or loaded from the cache
    run_fast(2_000)
    fast_rates: list[float] = []
    fast_ratios: list[float] = []
    engine_rates: list[float] = []
    peer_rates: list[float] = []
    ratios: list[float] = []
    last: dict[str, Any] = {}
    for r in range(args.rounds):
        engine = asyncio.run(run_engine(args.bars))
        peer = run_backtesting_py(engine["series"], WARMUP)
        # The first and last bars differ (the peer sees a cross on the first bar from the warm-up
        # history, and fills an entry signalled on the last bar): a couple of entries at most.
        if abs(engine["entries"] - peer["entries"]) > 2:
            raise SystemExit(
                f"round {r}: the engine made {engine['entries']} entries, backtesting.py "
                f"{peer['entries']}: they do not agree"
            )
        fast = run_fast(args.bars)
        if fast["entries"] != engine["entries"]:
            raise SystemExit(
                f"round {r}: the fast engine made {fast['entries']} entries, the pipeline "
                f"{engine['entries']}: they do not agree"
            )
        fast_rates.append(fast["bars"] / fast["seconds"])
        engine_rates.append(engine["bars"] / engine["seconds"])
        peer_rates.append(peer["bars"] / peer["seconds"])
        ratios.append(engine_rates[-1] / peer_rates[-1])
        fast_ratios.append(fast_rates[-1] / peer_rates[-1])
        last = engine
        print(
            f"round {r}: fast {fast_rates[-1]:,.0f} bars/s, "
            f"pipeline {engine_rates[-1]:,.0f} bars/s ({engine['entries']} entries), "
            f"backtesting.py {peer_rates[-1]:,.0f} bars/s ({peer['entries']} entries)"
        )
    latency = last["latency"] * 1e6
    print(f"\n{'bars per second':28} {'min':>10} {'median':>10} {'max':>10}")
    print(f"{'fast engine':28} {_fmt(fast_rates)}")
    print(f"{'pipeline (4 services, sim)':28} {_fmt(engine_rates)}")
    print(f"{'backtesting.py 0.6.6':28} {_fmt(peer_rates)}")
    if len(latency):
        p50, p99 = np.percentile(latency, [50, 99])
        print(f"candle -> order sent: p50 {p50:,.0f} us, p99 {p99:,.0f} us ({len(latency)} orders)")
        for label, key in (
            ("of which candle -> signal", "to_signal"),
            ("of which signal -> order sent", "to_order"),
            ("candle -> request handed to the terminal", "to_terminal"),
        ):
            part = last[key] * 1e6
            if len(part):
                q50, q99 = np.percentile(part, [50, 99])
                print(f"  {label}: p50 {q50:,.0f} us, p99 {q99:,.0f} us")
    print(
        "resident memory every 10% of the bars (MB): "
        + " ".join(f"{m:.0f}" for m in last["rss_mb"])
    )
    print(
        f"peak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    print(
        f"{args.bars:,} M1 bars x {args.rounds} rounds; python {platform.python_version()}, "
        f"{os.cpu_count()} cpus, {platform.processor() or platform.machine()}"
    )
    print(f"ratio pipeline / backtesting.py (median of rounds): {statistics.median(ratios):.2f}x")
    print(f"ratio fast / backtesting.py (median of rounds): {statistics.median(fast_ratios):.2f}x")
    run_h1(60 * 300)  # warm-up
    h1_rates = []
    h1_setups = []
    for r in range(args.rounds):
        h1 = run_h1(args.bars)
        h1_rates.append(h1["m1_bars"] / h1["seconds"])
        h1_setups.append(h1["setup"])
        print(
            f"H1 round {r}: {h1['m1_bars']:,} M1 bars in {h1['seconds']:.2f} s "
            f"(set-up {h1['setup']:.2f} s), {h1['trades']} trades {h1['reasons']}, "
            f"refreshes {h1['refreshes']} (skipped {h1['skipped']})"
        )
    print(f"{'fast engine, H1 with SL/TP':28} {_fmt(h1_rates)} M1 bars/s")
    print(
        f"{'  of which set-up (s)':28} {min(h1_setups):>10.2f} "
        f"{statistics.median(h1_setups):>10.2f} {max(h1_setups):>10.2f}"
    )
    sizes = sorted({100_000, min(300_000, args.bars), args.bars})
    peaks = [_peak_rss_of_fast_run(n) for n in sizes]
    print(
        "fast engine peak resident memory: "
        + ", ".join(f"{mb:.0f} MB at {n:,} bars" for n, mb in zip(sizes, peaks, strict=True))
    )
    if len(sizes) > 1 and sizes[-1] > sizes[0]:
        per = (peaks[-1] - peaks[0]) / (sizes[-1] - sizes[0]) * 100_000
        print(f"  growth from {sizes[0]:,} to {sizes[-1]:,} bars: {per:.1f} MB per 100,000 M1 bars")


if __name__ == "__main__":
    main()
