"""Reconciliation: UNKNOWN orders resolved from the terminal, adoption, closes while away."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading_engine.events import Side
from trading_engine.execution.client_ids import ClientIdFactory
from trading_engine.execution.reconcile import (
    BookPosition,
    HeldPosition,
    Reconciliation,
    apply_resolution,
    reconcile,
)
from trading_engine.model.order import Order
from trading_engine.model.order_state import OrderState
from trading_engine.mt5sim.spec.structs import TradeDeal, TradeOrder, TradePosition

MAGIC = 777
T = 1_704_700_000
IDS = ClientIdFactory("te1", start_seq=100)

S = OrderState


def position(ticket: int, *, comment: str = "", magic: int = MAGIC, **kw: Any) -> TradePosition:
    f: dict[str, Any] = {
        "ticket": ticket, "time": T, "time_msc": T * 1000, "time_update": T,
        "time_update_msc": T * 1000, "type": 0, "magic": magic, "identifier": ticket,
        "reason": 3, "volume": 0.1, "price_open": 1.1, "sl": 0.0, "tp": 0.0,
        "price_current": 1.1005, "swap": 0.0, "profit": 5.0, "symbol": "EURUSD",
        "comment": comment, "external_id": "",
    }  # fmt: skip
    f.update(kw)
    return TradePosition(f.values())


def deal(ticket: int, order: int, position_id: int, *, entry: int, comment: str = "",
         magic: int = MAGIC, **kw: Any) -> TradeDeal:  # fmt: skip
    f: dict[str, Any] = {
        "ticket": ticket, "order": order, "time": T, "time_msc": T * 1000 + ticket, "type": 0,
        "entry": entry, "magic": magic, "position_id": position_id, "reason": 3, "volume": 0.1,
        "price": 1.1, "commission": -0.35, "swap": 0.0, "profit": 0.0, "fee": 0.0,
        "symbol": "EURUSD", "comment": comment, "external_id": "",
    }  # fmt: skip
    f.update(kw)
    return TradeDeal(f.values())


def pending(ticket: int, *, comment: str = "", magic: int = MAGIC, **kw: Any) -> TradeOrder:
    f: dict[str, Any] = {
        "ticket": ticket, "time_setup": T, "time_setup_msc": T * 1000, "time_done": 0,
        "time_done_msc": 0, "time_expiration": 0, "type": 2, "type_time": 0, "type_filling": 2,
        "state": 1, "magic": magic, "position_id": 0, "position_by_id": 0, "reason": 3,
        "volume_initial": 0.1, "volume_current": 0.1, "price_open": 1.09, "sl": 0.0, "tp": 0.0,
        "price_current": 1.1, "price_stoplimit": 0.0, "symbol": "EURUSD", "comment": comment,
        "external_id": "",
    }  # fmt: skip
    f.update(kw)
    return TradeOrder(f.values())


def our_order(state: OrderState = S.UNKNOWN, **kw: Any) -> Order:
    cid = IDS.next()
    o = Order(cid.client_id, "EURUSD", kw.pop("side", Side.BUY), kw.pop("volume", 0.1), MAGIC,
              IDS.comment(cid, "ema_cross"), **kw)  # fmt: skip
    path = {S.NEW: [], S.SUBMITTED: [S.SUBMITTED], S.UNKNOWN: [S.SUBMITTED, S.UNKNOWN],
            S.PLACED: [S.SUBMITTED, S.PLACED]}[state]  # fmt: skip
    for step in path:
        o.transition(step)
    return o


def run(
    *,
    orders: list[Order] | None = None,
    book: Sequence[HeldPosition] | None = None,
    positions: list[Any] | None = None,
    terminal_orders: list[Any] | None = None,
    deals: list[Any] | None = None,
    history: list[Any] | None = None,
) -> Reconciliation:
    return reconcile(
        magic=MAGIC,
        orders=orders or [],
        positions=book or [],
        terminal_positions=positions or [],
        terminal_orders=terminal_orders or [],
        deals=deals or [],
        history_orders=history or [],
    )


def test_unknown_order_found_filled_in_the_deals_is_filled_and_its_position_adopted() -> None:
    o = our_order()
    r = run(
        orders=[o],
        positions=[position(5001, comment=o.comment)],
        deals=[deal(9001, 5001, 5001, entry=0, comment=o.comment, price=1.1003)],
    )
    [res] = r.resolutions
    assert (res.client_id, res.state) == (o.client_id, S.FILLED)
    assert (res.order_ticket, res.position_ticket, res.deal_ticket) == (5001, 5001, 9001)
    assert res.fill_price == pytest.approx(1.1003)
    [adopted] = r.adopted_positions
    assert (adopted.ticket, adopted.client_id, adopted.tag) == (
        5001,
        o.client_id,
        IDS.parse(o.comment),
    )
    assert r.closed_positions == []
    apply_resolution(o, res)
    assert o.state is S.FILLED
    assert o.position_ticket == 5001


def test_unknown_order_found_only_as_an_open_position_is_filled() -> None:
    o = our_order()
    r = run(orders=[o], positions=[position(5002, comment=f"{o.comment} [sl 1.09]")])
    [res] = r.resolutions
    assert (res.state, res.position_ticket, res.filled_volume) == (S.FILLED, 5002, 0.1)


def test_unknown_order_found_nowhere_is_rejected_and_never_resent() -> None:
    o = our_order()
    r = run(orders=[o], positions=[position(5003, comment="te:zz-0")])  # another order's
    [res] = r.resolutions
    assert res.state is S.REJECTED
    assert "never executed" in res.reason
    apply_resolution(o, res)
    assert o.state is S.REJECTED
    assert o.sent  # it went out once; the state machine refuses a second SUBMITTED
    assert not o.can_transition(S.SUBMITTED)


def test_unknown_order_pending_on_the_terminal_is_placed_and_not_adopted() -> None:
    o = our_order()
    r = run(orders=[o], terminal_orders=[pending(6001, comment=o.comment)])
    [res] = r.resolutions
    assert (res.state, res.order_ticket) == (S.PLACED, 6001)
    assert r.adopted_orders == []


def test_a_placed_order_still_pending_needs_nothing() -> None:
    o = our_order(S.PLACED)
    o.order_ticket = 6002
    r = run(orders=[o], terminal_orders=[pending(6002)])
    assert r.resolutions == []
    assert r.changes == 0


def test_a_placed_order_gone_takes_its_state_from_the_order_history() -> None:
    o = our_order(S.PLACED)
    o.order_ticket = 6003
    history = [pending(6003, state=6)]  # ORDER_STATE_EXPIRED
    [res] = run(orders=[o], history=history).resolutions
    assert res.state is S.EXPIRED
    [res] = run(orders=[o]).resolutions
    assert res.state is S.CANCELED


def test_positions_of_this_engine_missing_from_the_journal_are_adopted() -> None:
    r = run(positions=[position(5004, comment="manual?", type=1, sl=1.2, tp=0.0)])
    [adopted] = r.adopted_positions
    assert (adopted.ticket, adopted.side, adopted.sl, adopted.tp) == (5004, Side.SELL, 1.2, None)
    assert adopted.client_id is None
    assert adopted.tag is None


def test_positions_closed_while_away_are_closed_from_their_out_deals() -> None:
    held = BookPosition(5005, "EURUSD", Side.BUY, 0.2, 1.1, sl=1.09, client_id="te1-000001")
    deals = [
        deal(9010, 5005, 5005, entry=0, volume=0.2, commission=-0.7),
        deal(
            9011,
            7001,
            5005,
            entry=1,
            type=1,
            volume=0.2,
            price=1.09,
            profit=-200.0,
            swap=-1.5,
            commission=-0.7,
            reason=4,
            time=T + 600,
        ),
    ]
    r = run(book=[held], deals=deals)
    [closed] = r.closed_positions
    assert (closed.ticket, closed.reason, closed.complete) == (5005, "sl", True)
    assert closed.price_close == pytest.approx(1.09)
    assert (closed.profit, closed.swap) == (-200.0, -1.5)
    assert closed.fees == pytest.approx(-1.4)
    assert closed.net == pytest.approx(-202.9)
    assert (closed.time_close, closed.deal_tickets, closed.client_id) == (
        T + 600,
        (9011,),
        "te1-000001",
    )


def test_a_position_closed_outside_the_deal_window_is_closed_but_incomplete() -> None:
    r = run(book=[BookPosition(5006, "EURUSD", Side.BUY, 0.1, 1.1)])
    [closed] = r.closed_positions
    assert not closed.complete
    assert closed.price_close is None
    assert "no closing deal" in closed.reason


def test_foreign_positions_and_orders_are_left_alone() -> None:
    o = our_order()
    r = run(
        orders=[o],
        positions=[position(5007, magic=0), position(5008, magic=123, comment=o.comment)],
        terminal_orders=[pending(6004, magic=0)],
        deals=[deal(9020, 5008, 5008, entry=0, magic=123, comment=o.comment)],
    )
    assert r.foreign_positions == [5007, 5008]
    assert r.foreign_orders == [6004]
    assert r.adopted_positions == []
    assert r.adopted_orders == []
    [res] = r.resolutions  # another robot's use of the same tag is not ours
    assert res.state is S.REJECTED


def test_an_order_filled_and_closed_while_away_is_filled_then_closed() -> None:
    o = our_order()
    deals = [
        deal(9030, 5009, 5009, entry=0, comment=o.comment, price=1.1),
        deal(
            9031,
            5010,
            5009,
            entry=1,
            type=1,
            comment="[tp 1.11]",
            price=1.11,
            profit=100.0,
            reason=5,
        ),
    ]
    r = run(orders=[o], deals=deals)
    [res] = r.resolutions
    assert (res.state, res.position_ticket) == (S.FILLED, 5009)
    [closed] = r.closed_positions
    assert (closed.ticket, closed.reason, closed.profit, closed.client_id) == (
        5009,
        "tp",
        100.0,
        o.client_id,
    )
    assert closed.price_open == pytest.approx(1.1)
    assert r.adopted_positions == []


def test_an_unknown_close_order_is_filled_by_its_out_deal() -> None:
    o = our_order(intent="close", position_to_close=5011, side=Side.SELL)
    held = BookPosition(5011, "EURUSD", Side.BUY, 0.1, 1.1)
    deals = [deal(9040, 5012, 5011, entry=1, type=1, comment=o.comment, price=1.105, profit=50.0)]
    r = run(orders=[o], book=[held], deals=deals)
    [res] = r.resolutions
    assert (res.state, res.position_ticket, res.order_ticket) == (S.FILLED, 5011, 5012)
    [closed] = r.closed_positions
    assert (closed.ticket, closed.profit, closed.reason) == (5011, 50.0, "expert")


def test_an_unknown_close_order_not_executed_leaves_the_position_open() -> None:
    o = our_order(intent="close", position_to_close=5013, side=Side.SELL)
    held = BookPosition(5013, "EURUSD", Side.BUY, 0.1, 1.1)
    r = run(orders=[o], book=[held], positions=[position(5013)])
    assert [res.state for res in r.resolutions] == [S.REJECTED]
    assert r.closed_positions == []
    assert r.adopted_positions == []


def test_a_partial_fill_whose_remainder_is_gone_ends_canceled_with_its_fill() -> None:
    o = our_order(volume=1.0)
    r = run(
        orders=[o],
        positions=[position(5014, volume=0.4, comment=o.comment)],
        deals=[deal(9050, 5014, 5014, entry=0, volume=0.4, comment=o.comment)],
    )
    [res] = r.resolutions
    assert (res.state, res.filled_volume) == (S.CANCELED, 0.4)
    apply_resolution(o, res)
    assert (o.state, o.filled_volume) == (S.CANCELED, 0.4)


def test_a_new_order_found_filled_goes_through_submitted() -> None:
    o = our_order(S.NEW)
    r = run(orders=[o], positions=[position(5015, comment=o.comment)])
    apply_resolution(o, r.resolutions[0])
    assert o.state is S.FILLED
    assert o.sent


def test_a_known_order_ticket_matches_even_when_the_broker_rewrote_the_comment() -> None:
    o = our_order()
    o.order_ticket = 5016
    r = run(orders=[o], deals=[deal(9060, 5016, 5016, entry=0, comment="[rewritten]")],
            positions=[position(5016, comment="[rewritten]")])  # fmt: skip
    assert [(x.state, x.deal_ticket) for x in r.resolutions] == [(S.FILLED, 9060)]
    assert [p.client_id for p in r.adopted_positions] == [o.client_id]


def test_changed_stops_and_volume_are_reported_as_updates() -> None:
    held = BookPosition(5017, "EURUSD", Side.BUY, 0.2, 1.1, sl=1.09)
    r = run(book=[held], positions=[position(5017, volume=0.1, sl=1.095, tp=1.12)])
    [update] = r.position_updates
    assert (update.ticket, update.volume, update.sl, update.tp) == (5017, 0.1, 1.095, 1.12)
    assert r.closed_positions == []


def test_a_reissued_position_ticket_is_matched_by_identifier() -> None:
    held = BookPosition(5018, "EURUSD", Side.BUY, 0.1, 1.1)
    r = run(book=[held], positions=[position(5999, identifier=5018)])
    [update] = r.position_updates
    assert update.new_ticket == 5999
    assert r.adopted_positions == []


def test_our_pending_orders_missing_from_the_journal_are_adopted() -> None:
    r = run(terminal_orders=[pending(6005, comment="te:1-x", type=5)])
    [adopted] = r.adopted_orders
    assert (adopted.ticket, adopted.side, adopted.type) == (6005, Side.SELL, 5)


def test_mapping_records_work_like_structs() -> None:
    o = our_order()
    r = run(
        orders=[o],
        positions=[position(5019, comment=o.comment)._asdict()],
        deals=[deal(9070, 5019, 5019, entry=0, comment=o.comment)._asdict()],
    )
    assert [(x.state, x.position_ticket) for x in r.resolutions] == [(S.FILLED, 5019)]


def test_journal_and_terminal_in_agreement_need_no_change() -> None:
    held = BookPosition(5020, "EURUSD", Side.BUY, 0.1, 1.1)
    r = run(book=[held], positions=[position(5020), position(5021, magic=1)])
    assert r.changes == 0
    assert "1 foreign positions" in r.summary()


def test_any_position_shaped_object_without_identifier_can_be_reconciled() -> None:
    @dataclass
    class JournalRow:
        ticket: int
        symbol: str
        side: Side
        volume: float
        price_open: float
        sl: float | None
        tp: float | None
        client_id: str

    rows = [
        JournalRow(5022, "EURUSD", Side.BUY, 0.1, 1.1, None, None, "te1-000009"),
        JournalRow(5023, "EURUSD", Side.SELL, 0.1, 1.1, None, None, "te1-000010"),
    ]
    r = run(book=rows, positions=[position(5022)])
    assert r.position_updates == []
    assert [(c.ticket, c.client_id) for c in r.closed_positions] == [(5023, "te1-000010")]


def test_journal_position_rows_reconcile_directly() -> None:
    from trading_engine.journal.store import PositionRow

    rows = [
        PositionRow(5024, "EURUSD", "buy", 0.1, 1.1, T, identifier=5024, client_id="te1-000011"),
        PositionRow(5025, "EURUSD", "sell", 0.1, 1.1, T, identifier=4990),
    ]
    r = run(book=rows, positions=[position(5026, identifier=4990, type=1)])
    [closed] = r.closed_positions
    assert (closed.ticket, closed.side, closed.client_id) == (5024, Side.BUY, "te1-000011")
    [update] = r.position_updates
    assert (update.ticket, update.new_ticket) == (5025, 5026)


_tickets = st.integers(min_value=5100, max_value=5130)


@settings(max_examples=100, deadline=None)
@given(
    book_tickets=st.sets(_tickets, max_size=8),
    live=st.dictionaries(_tickets, st.sampled_from([MAGIC, 0, 123]), max_size=10),
    n_orders=st.integers(0, 4),
    filled=st.sets(st.integers(0, 3)),
)
def test_every_position_and_order_is_accounted_for_exactly_once(
    book_tickets: set[int], live: dict[int, int], n_orders: int, filled: set[int]
) -> None:
    orders = [our_order() for _ in range(n_orders)]
    positions = [position(t, magic=m) for t, m in live.items()]
    # Orders whose index is in ``filled`` opened a fresh position (tickets 6100+).
    for i, o in enumerate(orders):
        if i in filled:
            positions.append(position(6100 + i, comment=o.comment))
    book = [BookPosition(t, "EURUSD", Side.BUY, 0.1, 1.1) for t in book_tickets]
    r = run(orders=orders, book=book, positions=positions)

    ours_live = {int(p.ticket) for p in positions if p.magic == MAGIC}
    foreign = {int(p.ticket) for p in positions if p.magic != MAGIC}
    adopted = [p.ticket for p in r.adopted_positions]
    closed = [c.ticket for c in r.closed_positions]
    assert sorted(r.foreign_positions) == sorted(foreign)
    assert len(adopted) == len(set(adopted))
    assert set(adopted) == ours_live - book_tickets
    assert set(closed) == book_tickets - ours_live
    assert len(closed) == len(set(closed))
    assert {u.ticket for u in r.position_updates} <= book_tickets & ours_live
    # Each unfinished order gets exactly one answer; none is ever "send again".
    assert [x.client_id for x in r.resolutions] == [o.client_id for o in orders]
    for i, x in enumerate(r.resolutions):
        assert x.state is (S.FILLED if i in filled else S.REJECTED)
        apply_resolution(orders[i], x)
        assert orders[i].is_final
    linked = {p.client_id for p in r.adopted_positions if p.client_id}
    assert linked == {orders[i].client_id for i in filled if i < n_orders}
