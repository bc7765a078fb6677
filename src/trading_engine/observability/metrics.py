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
- ``terminal_calls_total``, ``terminal_reconnects_total``;
- ``balance``, ``equity`` (read at each health check); ``risk_state{state}`` (1 for the current
  one of ACTIVE / REDUCING / HALTED), ``risk_daily_loss``, ``risk_drawdown_pct``,
  ``risk_peak_equity``.

Only ``/metrics`` serves them; ``/healthz`` and ``/readyz`` (see ``observability.health``) answer
JSON, any other path 404.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from trading_engine.observability.health import Probe

if TYPE_CHECKING:
    from wsgiref.types import StartResponse

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
        yield from _account(metrics.get("account", {}), metrics.get("risk", {}))


_RISK_STATES = ("ACTIVE", "REDUCING", "HALTED")


def _account(account: Mapping[str, Any], risk: Mapping[str, Any]) -> Iterator[Metric]:
    for key, text in (("balance", "account balance"), ("equity", "account equity")):
        value = account.get(key)
        if value is not None:
            yield _gauge(key, text + ", account currency (at the last health check)", value)
    if not risk:
        return
    state = GaugeMetricFamily(
        _PREFIX + "risk_state", "1 for the current risk state", labels=["state"]
    )
    for name in _RISK_STATES:
        state.add_metric([name], 1.0 if risk.get("state") == name else 0.0)
    yield state
    yield _gauge("risk_daily_loss", "loss of the server day, account currency", risk["daily_loss"])
    yield _gauge("risk_drawdown_pct", "drawdown from the equity peak, %", risk["drawdown_pct"])
    if risk.get("peak_equity") is not None:
        yield _gauge("risk_peak_equity", "equity peak of the drawdown rule", risk["peak_equity"])


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


def serve_metrics(
    source: MetricsSource,
    port: int,
    addr: str = "127.0.0.1",
    probes: Mapping[str, Probe] | None = None,
) -> WSGIServer:
    """Serve ``source`` at ``http://addr:port/metrics`` from a daemon thread, and each of
    ``probes`` (path → probe, e.g. ``/healthz``) as JSON; any other path is 404.

    Returns the server: ``shutdown()`` then ``server_close()`` stop it. ``port=0`` takes a free
    port, given back as ``server.server_port``.
    """
    registry = CollectorRegistry()
    registry.register(EngineCollector(source))
    metrics_app = make_wsgi_app(registry)
    routes = dict(probes or {})

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics_app(environ, start_response)  # type: ignore[no-any-return]
        probe = routes.get(path)
        if probe is None:
            status, body = 404, {"error": f"no such path: {path}", "paths": ["/metrics", *routes]}
        else:
            status, body = probe()
        data = json.dumps(body).encode()
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
        )
        return [data]

    server = make_server(addr, port, app, _ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""
