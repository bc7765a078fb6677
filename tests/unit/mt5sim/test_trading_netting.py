"""Netting accounts (IN/OUT/INOUT, identifier kept on reversal) and close-by on hedging accounts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import trading_engine.mt5sim as mt5
from trading_engine.mt5sim import SimConfig, Terminal
from trading_engine.mt5sim.spec.symbols import DEFAULT_SYMBOLS

START = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)
EURUSD = DEFAULT_SYMBOLS["EURUSD"]


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def make(clock: FakeClock, **kw: Any) -> Terminal:
    t = Terminal(SimConfig(symbols=(EURUSD,), history_days=1, start=START, **kw), clock=clock)
    assert t.initialize()
    return t


def market(t: Terminal, type_: int, volume: float, **kw: Any) -> Any:
    r = t.order_send(
        {"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "type": type_, "volume": volume, **kw}
    )
    assert r is not None
    return r


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START.timestamp())


def test_netting_keeps_one_position_and_reverses_with_inout(clock: FakeClock) -> None:
    t = make(clock, margin_mode=mt5.ACCOUNT_MARGIN_MODE_RETAIL_NETTING)
    assert t.account_info().margin_mode == mt5.ACCOUNT_MARGIN_MODE_RETAIL_NETTING
    first = market(t, mt5.ORDER_TYPE_BUY, 0.2)
    clock.advance(60)
    add = market(t, mt5.ORDER_TYPE_BUY, 0.1)
    (pos,) = t.positions_get()
    assert pos.ticket == first.order
    assert pos.volume == pytest.approx(0.3)
    assert pos.price_open == pytest.approx((first.price * 0.2 + add.price * 0.1) / 0.3)
    clock.advance(60)
    reduce = market(t, mt5.ORDER_TYPE_SELL, 0.1)
    (pos,) = t.positions_get()
    assert pos.volume == pytest.approx(0.2)
    clock.advance(60)
    flip = market(t, mt5.ORDER_TYPE_SELL, 0.5)
    (pos,) = t.positions_get()
    assert pos.type == mt5.POSITION_TYPE_SELL
    assert pos.volume == pytest.approx(0.3)
    assert pos.identifier == first.order  # identifier survives the reversal …
    assert pos.ticket == flip.order  # … the ticket does not
    assert pos.price_open == flip.price
    entries = [d.entry for d in t.history_deals_get(position=first.order)]
    assert entries == [
        mt5.DEAL_ENTRY_IN,
        mt5.DEAL_ENTRY_IN,
        mt5.DEAL_ENTRY_OUT,
        mt5.DEAL_ENTRY_INOUT,
    ]
    assert {reduce.order, flip.order} <= {
        o.ticket for o in t.history_orders_get(position=first.order)
    }
    clock.advance(60)
    close = market(t, mt5.ORDER_TYPE_BUY, 0.3)
    assert close.retcode == mt5.TRADE_RETCODE_DONE
    assert t.positions_get() == ()
    deals = t.history_deals_get(position=first.order)
    assert deals[-1].entry == mt5.DEAL_ENTRY_OUT
    assert t.account_info().balance == pytest.approx(10_000 + sum(d.profit for d in deals))


def test_netting_rejects_close_by(clock: FakeClock) -> None:
    t = make(clock, margin_mode=mt5.ACCOUNT_MARGIN_MODE_RETAIL_NETTING)
    a = market(t, mt5.ORDER_TYPE_BUY, 0.1)
    r = t.order_send({"action": mt5.TRADE_ACTION_CLOSE_BY, "position": a.order, "position_by": 1})
    assert r.retcode == mt5.TRADE_RETCODE_INVALID


def test_hedging_keeps_opposite_positions_and_close_by_books_out_by_deals(clock: FakeClock) -> None:
    t = make(clock)
    long = market(t, mt5.ORDER_TYPE_BUY, 0.3)
    clock.advance(600)
    short = market(t, mt5.ORDER_TYPE_SELL, 0.1)
    assert t.positions_total() == 2
    r = t.order_send(
        {
            "action": mt5.TRADE_ACTION_CLOSE_BY,
            "symbol": "EURUSD",
            "position": long.order,
            "position_by": short.order,
        }
    )
    assert r.retcode == mt5.TRADE_RETCODE_DONE
    (left,) = t.positions_get()
    assert left.ticket == long.order
    assert left.volume == pytest.approx(0.2)
    out_by = [d for d in t.history_deals_get(0, 2**40) if d.entry == mt5.DEAL_ENTRY_OUT_BY]
    assert {d.position_id for d in out_by} == {long.order, short.order}
    assert all(d.order == r.order for d in out_by)
    expected = round((short.price - long.price) * 0.1 * 100_000, 2)
    assert sum(d.profit for d in out_by) == pytest.approx(expected, abs=0.011)
    (order,) = t.history_orders_get(ticket=r.order)
    assert order.type == mt5.ORDER_TYPE_CLOSE_BY
    assert order.position_by_id == short.order
    same_side = market(t, mt5.ORDER_TYPE_BUY, 0.1)
    bad = t.order_send(
        {
            "action": mt5.TRADE_ACTION_CLOSE_BY,
            "position": long.order,
            "position_by": same_side.order,
        }
    )
    assert bad.retcode == mt5.TRADE_RETCODE_INVALID
    missing = t.order_send(
        {"action": mt5.TRADE_ACTION_CLOSE_BY, "position": long.order, "position_by": short.order}
    )
    assert missing.retcode == mt5.TRADE_RETCODE_POSITION_CLOSED
