"""Benchmark of the mt5linux bridge: terminal calls per second over the bridge against in process.

Method of ``docs/performance.md``: the same terminal on both sides (``trading-engine sim-server
--clock client`` in a subprocess on a loopback port, reached through the real mt5linux client
wrapped in ``BridgeTerminal``, the engine's ``terminal.kind: mt5linux``; and an ``mt5sim.Terminal``
in this process, built from the same configuration, its clock held at the same instant), the
answers compared before timing, then interleaved rounds; min / median / max calls per second and
the median ratio in process / bridge. Calls:

- ``copy_rates_from_pos(EURUSD, M1, 1, 1)``: the engine's poll of the last closed bar;
- ``copy_rates_from_pos(EURUSD, M1, 0, 1000)``: a warm-up read;
- ``symbol_info_tick(EURUSD)``;
- ``order_send``: a market buy of 0.01 lots, then its close, alternately (hedging account);
- ``last_error()``: the port reads it after every call, so over the bridge each call costs one
  more round trip of this size.

Usage: ``python scripts/bench_bridge.py [--rounds 7] [--calls 200]``
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from trading_engine.config import ConfigLoader
from trading_engine.terminal.bridge import BridgeTerminal, load_client_class
from trading_engine.terminal.factory import build_sim_terminal

START = "2024-01-10T12:00:00Z"
SETTINGS = {
    "trading.symbols": ["EURUSD"],
    "trading.timeframes": ["M1"],
    "terminal.sim.start": START,
    "terminal.sim.history_days": 5,
    "terminal.sim.seed": 20251125,
    "logging.level": "WARNING",
}
REPO = Path(__file__).resolve().parents[1]


def start_server() -> tuple[subprocess.Popen[str], int]:
    sets = [a for k, v in SETTINGS.items() for a in ("--set", f"{k}={v}")]
    command = [sys.executable, "-m", "trading_engine", "sim-server", "--config"]
    command += [str(REPO / "configs" / "eurusd.yaml"), "--port", "0", "--clock", "client", *sets]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r":(\d+) ", line)
    if not found:
        raise SystemExit(f"sim-server did not start: {line!r}")
    return process, int(found.group(1))


class Orders:
    """Alternately open a 0.01-lot buy and close it (one ``order_send`` per call)."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self.open: int | None = None
        self.tick = api.symbol_info_tick("EURUSD")  # the clock stands still: prices too

    def __call__(self) -> Any:
        tick = self.tick
        request: dict[str, Any] = {
            "action": 1,
            "symbol": "EURUSD",
            "volume": 0.01,
            "deviation": 20,
            "magic": 7,
            "type_filling": 1,
            "type_time": 0,
        }
        if self.open is None:
            request |= {"type": 0, "price": tick.ask}
        else:
            request |= {"type": 1, "price": tick.bid, "position": self.open}
        result = self.api.order_send(request)
        assert result is not None, self.api.last_error()
        assert result.retcode == 10009, result
        self.open = int(result.order) if self.open is None else None
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=200, help="calls per round and side")
    args = parser.parse_args()

    config = ConfigLoader.load(None, overrides=SETTINGS, environ={})
    now = config.terminal.sim.start.timestamp()
    local = build_sim_terminal(config.terminal.sim, ["EURUSD"], lambda: now, None)
    assert local.initialize()
    process, port = start_server()
    try:
        remote = BridgeTerminal("127.0.0.1", port, timeout=30, clock=lambda: now)
        assert remote.initialize(), remote.last_error()
        raw = load_client_class()("127.0.0.1", port, timeout=30)  # mt5linux's methods as they are
        run({"in process": local, "bridge": remote, "mt5linux": raw}, args.rounds, args.calls)
        remote.shutdown()
    finally:
        process.terminate()
        process.wait(timeout=30)


def run(sides: dict[str, Any], rounds: int, calls: int) -> None:
    cases: list[tuple[str, Callable[[Any], Callable[[], Any]]]] = [
        ("copy_rates_from_pos 1 bar", lambda t: lambda: t.copy_rates_from_pos("EURUSD", 1, 1, 1)),
        (
            "copy_rates_from_pos 1000 bars",
            lambda t: lambda: t.copy_rates_from_pos("EURUSD", 1, 0, 1000),
        ),
        ("symbol_info_tick", lambda t: lambda: t.symbol_info_tick("EURUSD")),
        ("order_send", lambda t: Orders(t)),
        ("last_error", lambda t: lambda: t.last_error()),
    ]
    print(
        f"{rounds} rounds x {calls} calls per side; calls per second (min / median / max); "
        "bridge = BridgeTerminal (terminal.kind: mt5linux), mt5linux = the client's own methods"
    )
    for name, make in cases:
        calls_of = {side: make(api) for side, api in sides.items()}
        answers = {side: call() for side, call in calls_of.items()}
        for side, answer in answers.items():
            check(f"{name} ({side})", answers["in process"], answer)
        speeds: dict[str, list[float]] = {side: [] for side in sides}
        for _ in range(rounds):
            for side, call in calls_of.items():
                speeds[side].append(per_second(call, calls))
        for side, values in speeds.items():
            ratio = statistics.median(
                a / b for a, b in zip(speeds["in process"], values, strict=True)
            )
            print(
                f"  {name:<30} {side:<10} {min(values):>10,.0f} / "
                f"{statistics.median(values):>10,.0f} / {max(values):>10,.0f}   "
                f"{1e6 / statistics.median(values):>8,.1f} us/call  in process/this {ratio:,.0f}x"
            )
    print(
        f"machine: {os.cpu_count()} cpus, {platform.processor() or platform.machine()}; "
        f"python {platform.python_version()}, mt5linux {version('mt5linux')}, "
        f"rpyc {version('rpyc')}, numpy {np.__version__}"
    )


def check(name: str, here: Any, there: Any) -> None:
    """Both sides give the same answer (arrays equal, structs field by field)."""
    if isinstance(here, np.ndarray):
        assert type(there) is np.ndarray, f"{name}: {type(there)}"
        assert np.array_equal(here, there), name
        return
    if hasattr(here, "_asdict"):
        mine, theirs = dict(here._asdict()), dict(there._asdict())
        skip = (
            {"request_id", "deal", "order", "request"} if name.startswith("order_send") else set()
        )
        for key in mine.keys() - skip:
            assert mine[key] == theirs[key], f"{name}: {key} {mine[key]!r} != {theirs[key]!r}"
        return
    assert tuple(here) == tuple(there), (name, here, there)


def per_second(call: Callable[[], Any], n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        call()
    return n / (time.perf_counter() - started)


if __name__ == "__main__":
    main()
