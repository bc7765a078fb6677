"""The order state machine (pure): an explicit transition table, and the reading of send results.

::

    NEW ──► SUBMITTED ──► PLACED ──► PARTIALLY_FILLED ──► FILLED
     │          │            │              │
     │          ├──► FILLED / PARTIALLY_FILLED / REJECTED / CANCELED / EXPIRED
     │          └──► UNKNOWN ──► (resolved from the terminal) PLACED / PARTIALLY_FILLED /
     │                            FILLED / REJECTED / CANCELED / EXPIRED
     └──► REJECTED (refused before sending: risk, normalisation) / CANCELED

``SUBMITTED`` is entered only from ``NEW``: an order is sent once. A retry after a requote or a
"no prices" answer is a *new* order with a new client id; the first one ends ``REJECTED``.
``UNKNOWN`` (timeout, lost connection, a reply that never came) is left only by reading the
terminal's orders, positions and deals (``execution.reconcile``), never by sending again.
``FILLED``, ``REJECTED``, ``CANCELED`` and ``EXPIRED`` are final.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, Protocol

from trading_engine.errors import OrderError
from trading_engine.events import Side

__all__ = [
    "FINAL_STATES",
    "TRANSITIONS",
    "Order",
    "OrderState",
    "SendResult",
    "state_from_retcode",
]


class OrderState(StrEnum):
    """Where an order stands."""

    NEW = "new"
    SUBMITTED = "submitted"
    PLACED = "placed"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    REJECTED = "rejected"
    CANCELED = "canceled"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


_S = OrderState
TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    _S.NEW: frozenset({_S.SUBMITTED, _S.REJECTED, _S.CANCELED}),
    _S.SUBMITTED: frozenset(
        {_S.PLACED, _S.PARTIALLY_FILLED, _S.FILLED, _S.REJECTED, _S.CANCELED, _S.EXPIRED}
        | {_S.UNKNOWN}
    ),
    _S.PLACED: frozenset(
        {_S.PARTIALLY_FILLED, _S.FILLED, _S.REJECTED, _S.CANCELED, _S.EXPIRED, _S.UNKNOWN}
    ),
    _S.PARTIALLY_FILLED: frozenset(
        {_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.EXPIRED, _S.UNKNOWN}
    ),
    _S.UNKNOWN: frozenset(
        {_S.PLACED, _S.PARTIALLY_FILLED, _S.FILLED, _S.REJECTED, _S.CANCELED, _S.EXPIRED}
    ),
    _S.FILLED: frozenset(),
    _S.REJECTED: frozenset(),
    _S.CANCELED: frozenset(),
    _S.EXPIRED: frozenset(),
}
"""Every legal transition; anything else raises ``OrderError``."""

FINAL_STATES = frozenset(state for state, nexts in TRANSITIONS.items() if not nexts)

# TRADE_RETCODE values (mt5-api.md §3.3).
_CANCEL, _PLACED, _DONE, _DONE_PARTIAL = 10007, 10008, 10009, 10010
_VERIFY = frozenset({10011, 10012, 10031})  # ERROR, TIMEOUT, CONNECTION: may have executed
_KNOWN_REFUSALS = frozenset(range(10004, 10046)) - _VERIFY - {10005, 10037, _PLACED, _DONE}
_INVALID_PARAMS = -2  # last_error(): the module refused the request before sending it


def state_from_retcode(
    retcode: int | None, *, pending: bool = False, error_code: int | None = None
) -> OrderState:
    """The state an order enters once ``order_send`` answered ``retcode``.

    - ``10009`` DONE: ``FILLED`` for a market order, ``PLACED`` for a pending one (``pending``);
    - ``10008`` PLACED: ``PLACED``; ``10010`` DONE_PARTIAL: ``PARTIALLY_FILLED``;
    - ``10007`` CANCEL: ``CANCELED``;
    - ``10012`` TIMEOUT, ``10031`` CONNECTION, ``10011`` ERROR, any code not in the MT5 table,
      and ``None`` (no result at all): ``UNKNOWN``, to be resolved from the terminal;
    - ``None`` with ``error_code == -2`` (the module refused the arguments, nothing was sent):
      ``REJECTED``;
    - every other trade retcode (requote, invalid stops, no money, market closed …):
      ``REJECTED`` (nothing was executed; a retry is a new order).
    """
    if retcode is None:
        return _S.REJECTED if error_code == _INVALID_PARAMS else _S.UNKNOWN
    if retcode == _DONE:
        return _S.PLACED if pending else _S.FILLED
    if retcode == _PLACED:
        return _S.PLACED
    if retcode == _DONE_PARTIAL:
        return _S.PARTIALLY_FILLED
    if retcode == _CANCEL:
        return _S.CANCELED
    if retcode in _KNOWN_REFUSALS:
        return _S.REJECTED
    return _S.UNKNOWN  # TIMEOUT, CONNECTION, ERROR, or a code we do not know: verify


class SendResult(Protocol):
    """The fields of an MT5 ``OrderSendResult`` that the state machine reads."""

    @property
    def retcode(self) -> int: ...
    @property
    def deal(self) -> int: ...
    @property
    def order(self) -> int: ...
    @property
    def volume(self) -> float: ...
    @property
    def price(self) -> float: ...
    @property
    def comment(self) -> str: ...


_UPDATABLE = frozenset(
    [
        "filled_volume",
        "price",
        "fill_price",
        "order_ticket",
        "position_ticket",
        "deal_ticket",
        "retcode",
        "message",
        "updated_at",
    ]
)
_EPS = 1e-9


@dataclass(slots=True)
class Order:
    """One order of the engine, from the signal to its final state.

    ``intent`` is ``"open"`` (a new position) or ``"close"`` (closing ``position_to_close``).
    ``price`` is the requested price, ``fill_price`` the (volume-weighted) price of the fills.
    Tickets are MT5's: the
    order's, the position it opened or closed, and its (last) deal. ``message`` keeps the last
    terminal comment or reason.
    """

    client_id: str
    symbol: str
    side: Side
    volume: float
    magic: int
    comment: str
    intent: Literal["open", "close"] = "open"
    strategy: str = ""
    correlation_id: str = ""
    price: float | None = None
    sl: float | None = None
    tp: float | None = None
    position_to_close: int | None = None
    state: OrderState = OrderState.NEW
    filled_volume: float = 0.0
    order_ticket: int | None = None
    position_ticket: int | None = None
    deal_ticket: int | None = None
    retcode: int | None = None
    message: str = ""
    fill_price: float | None = None
    created_at: float | None = None
    updated_at: float | None = None
    sent: bool = False
    """Set on entering ``SUBMITTED``: the order went to the terminal and is never sent again."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.volume) and self.volume > 0):
            raise OrderError(f"order {self.client_id}: volume must be > 0, got {self.volume}")
        if self.intent not in ("open", "close"):
            raise OrderError(f"order {self.client_id}: intent must be 'open' or 'close'")
        if self.intent == "close" and self.position_to_close is None:
            raise OrderError(f"order {self.client_id}: a close order needs position_to_close")
        self.side = Side(self.side)
        self.state = OrderState(self.state)  # rows read back from the journal carry strings

    @property
    def is_final(self) -> bool:
        """True once the order can no longer change."""
        return self.state in FINAL_STATES

    @property
    def remaining_volume(self) -> float:
        return max(0.0, self.volume - self.filled_volume)

    def can_transition(self, new_state: OrderState) -> bool:
        return new_state in TRANSITIONS[self.state]

    def transition(self, new_state: OrderState, **fields: object) -> None:
        """Move to ``new_state`` and update ``fields`` (``filled_volume``, ``price``,
        ``fill_price``, ``order_ticket``, ``position_ticket``, ``deal_ticket``, ``retcode``,
        ``message``, ``updated_at``).

        Raises ``OrderError`` on an illegal transition, an unknown field, or a filled volume that
        decreases or exceeds the order's volume. ``FILLED`` without ``filled_volume`` means the
        whole volume.
        """
        new_state = OrderState(new_state)
        if new_state not in TRANSITIONS[self.state]:
            raise OrderError(
                f"order {self.client_id}: illegal transition {self.state} -> {new_state}"
            )
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise OrderError(f"order {self.client_id}: cannot set {sorted(unknown)}")
        filled = fields.get("filled_volume")
        if filled is None and new_state is _S.FILLED:
            filled = self.volume
        if filled is not None:
            if not isinstance(filled, int | float) or not math.isfinite(filled):
                raise OrderError(f"order {self.client_id}: bad filled_volume {filled!r}")
            if filled < self.filled_volume - _EPS or filled > self.volume + _EPS:
                raise OrderError(
                    f"order {self.client_id}: filled volume {filled} outside "
                    f"[{self.filled_volume}, {self.volume}]"
                )
            fields["filled_volume"] = float(filled)
        self.state = new_state
        if new_state is _S.SUBMITTED:
            self.sent = True
        for name, value in fields.items():
            if value is not None:
                setattr(self, name, value)

    def apply_send_result(
        self, result: SendResult | None, *, pending: bool = False, error_code: int | None = None,
        error_message: str = "",
    ) -> OrderState:  # fmt: skip
        """Read ``order_send``'s answer (``None`` if it returned none) and move to the next state.

        The order must be ``SUBMITTED``. For an opening market order the position ticket is the
        order ticket (MT5's ticket model); for a close it is ``position_to_close``. Zero tickets
        in the result mean "none". Returns the new state.
        """
        if self.state is not _S.SUBMITTED:
            raise OrderError(f"order {self.client_id}: a send result for an order in {self.state}")
        if result is None:
            state = state_from_retcode(None, error_code=error_code)
            self.transition(state, message=error_message or f"no result (error {error_code})")
            return state
        state = state_from_retcode(result.retcode, pending=pending)
        fields: dict[str, object] = {"retcode": result.retcode, "message": result.comment}
        if result.order:
            fields["order_ticket"] = int(result.order)
        if state in (_S.FILLED, _S.PARTIALLY_FILLED):
            if result.deal:
                fields["deal_ticket"] = int(result.deal)
            if result.price:
                fields["fill_price"] = float(result.price)
            if state is _S.PARTIALLY_FILLED or result.volume:
                fields["filled_volume"] = min(self.volume, float(result.volume))
            if self.intent == "close":
                fields["position_ticket"] = self.position_to_close
            elif result.order:
                fields["position_ticket"] = int(result.order)
        self.transition(state, **fields)
        return state
