"""A terminal reached through the mt5linux bridge: the ``MetaTrader5`` API over RPyC.

mt5linux's Windows side is an RPyC *classic* server in the Python next to the terminal; its Linux
side, ``mt5linux.MetaTrader5(host, port, timeout)``, sends each call as a line of code
(``mt5.order_send({...})``) to be evaluated there. ``BridgeTerminal`` wraps that client so the
port can treat it like the ``MetaTrader5`` module:

- each call is one round trip: the line mt5linux would send (``mt5.<name>(*args, **kwargs)``),
  evaluated through the client's ``eval`` inside ``_te_plain(...)``, a helper the client defines
  in the server's namespace at connect. It turns the answer into builtins there: a struct (or a
  tuple of them) into its fields (``_asdict()``, which the real package and the simulator both
  have), a numpy array into its dtype and bytes. rpyc passes builtins by value, so nothing comes
  back as a *remote proxy* (each field read a round trip, dead with the connection), and the
  structs are rebuilt here as named tuples, the arrays as real numpy arrays. mt5linux's own
  ``copy_rates_*`` methods copy a proxy of the array with ``rpyc.classic.obtain`` instead, which
  costs many times more per call (``scripts/bench_bridge.py``);
- arguments are made builtins (a numpy scalar's repr would not evaluate remotely);
- ``initialize`` opens the connection (retrying for ``connect_wait`` wall seconds); a lost
  connection drops it, and the call raises ``OSError``/``EOFError`` (the port's connection
  errors); without a connection ``last_error()`` is ``(-10004, 'No IPC connection')``;
- with ``sim_clock`` (a ``trading-engine sim-server --clock client``), the engine's clock is sent
  to the server before a call whenever it has moved, so the simulated market is at the engine's
  time.

mt5linux is an optional dependency (``pip install 'trading-engine[bridge]'``), imported here only.
"""

from __future__ import annotations

import collections
import contextlib
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import numpy as np

__all__ = ["IPC_NO_CONNECTION", "REMOTE_HELPERS", "BridgeTerminal", "load_client_class"]

IPC_NO_CONNECTION: Final = (-10004, "No IPC connection")

REMOTE_HELPERS: Final = '''
def _te_plain(value):
    """A result as builtins: ('__struct__', name, ((field, value), ...)) for a struct,
    ('__ndarray__', dtype descr, bytes) for an array."""
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return ("__struct__", type(value).__name__,
                tuple((k, _te_plain(v)) for k, v in value._asdict().items()))
    if isinstance(value, (tuple, list)):
        return tuple(_te_plain(v) for v in value)
    if type(value).__module__ == "numpy":
        if getattr(value, "ndim", 0) > 0:
            descr = tuple(tuple(d) for d in value.dtype.descr)
            return ("__ndarray__", descr, value.tobytes())
        return value.item()
    return value
'''
"""Defined in the server's namespace at connect: answers come back as values, in one trip."""

_LOCAL_CALLS: Final = frozenset({"last_error"})


def load_client_class() -> Any:
    """``mt5linux.MetaTrader5``; ``ImportError`` with the install hint when it is missing."""
    try:
        from mt5linux import MetaTrader5
    except ImportError as exc:
        raise ImportError(
            "the mt5linux bridge client is not installed: pip install 'trading-engine[bridge]'"
        ) from exc
    return MetaTrader5


class BridgeTerminal:
    """The ``MetaTrader5`` API of a terminal behind an mt5linux server (module docstring)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout: float,
        connect_wait: float = 0.0,
        clock: Callable[[], float] | None = None,
        client_class: Any | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.connect_wait = connect_wait
        self._clock = clock
        self._client_class = client_class if client_class is not None else load_client_class()
        self._client: Any | None = None
        self._pushed: float | None = None
        self._types: dict[tuple[str, tuple[str, ...]], type[Any]] = {}
        self.connects = 0

    @property
    def connected(self) -> bool:
        """True while a connection to the bridge's server is open."""
        return self._client is not None

    # -- the API -------------------------------------------------------------------------------

    def initialize(self, *args: Any, **kwargs: Any) -> Any:
        """Open the connection when there is none, then ``initialize`` the remote terminal."""
        if self._client is None:
            self._connect()
        return self._invoke("initialize", args, kwargs)

    def shutdown(self) -> Any:
        """``shutdown`` the remote terminal and close the connection."""
        if self._client is None:
            return None
        try:
            return self._invoke("shutdown", (), {})
        finally:
            self.disconnect()

    def last_error(self) -> tuple[int, str]:
        """The remote ``last_error()``; ``(-10004, 'No IPC connection')`` when not connected."""
        if self._client is None:
            return IPC_NO_CONNECTION
        code, message = self._guarded("last_error", self._client.last_error)
        return int(code), str(message)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_") or name in _LOCAL_CALLS:
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._invoke(name, args, kwargs)

        call.__name__ = name
        return call

    def disconnect(self) -> None:
        """Close the connection (no remote call); the next ``initialize`` opens a new one."""
        client, self._client, self._pushed = self._client, None, None
        _close(client)

    # -- internals -----------------------------------------------------------------------------

    def _connect(self) -> None:
        deadline = time.monotonic() + self.connect_wait
        while True:
            client = None
            try:
                # rpyc leaks its socket when the connection is refused: probe with our own first
                socket.create_connection((self.host, self.port), timeout=self.timeout).close()
                client = self._client_class(self.host, self.port, timeout=self.timeout)
                client.execute(REMOTE_HELPERS)
            except (OSError, EOFError):
                _close(client)
                if time.monotonic() >= deadline:
                    raise
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
                continue
            self._client = client
            self._pushed = None
            self.connects += 1
            return

    def _invoke(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        client = self._client
        if client is None:
            raise ConnectionError(f"{name}: not connected to the bridge at {self.host}:{self.port}")
        if self._clock is not None:
            self._push_time(client)
        args, kwargs = _arguments(name, args, kwargs)
        code = f"_te_plain(mt5.{name}(*{args!r}, **{kwargs!r}))"
        return self._rebuild(self._guarded(name, lambda: client.eval(code)))

    def _push_time(self, client: Any) -> None:
        assert self._clock is not None
        now = float(self._clock())
        if now != self._pushed:
            self._guarded("sim_set_time", lambda: client.execute(f"mt5.sim_set_time({now!r})"))
            self._pushed = now

    def _guarded(self, name: str, work: Callable[[], Any]) -> Any:
        """Run ``work``; a lost connection (OSError, EOFError) is dropped, then re-raised."""
        try:
            return work()
        except (OSError, EOFError):
            self.disconnect()
            raise

    def _rebuild(self, value: Any) -> Any:
        if isinstance(value, tuple):
            if len(value) == 3 and value[0] == "__ndarray__":
                dtype = np.dtype([tuple(field) for field in value[1]])
                return np.frombuffer(value[2], dtype=dtype).copy()
            if len(value) == 3 and value[0] == "__struct__":
                _, type_name, items = value
                names = tuple(str(k) for k, _ in items)
                key = (str(type_name), names)
                if key not in self._types:
                    self._types[key] = collections.namedtuple(key[0], names)
                return self._types[key](*(self._rebuild(v) for _, v in items))
            return tuple(self._rebuild(v) for v in value)
        return value


def _close(client: Any) -> None:
    """Close an mt5linux client's connection (it has no method for that; ``__del__`` neither)."""
    conn = getattr(client, "_MetaTrader5__conn", None)  # name-mangled private attribute
    if conn is not None:
        with contextlib.suppress(Exception):
            conn.close()


def _arguments(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Arguments whose repr evaluates on the server (builtins, datetimes)."""
    if name in ("order_send", "order_check") and args and isinstance(args[0], Mapping):
        args = ({str(k): _builtin(v) for k, v in args[0].items()}, *args[1:])
    return tuple(_builtin(a) for a in args), {k: _builtin(v) for k, v in kwargs.items()}


def _builtin(value: Any) -> Any:
    """A numpy scalar as its Python value (its repr would not evaluate on the server)."""
    item = getattr(value, "item", None)
    if item is not None and type(value).__module__ == "numpy":
        return item()
    return value
