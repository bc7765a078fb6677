"""Prometheus metrics of a running engine, read from its ``get_all_metrics()`` at each scrape.

Nothing is counted twice: the collector turns the engine's own metrics dict into Prometheus
families when scraped, so the hot path pays nothing. ``serve_metrics()`` starts the
``prometheus_client`` HTTP server (a daemon thread) on the given address; the CLI does it for
``run --metrics-port``. Families (all prefixed ``trading_engine_``):

- ``bars_total``, ``signals_total``, ``orders_total``, ``fills_total``, ``rejected_total``,
  ``blocked_total``, ``positions_closed_total``; ``open_positions``, ``realized_pnl``;
- ``service_up{service}`` (1 when RUNNING), ``service_restarts_total{service}``;
- ``channel_depth{channel}``, ``channel_peak_depth{channel}``, ``channel_sent_total{channel}``,
  ``channel_dropped_total{channel}``, ``channel_blocked_seconds_total{channel}``;
- ``terminal_calls_total``, ``terminal_reconnects_total``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["EngineCollector", "serve_metrics"]

MetricsSource = Callable[[], Mapping[str, Any]]

_PREFIX = "trading_engine_"
_EXECUTION_COUNTERS = (
    ("signals", "signals handled by the execution service"),
    ("orders_sent", "orders sent to the terminal"),
    ("fills", "orders filled, in part or whole"),
    ("rejected", "orders refused by the terminal or by normalisation"),
    ("blocked", "entries refused by the risk rules"),
    ("positions_closed", "positions closed (by signal, SL, TP, stop-out or by hand)"),
)


class EngineCollector(Collector):
    """A Prometheus collector over a metrics source such as ``engine.get_all_metrics``."""

    def __init__(self, source: MetricsSource) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        metrics = self._source()
        services: Mapping[str, Any] = metrics.get("services", {})
        bars = services.get("data_fetching", {}).get("bars_emitted", 0)
        yield _counter("bars", "bars emitted by the data service", bars)
        execution = services.get("trade_execution", {})
        for key, text in _EXECUTION_COUNTERS:
            name = "orders" if key == "orders_sent" else key
            yield _counter(name, text, execution.get(key, 0))
        yield _gauge(
            "open_positions", "open positions of this engine", execution.get("open_positions", 0)
        )
        yield _gauge(
            "realized_pnl", "realized P&L, account currency", execution.get("realized_pnl", 0.0)
        )
        yield from _services(metrics.get("supervisor", {}))
        yield from _channels(metrics.get("channels", {}))
        terminal = metrics.get("terminal", {})
        yield _counter("terminal_calls", "calls made to the terminal", terminal.get("calls", 0))
        yield _counter(
            "terminal_reconnects", "reconnects to the terminal", terminal.get("reconnects", 0)
        )


def _services(supervisor: Mapping[str, Any]) -> Iterator[Metric]:
    up = GaugeMetricFamily(
        _PREFIX + "service_up", "1 when the service is RUNNING", labels=["service"]
    )
    restarts = CounterMetricFamily(
        _PREFIX + "service_restarts", "restarts of the service", labels=["service"]
    )
    for name, child in supervisor.get("children", {}).items():
        up.add_metric([name], 1.0 if child.get("state") == "running" else 0.0)
        restarts.add_metric([name], float(child.get("restarts", 0)))
    yield up
    yield restarts


def _channels(channels: Mapping[str, Mapping[str, Any]]) -> Iterator[Metric]:
    families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {
        "depth": GaugeMetricFamily(_PREFIX + "channel_depth", "items waiting", labels=["channel"]),
        "peak_depth": GaugeMetricFamily(
            _PREFIX + "channel_peak_depth", "largest depth seen", labels=["channel"]
        ),
        "sent": CounterMetricFamily(_PREFIX + "channel_sent", "items sent", labels=["channel"]),
        "dropped": CounterMetricFamily(
            _PREFIX + "channel_dropped", "items dropped by coalescing", labels=["channel"]
        ),
        "blocked_seconds": CounterMetricFamily(
            _PREFIX + "channel_blocked_seconds",
            "time producers spent blocked on a full channel",
            labels=["channel"],
        ),
    }
    for name, stats in channels.items():
        for key, family in families.items():
            family.add_metric([name], float(stats.get(key, 0)))
    yield from families.values()


def _counter(name: str, text: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(_PREFIX + name, text, value=float(value))


def _gauge(name: str, text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(_PREFIX + name, text, value=float(value))


def serve_metrics(source: MetricsSource, port: int, addr: str = "127.0.0.1") -> WSGIServer:
    """Serve ``source`` at ``http://addr:port/metrics`` from a daemon thread.

    Returns the server: ``shutdown()`` then ``server_close()`` stop it. ``port=0`` takes a free
    port, given back as ``server.server_port``.
    """
    registry = CollectorRegistry()
    registry.register(EngineCollector(source))
    server, _thread = start_http_server(port, addr=addr, registry=registry)
    return server
