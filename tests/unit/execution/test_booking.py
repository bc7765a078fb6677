"""The one booking rule: a position's close from its deals."""

from __future__ import annotations

from types import SimpleNamespace

from trading_engine.execution.booking import book_close


def deal(ticket: int, entry: int, volume: float, price: float, **more: float) -> SimpleNamespace:
    fields = {"profit": 0.0, "swap": 0.0, "commission": 0.0, "fee": 0.0, "reason": 3}
    fields.update(more)
    return SimpleNamespace(
        ticket=ticket, entry=entry, volume=volume, price=price, time=1000 + ticket, **fields
    )


def test_partial_closes_book_their_volume_weighted_price_and_every_fee() -> None:
    deals = [
        deal(3, 1, 0.5, 1.2, profit=20.0, swap=-1.0, commission=-1.0, reason=5),
        deal(1, 0, 1.0, 1.1, commission=-2.0),
        deal(2, 1, 0.5, 1.3, profit=10.0, commission=-1.0),
    ]
    booked = book_close(deals)
    assert booked.volume == 1.0
    assert booked.price == 1.25
    assert booked.profit == 30.0
    assert booked.swap == -1.0
    assert booked.fees == -4.0  # the opening deal's commission counts too
    assert booked.time == 1003
    assert booked.reason == "tp"  # the last closing deal's


def test_a_netting_reversal_inout_deal_closes_volume_and_out_by_does_too() -> None:
    booked = book_close([deal(1, 0, 1.0, 1.1), deal(2, 2, 1.0, 1.2, profit=5.0, reason=4)])
    assert booked.volume == 1.0
    assert booked.reason == "sl"
    assert book_close([deal(1, 0, 1.0, 1.1), deal(2, 3, 1.0, 1.0)]).price == 1.0


def test_a_position_without_a_closing_deal_books_nothing() -> None:
    booked = book_close([deal(1, 0, 1.0, 1.1, commission=-2.0)])
    assert booked.price is None
    assert booked.reason is None
    assert booked.volume == 0.0
    assert booked.fees == -2.0
