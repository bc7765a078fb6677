"""``trading_engine.mt5sim``: a simulated MetaTrader 5 terminal behind the ``MetaTrader5`` API.

``import trading_engine.mt5sim as mt5`` works where ``import MetaTrader5 as mt5`` does: the 223
constants, the 32 functions (module level, on a default ``Terminal``), the 11 result types, the
``Buy``/``Sell``/``Close`` helpers, numpy arrays with the packed dtypes. ``Terminal(config,
clock=...)`` builds an isolated terminal with the same API as attributes; ``use_terminal(t)``
makes it the module's default and ``reset_terminal()`` drops the default (a fresh one, with the
default ``SimConfig`` and the wall clock, is built on the next call).
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from trading_engine.mt5sim.api.helpers import buy as _buy
from trading_engine.mt5sim.api.helpers import close as _close
from trading_engine.mt5sim.api.helpers import sell as _sell
from trading_engine.mt5sim.api.terminal import Terminal
from trading_engine.mt5sim.config import SimConfig
from trading_engine.mt5sim.faults import Fault, Faults
from trading_engine.mt5sim.spec import constants as _constants
from trading_engine.mt5sim.spec.constants import *  # noqa: F403
from trading_engine.mt5sim.spec.structs import (
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

__version__ = "5.0.6231"
__author__ = "MetaQuotes Ltd."

__all__ = [
    "AccountInfo",
    "BookInfo",
    "Buy",
    "Close",
    "Fault",
    "Faults",
    "OrderCheckResult",
    "OrderSendResult",
    "Sell",
    "SimConfig",
    "SymbolInfo",
    "Terminal",
    "TerminalInfo",
    "Tick",
    "TradeDeal",
    "TradeOrder",
    "TradePosition",
    "TradeRequest",
    "account_info",
    "copy_rates_from",
    "copy_rates_from_pos",
    "copy_rates_range",
    "copy_ticks_from",
    "copy_ticks_range",
    "default_terminal",
    "history_deals_get",
    "history_deals_total",
    "history_orders_get",
    "history_orders_total",
    "initialize",
    "last_error",
    "login",
    "market_book_add",
    "market_book_get",
    "market_book_release",
    "order_calc_margin",
    "order_calc_profit",
    "order_check",
    "order_send",
    "orders_get",
    "orders_total",
    "positions_get",
    "positions_total",
    "reset_terminal",
    "shutdown",
    "symbol_info",
    "symbol_info_tick",
    "symbol_select",
    "symbols_get",
    "symbols_total",
    "terminal_info",
    "use_terminal",
    "version",
]
__all__ += _constants.__all__

_default: Terminal | None = None
_default_lock = threading.Lock()


def default_terminal() -> Terminal:
    """The terminal behind the module-level functions (built on first use)."""
    global _default
    t = _default
    if t is None:
        with _default_lock:
            if _default is None:
                _default = Terminal()
            t = _default
    return t


def use_terminal(terminal: Terminal) -> Terminal:
    """Make ``terminal`` the module's default; return it."""
    global _default
    with _default_lock:
        _default = terminal
    return terminal


def reset_terminal() -> None:
    """Forget the default terminal (the next call builds a fresh one)."""
    global _default
    with _default_lock:
        _default = None


def initialize(
    path: str | None = None,
    /,
    *,
    login: int | None = None,
    password: str | None = None,
    server: str | None = None,
    timeout: int = 60_000,
    portable: bool = False,
) -> bool:
    """See ``Terminal.initialize``."""
    return (_default or default_terminal()).initialize(
        path, login=login, password=password, server=server, timeout=timeout, portable=portable
    )


def login(
    login: int, /, *, password: str | None = None, server: str | None = None, timeout: int = 60_000
) -> bool:
    """See ``Terminal.login``."""
    return (_default or default_terminal()).login(
        login, password=password, server=server, timeout=timeout
    )


def shutdown() -> None:
    """See ``Terminal.shutdown``."""
    return (_default or default_terminal()).shutdown()


def version() -> tuple[int, int, str] | None:
    """See ``Terminal.version``."""
    return (_default or default_terminal()).version()


def last_error() -> tuple[int, str]:
    """See ``Terminal.last_error``."""
    return (_default or default_terminal()).last_error()


def account_info() -> AccountInfo | None:
    """See ``Terminal.account_info``."""
    return (_default or default_terminal()).account_info()


def terminal_info() -> TerminalInfo | None:
    """See ``Terminal.terminal_info``."""
    return (_default or default_terminal()).terminal_info()


def symbols_total() -> int:
    """See ``Terminal.symbols_total``."""
    return (_default or default_terminal()).symbols_total()


def symbols_get(*, group: str | None = None) -> tuple[SymbolInfo, ...] | None:
    """See ``Terminal.symbols_get``."""
    return (_default or default_terminal()).symbols_get(group=group)


def symbol_info(symbol: str, /) -> SymbolInfo | None:
    """See ``Terminal.symbol_info``."""
    return (_default or default_terminal()).symbol_info(symbol)


def symbol_info_tick(symbol: str, /) -> Tick | None:
    """See ``Terminal.symbol_info_tick``."""
    return (_default or default_terminal()).symbol_info_tick(symbol)


def symbol_select(symbol: str, enable: bool = True, /) -> bool:
    """See ``Terminal.symbol_select``."""
    return (_default or default_terminal()).symbol_select(symbol, enable)


def market_book_add(symbol: str, /) -> bool:
    """See ``Terminal.market_book_add``."""
    return (_default or default_terminal()).market_book_add(symbol)


def market_book_get(symbol: str, /) -> tuple[BookInfo, ...] | None:
    """See ``Terminal.market_book_get``."""
    return (_default or default_terminal()).market_book_get(symbol)


def market_book_release(symbol: str, /) -> bool:
    """See ``Terminal.market_book_release``."""
    return (_default or default_terminal()).market_book_release(symbol)


def copy_rates_from(
    symbol: str, timeframe: int, date_from: datetime | int, count: int, /
) -> npt.NDArray[np.void] | None:
    """See ``Terminal.copy_rates_from``."""
    return (_default or default_terminal()).copy_rates_from(symbol, timeframe, date_from, count)


def copy_rates_from_pos(
    symbol: str, timeframe: int, start_pos: int, count: int, /
) -> npt.NDArray[np.void] | None:
    """See ``Terminal.copy_rates_from_pos``."""
    return (_default or default_terminal()).copy_rates_from_pos(symbol, timeframe, start_pos, count)


def copy_rates_range(
    symbol: str, timeframe: int, date_from: datetime | int, date_to: datetime | int, /
) -> npt.NDArray[np.void] | None:
    """See ``Terminal.copy_rates_range``."""
    return (_default or default_terminal()).copy_rates_range(symbol, timeframe, date_from, date_to)


def copy_ticks_from(
    symbol: str, date_from: datetime | int, count: int, flags: int, /
) -> npt.NDArray[np.void] | None:
    """See ``Terminal.copy_ticks_from``."""
    return (_default or default_terminal()).copy_ticks_from(symbol, date_from, count, flags)


def copy_ticks_range(
    symbol: str, date_from: datetime | int, date_to: datetime | int, flags: int, /
) -> npt.NDArray[np.void] | None:
    """See ``Terminal.copy_ticks_range``."""
    return (_default or default_terminal()).copy_ticks_range(symbol, date_from, date_to, flags)


def orders_total() -> int | None:
    """See ``Terminal.orders_total``."""
    return (_default or default_terminal()).orders_total()


def orders_get(
    *, symbol: str | None = None, group: str | None = None, ticket: int | None = None
) -> tuple[TradeOrder, ...] | None:
    """See ``Terminal.orders_get``."""
    return (_default or default_terminal()).orders_get(symbol=symbol, group=group, ticket=ticket)


def order_calc_margin(action: int, symbol: str, volume: float, price: float, /) -> float | None:
    """See ``Terminal.order_calc_margin``."""
    return (_default or default_terminal()).order_calc_margin(action, symbol, volume, price)


def order_calc_profit(
    action: int, symbol: str, volume: float, price_open: float, price_close: float, /
) -> float | None:
    """See ``Terminal.order_calc_profit``."""
    return (_default or default_terminal()).order_calc_profit(
        action, symbol, volume, price_open, price_close
    )


def order_check(request: dict[str, Any], /) -> OrderCheckResult | None:
    """See ``Terminal.order_check``."""
    return (_default or default_terminal()).order_check(request)


def order_send(request: dict[str, Any], /) -> OrderSendResult | None:
    """See ``Terminal.order_send``."""
    return (_default or default_terminal()).order_send(request)


def positions_total() -> int | None:
    """See ``Terminal.positions_total``."""
    return (_default or default_terminal()).positions_total()


def positions_get(
    *, symbol: str | None = None, group: str | None = None, ticket: int | None = None
) -> tuple[TradePosition, ...] | None:
    """See ``Terminal.positions_get``."""
    return (_default or default_terminal()).positions_get(symbol=symbol, group=group, ticket=ticket)


def history_orders_total(date_from: datetime | int, date_to: datetime | int, /) -> int | None:
    """See ``Terminal.history_orders_total``."""
    return (_default or default_terminal()).history_orders_total(date_from, date_to)


def history_orders_get(
    date_from: datetime | int | None = None,
    date_to: datetime | int | None = None,
    /,
    *,
    group: str | None = None,
    position: int | None = None,
    ticket: int | None = None,
) -> tuple[TradeOrder, ...] | None:
    """See ``Terminal.history_orders_get``."""
    return (_default or default_terminal()).history_orders_get(
        date_from, date_to, group=group, position=position, ticket=ticket
    )


def history_deals_total(date_from: datetime | int, date_to: datetime | int, /) -> int | None:
    """See ``Terminal.history_deals_total``."""
    return (_default or default_terminal()).history_deals_total(date_from, date_to)


def history_deals_get(
    date_from: datetime | int | None = None,
    date_to: datetime | int | None = None,
    /,
    *,
    group: str | None = None,
    position: int | None = None,
    ticket: int | None = None,
) -> tuple[TradeDeal, ...] | None:
    """See ``Terminal.history_deals_get``."""
    return (_default or default_terminal()).history_deals_get(
        date_from, date_to, group=group, position=position, ticket=ticket
    )


def Buy(
    symbol: str,
    volume: float,
    price: float | None = None,
    *,
    comment: str | None = None,
    ticket: int | None = None,
) -> OrderSendResult | None:
    """Market buy on the default terminal, as the package's helper (see ``helpers``)."""
    return _buy(default_terminal(), symbol, volume, price, comment=comment, ticket=ticket)


def Sell(
    symbol: str,
    volume: float,
    price: float | None = None,
    *,
    comment: str | None = None,
    ticket: int | None = None,
) -> OrderSendResult | None:
    """Market sell on the default terminal, as the package's helper."""
    return _sell(default_terminal(), symbol, volume, price, comment=comment, ticket=ticket)


def Close(
    symbol: str, *, comment: str | None = None, ticket: int | None = None
) -> bool | str | None:
    """Close positions on the default terminal: True / "Partially" / False / None."""
    return _close(default_terminal(), symbol, comment=comment, ticket=ticket)
