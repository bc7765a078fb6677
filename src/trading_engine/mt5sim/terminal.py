"""``Terminal``: one simulated MetaTrader 5 terminal with the ``MetaTrader5`` module's API.

Every method of the package is an attribute with the package's calling rules (copy_* and calc
functions positional-only, ``*_get`` filters keyword-only). Each call, under one re-entrant lock:
spends the configured latency through ``sleep``, fails with an IPC error while a disconnect fault
is active or before ``initialize()`` (None/False, ``last_error()`` -10004 'No IPC connection'),
catches the trade server up with the market to the clock's ``now`` (``catchup.py``), answers, and
leaves ``last_error()`` at ``(1, 'Success')`` or the failure's reason.

Decisions where the package is silent (see also the module docs of ``execution``/``catchup``):
- unknown symbol → None with ``(-1, 'Terminal: Call failed')``; an argument of the wrong type or
  value → None with ``(-2, 'Invalid "<name>" argument')``;
- ``symbol_info_tick`` needs the symbol in Market Watch (``symbol_select``); ``SimConfig``'s
  ``market_watch`` lists the symbols selected at start (None = all); copy_* work regardless;
- ``copy_rates_*`` serve only the newest ``maxbars`` bars;
- ``order_check`` is local to the terminal: the AutoTrading switch and connection faults do not
  apply to it; ``order_send`` rejections are ``OrderSendResult``s with ``last_error`` Success.
"""

from __future__ import annotations

import operator
import threading
import time as _time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from . import constants as c
from .bars import TIMEFRAME_NAMES
from .catchup import Catchup
from .config import SimConfig
from .errors import ErrorState
from .execution import Outcome, TradeServer
from .faults import Faults
from .groups import compile_group
from .ledger import Ledger, OrderRecord
from .market import MarketData
from .money import Money, is_buy
from .requests import RequestError, parse_request, to_seconds
from .servertime import ServerTime
from .session import Now
from .structs import (
    AccountInfo,
    BookInfo,
    OrderCheckResult,
    OrderSendResult,
    SymbolInfo,
    TerminalInfo,
    Tick,
    TradeDeal,
    TradeOrder,
    TradePosition,
    TradeRequest,
)
from .symbols import SymbolSpec

__all__ = ["Terminal"]

_CALL_FAILED = c.RES_E_FAIL
_NO_IPC = c.RES_E_INTERNAL_FAIL_CONNECT
_SYMBOL_FIELDS = SymbolInfo._names
_RATES_FUNCS = frozenset(("copy_rates_from", "copy_rates_from_pos", "copy_rates_range"))


def _int_arg(value: Any) -> int:
    if type(value) is int:
        return value
    if isinstance(value, float):
        raise TypeError("float")
    return operator.index(value)


class Terminal:
    """An isolated simulated terminal (market, account, trade server, faults).

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
            self.server, self.market.ticks_between, self._now.at_server_msc, self._now.now_msc
        )
        self._initialized = False
        self.trade_allowed = cfg.trade_allowed
        """The terminal's AutoTrading button (order_send answers 10027 when off)."""
        watch = cfg.market_watch if cfg.market_watch is not None else self.specs
        self._selected: set[str] = {s for s in watch if s in self.specs}
        self._books: set[str] = set()
        self._short_done: set[tuple[str, int]] = set()
        self._request_id = 0

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
                self._error.set(f.code if f.code is not None else _NO_IPC)
                return False
        if not self._initialized:
            self._error.set(_NO_IPC)
            return False
        nw = self._now
        if now != nw.now_utc:
            nw.at_utc(now)
            self._catchup.advance(nw.now_msc)
            if nw.now_utc != now:
                nw.at_utc(now)
        return True

    def _restart(self) -> None:
        with self._lock:
            self._initialized = False
            self._error.ok()

    def _fail(self, code: int, description: str | None = None) -> None:
        self._error.set(code, description)

    def _spec(self, symbol: Any) -> SymbolSpec | None:
        if not isinstance(symbol, str):
            self._error.argument("symbol")
            return None
        spec = self.specs.get(symbol)
        if spec is None:
            self._fail(_CALL_FAILED)
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
                    self._fail(
                        c.RES_E_INTERNAL_FAIL_INIT if f.code == _NO_IPC else f.code or _NO_IPC
                    )
                    return False
            if login is not None and not self._credentials_ok(login, password, server):
                self._fail(c.RES_E_AUTH_FAILED)
                return False
            self._initialized = True
            self._now.at_utc(now)
            self._catchup.advance(self._now.now_msc)
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
            cfg = self.config
            f = self.server.figures()
            self._error.ok()
            return AccountInfo._make(
                (
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
                    f.balance,
                    0.0,
                    f.profit,
                    f.equity,
                    f.margin,
                    f.margin_free,
                    f.margin_level,
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
            )

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

    # -- symbols ----------------------------------------------------------------------------

    def symbols_total(self) -> int:
        """Number of symbols (selected or not)."""
        with self._lock:
            if not self._begin():
                return 0
            self._error.ok()
            return len(self.specs)

    def symbols_get(self, *, group: str | None = None) -> tuple[SymbolInfo, ...] | None:
        """All symbols, or those matching the group mask."""
        with self._lock:
            if not self._begin():
                return None
            if group is not None and not isinstance(group, str):
                self._error.argument("group")
                return None
            pred = compile_group(group) if group else None
            out = tuple(
                self._symbol_info(s) for n, s in self.specs.items() if pred is None or pred(n)
            )
            self._error.ok()
            return out

    def symbol_info(self, symbol: str, /) -> SymbolInfo | None:
        """The symbol's properties, with the current quote."""
        with self._lock:
            if not self._begin():
                return None
            spec = self._spec(symbol)
            if spec is None:
                return None
            self._error.ok()
            return self._symbol_info(spec)

    def _symbol_info(self, spec: SymbolSpec) -> SymbolInfo:
        tick = self._now.tick(spec.name)
        stats = self.market.day_stats(spec.name, self._now.now_utc) if tick is not None else None
        selected = spec.name in self._selected
        live: dict[str, Any] = {
            "select": selected,
            "visible": selected,
            "time": 0,
            "spread": 0,
            "bid": 0.0,
            "ask": 0.0,
            "path": spec.path or spec.name,
            "ticks_bookdepth": spec.ticks_bookdepth,
            "currency_margin": spec.currency_margin or spec.currency_base,
            "trade_tick_value_profit": 0.0,
            "trade_tick_value_loss": 0.0,
        }
        tv = self.money.rate(spec.currency_profit, self._now.quote)
        if tv is not None:
            live["trade_tick_value"] = spec.trade_tick_size * spec.trade_contract_size * tv
            live["trade_tick_value_profit"] = live["trade_tick_value_loss"] = live[
                "trade_tick_value"
            ]
        if tick is not None:
            bid, ask = float(tick["bid"]), float(tick["ask"])
            live.update(
                time=int(tick["time"]),
                bid=bid,
                ask=ask,
                spread=round((ask - bid) / spec.point),
            )
        if stats is not None:
            live.update(
                bidhigh=stats.bidhigh,
                bidlow=stats.bidlow,
                askhigh=stats.askhigh,
                asklow=stats.asklow,
                session_open=stats.session_open,
                session_close=stats.session_close,
                price_change=(
                    round((live["bid"] / stats.session_close - 1.0) * 100.0, 4)
                    if stats.session_close
                    else 0.0
                ),
            )
        values = []
        for name in _SYMBOL_FIELDS:
            if name in live:
                values.append(live[name])
            else:
                values.append(getattr(spec, name, _zero(name)))
        return SymbolInfo._make(tuple(values))

    def symbol_info_tick(self, symbol: str, /) -> Tick | None:
        """The last tick (None unless the symbol is in Market Watch)."""
        with self._lock:
            if not self._begin():
                return None
            spec = self._spec(symbol)
            if spec is None:
                return None
            if spec.name not in self._selected:
                self._fail(_CALL_FAILED)
                return None
            t = self._now.tick(spec.name)
            if t is None:
                self._fail(_CALL_FAILED)
                return None
            self._error.ok()
            return _tick_struct(t)

    def symbol_select(self, symbol: str, enable: bool = True, /) -> bool:
        """Add to (or remove from) Market Watch; a symbol with positions/orders stays."""
        with self._lock:
            if not self._begin():
                return False
            spec = self._spec(symbol)
            if spec is None:
                return False
            if enable:
                self._selected.add(spec.name)
            else:
                busy = any(p.symbol == spec.name for p in self.ledger.positions.values()) or any(
                    o.symbol == spec.name for o in self.ledger.orders.values()
                )
                if busy:
                    self._fail(_CALL_FAILED)
                    return False
                self._selected.discard(spec.name)
                self._books.discard(spec.name)
            self._error.ok()
            return True

    def market_book_add(self, symbol: str, /) -> bool:
        """Subscribe to the symbol's depth of market."""
        with self._lock:
            if not self._begin():
                return False
            spec = self._spec(symbol)
            if spec is None:
                return False
            self._selected.add(spec.name)
            self._books.add(spec.name)
            self._error.ok()
            return True

    def market_book_release(self, symbol: str, /) -> bool:
        """Cancel the depth-of-market subscription."""
        with self._lock:
            if not self._begin():
                return False
            spec = self._spec(symbol)
            if spec is None:
                return False
            if spec.name not in self._books:
                self._fail(_CALL_FAILED)
                return False
            self._books.discard(spec.name)
            self._error.ok()
            return True

    def market_book_get(self, symbol: str, /) -> tuple[BookInfo, ...] | None:
        """Depth of market around the current quote (needs ``market_book_add``).

        Synthetic: ``ticks_bookdepth`` levels per side (5 when the spec says 0), one tick size
        apart, sells (highest first) then buys; each level holds ``liquidity`` lots (10 when
        unlimited) times its depth index.
        """
        with self._lock:
            if not self._begin():
                return None
            spec = self._spec(symbol)
            if spec is None:
                return None
            if spec.name not in self._books:
                self._fail(_CALL_FAILED)
                return None
            q = self._now.quote(spec.name)
            self._error.ok()
            if q is None:
                return ()
            depth = spec.ticks_bookdepth or 5
            step = spec.trade_tick_size or spec.point
            lots = self.config.liquidity or 10.0
            sells = [
                BookInfo._make(
                    (
                        c.BOOK_TYPE_SELL,
                        round(q[1] + i * step, spec.digits),
                        int(lots * (i + 1)),
                        lots * (i + 1),
                    )
                )
                for i in reversed(range(depth))
            ]
            buys = [
                BookInfo._make(
                    (
                        c.BOOK_TYPE_BUY,
                        round(q[0] - i * step, spec.digits),
                        int(lots * (i + 1)),
                        lots * (i + 1),
                    )
                )
                for i in range(depth)
            ]
            return tuple(sells + buys)

    # -- bars and ticks -----------------------------------------------------------------------

    def _rates_args(self, symbol: Any, timeframe: Any) -> SymbolSpec | None:
        spec = self._spec(symbol)
        if spec is None:
            return None
        try:
            tf = _int_arg(timeframe)
        except (TypeError, ValueError):
            self._error.argument("timeframe")
            return None
        if tf not in TIMEFRAME_NAMES:
            self._error.argument("timeframe")
            return None
        return spec

    def _finish_rates(
        self, symbol: str, timeframe: int, rates: npt.NDArray[np.void]
    ) -> npt.NDArray[np.void]:
        if self.config.history_sync_short and (symbol, timeframe) not in self._short_done:
            self._short_done.add((symbol, timeframe))
            rates = rates[len(rates) - len(rates) // 4 :].copy() if len(rates) > 1 else rates
        elif self.faults and self.faults.take("history_short", self._now.now_utc, symbol):
            rates = rates[len(rates) - len(rates) // 4 :].copy() if len(rates) > 1 else rates
        self._error.ok()
        return rates

    def _maxbars_floor(self, symbol: str, timeframe: int) -> int | None:
        """Open time of the oldest servable bar when more than ``maxbars`` exist, else None."""
        mb = self.config.maxbars
        now = self._now.now_utc
        if self.market.bars_count(symbol, timeframe, now) <= mb:
            return None
        oldest = self.market.copy_rates_from_pos(symbol, timeframe, mb - 1, 1, now)
        return int(oldest["time"][0]) if len(oldest) else None

    def copy_rates_from_pos(
        self, symbol: str, timeframe: int, start_pos: int, count: int, /
    ) -> npt.NDArray[np.void] | None:
        """``count`` bars ending ``start_pos`` bars back (0 = the forming bar), oldest first."""
        with self._lock:
            if not self._begin():
                return None
            spec = self._rates_args(symbol, timeframe)
            if spec is None:
                return None
            try:
                pos = _int_arg(start_pos)
                n = _int_arg(count)
                if pos < 0 or n < 0:
                    raise ValueError
            except (TypeError, ValueError):
                self._error.argument("count" if isinstance(start_pos, int) else "start_pos")
                return None
            mb = self.config.maxbars
            n = max(0, min(n, mb - pos))
            rates = self.market.copy_rates_from_pos(spec.name, timeframe, pos, n, self._now.now_utc)
            return self._finish_rates(spec.name, timeframe, rates)

    def copy_rates_from(
        self, symbol: str, timeframe: int, date_from: datetime | int, count: int, /
    ) -> npt.NDArray[np.void] | None:
        """``count`` bars opening at or before ``date_from``, oldest first."""
        with self._lock:
            if not self._begin():
                return None
            spec = self._rates_args(symbol, timeframe)
            if spec is None:
                return None
            try:
                t = to_seconds(date_from)
            except (TypeError, ValueError, OverflowError):
                self._error.argument("date_from")
                return None
            try:
                n = _int_arg(count)
                if n < 0:
                    raise ValueError
            except (TypeError, ValueError):
                self._error.argument("count")
                return None
            now = self._now.now_utc
            rates = self.market.copy_rates_from(spec.name, timeframe, t, n, now)
            floor = self._maxbars_floor(spec.name, timeframe) if len(rates) else None
            if floor is not None:
                rates = rates[rates["time"] >= floor]
            return self._finish_rates(spec.name, timeframe, rates)

    def copy_rates_range(
        self, symbol: str, timeframe: int, date_from: datetime | int, date_to: datetime | int, /
    ) -> npt.NDArray[np.void] | None:
        """Bars opening within ``[date_from, date_to]``, oldest first."""
        with self._lock:
            if not self._begin():
                return None
            spec = self._rates_args(symbol, timeframe)
            if spec is None:
                return None
            dates = []
            for name, value in (("date_from", date_from), ("date_to", date_to)):
                try:
                    dates.append(to_seconds(value))
                except (TypeError, ValueError, OverflowError):
                    self._error.argument(name)
                    return None
            now = self._now.now_utc
            rates = self.market.copy_rates_range(spec.name, timeframe, dates[0], dates[1], now)
            floor = self._maxbars_floor(spec.name, timeframe) if len(rates) else None
            if floor is not None:
                rates = rates[rates["time"] >= floor]
            return self._finish_rates(spec.name, timeframe, rates)

    def _tick_args(self, symbol: Any, flags: Any) -> tuple[SymbolSpec, int] | None:
        spec = self._spec(symbol)
        if spec is None:
            return None
        try:
            fl = _int_arg(flags)
        except (TypeError, ValueError):
            self._error.argument("flags")
            return None
        if fl not in (c.COPY_TICKS_ALL, c.COPY_TICKS_INFO, c.COPY_TICKS_TRADE):
            self._error.argument("flags")
            return None
        return spec, fl

    def copy_ticks_from(
        self, symbol: str, date_from: datetime | int, count: int, flags: int, /
    ) -> npt.NDArray[np.void] | None:
        """Up to ``count`` ticks from ``date_from`` on, oldest first."""
        with self._lock:
            if not self._begin():
                return None
            args = self._tick_args(symbol, flags)
            if args is None:
                return None
            try:
                t = to_seconds(date_from)
            except (TypeError, ValueError, OverflowError):
                self._error.argument("date_from")
                return None
            try:
                n = _int_arg(count)
                if n < 0:
                    raise ValueError
            except (TypeError, ValueError):
                self._error.argument("count")
                return None
            ticks = self.market.copy_ticks_from(
                args[0].name, t * 1000, n, args[1], self._now.now_utc
            )
            self._error.ok()
            return ticks

    def copy_ticks_range(
        self, symbol: str, date_from: datetime | int, date_to: datetime | int, flags: int, /
    ) -> npt.NDArray[np.void] | None:
        """Ticks within ``[date_from, date_to]`` (seconds), oldest first."""
        with self._lock:
            if not self._begin():
                return None
            args = self._tick_args(symbol, flags)
            if args is None:
                return None
            dates = []
            for name, value in (("date_from", date_from), ("date_to", date_to)):
                try:
                    dates.append(to_seconds(value))
                except (TypeError, ValueError, OverflowError):
                    self._error.argument(name)
                    return None
            ticks = self.market.copy_ticks_range(
                args[0].name, dates[0] * 1000, dates[1] * 1000 + 999, args[1], self._now.now_utc
            )
            self._error.ok()
            return ticks

    # -- orders and positions -------------------------------------------------------------------

    def _filter(
        self, items: Iterable[Any], symbol: Any, group: Any, ticket: Any, ticket_of: str
    ) -> list[Any] | None:
        if symbol is not None:
            if not isinstance(symbol, str):
                self._error.argument("symbol")
                return None
            return [x for x in items if x.symbol == symbol]
        if group is not None:
            if not isinstance(group, str):
                self._error.argument("group")
                return None
            pred = compile_group(group)
            return [x for x in items if pred(x.symbol)]
        if ticket is not None:
            try:
                tk = _int_arg(ticket)
            except (TypeError, ValueError):
                self._error.argument("ticket")
                return None
            return [x for x in items if getattr(x, ticket_of) == tk]
        return list(items)

    def orders_total(self) -> int | None:
        """Number of active (pending) orders."""
        with self._lock:
            if not self._begin():
                return None
            self._error.ok()
            return len(self.ledger.orders)

    def orders_get(
        self, *, symbol: str | None = None, group: str | None = None, ticket: int | None = None
    ) -> tuple[TradeOrder, ...] | None:
        """Active orders (filter precedence: symbol, group, ticket)."""
        with self._lock:
            if not self._begin():
                return None
            chosen = self._filter(self.ledger.orders.values(), symbol, group, ticket, "ticket")
            if chosen is None:
                return None
            out = tuple(self._order_struct(o) for o in chosen)
            self._error.ok()
            return out

    def _order_struct(self, o: OrderRecord) -> TradeOrder:
        q = self._now.quote(o.symbol)
        price = o.price_current if q is None else (q[1] if is_buy(o.type) else q[0])
        return o.struct(price)

    def positions_total(self) -> int | None:
        """Number of open positions."""
        with self._lock:
            if not self._begin():
                return None
            self._error.ok()
            return len(self.ledger.positions)

    def positions_get(
        self, *, symbol: str | None = None, group: str | None = None, ticket: int | None = None
    ) -> tuple[TradePosition, ...] | None:
        """Open positions (filter precedence: symbol, group, ticket)."""
        with self._lock:
            if not self._begin():
                return None
            chosen = self._filter(self.ledger.positions.values(), symbol, group, ticket, "ticket")
            if chosen is None:
                return None
            out = tuple(p.struct(*self.server.position_profit(p)) for p in chosen)
            self._error.ok()
            return out

    # -- history ----------------------------------------------------------------------------

    def _dates(self, date_from: Any, date_to: Any) -> tuple[int, int] | None:
        out = []
        for name, value in (("date_from", date_from), ("date_to", date_to)):
            try:
                out.append(to_seconds(value))
            except (TypeError, ValueError, OverflowError):
                self._error.argument(name)
                return None
        return out[0], out[1]

    def _history(
        self,
        items: list[Any],
        time_of: Callable[[Any], int],
        date_from: Any,
        date_to: Any,
        group: Any,
        position: Any,
        ticket: Any,
        ticket_of: str,
    ) -> list[Any] | None:
        for name, value in (("position", position), ("ticket", ticket)):
            if value is not None:
                try:
                    key = _int_arg(value)
                except (TypeError, ValueError):
                    self._error.argument(name)
                    return None
                attr = ticket_of if name == "ticket" else "position_id"
                return [x for x in items if getattr(x, attr) == key]
        dates = self._dates(date_from, date_to)
        if dates is None:
            return None
        lo, hi = dates
        chosen = [x for x in items if lo <= time_of(x) <= hi]
        if group is not None:
            if not isinstance(group, str):
                self._error.argument("group")
                return None
            pred = compile_group(group)
            chosen = [x for x in chosen if pred(x.symbol)]
        return chosen

    def history_orders_total(
        self, date_from: datetime | int, date_to: datetime | int, /
    ) -> int | None:
        """Number of history orders set up within the dates."""
        with self._lock:
            if not self._begin():
                return None
            dates = self._dates(date_from, date_to)
            if dates is None:
                return None
            lo, hi = dates
            n = sum(
                1
                for o in self.ledger.history_orders.values()
                if lo <= o.time_setup_msc // 1000 <= hi
            )
            self._error.ok()
            return n

    def history_orders_get(
        self,
        date_from: datetime | int | None = None,
        date_to: datetime | int | None = None,
        /,
        *,
        group: str | None = None,
        position: int | None = None,
        ticket: int | None = None,
    ) -> tuple[TradeOrder, ...] | None:
        """History orders: by dates (+group), or by ``position`` id, or by order ``ticket``."""
        with self._lock:
            if not self._begin():
                return None
            chosen = self._history(
                list(self.ledger.history_orders.values()),
                lambda o: o.time_setup_msc // 1000,
                date_from,
                date_to,
                group,
                position,
                ticket,
                "ticket",
            )
            if chosen is None:
                return None
            out = tuple(o.struct() for o in chosen)
            self._error.ok()
            return out

    def history_deals_total(
        self, date_from: datetime | int, date_to: datetime | int, /
    ) -> int | None:
        """Number of deals within the dates."""
        with self._lock:
            if not self._begin():
                return None
            dates = self._dates(date_from, date_to)
            if dates is None:
                return None
            lo, hi = dates
            n = sum(1 for d in self.ledger.deals if lo <= d.time <= hi)
            self._error.ok()
            return n

    def history_deals_get(
        self,
        date_from: datetime | int | None = None,
        date_to: datetime | int | None = None,
        /,
        *,
        group: str | None = None,
        position: int | None = None,
        ticket: int | None = None,
    ) -> tuple[TradeDeal, ...] | None:
        """Deals: by dates (+group), by ``position`` id, or by ``ticket`` = the deal's order."""
        with self._lock:
            if not self._begin():
                return None
            chosen = self._history(
                self.ledger.deals,
                lambda d: d.time,
                date_from,
                date_to,
                group,
                position,
                ticket,
                "order",
            )
            if chosen is None:
                return None
            self._error.ok()
            return tuple(chosen)

    # -- calculations -------------------------------------------------------------------------

    def _calc_args(
        self, action: Any, symbol: Any, numbers: tuple[tuple[str, Any], ...]
    ) -> tuple[SymbolSpec, int, list[float]] | None:
        try:
            act = _int_arg(action)
            if not c.ORDER_TYPE_BUY <= act <= c.ORDER_TYPE_SELL_STOP_LIMIT:
                raise ValueError
        except (TypeError, ValueError):
            self._error.argument("action")
            return None
        spec = self._spec(symbol)
        if spec is None:
            return None
        values = []
        for name, value in numbers:
            if isinstance(value, str | bytes) or value is None:
                self._error.argument(name)
                return None
            try:
                values.append(float(value))
            except (TypeError, ValueError):
                self._error.argument(name)
                return None
        return spec, act, values

    def order_calc_margin(
        self, action: int, symbol: str, volume: float, price: float, /
    ) -> float | None:
        """Margin (account currency) of ``volume`` lots of ``action`` at ``price``."""
        with self._lock:
            if not self._begin():
                return None
            args = self._calc_args(action, symbol, (("volume", volume), ("price", price)))
            if args is None:
                return None
            spec, _, (vol, px) = args
            m = self.money.margin(spec, vol, px, self._now.quote)
            if m is None:
                self._fail(_CALL_FAILED)
                return None
            self._error.ok()
            return round(m, 2)

    def order_calc_profit(
        self, action: int, symbol: str, volume: float, price_open: float, price_close: float, /
    ) -> float | None:
        """Profit (account currency) of ``volume`` lots opened and closed at the prices."""
        with self._lock:
            if not self._begin():
                return None
            args = self._calc_args(
                action,
                symbol,
                (("volume", volume), ("price_open", price_open), ("price_close", price_close)),
            )
            if args is None:
                return None
            spec, act, (vol, po, pc) = args
            p = self.money.profit(spec, is_buy(act), vol, po, pc, self._now.quote)
            if p is None:
                self._fail(_CALL_FAILED)
                return None
            self._error.ok()
            return round(p, 2)

    # -- trading ----------------------------------------------------------------------------

    def order_check(self, request: dict[str, Any], /) -> OrderCheckResult | None:
        """Check a request and project the account after it (retcode 0 'Done' when it passes)."""
        with self._lock:
            if not self._begin():
                return None
            try:
                req = parse_request(request, self.config.comment_limit)
            except RequestError as e:
                self._error.argument(e.field)
                return None
            out = self.server.process(req, check_only=True)
            f = out.figures if out.figures is not None else self.server.figures()
            self._error.ok()
            return OrderCheckResult._make(
                (
                    out.retcode,
                    f.balance,
                    f.equity,
                    f.profit,
                    f.margin,
                    f.margin_free,
                    f.margin_level,
                    out.comment,
                    req,
                )
            )

    def order_send(self, request: dict[str, Any], /) -> OrderSendResult | None:
        """Send a trade request to the (simulated) trade server."""
        with self._lock:
            if not self._begin():
                return None
            try:
                req = parse_request(request, self.config.comment_limit)
            except RequestError as e:
                self._error.argument(e.field)
                return None
            self._request_id += 1
            out = self._send(req)
            if out.retcode in (
                c.TRADE_RETCODE_DONE,
                c.TRADE_RETCODE_DONE_PARTIAL,
                c.TRADE_RETCODE_PLACED,
            ):
                if req.symbol in self.specs:
                    self._selected.add(req.symbol)
                if self.faults:
                    lost = self.faults.take("lost_reply", self._now.now_utc)
                    if lost is not None:
                        if lost.code == c.RES_E_INTERNAL_FAIL_TIMEOUT:
                            self._fail(c.RES_E_INTERNAL_FAIL_TIMEOUT)
                            return None
                        out = Outcome(c.TRADE_RETCODE_TIMEOUT, bid=out.bid, ask=out.ask)
            self._error.ok()
            return OrderSendResult._make(
                (
                    out.retcode,
                    out.deal,
                    out.order,
                    out.volume,
                    out.price,
                    out.bid,
                    out.ask,
                    out.comment,
                    self._request_id,
                    0,
                    req,
                )
            )

    def _send(self, req: TradeRequest) -> Outcome:
        if not self.trade_allowed:
            return Outcome(c.TRADE_RETCODE_CLIENT_DISABLES_AT)
        faults = self.faults
        if faults:
            now = self._now.now_utc
            if faults.peek("no_connection", now) is not None:
                faults.take("no_connection", now)
                return Outcome(c.TRADE_RETCODE_CONNECTION)
            f = faults.take("throttle", now)
            if f is not None:
                return Outcome(f.code or c.TRADE_RETCODE_TOO_MANY_REQUESTS)
            if req.action == c.TRADE_ACTION_DEAL and req.symbol in self.specs:
                q = self._now.quote(req.symbol)
                if q is not None and self._now.is_open(req.symbol):
                    f = faults.take("requote", now, req.symbol)
                    if f is not None:
                        return Outcome(c.TRADE_RETCODE_REQUOTE, bid=q[0], ask=q[1])
        return self.server.process(req, check_only=False)

    # -- helpers of the package (Buy/Sell/Close) ----------------------------------------------

    def Buy(
        self,
        symbol: str,
        volume: float,
        price: float | None = None,
        *,
        comment: str | None = None,
        ticket: int | None = None,
    ) -> OrderSendResult | None:
        """Market buy as the package's helper does (deviation 10, retries on 10004/10021)."""
        from .helpers import buy

        return buy(self, symbol, volume, price, comment=comment, ticket=ticket)

    def Sell(
        self,
        symbol: str,
        volume: float,
        price: float | None = None,
        *,
        comment: str | None = None,
        ticket: int | None = None,
    ) -> OrderSendResult | None:
        """Market sell as the package's helper does."""
        from .helpers import sell

        return sell(self, symbol, volume, price, comment=comment, ticket=ticket)

    def Close(
        self, symbol: str, *, comment: str | None = None, ticket: int | None = None
    ) -> bool | str | None:
        """Close the symbol's positions (or one ``ticket``): True / "Partially" / False / None."""
        from .helpers import close

        return close(self, symbol, comment=comment, ticket=ticket)


def _zero(name: str) -> Any:
    """Default of a SymbolInfo field the spec does not carry."""
    if name in ("custom", "select", "visible", "spread_float", "margin_hedged_use_leg"):
        return False
    str_fields = {
        "basis",
        "category",
        "currency_base",
        "currency_profit",
        "currency_margin",
        "bank",
        "description",
        "exchange",
        "formula",
        "isin",
        "name",
        "page",
        "path",
    }
    if name in str_fields:
        return ""
    int_fields = {
        "chart_mode",
        "session_deals",
        "session_buy_orders",
        "session_sell_orders",
        "volume",
        "volumehigh",
        "volumelow",
        "time",
        "digits",
        "spread",
        "ticks_bookdepth",
        "trade_calc_mode",
        "trade_mode",
        "start_time",
        "expiration_time",
        "trade_stops_level",
        "trade_freeze_level",
        "trade_exemode",
        "swap_mode",
        "swap_rollover3days",
        "expiration_mode",
        "filling_mode",
        "order_mode",
        "order_gtc_mode",
        "option_mode",
        "option_right",
    }
    return 0 if name in int_fields else 0.0


def _tick_struct(t: np.void) -> Tick:
    return Tick._make(
        (
            int(t["time"]),
            float(t["bid"]),
            float(t["ask"]),
            float(t["last"]),
            int(t["volume"]),
            int(t["time_msc"]),
            int(t["flags"]),
            float(t["volume_real"]),
        )
    )
