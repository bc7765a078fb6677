"""The engine through the real mt5linux client against ``trading-engine sim-server`` (a subprocess
on a loopback port): the same trades as in process, a server restart mid-run, a server that never
comes back."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from trading_engine.backtest.fingerprint import fingerprint
from trading_engine.backtest.result import trades_from_deals
from trading_engine.clock import LiveClock
from trading_engine.config import SystemConfig
from trading_engine.errors import TerminalConnectionError, TerminalError
from trading_engine.events import OrderFilledEvent
from trading_engine.journal.store import Journal
from trading_engine.orchestrator import TradingOrchestrator
from trading_engine.terminal import PortSettings, TerminalPort
from trading_engine.terminal.bridge import BridgeTerminal

from .conftest import MAGIC, START, check_books, engine, make_config, our_deals, sim_clock

pytestmark = pytest.mark.timeout(300)

REPO = Path(__file__).resolve().parents[2]
BARS = 2_000
SERVER_SETTINGS = {
    "trading.symbols": "[EURUSD]",
    "terminal.sim.start": START,
    "terminal.sim.history_days": "2",
    "terminal.sim.seed": "7",
    "logging.level": "WARNING",
}
"""The sim-server's terminal: the ``terminal.sim`` section ``make_config`` gives the engine."""

EMA = {
    "name": "ema",
    "class_path": "ema_cross",
    "params": {"sl_atr": 1.5, "tp_atr": 2.0},
}


class Server:
    """A ``trading-engine sim-server --clock client`` subprocess."""

    def __init__(self, account: Path, port: int = 0, clock: str = "client", *extra: str) -> None:
        sets = [a for k, v in SERVER_SETTINGS.items() for a in ("--set", f"{k}={v}")]
        sets += extra
        config = str(REPO / "configs" / "eurusd.yaml")
        command = [sys.executable, "-m", "trading_engine", "sim-server", "--config", config]
        command += ["--port", str(port), "--clock", clock, "--account", str(account), *sets]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        found = re.search(r"on 127\.0\.0\.1:(\d+) ", line)
        assert found, (line, self.process.stderr.read() if self.process.stderr else "")
        self.port = int(found.group(1))
        self.line = line

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    """Started servers, killed at the end of the test."""
    started: list[Server] = []
    yield started
    for server in started:
        server.kill()


def remote_config(journal: Path, port: int, **overrides: Any) -> SystemConfig:
    return make_config(
        journal,
        [EMA],
        **{
            "terminal.kind": "mt5linux",
            "terminal.mt5linux.port": port,
            "terminal.mt5linux.sim_clock": True,
            **overrides,
        },
    )


def remote_engine(config: SystemConfig, max_bars: int) -> TradingOrchestrator:
    return TradingOrchestrator.from_config(
        config, clock=sim_clock(config), max_bars=max_bars, warmup_bars=300
    )


def trades(deals: list[Any]) -> list[tuple[Any, ...]]:
    """What must agree between two runs: every deal of ours, field by field."""
    return [
        (
            int(d.ticket),
            int(d.order),
            int(d.time_msc),
            int(d.type),
            int(d.entry),
            int(d.reason),
            int(d.position_id),
            round(float(d.volume), 2),
            round(float(d.price), 5),
            round(float(d.profit), 2),
            str(d.comment),
        )
        for d in deals
    ]


def run_fingerprint(eng: TradingOrchestrator, journal: Path) -> str:
    """The parity fingerprint (``backtest.fingerprint``) of a finished run: its closed trades as
    the terminal's deals and the journal tell them, and its order counts."""
    with Journal.open(journal) as book:
        rows = book.closed_positions() + book.open_positions()
    closed = trades_from_deals(
        our_deals(eng.terminal),
        magic=MAGIC,
        strategies={r.ticket: r.strategy or "" for r in rows},
        reasons={r.ticket: r.close_reason or "signal" for r in rows},
        stops={r.ticket: (r.sl, r.tp) for r in rows},
    )
    stats = eng.execution_stats
    counts = {
        "orders": stats.orders_sent,
        "fills": stats.fills,
        "rejections": stats.rejected,
        "risk_refusals": stats.blocked,
    }
    return fingerprint(SimpleNamespace(trades=closed, counts=counts))  # type: ignore[arg-type]


async def in_process_run(tmp_path: Path, bars: int) -> tuple[list[tuple[Any, ...]], str]:
    """The deals and the fingerprint of the same run with the simulator in process."""
    journal = tmp_path / "local.db"
    eng = engine(make_config(journal, [EMA]), max_bars=bars)
    async with eng:
        await eng.run()
    return trades(our_deals(eng.terminal)), run_fingerprint(eng, journal)


async def test_engine_over_the_bridge_makes_the_same_trades_as_in_process(
    tmp_path: Path, servers: list[Server]
) -> None:
    servers.append(Server(tmp_path / "server.db"))
    journal = tmp_path / "remote.db"
    eng = remote_engine(remote_config(journal, servers[0].port), BARS)
    async with eng:
        summary = await eng.run()
    bridge = eng.terminal
    assert type(bridge).__name__ == "BridgeTerminal"
    assert summary.bars >= BARS
    remote = trades(our_deals(bridge))
    local, local_fingerprint = await in_process_run(tmp_path, BARS)
    assert len(local) >= 20, "the strategy must trade for the comparison to mean anything"
    assert remote == local
    assert run_fingerprint(eng, journal) == local_fingerprint
    check_books(journal, bridge)
    rates = bridge.copy_rates_from_pos("EURUSD", 1, 0, 10)
    assert type(rates) is np.ndarray
    assert rates.dtype.itemsize == 60
    bridge.shutdown()


async def test_server_killed_and_restarted_mid_run_the_engine_reconnects_and_reconciles(
    tmp_path: Path, servers: list[Server]
) -> None:
    account = tmp_path / "server.db"
    servers.append(Server(account))
    port = servers[0].port
    journal = tmp_path / "remote.db"
    config = remote_config(journal, port, **{"terminal.mt5linux.connect_wait": 30.0})
    eng = remote_engine(config, BARS)
    restarted: list[int] = []

    fills: list[Any] = []

    def restart() -> None:
        servers.append(Server(account, port=port))
        restarted.append(servers[-1].port)

    def on_fill(event: Any) -> None:  # after the 5th fill: SIGKILL, no goodbye on the wire
        fills.append(event)
        if len(fills) == 5:
            servers[-1].kill()
            threading.Timer(1.0, restart).start()  # down for a while: the engine keeps trying

    eng.subscribe(OrderFilledEvent, on_fill)
    async with eng:
        await eng.run()
    assert restarted == [port]
    assert "new)" in servers[0].line
    assert f"account {account} resumed)" in servers[-1].line  # the store brought it back
    assert eng.port.metrics()["reconnects"] >= 1
    bridge = eng.terminal
    check_books(journal, bridge)  # nothing lost, nothing twice
    local, local_fingerprint = await in_process_run(tmp_path, BARS)
    assert trades(our_deals(bridge)) == local
    assert run_fingerprint(eng, journal) == local_fingerprint
    bridge.shutdown()


def test_a_server_that_never_comes_back_ends_run_with_exit_5(
    tmp_path: Path, servers: list[Server]
) -> None:
    servers.append(Server(tmp_path / "server.db"))
    port = servers[0].port
    config = tmp_path / "bridge.yaml"
    config.write_text(
        "trading: {symbols: [EURUSD], timeframes: [M1]}\n"
        f"terminal:\n  kind: mt5linux\n  reconnect_attempts: 2\n  call_timeout: 5\n"
        f"  mt5linux: {{port: {port}, sim_clock: true, connect_wait: 0.5}}\n"
        f"  sim: {{start: '{START}', history_days: 2, seed: 7}}\n"
        f"journal: {{path: {tmp_path / 'j.db'}}}\n"
        "strategies: [{name: ema, class_path: ema_cross}]\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "trading_engine", "run", "--config", str(config), "--speed", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:  # wait until it trades over the bridge, then pull the plug
        if "terminal connected" in line:
            break
    servers[0].kill()
    _, err = process.communicate(timeout=120)
    assert process.returncode == 5, err[-2000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith("trading-engine: error:"), last
    assert "Traceback" not in err


async def test_unreachable_bridge_fails_connect_with_a_connection_error() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = PortSettings(reconnect_attempts=2, backoff_base=0.01, backoff_cap=0.01)
    port_ = TerminalPort(
        BridgeTerminal("127.0.0.1", port, timeout=5), clock=LiveClock(), settings=settings
    )
    with pytest.raises(TerminalConnectionError, match="ConnectionRefusedError"):
        await port_.connect()
    assert port_.metrics()["reconnect_failures"] == 1


async def test_threaded_lane_over_the_bridge_on_the_wall_clock(
    tmp_path: Path, servers: list[Server]
) -> None:
    servers.append(Server(tmp_path / "server.db", clock="wall"))
    bridge = BridgeTerminal("127.0.0.1", servers[0].port, timeout=5)
    async with TerminalPort(bridge, clock=LiveClock(), settings=PortSettings()) as port:
        rules = await port.symbol_rules("EURUSD")
        assert rules.digits == 5
        rates = await port.copy_rates_from_pos("EURUSD", 1, 0, 100)
        assert type(rates) is np.ndarray
        assert len(rates) == 100
        assert rates.dtype.names is not None
        assert rates.dtype.names[0] == "time"
        tick = await port.symbol_info_tick("EURUSD")
        assert tick.ask > tick.bid > 0
        info = await port.account_info()
        assert info._asdict()["balance"] == 10_000.0
        with pytest.raises(TerminalError, match="Call failed"):
            await port.symbol_info("NOPE")  # a terminal error stays a terminal error
        assert port.metrics()["calls"] >= 6


async def test_a_call_slower_than_the_call_timeout_times_out_in_the_lane_over_the_bridge(
    tmp_path: Path, servers: list[Server]
) -> None:
    latency = ("--set", "terminal.sim.latency=1.5")  # wall seconds each served call takes
    servers.append(Server(tmp_path / "server.db", 0, "wall", *latency))
    settings = PortSettings(
        call_timeout=0.3, reconnect_attempts=2, backoff_base=0.01, backoff_cap=0.01
    )
    bridge = BridgeTerminal("127.0.0.1", servers[0].port, timeout=5)
    port = TerminalPort(bridge, clock=LiveClock(), settings=settings)
    await port.connect()  # initialize() does not pay the simulated latency
    with pytest.raises(TerminalConnectionError, match="no answer within"):
        await port.account_info()
    metrics = port.metrics()
    assert metrics["timeouts"] >= 1
    assert metrics["errors_by_code"][-10005] >= 1  # a lane timeout reads as 'IPC timeout'
    bridge.disconnect()  # the abandoned call in its thread ends with the connection
