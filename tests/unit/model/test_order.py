"""The order state machine: legal and illegal transitions, send results, sent at most once."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading_engine.errors import OrderError
from trading_engine.events import Side
from trading_engine.model.mt5 import state_after_send
from trading_engine.model.order import Order
from trading_engine.model.order_state import FINAL_STATES, TRANSITIONS, OrderState

S = OrderState


@dataclass
class Result:
    """The fields of an MT5 OrderSendResult the state machine reads."""

    retcode: int
    deal: int = 0
    order: int = 0
    volume: float = 0.0
    price: float = 0.0
    comment: str = ""


def order(**kw: object) -> Order:
    fields: dict[str, object] = {
        "client_id": "te1-000001",
        "symbol": "EURUSD",
        "side": Side.BUY,
        "volume": 0.1,
        "magic": 7,
        "comment": "te:1-x",
    }
    fields.update(kw)
    return Order(**fields)  # type: ignore[arg-type]


def test_a_market_order_goes_new_submitted_filled() -> None:
    o = order()
    o.transition(S.SUBMITTED)
    assert o.sent
    state = o.apply_send_result(Result(10009, deal=55, order=77, volume=0.1, price=1.1012))
    assert state is S.FILLED
    assert (o.order_ticket, o.deal_ticket, o.position_ticket) == (77, 55, 77)
    assert o.filled_volume == 0.1
    assert o.fill_price == 1.1012
    assert o.is_final


def test_a_close_order_fills_the_position_it_closes() -> None:
    o = order(intent="close", position_to_close=77, side=Side.SELL)
    o.transition(S.SUBMITTED)
    o.apply_send_result(Result(10009, deal=56, order=78, volume=0.1, price=1.1))
    assert (o.order_ticket, o.position_ticket) == (78, 77)


def test_a_close_order_needs_the_position_to_close() -> None:
    with pytest.raises(OrderError, match="position_to_close"):
        order(intent="close")


def test_an_order_needs_a_positive_volume() -> None:
    with pytest.raises(OrderError, match="volume"):
        order(volume=0.0)


@pytest.mark.parametrize(
    ("retcode", "pending", "state"),
    [
        (10009, False, S.FILLED),
        (10009, True, S.PLACED),
        (10008, False, S.PLACED),
        (10010, False, S.PARTIALLY_FILLED),
        (10007, False, S.CANCELED),
        (10004, False, S.REJECTED),
        (10006, False, S.REJECTED),
        (10014, False, S.REJECTED),
        (10016, False, S.REJECTED),
        (10018, False, S.REJECTED),
        (10019, False, S.REJECTED),
        (10021, False, S.REJECTED),
        (10030, False, S.REJECTED),
        (10036, False, S.REJECTED),
        (10045, False, S.REJECTED),
        (10011, False, S.UNKNOWN),
        (10012, False, S.UNKNOWN),
        (10031, False, S.UNKNOWN),
        (10099, False, S.UNKNOWN),
    ],
)
def test_retcodes_map_to_the_next_state(retcode: int, pending: bool, state: OrderState) -> None:
    assert state_after_send(retcode, pending=pending) is state


def test_no_result_is_unknown_unless_the_module_refused_the_arguments() -> None:
    assert state_after_send(None) is S.UNKNOWN
    assert state_after_send(None, error_code=-10005) is S.UNKNOWN
    assert state_after_send(None, error_code=-2) is S.REJECTED


def test_a_lost_reply_leaves_the_order_unknown() -> None:
    o = order()
    o.transition(S.SUBMITTED)
    assert o.apply_send_result(None, error_code=-10005, error_message="IPC timeout") is S.UNKNOWN
    assert o.message == "IPC timeout"
    o.transition(S.FILLED, position_ticket=90, deal_ticket=91)  # resolved from the terminal
    assert o.position_ticket == 90


def test_a_partial_fill_records_the_filled_volume() -> None:
    o = order(volume=1.0)
    o.transition(S.SUBMITTED)
    assert o.apply_send_result(Result(10010, deal=5, order=6, volume=0.4)) is S.PARTIALLY_FILLED
    assert o.filled_volume == 0.4
    assert o.remaining_volume == pytest.approx(0.6)
    o.transition(S.PARTIALLY_FILLED, filled_volume=0.7)
    o.transition(S.FILLED)
    assert o.filled_volume == 1.0


def test_a_rejection_keeps_the_retcode_and_comment() -> None:
    o = order()
    o.transition(S.SUBMITTED)
    assert o.apply_send_result(Result(10021, comment="No prices")) is S.REJECTED
    assert (o.retcode, o.message) == (10021, "No prices")
    assert o.order_ticket is None


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([S.SUBMITTED, S.FILLED], S.SUBMITTED),
        ([S.SUBMITTED], S.SUBMITTED),
        ([S.SUBMITTED, S.UNKNOWN], S.SUBMITTED),
        ([S.SUBMITTED, S.UNKNOWN], S.UNKNOWN),
        ([S.REJECTED], S.SUBMITTED),
        ([], S.FILLED),
        ([], S.UNKNOWN),
        ([S.SUBMITTED, S.CANCELED], S.FILLED),
        ([S.SUBMITTED, S.PARTIALLY_FILLED], S.PLACED),
    ],
)
def test_illegal_transitions_raise_order_error(path: list[OrderState], illegal: OrderState) -> None:
    o = order()
    for state in path:
        o.transition(state)
    with pytest.raises(OrderError, match="illegal transition"):
        o.transition(illegal)


def test_filled_volume_may_not_decrease_or_exceed_the_volume() -> None:
    o = order(volume=1.0)
    o.transition(S.SUBMITTED)
    o.transition(S.PARTIALLY_FILLED, filled_volume=0.5)
    with pytest.raises(OrderError, match="filled volume"):
        o.transition(S.PARTIALLY_FILLED, filled_volume=0.4)
    with pytest.raises(OrderError, match="filled volume"):
        o.transition(S.FILLED, filled_volume=1.5)


def test_identity_fields_cannot_be_changed_by_a_transition() -> None:
    o = order()
    with pytest.raises(OrderError, match="cannot set"):
        o.transition(S.SUBMITTED, volume=5.0)


def test_a_send_result_is_only_read_for_a_submitted_order() -> None:
    with pytest.raises(OrderError, match="send result"):
        order().apply_send_result(Result(10009))


def test_final_states_have_no_way_out() -> None:
    assert {S.FILLED, S.REJECTED, S.CANCELED, S.EXPIRED} == FINAL_STATES
    assert [s for s, nexts in TRANSITIONS.items() if S.SUBMITTED in nexts] == [S.NEW]
    assert all(S.NEW not in nexts for nexts in TRANSITIONS.values())


@settings(max_examples=300)
@given(st.lists(st.sampled_from(list(OrderState)), max_size=20))
def test_no_order_is_ever_submitted_twice(events: list[OrderState]) -> None:
    o = order(volume=1.0)
    submitted = 0
    path = [o.state]
    for target in events:
        legal = target in TRANSITIONS[o.state]
        try:
            o.transition(target)
        except OrderError:
            assert not legal
            continue
        assert legal
        path.append(o.state)
        submitted += target is S.SUBMITTED
    assert submitted <= 1
    assert o.sent == (S.SUBMITTED in path)
    # Once final, nothing moves it.
    first_final = next((i for i, s in enumerate(path) if s in FINAL_STATES), None)
    if first_final is not None:
        assert first_final == len(path) - 1


def test_an_order_read_back_from_the_journal_gets_its_enums_back() -> None:
    o = order(side="sell", state="unknown", sent=True)
    assert (o.side, o.state) == (Side.SELL, S.UNKNOWN)
    o.transition(S.REJECTED)
    assert o.is_final
