"""The package's Buy/Sell/Close helpers, over a simulated terminal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import trading_engine.mt5sim as mt5
from trading_engine.mt5sim import SimConfig, Terminal
from trading_engine.mt5sim.spec.symbols import DEFAULT_SYMBOLS

START = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def term() -> Terminal:
    specs = (DEFAULT_SYMBOLS["EURUSD"], DEFAULT_SYMBOLS["USDJPY"])
    t = Terminal(
        SimConfig(symbols=specs, history_days=1, start=START), clock=FakeClock(START.timestamp())
    )
    assert t.initialize()
    return t


def test_buy_sends_a_deal_at_the_ask_with_deviation_10(term: Terminal) -> None:
    tick = term.symbol_info_tick("USDJPY")
    r = term.Buy("USDJPY", 0.1, comment="helper")
    assert r.retcode == mt5.TRADE_RETCODE_DONE
    assert r.request.action == mt5.TRADE_ACTION_DEAL
    assert r.request.deviation == 10
    assert r.request.price == tick.ask
    assert r.request.type_filling == mt5.ORDER_FILLING_FOK
    assert r.request.comment == "helper"
    (pos,) = term.positions_get()
    assert pos.type == mt5.POSITION_TYPE_BUY
    assert pos.comment == "helper"


def test_sell_opens_a_short_and_buy_with_ticket_closes_it(term: Terminal) -> None:
    s = term.Sell("EURUSD", 0.2)
    assert s.retcode == mt5.TRADE_RETCODE_DONE
    assert term.positions_get()[0].type == mt5.POSITION_TYPE_SELL
    b = term.Buy("EURUSD", 0.2, ticket=s.order)
    assert b.retcode == mt5.TRADE_RETCODE_DONE
    assert b.request.position == s.order
    assert term.positions_get() == ()


def test_buy_with_explicit_price_sends_once_without_retry(term: Terminal) -> None:
    tick = term.symbol_info_tick("USDJPY")
    r = term.Buy("USDJPY", 0.1, price=round(tick.ask - 1.0, 3))
    assert r.retcode == mt5.TRADE_RETCODE_REQUOTE
    assert r.request_id == 1


def test_close_returns_true_partially_false_and_none(term: Terminal) -> None:
    assert term.Close("EURUSD") is False  # nothing to close
    term.Buy("EURUSD", 0.1)
    term.Sell("EURUSD", 0.1)
    term.faults.throttle(calls=1)  # the first close is refused and not retried
    assert term.Close("EURUSD") == "Partially"
    assert term.positions_total() == 1
    assert term.Close("EURUSD") is True
    assert term.positions_get() == ()
    term.Buy("EURUSD", 0.1)
    pos = term.positions_get()[0]
    term.Buy("EURUSD", 0.1)
    assert term.Close("EURUSD", ticket=pos.ticket) is True
    assert term.positions_total() == 1
    term.shutdown()
    assert term.Close("EURUSD") is None


def test_close_retries_requotes(term: Terminal) -> None:
    term.Buy("USDJPY", 0.1)
    term.faults.requote_storm(calls=3)
    assert term.Close("USDJPY") is True
