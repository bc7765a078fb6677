"""Prometheus export of the engine's metrics: families from a real run, served over HTTP."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from trading_engine import SimClock, TradingOrchestrator
from trading_engine.config import ConfigLoader
from trading_engine.observability.metrics import EngineCollector, serve_metrics


def _engine(tmp_path: Path) -> TradingOrchestrator:
    config = ConfigLoader.load(
        Path(__file__).parents[3] / "configs" / "eurusd.yaml",
        overrides={"journal.path": str(tmp_path / "j.db"), "logging.level": "ERROR"},
    )
    clock = SimClock(config.terminal.sim.start.timestamp())
    return TradingOrchestrator.from_config(config, clock=clock, max_bars=300, warmup_bars=300)


def _value(text: str, sample: str) -> float:
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{sample} not in the exposition")


async def test_collector_exports_the_engine_counters_channels_and_services(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    registry = CollectorRegistry()
    registry.register(EngineCollector(engine.get_all_metrics))
    async with engine:
        await engine.run()
        text = generate_latest(registry).decode()

    assert _value(text, "trading_engine_bars_total") == 300
    assert _value(text, 'trading_engine_channel_sent_total{channel="candles"}') == 300
    assert _value(text, "trading_engine_orders_total") == engine.execution_stats.orders_sent
    assert 'trading_engine_service_up{service="trade_execution"}' in text
    assert _value(text, 'trading_engine_service_restarts_total{service="data_fetching"}') == 0


def test_serve_metrics_answers_on_loopback() -> None:
    metrics = {
        "services": {"data_fetching": {"bars_emitted": 42}},
        "channels": {"candles": {"depth": 3, "sent": 42}},
    }
    server = serve_metrics(lambda: metrics, 0)  # the OS picks a free port: no race for one
    port = server.server_port
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
            text = reply.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert _value(text, "trading_engine_bars_total") == 42
    assert _value(text, 'trading_engine_channel_depth{channel="candles"}') == 3
