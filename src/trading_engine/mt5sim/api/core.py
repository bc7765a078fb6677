"""The state and plumbing shared by the API groups of ``Terminal`` (see ``terminal.py``)."""

from __future__ import annotations

import operator
import threading
import time as _time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from trading_engine.mt5sim.api.requests import to_seconds
from trading_engine.mt5sim.api.session import Now
from trading_engine.mt5sim.config import SimConfig
from trading_engine.mt5sim.faults import Faults
from trading_engine.mt5sim.market.cursor import FeedCursor
from trading_engine.mt5sim.market.data import MarketData
from trading_engine.mt5sim.market.servertime import ServerTime
from trading_engine.mt5sim.server.catchup import Catchup
from trading_engine.mt5sim.server.ledger import Ledger
from trading_engine.mt5sim.server.money import Money
from trading_engine.mt5sim.server.trade_server import TradeServer
from trading_engine.mt5sim.spec import constants as c
from trading_engine.mt5sim.spec.errors import SUCCESS, ErrorState
from trading_engine.mt5sim.spec.structs import (
    AccountInfo,
    SymbolInfo,
    TerminalInfo,
)
from trading_engine.mt5sim.spec.symbols import SymbolSpec
from trading_engine.mt5sim.store import AccountStore

__all__ = ["CALL_FAILED", "NO_IPC", "SYMBOL_FIELDS", "TerminalCore", "int_arg"]


CALL_FAILED = c.RES_E_FAIL
"""last_error code of a call the terminal refuses (unknown symbol, not selected, ...)."""
NO_IPC = c.RES_E_INTERNAL_FAIL_CONNECT
"""last_error code before ``initialize()`` and during a disconnect."""
SYMBOL_FIELDS = SymbolInfo._names


def int_arg(value: Any) -> int:
    """An integer argument (not a float, not a string), else TypeError/ValueError."""
    if type(value) is int:
        return value
    if isinstance(value, float):
        raise TypeError("float")
    return operator.index(value)


class TerminalCore:
    """State and plumbing of a simulated terminal; the API groups are mixins over it.

    ``clock`` returns the simulated time as UTC epoch seconds (default: the wall clock);
    ``sleep`` spends the per-call latency (default ``time.sleep``; tests pass their fake clock's
    advance function so that no test waits on the wall clock).
    """

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        store: AccountStore | None = None,
    ) -> None:
        cfg = config if config is not None else SimConfig()
        self.config = cfg
        self._clock: Callable[[], float] = clock if clock is not None else _time.time
        self._sleep: Callable[[float], None] = sleep if sleep is not None else _time.sleep
        self._lock = threading.RLock()
        self._error = ErrorState()
        self.faults = Faults(self._clock, cfg.faults, on_restart=self._restart)
        self.faults.latency = cfg.latency
        self.specs: dict[str, SymbolSpec] = cfg.specs()
        st = cfg.server_time if cfg.server_time is not None else ServerTime.eet()
        created = self._clock()
        if cfg.history_files is not None:
            files = {k: Path(v) for k, v in cfg.history_files.items()}
            self.market = MarketData.from_history(self.specs, files, server_time=st)
        else:
            start = cfg.start.timestamp() if cfg.start is not None else created
            self.market = MarketData.generated(
                self.specs,
                seed=cfg.seed,
                start_utc=start,
                history_days=cfg.history_days,
                server_time=st,
                mode=cfg.market_mode,
            )
        self._now = Now(self.market, self.faults, cfg)
        self._now.at_utc(created)
        self.ledger = Ledger()
        self.ledger.deposit(cfg.balance, self._now.now_msc)
        self.money = Money(self.specs.values(), cfg.currency, cfg.leverage)
        self.server = TradeServer(
            self.specs, cfg, self.money, self.ledger, self._now, np.random.default_rng(cfg.seed)
        )
        self._catchup = Catchup(
            self.server,
            self.market.ticks_between,
            self._now.at_server_msc,
            self._now.now_msc,
            self.market.tick_bounds,
        )
        self._initialized = False
        self.trade_allowed = cfg.trade_allowed
        """The terminal's AutoTrading button (order_send answers 10027 when off)."""
        watch = cfg.market_watch if cfg.market_watch is not None else self.specs
        self._selected: set[str] = {s for s in watch if s in self.specs}
        self._books: set[str] = set()
        self._short_done: set[tuple[str, int]] = set()
        self._request_id = 0
        self._account_static: tuple[SimConfig, tuple[Any, ...], tuple[Any, ...]] | None = None
        self._cursors: dict[str, FeedCursor] = {}
        self._store = store
        if store is not None:
            store.attach(self)

    @property
    def store(self) -> AccountStore | None:
        """The file that keeps the account (None: the account lives in memory only)."""
        return self._store

    # -- plumbing ---------------------------------------------------------------------------

    def _begin(self) -> bool:
        """Latency, IPC faults, initialisation, catch-up. False = the call fails."""
        faults = self.faults
        if faults.latency > 0:
            self._sleep(faults.latency)
        now = self._clock()
        if faults:
            f = faults.take("disconnect", now)
            if f is not None:
                self._error.set(f.code if f.code is not None else NO_IPC)
                return False
            if faults.take("restart", now) is not None:
                self._initialized = False
        if not self._initialized:
            self._error.set(NO_IPC)
            return False
        nw = self._now
        if now != nw.now_utc:
            nw.at_utc(now)
            if nw.now_msc > self._catchup.synced_msc:
                self._catchup.advance(nw.now_msc)
                if nw.now_utc != now:
                    nw.at_utc(now)
            if self._store is not None:
                self._store.changed(self, now)
        return True

    def _restart(self) -> None:
        with self._lock:
            self._initialized = False
            self._error.ok()

    def _fail(self, code: int, description: str | None = None) -> None:
        self._error.set(code, description)

    def _date_arg(self, name: str, value: Any) -> int | None:
        """A date argument in seconds, or None with the argument error set."""
        try:
            return to_seconds(value)
        except (TypeError, ValueError, OverflowError):
            self._error.argument(name)
            return None

    def _dates(self, date_from: Any, date_to: Any) -> tuple[int, int] | None:
        """``date_from`` and ``date_to`` in seconds, or None with the argument error set."""
        start = self._date_arg("date_from", date_from)
        end = None if start is None else self._date_arg("date_to", date_to)
        return None if start is None or end is None else (start, end)

    def _spec(self, symbol: Any) -> SymbolSpec | None:
        if not isinstance(symbol, str):
            self._error.argument("symbol")
            return None
        spec = self.specs.get(symbol)
        if spec is None:
            self._fail(CALL_FAILED)
        return spec

    @property
    def now_utc(self) -> float:
        """The instant the terminal last caught up to (UTC epoch seconds)."""
        return self._now.now_utc

    # -- connection -------------------------------------------------------------------------

    def initialize(
        self,
        path: str | None = None,
        /,
        *,
        login: int | None = None,
        password: str | None = None,
        server: str | None = None,
        timeout: int = 60_000,
        portable: bool = False,
    ) -> bool:
        """Connect to the (simulated) terminal; optionally log in to ``login``."""
        with self._lock:
            now = self._clock()
            if self.faults:
                f = self.faults.take("disconnect", now)
                if f is not None:
                    self._fail(c.RES_E_INTERNAL_FAIL_INIT if f.code == NO_IPC else f.code or NO_IPC)
                    return False
            if login is not None and not self._credentials_ok(login, password, server):
                self._fail(c.RES_E_AUTH_FAILED)
                return False
            self._initialized = True
            self._now.at_utc(now)
            self._catchup.advance(self._now.now_msc)
            if self._store is not None:
                self._store.changed(self, now)
            self._error.ok()
            return True

    def _credentials_ok(self, login: Any, password: Any, server: Any) -> bool:
        cfg = self.config
        if login != cfg.login:
            return False
        if cfg.password is not None and password is not None and password != cfg.password:
            return False
        return server is None or server == cfg.server

    def login(
        self,
        login: int,
        /,
        *,
        password: str | None = None,
        server: str | None = None,
        timeout: int = 60_000,
    ) -> bool:
        """Log in to a trading account (the configured one)."""
        with self._lock:
            if not self._begin():
                return False
            if not self._credentials_ok(login, password, server):
                self._fail(c.RES_E_AUTH_FAILED)
                return False
            self._error.ok()
            return True

    def shutdown(self) -> None:
        """Disconnect; later calls fail until ``initialize()``."""
        with self._lock:
            self._initialized = False
            self._error.ok()

    def version(self) -> tuple[int, int, str] | None:
        """``(500, build, release date)``."""
        with self._lock:
            if not self._begin():
                return None
            self._error.ok()
            return (500, self.config.terminal_build, self.config.terminal_release)

    def last_error(self) -> tuple[int, str]:
        """The last call's ``(code, description)``."""
        with self._lock:
            return self._error.value

    # -- account and terminal ---------------------------------------------------------------

    def account_info(self) -> AccountInfo | None:
        """The account's figures now."""
        with self._lock:
            if not self._begin():
                return None
            f = self.server.figures()
            static = self._account_static
            if static is None or static[0] is not self.config:
                static = self._account_fields()
            self._error.value = SUCCESS
            return AccountInfo._make(
                (*static[1], f.balance, 0.0, *f[1:], *static[2])  # f: balance, profit, equity, ...
            )

    def _account_fields(self) -> tuple[SimConfig, tuple[Any, ...], tuple[Any, ...]]:
        """The configured fields of ``AccountInfo`` before and after the figures, cached with
        the config they come from."""
        cfg = self.config
        head = (
            cfg.login,
            cfg.account_trade_mode,
            cfg.leverage,
            cfg.limit_orders,
            cfg.margin_so_mode,
            True,
            True,
            cfg.margin_mode,
            cfg.currency_digits,
            False,
        )
        tail = (
            cfg.margin_so_call,
            cfg.margin_so_so,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            cfg.name,
            cfg.server,
            cfg.currency,
            cfg.company,
        )
        self._account_static = (cfg, head, tail)
        return self._account_static

    def terminal_info(self) -> TerminalInfo | None:
        """The terminal's state (``connected`` False during a no-connection fault)."""
        with self._lock:
            if not self._begin():
                return None
            cfg = self.config
            connected = self.faults.peek("no_connection", self._now.now_utc) is None
            self._error.ok()
            path = "C:\\Program Files\\MetaTrader 5"
            data = "C:\\Users\\sim\\AppData\\Roaming\\MetaQuotes\\Terminal\\SIM"
            return TerminalInfo._make(
                (
                    False,
                    False,
                    connected,
                    False,
                    self.trade_allowed,
                    False,
                    False,
                    False,
                    False,
                    False,
                    cfg.terminal_build,
                    cfg.maxbars,
                    0,
                    int(self.faults.latency * 1e6) if connected else 0,
                    0.0,
                    0.0,
                    cfg.company,
                    "MetaTrader 5",
                    "English",
                    path,
                    data,
                    "C:\\Users\\sim\\AppData\\Roaming\\MetaQuotes\\Terminal\\Common",
                )
            )
