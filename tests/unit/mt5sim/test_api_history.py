"""Orders, positions and history queries: filters, precedence, dates and totals."""

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

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def setup() -> tuple[Terminal, FakeClock, dict[str, int]]:
    clock = FakeClock(START.timestamp())
    specs = (DEFAULT_SYMBOLS["EURUSD"], DEFAULT_SYMBOLS["GBPUSD"], DEFAULT_SYMBOLS["USDJPY"])
    t = Terminal(SimConfig(symbols=specs, history_days=1, start=START), clock=clock)
    assert t.initialize()
    tickets: dict[str, int] = {}
    clock.advance(60)  # the first trade comes a minute after the balance deal
    for sym in ("EURUSD", "GBPUSD", "USDJPY"):
        r = t.Buy(sym, 0.1)
        assert r.retcode == mt5.TRADE_RETCODE_DONE
        tickets[sym] = r.order
        clock.advance(3600)
    t.Close("GBPUSD")
    tick = t.symbol_info_tick("EURUSD")
    pend = t.order_send(
        {
            "action": mt5.TRADE_ACTION_PENDING,
            "symbol": "EURUSD",
            "type": mt5.ORDER_TYPE_SELL_LIMIT,
            "volume": 0.1,
            "price": round(tick.bid + 0.01, 5),
            "type_filling": mt5.ORDER_FILLING_RETURN,
        }
    )
    tickets["pending"] = pend.order
    return t, clock, tickets


def test_positions_filters_and_symbol_precedence(
    setup: tuple[Terminal, FakeClock, dict[str, int]],
) -> None:
    t, _, tk = setup
    assert {p.symbol for p in t.positions_get()} == {"EURUSD", "USDJPY"}
    assert [p.ticket for p in t.positions_get(symbol="USDJPY")] == [tk["USDJPY"]]
    assert [p.ticket for p in t.positions_get(ticket=tk["EURUSD"])] == [tk["EURUSD"]]
    # a symbol wins over a ticket
    assert [p.symbol for p in t.positions_get(symbol="USDJPY", ticket=tk["EURUSD"])] == ["USDJPY"]
    assert [p.symbol for p in t.positions_get(group="*,!*JPY")] == ["EURUSD"]
    assert t.positions_get(ticket="x") is None
    assert t.last_error() == (-2, 'Invalid "ticket" argument')


def test_orders_get_and_total(setup: tuple[Terminal, FakeClock, dict[str, int]]) -> None:
    t, _, tk = setup
    assert t.orders_total() == 1
    assert [o.ticket for o in t.orders_get(group="EUR*")] == [tk["pending"]]
    assert t.orders_get(symbol="USDJPY") == ()


def test_history_by_dates_group_position_and_ticket(
    setup: tuple[Terminal, FakeClock, dict[str, int]],
) -> None:
    t, _clock, tk = setup
    deals = t.history_deals_get(0, 2**40)
    assert len(deals) == 1 + 3 + 1  # balance, three INs, one OUT
    assert t.history_deals_total(0, 2**40) == len(deals)
    gbp = t.history_deals_get(0, 2**40, group="GBP*")
    assert [d.entry for d in gbp] == [mt5.DEAL_ENTRY_IN, mt5.DEAL_ENTRY_OUT]
    first_in = deals[1]
    only_first = t.history_deals_get(first_in.time, first_in.time)
    assert [d.ticket for d in only_first] == [first_in.ticket]
    as_dt = t.history_deals_get(
        datetime.fromtimestamp(first_in.time, tz=UTC), datetime.fromtimestamp(first_in.time, tz=UTC)
    )
    assert as_dt == only_first
    naive = datetime.fromtimestamp(first_in.time)  # host local time, as the package reads it
    assert t.history_deals_get(naive, naive) == only_first
    assert [d.order for d in t.history_deals_get(ticket=tk["GBPUSD"])] == [tk["GBPUSD"]]
    assert len(t.history_deals_get(position=tk["GBPUSD"])) == 2
    orders = t.history_orders_get(0, 2**40)
    assert t.history_orders_total(0, 2**40) == len(orders) == 4  # pending is not history yet
    assert [o.ticket for o in t.history_orders_get(ticket=tk["USDJPY"])] == [tk["USDJPY"]]
    assert len(t.history_orders_get(position=tk["GBPUSD"])) == 2
    assert t.history_deals_get() is None
    assert t.last_error() == (-2, 'Invalid "date_from" argument')
    assert t.history_deals_get(2**40, 2**41) == ()
