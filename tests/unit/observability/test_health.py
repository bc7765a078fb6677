"""``/healthz`` and ``/readyz`` on the metrics port; only ``/metrics`` serves metrics."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from trading_engine import SimClock, TradingOrchestrator
from trading_engine.config import ConfigLoader
from trading_engine.observability.health import HealthProbes
from trading_engine.observability.metrics import EngineCollector, serve_metrics


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop running in a thread of its own (the engine's, as the probes see it)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_probes_answer_json_and_only_metrics_serve_metrics(
    loop: asyncio.AbstractEventLoop,
) -> None:
    checks: dict[str, Any] = {"reconciled": True, "not_halted": True, "risk_state": "ACTIVE"}
    probes = HealthProbes(loop, lambda: checks)
    port = _free_port()
    source = {"services": {"data_fetching": {"bars_emitted": 7}}}
    server = serve_metrics(
        lambda: source, port, probes={"/healthz": probes.healthz, "/readyz": probes.readyz}
    )
    try:
        status, body = _get(port, "/healthz")
        assert status == 200
        assert json.loads(body)["status"] == "ok"
        status, body = _get(port, "/readyz")
        assert (status, json.loads(body)["status"]) == (200, "ready")
        checks["not_halted"] = False
        status, body = _get(port, "/readyz")
        assert status == 503
        assert json.loads(body)["failed"] == ["not_halted"]
        assert json.loads(body)["checks"]["risk_state"] == "ACTIVE"
        status, body = _get(port, "/metrics")
        assert status == 200
        assert "trading_engine_bars_total 7.0" in body
        for other in ("/", "/metrics/x", "/health"):
            status, body = _get(port, other)
            assert status == 404, other
            assert "trading_engine_bars_total" not in body
    finally:
        server.shutdown()
        server.server_close()


def test_a_blocked_loop_fails_both_probes(loop: asyncio.AbstractEventLoop) -> None:
    probes = HealthProbes(loop, lambda: {"reconciled": True}, timeout=0.2)
    assert probes.healthz()[0] == 200
    loop.call_soon_threadsafe(time.sleep, 1.0)  # the loop hangs for a second
    time.sleep(0.05)
    status, body = probes.healthz()
    assert status == 503
    assert body["status"] == "unhealthy"
    assert probes.readyz()[0] == 503
    time.sleep(1.2)
    assert probes.healthz()[0] == 200


async def test_an_engine_is_ready_after_start_and_exports_risk_and_account(tmp_path: Path) -> None:
    config = ConfigLoader.load(
        Path(__file__).parents[3] / "configs" / "eurusd.yaml",
        overrides={"journal.path": str(tmp_path / "j.db"), "logging.level": "ERROR"},
    )
    engine = TradingOrchestrator.from_config(
        config, clock=SimClock(config.terminal.sim.start.timestamp()), max_bars=120
    )
    assert engine.readiness()["running"] is False
    registry = CollectorRegistry()
    registry.register(EngineCollector(engine.get_all_metrics))
    async with engine:
        ready = engine.readiness()
        assert ready["reconciled"]
        assert ready["terminal_connected"]
        assert ready["not_halted"]
        await engine.run()
        text = generate_latest(registry).decode()
    assert 'trading_engine_risk_state{state="ACTIVE"} 1.0' in text
    assert 'trading_engine_risk_state{state="HALTED"} 0.0' in text
    assert "trading_engine_balance " in text, text
    assert "trading_engine_equity " in text
