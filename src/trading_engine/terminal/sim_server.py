"""``trading-engine sim-server``: the simulated terminal served as mt5linux's Windows side serves
the real one.

mt5linux's server is rpyc's *classic* server (``rpyc_classic``: a ``ThreadedServer`` of
``SlaveService``) run by the Python next to the terminal; a client connects, executes
``import MetaTrader5 as mt5`` and then evaluates ``mt5.<call>(...)`` lines. Here the same server
runs with ``sys.modules["MetaTrader5"]`` set to a module whose functions are those of one
``mt5sim.Terminal`` (and the package's constants), so the real client reaches the simulator over
the network exactly as it reaches a terminal under Wine.

Outside the ``MetaTrader5`` API:

- the clock (``ServerClock``): ``wall`` follows the wall clock from now on, like a demo server;
  ``client`` holds simulated time where the connected engine last set it (``mt5.sim_set_time``,
  sent by the engine's bridge client with ``terminal.mt5linux.sim_clock``), never backwards, so
  a run over the bridge is as deterministic as one in process;
- the account (``open_served_terminal``): kept in an account file (``mt5sim.store``, the one
  ``run`` keeps its simulated account in: one SQLite transaction per change), so that a server
  started again on the same file (even after a SIGKILL) comes back with the account, its tickets,
  its history and its clock, as a broker's server keeps the account when the terminal's machine
  restarts. A resumed account keeps the market it was made with (its start is part of the file's
  identity); its clock starts where the file's stopped.
"""

from __future__ import annotations

import sys
import threading
import time
import types
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trading_engine.errors import ConfigError
from trading_engine.terminal.config import SimTerminalConfig, TerminalConfig
from trading_engine.terminal.factory import build_sim_terminal, open_account

if TYPE_CHECKING:
    from trading_engine import mt5sim
    from trading_engine.mt5sim.store import AccountStore

__all__ = [
    "ServedTerminal",
    "ServerClock",
    "SimServer",
    "default_account",
    "open_served_terminal",
    "served_module",
]


class ServerClock:
    """The simulated terminal's time: the wall clock, or the time a client last set."""

    def __init__(self, start: float, *, follow_wall: bool) -> None:
        self._now = start
        self.follow_wall = follow_wall
        self._lock = threading.Lock()

    def time(self) -> float:
        """UTC epoch seconds."""
        if self.follow_wall:
            return max(self._now, time.time())
        return self._now

    def set_time(self, when: float) -> None:
        """Move time to ``when``; earlier times are ignored (time never goes back)."""
        with self._lock:
            self._now = max(self._now, float(when))


def default_account(terminal: TerminalConfig, journal_path: str | Path) -> Path | None:
    """The server's account file when ``--account`` is not given: ``terminal.sim.account_path``,
    else the journal's path with ``.sim-server.db`` for its suffix (apart from the file ``run``
    keeps its in-process account in); None when ``terminal.sim.persist`` is false or the
    journal is in memory."""
    sim = terminal.sim
    if not sim.persist:
        return None
    if sim.account_path is not None:
        return sim.account_path
    if str(journal_path) == ":memory:":
        return None
    return Path(journal_path).with_suffix(".sim-server.db")


@dataclass(frozen=True, slots=True)
class ServedTerminal:
    """The terminal a sim-server serves, its clock, and its account file (None: not kept)."""

    terminal: mt5sim.Terminal
    clock: ServerClock
    store: AccountStore | None

    @property
    def resumed(self) -> bool:
        """The account was restored from its file."""
        return self.store is not None and self.store.resumed


def open_served_terminal(
    sim: SimTerminalConfig,
    symbols: list[str],
    account: Path | None,
    *,
    follow_wall: bool,
    fresh: bool = False,
) -> ServedTerminal:
    """The simulated terminal of ``terminal.sim`` keeping its account in ``account`` (resumed
    unless ``fresh`` or ``terminal.sim.resume`` is false). A new account's market starts now
    (``follow_wall``) or at ``terminal.sim.start``; a resumed one's at the start it was made
    with, its clock where the file's stopped (the wall clock's time when later)."""
    from trading_engine.mt5sim.store import AccountMismatch, saved_clock, saved_start

    if fresh:
        sim = sim.model_copy(update={"resume": False})
    saved: tuple[float, float] | None = None
    made: float | None = None
    if account is not None and sim.resume:
        try:
            saved, made = saved_clock(account), saved_start(account)
        except AccountMismatch as exc:
            raise ConfigError(f"{exc}; start anew with --fresh", key="--account") from None
    if saved is not None and made is not None:
        market_start, clock_start = made, saved[0]
    else:
        market_start = time.time() if follow_wall else sim.start.timestamp()
        clock_start = market_start
    clock = ServerClock(clock_start, follow_wall=follow_wall)
    store = open_account(sim, account, clock.time()) if account is not None else None
    terminal = build_sim_terminal(
        sim,
        symbols,
        clock.time,
        None,
        start=datetime.fromtimestamp(market_start, tz=UTC),
        store=store,
    )
    return ServedTerminal(terminal, clock, store)


def served_module(terminal: Any, clock: ServerClock) -> types.ModuleType:
    """A ``MetaTrader5`` module: the package's constants, ``terminal``'s functions, the clock."""
    from trading_engine import mt5sim

    module = types.ModuleType("MetaTrader5", "The simulated terminal, served (trading-engine).")
    for name in mt5sim.__all__:
        value = getattr(mt5sim, name)
        if isinstance(value, (int, float, str, type)):
            setattr(module, name, value)
        elif hasattr(terminal, name):  # an API function: the served terminal's own
            setattr(module, name, getattr(terminal, name))
    module.__version__ = mt5sim.__version__  # type: ignore[attr-defined]
    module.__author__ = mt5sim.__author__  # type: ignore[attr-defined]
    module.sim_set_time = clock.set_time  # type: ignore[attr-defined]
    module.sim_time = clock.time  # type: ignore[attr-defined]
    return module


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
