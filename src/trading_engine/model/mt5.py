"""The one MT5 code table: per trade return code and ``last_error()`` code, what it means, what
the engine does next (the *outcome*) and the state an engine order enters (the *order state*).

Outcomes:

- ``SUCCESS``: the request did what was asked (10008 PLACED, 10009 DONE, 10025 NO_CHANGES).
- ``PARTIAL``: 10010 DONE_PARTIAL; part was filled, the caller handles the remainder.
- ``RETRY``: nothing happened and the same request may be tried again (with a fresh price, after a
  backoff, or after a reconnect).
- ``VERIFY``: the request, or another one on the same position, *may* have executed (10012
  TIMEOUT, 10031 CONNECTION, a lost reply, 10039 CLOSE_ORDER_EXIST); the state must be read back
  from orders, positions and deals before anything is sent again.
- ``FINAL``: the request was refused; repeating it unchanged will not help.

The order state answers a different question, what *this* order did: ``FILLED`` (``PLACED`` for a
pending order) on DONE, ``PLACED``, ``PARTIALLY_FILLED``, ``CANCELED`` on 10007, ``UNKNOWN`` when
it may have executed (ERROR, TIMEOUT, CONNECTION, an unknown code, no reply), ``REJECTED`` for every
other code: nothing was executed and a retry is a *new* order.

Decisions where the two earlier tables disagreed (docs/mt5-api.md §3.3):

- 10039 CLOSE_ORDER_EXIST: outcome ``VERIFY`` (§3.3 says F/V: another close order exists and may
  complete), order state ``REJECTED`` (this request did nothing).
- 10046 HEDGE_PROHIBITED: ``FINAL`` and ``REJECTED``: MQL5 defines it as a refusal; the Python
  module does not export it, but it is a known code, not an unknown one.
- 10025 NO_CHANGES: outcome ``SUCCESS`` (§3.3 "S-ish", a no-op modify), order state ``REJECTED``
  (the engine's orders are deals and pending orders, which it cannot answer; if it does, nothing
  executed and the order is over).
- ``order_send`` returning None: the send outcome (``FINAL`` for errors raised before the request
  left the process, else ``VERIFY``) decides the state: ``REJECTED`` or ``UNKNOWN``. Earlier only
  -2 gave ``REJECTED``; -3, -5, -6, -7 and -8 now do too.

Unknown codes: ``classify_retcode`` and ``classify_error`` answer ``FINAL`` (never loop on something
we do not understand); ``classify_send_retcode`` and ``classify_send_error`` answer ``VERIFY`` and
the order state is ``UNKNOWN``, because after ``order_send`` an unknown answer could hide an
executed order, and reading the state back is cheap while a duplicate position is not.

Deals and history orders: :class:`DealEntry` (``CLOSING_ENTRIES``: OUT, OUT_BY and INOUT, the
reversal that closes the old position before opening the opposite one), :class:`DealReason` and
``close_reason``, and ``HISTORY_ORDER_STATES`` (MT5 ``ORDER_STATE`` of a finished order → the
engine's state).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from types import MappingProxyType

from trading_engine.model.order_state import OrderState

__all__ = [
    "CLOSING_ENTRIES",
    "CONNECTION_ERRORS",
    "HISTORY_ORDER_STATES",
    "IPC_ERRORS",
    "LAST_ERRORS",
    "OPENING_ENTRIES",
    "RES_E_AUTH_FAILED",
    "RES_E_INVALID_PARAMS",
    "RES_S_OK",
    "TRADE_RETCODES",
    "TRADE_RETCODE_POSITION_CLOSED",
    "CodeInfo",
    "DealEntry",
    "DealReason",
    "DealType",
    "ErrorInfo",
    "Outcome",
    "classify_check_retcode",
    "classify_error",
    "classify_retcode",
    "classify_send_error",
    "classify_send_retcode",
    "close_reason",
    "describe_error",
    "describe_retcode",
    "is_connection_error",
    "state_after_send",
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
    """One trade return code: its number, MT5 name, meaning, outcome and the order's next state."""

    code: int
    name: str
    description: str
    outcome: Outcome
    state: OrderState


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """One ``last_error()`` code: outcome after a read, and after ``order_send`` returned None."""

    code: int
    name: str
    description: str
    outcome: Outcome
    send_outcome: Outcome


_S, _P, _R, _V, _F = (
    Outcome.SUCCESS,
    Outcome.PARTIAL,
    Outcome.RETRY,
    Outcome.VERIFY,
    Outcome.FINAL,
)
_CAN, _PLA, _FIL, _PAR, _UNK, _REJ = (
    OrderState.CANCELED,
    OrderState.PLACED,
    OrderState.FILLED,
    OrderState.PARTIALLY_FILLED,
    OrderState.UNKNOWN,
    OrderState.REJECTED,
)

_RETCODE_ROWS: tuple[tuple[int, str, str, Outcome, OrderState], ...] = (
    (10004, "TRADE_RETCODE_REQUOTE", "requote", _R, _REJ),
    (10006, "TRADE_RETCODE_REJECT", "request rejected", _F, _REJ),
    (10007, "TRADE_RETCODE_CANCEL", "request canceled by trader", _F, _CAN),
    (10008, "TRADE_RETCODE_PLACED", "order placed", _S, _PLA),
    (10009, "TRADE_RETCODE_DONE", "request completed", _S, _FIL),
    (10010, "TRADE_RETCODE_DONE_PARTIAL", "only part of the request was completed", _P, _PAR),
    # A processing error gives no guarantee that nothing executed: read the state back.
    (10011, "TRADE_RETCODE_ERROR", "request processing error", _V, _UNK),
    (10012, "TRADE_RETCODE_TIMEOUT", "request canceled by timeout", _V, _UNK),
    (10013, "TRADE_RETCODE_INVALID", "invalid request", _F, _REJ),
    (10014, "TRADE_RETCODE_INVALID_VOLUME", "invalid volume in the request", _F, _REJ),
    (10015, "TRADE_RETCODE_INVALID_PRICE", "invalid price in the request", _F, _REJ),
    (10016, "TRADE_RETCODE_INVALID_STOPS", "invalid stops in the request", _F, _REJ),
    (10017, "TRADE_RETCODE_TRADE_DISABLED", "trade is disabled", _F, _REJ),
    (10018, "TRADE_RETCODE_MARKET_CLOSED", "market is closed", _F, _REJ),
    (10019, "TRADE_RETCODE_NO_MONEY", "not enough money to complete the request", _F, _REJ),
    (10020, "TRADE_RETCODE_PRICE_CHANGED", "prices changed", _R, _REJ),
    (10021, "TRADE_RETCODE_PRICE_OFF", "no quotes to process the request", _R, _REJ),
    (10022, "TRADE_RETCODE_INVALID_EXPIRATION", "invalid order expiration date", _F, _REJ),
    (10023, "TRADE_RETCODE_ORDER_CHANGED", "order state changed", _R, _REJ),
    (10024, "TRADE_RETCODE_TOO_MANY_REQUESTS", "too frequent requests", _R, _REJ),
    # A modify that changes nothing succeeded as far as the caller is concerned; an order that
    # gets it executed nothing.
    (10025, "TRADE_RETCODE_NO_CHANGES", "no changes in request", _S, _REJ),
    (10026, "TRADE_RETCODE_SERVER_DISABLES_AT", "autotrading disabled by server", _F, _REJ),
    (
        10027,
        "TRADE_RETCODE_CLIENT_DISABLES_AT",
        "autotrading disabled by client terminal",
        _F,
        _REJ,
    ),
    (10028, "TRADE_RETCODE_LOCKED", "request locked for processing", _R, _REJ),
    (10029, "TRADE_RETCODE_FROZEN", "order or position frozen", _R, _REJ),
    (10030, "TRADE_RETCODE_INVALID_FILL", "invalid order filling type", _F, _REJ),
    (10031, "TRADE_RETCODE_CONNECTION", "no connection with the trade server", _V, _UNK),
    (10032, "TRADE_RETCODE_ONLY_REAL", "operation allowed only for live accounts", _F, _REJ),
    (
        10033,
        "TRADE_RETCODE_LIMIT_ORDERS",
        "the number of pending orders reached the limit",
        _F,
        _REJ,
    ),
    (
        10034,
        "TRADE_RETCODE_LIMIT_VOLUME",
        "order and position volume for the symbol at limit",
        _F,
        _REJ,
    ),
    (10035, "TRADE_RETCODE_INVALID_ORDER", "incorrect or prohibited order type", _F, _REJ),
    (
        10036,
        "TRADE_RETCODE_POSITION_CLOSED",
        "position with the given ticket already closed",
        _F,
        _REJ,
    ),
    (10038, "TRADE_RETCODE_INVALID_CLOSE_VOLUME", "close volume exceeds position volume", _F, _REJ),
    # This request did nothing (REJECTED), but another close of the same position is in flight
    # and may complete: read the position back before anything else (VERIFY).
    (10039, "TRADE_RETCODE_CLOSE_ORDER_EXIST", "a close order already exists", _V, _REJ),
    (
        10040,
        "TRADE_RETCODE_LIMIT_POSITIONS",
        "the number of open positions reached the limit",
        _F,
        _REJ,
    ),
    (10041, "TRADE_RETCODE_REJECT_CANCEL", "pending order activation rejected, canceled", _F, _REJ),
    (10042, "TRADE_RETCODE_LONG_ONLY", "only long positions are allowed", _F, _REJ),
    (10043, "TRADE_RETCODE_SHORT_ONLY", "only short positions are allowed", _F, _REJ),
    (10044, "TRADE_RETCODE_CLOSE_ONLY", "only position closing is allowed", _F, _REJ),
    (10045, "TRADE_RETCODE_FIFO_CLOSE", "position closing allowed only by FIFO rule", _F, _REJ),
    # Defined by MQL5, not exported by the Python module (5.0.6231); a terminal may still send it.
    (10046, "TRADE_RETCODE_HEDGE_PROHIBITED", "opposite positions prohibited (hedging)", _F, _REJ),
)

# Errors: (code, name, description, outcome after a read, outcome when order_send returned None).
# After order_send returned None only the errors raised before anything left the process are
# final (arguments, memory, version, authorization, permission); IPC failures, the generic failure
# and unknown codes may hide a request that reached the server: verify.
_ERROR_ROWS: tuple[tuple[int, str, str, Outcome, Outcome], ...] = (
    (1, "RES_S_OK", "generic success", _S, _V),
    (-1, "RES_E_FAIL", "generic fail", _F, _V),
    (-2, "RES_E_INVALID_PARAMS", "invalid arguments or parameters", _F, _F),
    (-3, "RES_E_NO_MEMORY", "no memory condition", _F, _F),
    (-4, "RES_E_NOT_FOUND", "no history", _F, _V),
    (-5, "RES_E_INVALID_VERSION", "invalid version", _F, _F),
    # Treated as a connection loss (as aiomql does): a re-login may succeed after a restart.
    (-6, "RES_E_AUTH_FAILED", "authorization failed", _R, _F),
    (-7, "RES_E_UNSUPPORTED", "unsupported method", _F, _F),
    (-8, "RES_E_AUTO_TRADING_DISABLED", "auto-trading disabled", _F, _F),
    (-10000, "RES_E_INTERNAL_FAIL", "internal IPC general error", _R, _V),
    (-10001, "RES_E_INTERNAL_FAIL_SEND", "internal IPC send failed", _R, _V),
    (-10002, "RES_E_INTERNAL_FAIL_RECEIVE", "internal IPC recv failed", _R, _V),
    (-10003, "RES_E_INTERNAL_FAIL_INIT", "internal IPC initialization fail", _R, _V),
    (-10004, "RES_E_INTERNAL_FAIL_CONNECT", "no IPC connection", _R, _V),
    (-10005, "RES_E_INTERNAL_FAIL_TIMEOUT", "internal IPC timeout", _R, _V),
)

TRADE_RETCODES: Mapping[int, CodeInfo] = MappingProxyType(
    {row[0]: CodeInfo(*row) for row in _RETCODE_ROWS}
)
"""Every TRADE_RETCODE the engine knows (docs/mt5-api.md §3.3), by code."""

LAST_ERRORS: Mapping[int, ErrorInfo] = MappingProxyType(
    {row[0]: ErrorInfo(*row) for row in _ERROR_ROWS}
)
"""Every ``last_error()`` code (docs/mt5-api.md §3.4), by code."""

RES_S_OK = 1
RES_E_INVALID_PARAMS = -2
RES_E_AUTH_FAILED = -6
TRADE_RETCODE_DONE = 10009
TRADE_RETCODE_POSITION_CLOSED = 10036

IPC_ERRORS: frozenset[int] = frozenset(range(-10005, -9999))
"""The IPC failures -10000…-10005: the link to the terminal is broken."""

CONNECTION_ERRORS: frozenset[int] = IPC_ERRORS | {RES_E_AUTH_FAILED}
"""Codes after which the port re-initializes (and logs in again)."""


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
    info = LAST_ERRORS.get(code)
    return info.send_outcome if info is not None else Outcome.VERIFY


def state_after_send(
    retcode: int | None, *, pending: bool = False, error_code: int | None = None
) -> OrderState:
    """The state an order enters once ``order_send`` answered ``retcode`` (``None``: no result,
    with ``last_error()`` code ``error_code``); 10009 DONE places a ``pending`` order."""
    if retcode is None:
        final = error_code is not None and classify_send_error(error_code) is Outcome.FINAL
        return OrderState.REJECTED if final else OrderState.UNKNOWN
    info = TRADE_RETCODES.get(retcode)
    if info is None:
        return OrderState.UNKNOWN
    if pending and retcode == TRADE_RETCODE_DONE:
        return OrderState.PLACED
    return info.state


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


class DealType(IntEnum):
    """The trade deal types (``DEAL_TYPE_BUY``/``SELL``); the others are balance operations."""

    BUY = 0
    SELL = 1


class DealEntry(IntEnum):
    """``DEAL_ENTRY_*``: how a deal changes a position."""

    IN = 0
    OUT = 1
    INOUT = 2  # reversal (netting): closes the position, then opens the opposite one
    OUT_BY = 3


OPENING_ENTRIES: frozenset[int] = frozenset({DealEntry.IN, DealEntry.INOUT})
"""Deal entries that open (part of) a position."""

CLOSING_ENTRIES: frozenset[int] = frozenset({DealEntry.OUT, DealEntry.OUT_BY, DealEntry.INOUT})
"""Deal entries that close (part of) a position: its realised profit is on these deals."""


class DealReason(IntEnum):
    """``DEAL_REASON_*``: who or what made a deal."""

    CLIENT = 0
    MOBILE = 1
    WEB = 2
    EXPERT = 3
    SL = 4
    TP = 5
    SO = 6
    ROLLOVER = 7
    VMARGIN = 8
    SPLIT = 9


_CLOSE_REASONS: Mapping[int, str] = MappingProxyType(
    {
        DealReason.CLIENT: "manual",
        DealReason.MOBILE: "manual",
        DealReason.WEB: "manual",
        DealReason.SL: "sl",
        DealReason.TP: "tp",
        DealReason.SO: "stop_out",
    }
)


def close_reason(deal_reason: int, expert: str = "expert") -> str:
    """Why a position closed, from its last closing deal's reason: ``"manual"``, ``"sl"``,
    ``"tp"``, ``"stop_out"``; ``expert`` for a close made by an expert (the engine itself, which
    knows its own reason); ``"other"`` for rollover, variation margin, split or unknown codes."""
    if deal_reason == DealReason.EXPERT:
        return expert
    return _CLOSE_REASONS.get(deal_reason, "other")


HISTORY_ORDER_STATES: Mapping[int, OrderState] = MappingProxyType(
    {2: OrderState.CANCELED, 5: OrderState.REJECTED, 6: OrderState.EXPIRED}
)
"""MT5 ``ORDER_STATE`` of a finished history order that filled nothing → the engine's state."""
