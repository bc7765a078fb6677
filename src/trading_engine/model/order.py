"""``Order``: one order of the engine, from the signal to its final state (see ``order_state``),
and the reading of ``order_send``'s answer through the MT5 table (``model.mt5``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Protocol

from trading_engine.errors import OrderError
from trading_engine.model.mt5 import state_after_send
from trading_engine.model.order_state import FINAL_STATES, TRANSITIONS, OrderState
from trading_engine.model.side import Side

__all__ = ["Order", "SendResult"]

_S = OrderState


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
        if type(self.side) is not Side:
            self.side = Side(self.side)
        if type(self.state) is not OrderState:  # rows read back from the journal carry strings
            self.state = OrderState(self.state)

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
        if type(new_state) is not OrderState:
            new_state = OrderState(new_state)
        if new_state not in TRANSITIONS[self.state]:
            raise OrderError(
                f"order {self.client_id}: illegal transition {self.state} -> {new_state}"
            )
        if not _UPDATABLE.issuperset(fields):
            unknown = set(fields) - _UPDATABLE
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
            state = state_after_send(None, error_code=error_code)
            self.transition(state, message=error_message or f"no result (error {error_code})")
            return state
        state = state_after_send(result.retcode, pending=pending)
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
