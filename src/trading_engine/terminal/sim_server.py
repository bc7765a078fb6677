"""``trading-engine sim-server``: the simulated terminal served as mt5linux's Windows side serves
the real one.

mt5linux's server is rpyc's *classic* server (``rpyc_classic``: a ``ThreadedServer`` of
``SlaveService``) run by the Python next to the terminal; a client connects, executes
``import MetaTrader5 as mt5`` and then evaluates ``mt5.<call>(...)`` lines. Here the same server
runs with ``sys.modules["MetaTrader5"]`` set to a module whose functions are those of one
``mt5sim.Terminal`` (and the package's constants), so the real client reaches the simulator over
the network exactly as it reaches a terminal under Wine.

Two additions, both outside the ``MetaTrader5`` API:

- the clock (``ServerClock``): ``wall`` follows the wall clock from now on, like a demo server;
  ``client`` holds simulated time where the connected engine last set it (``mt5.sim_set_time``,
  sent by the engine's bridge client with ``terminal.mt5linux.sim_clock``), never backwards, so
  a run over the bridge is as deterministic as one in process;
- the account log (``--state FILE``, ``AccountLog``): every ``order_send`` and ``symbol_select``
  is appended (time, call, arguments) and fsynced once it has executed; a server started again
  on the same file replays them on a terminal built from the same configuration, which restores
  the account, its tickets and its history (the generated market is a function of the seed and
  the time), as a broker's server keeps the account when the terminal's machine restarts.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

__all__ = ["LOGGED_CALLS", "AccountLog", "ServerClock", "SimServer", "served_module"]

LOGGED_CALLS: Final = ("order_send", "symbol_select")
"""The calls that change the account or Market Watch (the rest only read)."""

API_FUNCTIONS: Final = (
    "initialize",
    "login",
    "shutdown",
    "version",
    "last_error",
    "account_info",
    "terminal_info",
    "symbols_total",
    "symbols_get",
    "symbol_info",
    "symbol_info_tick",
    "symbol_select",
    "market_book_add",
    "market_book_get",
    "market_book_release",
    "copy_rates_from",
    "copy_rates_from_pos",
    "copy_rates_range",
    "copy_ticks_from",
    "copy_ticks_range",
    "orders_total",
    "orders_get",
    "order_calc_margin",
    "order_calc_profit",
    "order_check",
    "order_send",
    "positions_total",
    "positions_get",
    "history_orders_total",
    "history_orders_get",
    "history_deals_total",
    "history_deals_get",
    "Buy",
    "Sell",
    "Close",
)


class ServerClock:
    """The simulated terminal's time: the wall clock, or the time a client last set."""

    def __init__(self, start: float, *, follow_wall: bool) -> None:
        self._now = start
        self.follow_wall = follow_wall
        self._replaying = False
        self._lock = threading.Lock()

    def time(self) -> float:
        """UTC epoch seconds."""
        if self.follow_wall and not self._replaying:
            return max(self._now, time.time())
        return self._now

    def set_time(self, when: float) -> None:
        """Move time to ``when``; earlier times are ignored (time never goes back)."""
        with self._lock:
            self._now = max(self._now, float(when))

    def replaying(self, on: bool) -> None:
        """While replaying the account log, time is only what ``set_time`` says."""
        self._replaying = on


class AccountLog:
    """The calls that changed the account, one JSON line each, fsynced (module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def records(self) -> list[dict[str, Any]]:
        """The logged calls, oldest first (a torn last line from a kill is dropped)."""
        if not self.path.exists():
            return []
        out: list[dict[str, Any]] = []
        with self.path.open(encoding="utf-8") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    break
        return out

    def append(self, when: float, call: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Write one call durably."""
        line = json.dumps({"time": when, "call": call, "args": list(args), "kwargs": kwargs})
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

    def replay(self, terminal: Any, clock: ServerClock) -> int:
        """Make the logged calls again on ``terminal`` at their times; the number replayed."""
        records = self.records()
        clock.replaying(True)
        try:
            was = terminal.initialize()
            for record in records:
                clock.set_time(record["time"])
                getattr(terminal, record["call"])(*record["args"], **record["kwargs"])
            if was:
                terminal.shutdown()
        finally:
            clock.replaying(False)
        return len(records)


def served_module(terminal: Any, clock: ServerClock, log: AccountLog | None) -> types.ModuleType:
    """A ``MetaTrader5`` module: the package's constants, ``terminal``'s functions, the clock."""
    from trading_engine import mt5sim

    module = types.ModuleType("MetaTrader5", "The simulated terminal, served (trading-engine).")
    for name in mt5sim.__all__:
        value = getattr(mt5sim, name)
        if isinstance(value, (int, float, str, type)):
            setattr(module, name, value)
    module.__version__ = mt5sim.__version__  # type: ignore[attr-defined]
    module.__author__ = mt5sim.__author__  # type: ignore[attr-defined]
    for name in API_FUNCTIONS:
        function = getattr(terminal, name)
        if log is not None and name in LOGGED_CALLS:
            function = _logged(function, name, clock, log)
        setattr(module, name, function)
    module.sim_set_time = clock.set_time  # type: ignore[attr-defined]
    module.sim_time = clock.time  # type: ignore[attr-defined]
    return module


def _logged(
    function: Callable[..., Any], name: str, clock: ServerClock, log: AccountLog
) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        when = clock.time()
        result = function(*args, **kwargs)
        if result is not None and result is not False:
            log.append(when, name, args, kwargs)
        return result

    call.__name__ = name
    return call


class SimServer:
    """rpyc's classic server with ``MetaTrader5`` = ``module``, on ``host:port`` (0 = any)."""

    def __init__(self, module: types.ModuleType, host: str, port: int) -> None:
        from rpyc.core.service import SlaveService
        from rpyc.utils.server import ThreadedServer

        sys.modules["MetaTrader5"] = module
        self._server = ThreadedServer(
            SlaveService, hostname=host, port=port, reuse_addr=True, logger=_quiet_logger()
        )
        self.host = host
        self.port = int(self._server.port)

    def serve(self) -> None:
        """Serve until ``close()`` (blocks)."""
        self._server.start()

    def close(self) -> None:
        """Stop accepting and close every connection."""
        self._server.close()


def _quiet_logger() -> Any:
    import logging

    logger = logging.getLogger("trading_engine.sim_server.rpyc")
    logger.setLevel(logging.WARNING)
    return logger
