"""Every MT5 trade return code and ``last_error()`` code, mapped to what the engine does next.

Outcomes:

- ``SUCCESS``: the request did what was asked (10008 PLACED, 10009 DONE, 10025 NO_CHANGES).
- ``PARTIAL``: 10010 DONE_PARTIAL; part was filled, the caller handles the remainder.
- ``RETRY``: nothing happened and the same request may be tried again (with a fresh price, after a
  backoff, or after a reconnect).
- ``VERIFY``: the request *may* have executed (10012 TIMEOUT, 10031 CONNECTION, a lost reply); the
  state must be read back from orders, positions and deals before anything is sent again.
- ``FINAL``: the request was refused; repeating it unchanged will not help.

Unknown codes: ``classify_retcode`` and ``classify_error`` answer ``FINAL`` (never loop on something
we do not understand); ``classify_send_retcode`` and ``classify_send_error`` answer ``VERIFY``,
because after ``order_send`` an unknown answer could hide an executed order, and reading the state
back is cheap while a duplicate position is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "CONNECTION_ERRORS",
    "IPC_ERRORS",
    "LAST_ERRORS",
    "RES_E_AUTH_FAILED",
    "RES_E_INVALID_PARAMS",
    "RES_S_OK",
    "TRADE_RETCODES",
    "CodeInfo",
    "Outcome",
    "classify_check_retcode",
    "classify_error",
    "classify_retcode",
    "classify_send_error",
    "classify_send_retcode",
    "describe_error",
    "describe_retcode",
    "is_connection_error",
]


class Outcome(StrEnum):
    """What the caller should do with the result of a terminal call."""

    SUCCESS = "success"
    PARTIAL = "partial"
    RETRY = "retry"
    VERIFY = "verify"
    FINAL = "final"


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """One code: its number, its MT5 name, what it means and the outcome it maps to."""

    code: int
    name: str
    description: str
    outcome: Outcome


_S, _P, _R, _V, _F = (
    Outcome.SUCCESS,
    Outcome.PARTIAL,
    Outcome.RETRY,
    Outcome.VERIFY,
    Outcome.FINAL,
)

_RETCODE_ROWS: tuple[tuple[int, str, str, Outcome], ...] = (
    (10004, "TRADE_RETCODE_REQUOTE", "requote", _R),
    (10006, "TRADE_RETCODE_REJECT", "request rejected", _F),
    (10007, "TRADE_RETCODE_CANCEL", "request canceled by trader", _F),
    (10008, "TRADE_RETCODE_PLACED", "order placed", _S),
    (10009, "TRADE_RETCODE_DONE", "request completed", _S),
    (10010, "TRADE_RETCODE_DONE_PARTIAL", "only part of the request was completed", _P),
    # A processing error gives no guarantee that nothing executed: read the state back.
    (10011, "TRADE_RETCODE_ERROR", "request processing error", _V),
    (10012, "TRADE_RETCODE_TIMEOUT", "request canceled by timeout", _V),
    (10013, "TRADE_RETCODE_INVALID", "invalid request", _F),
    (10014, "TRADE_RETCODE_INVALID_VOLUME", "invalid volume in the request", _F),
    (10015, "TRADE_RETCODE_INVALID_PRICE", "invalid price in the request", _F),
    (10016, "TRADE_RETCODE_INVALID_STOPS", "invalid stops in the request", _F),
    (10017, "TRADE_RETCODE_TRADE_DISABLED", "trade is disabled", _F),
    (10018, "TRADE_RETCODE_MARKET_CLOSED", "market is closed", _F),
    (10019, "TRADE_RETCODE_NO_MONEY", "not enough money to complete the request", _F),
    (10020, "TRADE_RETCODE_PRICE_CHANGED", "prices changed", _R),
    (10021, "TRADE_RETCODE_PRICE_OFF", "no quotes to process the request", _R),
    (10022, "TRADE_RETCODE_INVALID_EXPIRATION", "invalid order expiration date", _F),
    (10023, "TRADE_RETCODE_ORDER_CHANGED", "order state changed", _R),
    (10024, "TRADE_RETCODE_TOO_MANY_REQUESTS", "too frequent requests", _R),
    (10025, "TRADE_RETCODE_NO_CHANGES", "no changes in request", _S),
    (10026, "TRADE_RETCODE_SERVER_DISABLES_AT", "autotrading disabled by server", _F),
    (10027, "TRADE_RETCODE_CLIENT_DISABLES_AT", "autotrading disabled by client terminal", _F),
    (10028, "TRADE_RETCODE_LOCKED", "request locked for processing", _R),
    (10029, "TRADE_RETCODE_FROZEN", "order or position frozen", _R),
    (10030, "TRADE_RETCODE_INVALID_FILL", "invalid order filling type", _F),
    (10031, "TRADE_RETCODE_CONNECTION", "no connection with the trade server", _V),
    (10032, "TRADE_RETCODE_ONLY_REAL", "operation allowed only for live accounts", _F),
    (10033, "TRADE_RETCODE_LIMIT_ORDERS", "the number of pending orders reached the limit", _F),
    (10034, "TRADE_RETCODE_LIMIT_VOLUME", "order and position volume for the symbol at limit", _F),
    (10035, "TRADE_RETCODE_INVALID_ORDER", "incorrect or prohibited order type", _F),
    (10036, "TRADE_RETCODE_POSITION_CLOSED", "position with the given ticket already closed", _F),
    (10038, "TRADE_RETCODE_INVALID_CLOSE_VOLUME", "close volume exceeds position volume", _F),
    # Another close of the same position is in flight: it may complete, so read the state back.
    (10039, "TRADE_RETCODE_CLOSE_ORDER_EXIST", "a close order already exists", _V),
    (10040, "TRADE_RETCODE_LIMIT_POSITIONS", "the number of open positions reached the limit", _F),
    (10041, "TRADE_RETCODE_REJECT_CANCEL", "pending order activation rejected, canceled", _F),
    (10042, "TRADE_RETCODE_LONG_ONLY", "only long positions are allowed", _F),
    (10043, "TRADE_RETCODE_SHORT_ONLY", "only short positions are allowed", _F),
    (10044, "TRADE_RETCODE_CLOSE_ONLY", "only position closing is allowed", _F),
    (10045, "TRADE_RETCODE_FIFO_CLOSE", "position closing allowed only by FIFO rule", _F),
    # Defined by MQL5, not exported by the Python module (5.0.6231); a terminal may still send it.
    (10046, "TRADE_RETCODE_HEDGE_PROHIBITED", "opposite positions prohibited (hedging)", _F),
)

_ERROR_ROWS: tuple[tuple[int, str, str, Outcome], ...] = (
    (1, "RES_S_OK", "generic success", _S),
    (-1, "RES_E_FAIL", "generic fail", _F),
    (-2, "RES_E_INVALID_PARAMS", "invalid arguments or parameters", _F),
    (-3, "RES_E_NO_MEMORY", "no memory condition", _F),
    (-4, "RES_E_NOT_FOUND", "no history", _F),
    (-5, "RES_E_INVALID_VERSION", "invalid version", _F),
    # Treated as a connection loss (as aiomql does): a re-login may succeed after a restart.
    (-6, "RES_E_AUTH_FAILED", "authorization failed", _R),
    (-7, "RES_E_UNSUPPORTED", "unsupported method", _F),
    (-8, "RES_E_AUTO_TRADING_DISABLED", "auto-trading disabled", _F),
    (-10000, "RES_E_INTERNAL_FAIL", "internal IPC general error", _R),
    (-10001, "RES_E_INTERNAL_FAIL_SEND", "internal IPC send failed", _R),
    (-10002, "RES_E_INTERNAL_FAIL_RECEIVE", "internal IPC recv failed", _R),
    (-10003, "RES_E_INTERNAL_FAIL_INIT", "internal IPC initialization fail", _R),
    (-10004, "RES_E_INTERNAL_FAIL_CONNECT", "no IPC connection", _R),
    (-10005, "RES_E_INTERNAL_FAIL_TIMEOUT", "internal IPC timeout", _R),
)

TRADE_RETCODES: Mapping[int, CodeInfo] = MappingProxyType(
    {row[0]: CodeInfo(*row) for row in _RETCODE_ROWS}
)
"""Every TRADE_RETCODE the engine knows (mt5-api.md §3.3), by code."""

LAST_ERRORS: Mapping[int, CodeInfo] = MappingProxyType(
    {row[0]: CodeInfo(*row) for row in _ERROR_ROWS}
)
"""Every ``last_error()`` code (mt5-api.md §3.4), by code."""

RES_S_OK = 1
RES_E_INVALID_PARAMS = -2
RES_E_AUTH_FAILED = -6

IPC_ERRORS: frozenset[int] = frozenset(range(-10005, -9999))
"""The IPC failures -10000…-10005: the link to the terminal is broken."""

CONNECTION_ERRORS: frozenset[int] = IPC_ERRORS | {RES_E_AUTH_FAILED}
"""Codes after which the port re-initializes (and logs in again)."""

# After order_send returned None: only errors raised before anything left the process are final.
_SEND_ERROR_FINAL = frozenset({-2, -3, -5, -6, -7, -8})


def classify_retcode(code: int) -> Outcome:
    """Outcome of a TRADE_RETCODE; unknown codes are ``FINAL``."""
    info = TRADE_RETCODES.get(code)
    return info.outcome if info is not None else Outcome.FINAL


def classify_send_retcode(code: int) -> Outcome:
    """Outcome of an ``order_send`` retcode; unknown codes are ``VERIFY`` (see module docstring)."""
    info = TRADE_RETCODES.get(code)
    return info.outcome if info is not None else Outcome.VERIFY


def classify_check_retcode(code: int) -> Outcome:
    """Outcome of an ``order_check`` retcode: 0 ('Done') is success there, not 10009."""
    return Outcome.SUCCESS if code == 0 else classify_retcode(code)


def classify_error(code: int) -> Outcome:
    """Outcome of a ``last_error()`` code after a read; unknown codes are ``FINAL``."""
    info = LAST_ERRORS.get(code)
    return info.outcome if info is not None else Outcome.FINAL


def classify_send_error(code: int) -> Outcome:
    """Outcome when ``order_send`` returned None with this ``last_error()`` code.

    Argument, memory, version, authorization and permission errors are raised before the request
    leaves the process (``FINAL``); IPC errors, the generic failure and unknown codes are
    ``VERIFY``: the request may have reached the server and the reply been lost.
    """
    return Outcome.FINAL if code in _SEND_ERROR_FINAL else Outcome.VERIFY


def is_connection_error(code: int) -> bool:
    """True for the codes after which the port reconnects (-10000…-10005 and -6)."""
    return code in CONNECTION_ERRORS


def describe_retcode(code: int) -> str:
    """``'10004 TRADE_RETCODE_REQUOTE (requote)'``; unknown codes say so."""
    info = TRADE_RETCODES.get(code)
    if info is None:
        return f"{code} (unknown trade return code)"
    return f"{code} {info.name} ({info.description})"


def describe_error(code: int, message: str = "") -> str:
    """``'-10004 RES_E_INTERNAL_FAIL_CONNECT: No IPC connection'`` (terminal's text if given)."""
    info = LAST_ERRORS.get(code)
    name = info.name if info is not None else "unknown error"
    text = message or (info.description if info is not None else "")
    return f"{code} {name}: {text}" if text else f"{code} {name}"
