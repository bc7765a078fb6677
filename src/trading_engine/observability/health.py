"""Liveness and readiness probes for the metrics port (``/healthz``, ``/readyz``).

Both are answered from the HTTP server's thread by running a small function *on the engine's event
loop* (``run_coroutine_threadsafe``) and waiting at most ``timeout`` seconds for it: a loop that is
blocked or gone fails both probes, and the engine's state is read on its own thread.

- ``/healthz``: 200 ``{"status": "ok", ...}`` when the loop answered in time, else 503.
- ``/readyz``: 200 when every check of the source's ``readiness()`` dict is true (reconciled,
  terminal connected, not HALTED, running), else 503 with the checks that failed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["HealthProbes", "Probe"]

Probe = Callable[[], tuple[int, dict[str, Any]]]
"""A probe: returns the HTTP status and the JSON body."""


class HealthProbes:
    """The two probes over an engine running on ``loop``.

    ``readiness`` runs on the loop and returns ``{check name: bool}`` plus any details under
    other value types (strings, numbers), which are reported but not judged.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        readiness: Callable[[], Mapping[str, Any]],
        *,
        timeout: float = 2.0,
    ) -> None:
        self._loop = loop
        self._readiness = readiness
        self._timeout = timeout

    def _on_loop(self, fn: Callable[[], Any]) -> tuple[Any, float] | None:
        """``fn()`` run on the loop, and the seconds it took to be served; None when the loop did
        not answer within the timeout (blocked, stopped or closed)."""

        async def call() -> Any:
            return fn()

        started = time.monotonic()
        try:
            future = asyncio.run_coroutine_threadsafe(call(), self._loop)
        except RuntimeError:  # the loop is closed
            return None
        try:
            value = future.result(self._timeout)
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
            future.cancel()
            return None
        return value, time.monotonic() - started

    def healthz(self) -> tuple[int, dict[str, Any]]:
        """200 when the event loop runs a callback within the timeout, else 503."""
        answer = self._on_loop(lambda: None)
        if answer is None:
            return 503, {"status": "unhealthy", "reason": f"loop silent for {self._timeout:g} s"}
        return 200, {"status": "ok", "loop_latency_ms": round(answer[1] * 1000.0, 3)}

    def readyz(self) -> tuple[int, dict[str, Any]]:
        """200 when every boolean check of ``readiness()`` holds, else 503 naming the failures."""
        answer = self._on_loop(lambda: dict(self._readiness()))
        if answer is None:
            return 503, {"status": "not ready", "failed": ["loop"], "checks": {}}
        checks: dict[str, Any] = answer[0]
        failed = [name for name, ok in checks.items() if isinstance(ok, bool) and not ok]
        body = {"status": "not ready" if failed else "ready", "failed": failed, "checks": checks}
        return (503 if failed else 200), body
