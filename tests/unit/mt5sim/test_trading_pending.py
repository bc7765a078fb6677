"""Pending orders, SL/TP, stop-out, expiration and swaps, triggered by the market as time passes."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

import trading_engine.mt5sim as mt5
from trading_engine.mt5sim import SimConfig, Terminal
from trading_engine.mt5sim.spec.symbols import DEFAULT_SYMBOLS

START = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)  # Wednesday
EURUSD = DEFAULT_SYMBOLS["EURUSD"]
USDJPY = DEFAULT_SYMBOLS["USDJPY"]
HOUR = 3600.0


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def make(clock: FakeClock, **kw: Any) -> Terminal:
    kw.setdefault("symbols", (EURUSD, USDJPY))
    kw.setdefault("history_days", 1)
    kw.setdefault("start", START)
    t = Terminal(SimConfig(**kw), clock=clock)
    assert t.initialize()
    return t


def future(t: Terminal, clock: FakeClock, symbol: str, seconds: float) -> np.ndarray:
    """The ticks of the next ``seconds`` (the test's oracle: the market is deterministic)."""
    st = t.market.server_time
    lo = math.floor(st.to_server(clock.t) * 1000)
    hi = math.floor(st.to_server(clock.t + seconds) * 1000)
    return t.market.ticks_between(symbol, lo, hi)


def pending(symbol: str, type_: int, price: float, **kw: Any) -> dict[str, Any]:
    return {
        "action": mt5.TRADE_ACTION_PENDING,
        "symbol": symbol,
        "type": type_,
        "volume": 0.1,
        "price": price,
        "type_filling": mt5.ORDER_FILLING_RETURN,
        **kw,
    }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START.timestamp())


def test_buy_limit_is_placed_then_filled_on_the_first_tick_at_or_below_its_price(
    clock: FakeClock,
) -> None:
    t = make(clock)
    ahead = future(t, clock, "EURUSD", 2 * HOUR)
    tick = t.symbol_info_tick("EURUSD")
    price = round(math.ceil(ahead["ask"].min() / 1e-5) * 1e-5 + 1e-5, 5)
    assert price < tick.ask
    r = t.order_send(pending("EURUSD", mt5.ORDER_TYPE_BUY_LIMIT, price, magic=5))
    assert r.retcode == mt5.TRADE_RETCODE_PLACED
    assert r.deal == 0
    assert t.orders_total() == 1
    (o,) = t.orders_get(ticket=r.order)
    assert o.state == mt5.ORDER_STATE_PLACED
    assert o.price_open == price
    assert o.price_current == tick.ask
    clock.advance(2 * HOUR)
    assert t.orders_total() == 0
    (pos,) = t.positions_get()
    assert pos.ticket == r.order
    assert pos.identifier == r.order
    assert pos.price_open == price
    first = int(np.argmax(ahead["ask"] <= price))
    (d,) = t.history_deals_get(position=r.order)
    assert d.time_msc == ahead["time_msc"][first]
    assert d.entry == mt5.DEAL_ENTRY_IN
    (h,) = t.history_orders_get(ticket=r.order)
    assert h.state == mt5.ORDER_STATE_FILLED
    assert h.magic == 5


def test_sell_stop_fills_at_the_triggering_bid(clock: FakeClock) -> None:
    t = make(clock)
    ahead = future(t, clock, "EURUSD", 3 * HOUR)
    tick = t.symbol_info_tick("EURUSD")
    price = round(math.floor(ahead["bid"].min() / 1e-5) * 1e-5 + 5e-5, 5)
    assert price < tick.bid
    r = t.order_send(pending("EURUSD", mt5.ORDER_TYPE_SELL_STOP, price))
    assert r.retcode == mt5.TRADE_RETCODE_PLACED
    clock.advance(3 * HOUR)
    i = int(np.argmax(ahead["bid"] <= price))
    (pos,) = t.positions_get()
    assert pos.type == mt5.POSITION_TYPE_SELL
    assert pos.price_open == ahead["bid"][i]
    assert pos.time_msc == ahead["time_msc"][i]


def test_stop_limit_turns_into_a_limit_order_when_triggered(clock: FakeClock) -> None:
    t = make(clock)
    ahead = future(t, clock, "EURUSD", 4 * HOUR)
    tick = t.symbol_info_tick("EURUSD")
    trigger = round(tick.ask + 0.0003, 5)
    if ahead["ask"].max() < trigger:
        pytest.fail("fixture data does not rise 3 pips in 4 h; pick another seed")
    r = t.order_send(
        pending(
            "EURUSD", mt5.ORDER_TYPE_BUY_STOP_LIMIT, trigger, stoplimit=round(trigger - 0.0001, 5)
        )
    )
    assert r.retcode == mt5.TRADE_RETCODE_PLACED
    i = int(np.argmax(ahead["ask"] >= trigger))
    now_msc = math.floor(t.market.server_time.to_server(clock.t) * 1000)
    clock.advance((int(ahead["time_msc"][i]) - now_msc) / 1000 + 0.0005)
    (o,) = t.orders_get(ticket=r.order)  # the limit at stoplimit < trigger <= ask cannot fill yet
    assert o.type == mt5.ORDER_TYPE_BUY_LIMIT
    assert o.price_open == round(trigger - 0.0001, 5)
    assert o.price_stoplimit == 0.0
    assert t.positions_get() == ()


def test_pending_price_on_wrong_side_is_invalid_price(clock: FakeClock) -> None:
    t = make(clock)
    tick = t.symbol_info_tick("EURUSD")
    above = round(tick.ask + 0.001, 5)
    assert t.order_send(pending("EURUSD", mt5.ORDER_TYPE_BUY_LIMIT, above)).retcode == 10015
    below = round(tick.bid - 0.001, 5)
    assert t.order_send(pending("EURUSD", mt5.ORDER_TYPE_BUY_STOP, below)).retcode == 10015
    assert t.order_send(pending("EURUSD", mt5.ORDER_TYPE_SELL_LIMIT, below)).retcode == 10015
    assert t.order_send(pending("EURUSD", mt5.ORDER_TYPE_SELL_STOP, above)).retcode == 10015
    assert t.order_send(pending("EURUSD", mt5.ORDER_TYPE_BUY_LIMIT, 0.0)).retcode == 10015
    ok = t.order_send(pending("EURUSD", mt5.ORDER_TYPE_BUY_STOP, above))
    assert ok.retcode == mt5.TRADE_RETCODE_PLACED


def test_pending_sl_tp_are_checked_against_the_order_price(clock: FakeClock) -> None:
    t = make(clock)
    tick = t.symbol_info_tick("EURUSD")
    price = round(tick.ask - 0.002, 5)
    bad = t.order_send(
        pending("EURUSD", mt5.ORDER_TYPE_BUY_LIMIT, price, sl=round(price + 0.001, 5))
    )
    assert bad.retcode == mt5.TRADE_RETCODE_INVALID_STOPS
    ok = t.order_send(
        pending(
            "EURUSD",
            mt5.ORDER_TYPE_BUY_LIMIT,
            price,
            sl=round(price - 0.001, 5),
            tp=round(price + 0.003, 5),
        )
    )
    assert ok.retcode == mt5.TRADE_RETCODE_PLACED


def test_expiration_specified_and_day(clock: FakeClock) -> None:
    t = make(clock)
    tick = t.symbol_info_tick("EURUSD")
    far = round(tick.ask - 0.05, 5)  # never reached
    past = t.order_send(
        pending(
            "EURUSD",
            mt5.ORDER_TYPE_BUY_LIMIT,
            far,
            type_time=mt5.ORDER_TIME_SPECIFIED,
            expiration=tick.time - 5,
        )
    )
    assert past.retcode == mt5.TRADE_RETCODE_INVALID_EXPIRATION
    spec = t.order_send(
        pending(
            "EURUSD",
            mt5.ORDER_TYPE_BUY_LIMIT,
            far,
            type_time=mt5.ORDER_TIME_SPECIFIED,
            expiration=tick.time + 600,
        )
    )
    day = t.order_send(
        pending("EURUSD", mt5.ORDER_TYPE_BUY_LIMIT, far, type_time=mt5.ORDER_TIME_DAY)
    )
    gtc = t.order_send(pending("EURUSD", mt5.ORDER_TYPE_BUY_LIMIT, far))
    assert {spec.retcode, day.retcode, gtc.retcode} == {mt5.TRADE_RETCODE_PLACED}
    clock.advance(900)
    assert {o.ticket for o in t.orders_get()} == {day.order, gtc.order}
    (h,) = t.history_orders_get(ticket=spec.order)
    assert h.state == mt5.ORDER_STATE_EXPIRED
    assert h.time_done == tick.time + 600
    clock.advance(24 * HOUR)
    assert [o.ticket for o in t.orders_get()] == [gtc.order]
    assert t.history_orders_get(ticket=day.order)[0].state == mt5.ORDER_STATE_EXPIRED


def test_modify_and_remove_pending_order(clock: FakeClock) -> None:
    t = make(clock)
    tick = t.symbol_info_tick("EURUSD")
    price = round(tick.ask - 0.01, 5)
    r = t.order_send(pending("EURUSD", mt5.ORDER_TYPE_BUY_LIMIT, price))
    new_price = round(price - 0.001, 5)
    m = t.order_send(
        {
            "action": mt5.TRADE_ACTION_MODIFY,
            "order": r.order,
            "price": new_price,
            "sl": round(new_price - 0.002, 5),
        }
    )
    assert m.retcode == mt5.TRADE_RETCODE_DONE
    (o,) = t.orders_get()
    assert o.price_open == new_price
    assert o.sl == round(new_price - 0.002, 5)
    same = t.order_send(
        {
            "action": mt5.TRADE_ACTION_MODIFY,
            "order": r.order,
            "price": new_price,
            "sl": round(new_price - 0.002, 5),
        }
    )
    assert same.retcode == mt5.TRADE_RETCODE_NO_CHANGES
    rm = t.order_send({"action": mt5.TRADE_ACTION_REMOVE, "order": r.order})
    assert rm.retcode == mt5.TRADE_RETCODE_DONE
    assert t.orders_get() == ()
    assert t.history_orders_get(ticket=r.order)[0].state == mt5.ORDER_STATE_CANCELED
    again = t.order_send({"action": mt5.TRADE_ACTION_REMOVE, "order": r.order})
    assert again.retcode == mt5.TRADE_RETCODE_INVALID


def test_pending_limit_orders_cap(clock: FakeClock) -> None:
    t = make(clock, limit_orders=2)
    tick = t.symbol_info_tick("EURUSD")
    price = round(tick.ask - 0.01, 5)
    codes = [
        t.order_send(pending("EURUSD", mt5.ORDER_TYPE_BUY_LIMIT, price)).retcode for _ in range(3)
    ]
    assert codes == [10008, 10008, mt5.TRADE_RETCODE_LIMIT_ORDERS]


def test_pending_order_sent_on_weekend_is_rejected_now_or_later(clock: FakeClock) -> None:
    saturday = datetime(2025, 3, 15, 12, tzinfo=UTC)
    clock.t = saturday.timestamp()
    t = make(clock, start=saturday)
    tick = t.symbol_info_tick("EURUSD")
    req = pending("EURUSD", mt5.ORDER_TYPE_BUY_LIMIT, round(tick.ask - 0.01, 5))
    assert t.order_send(req).retcode == mt5.TRADE_RETCODE_MARKET_CLOSED
    t2 = make(clock, start=saturday, pending_when_closed="async_reject")
    placed = t2.order_send(req)
    assert placed.retcode == mt5.TRADE_RETCODE_PLACED
    clock.advance(1)
    assert t2.orders_get() == ()
    assert t2.history_orders_get(ticket=placed.order)[0].state == mt5.ORDER_STATE_REJECTED


def test_take_profit_and_stop_loss_close_on_bid_with_their_reasons(clock: FakeClock) -> None:
    t = make(clock)
    ahead = future(t, clock, "EURUSD", 6 * HOUR)
    tick = t.symbol_info_tick("EURUSD")
    hi, lo = ahead["bid"].max(), ahead["bid"].min()
    tp = round(tick.bid + (hi - tick.bid) / 2, 5)
    sl = round(tick.bid - (tick.bid - lo) / 2, 5)
    assert tp > tick.bid
    assert sl < tick.bid
    r = t.order_send(
        {
            "action": mt5.TRADE_ACTION_DEAL,
            "symbol": "EURUSD",
            "type": 0,
            "volume": 0.1,
            "sl": sl,
            "tp": tp,
        }
    )
    assert r.retcode == mt5.TRADE_RETCODE_DONE
    i_tp = int(np.argmax(ahead["bid"] >= tp))
    i_sl = int(np.argmax(ahead["bid"] <= sl))
    first = min(i_tp, i_sl)
    clock.advance(6 * HOUR)
    assert t.positions_get() == ()
    out = [d for d in t.history_deals_get(position=r.order) if d.entry == mt5.DEAL_ENTRY_OUT]
    assert len(out) == 1
    assert out[0].time_msc == ahead["time_msc"][first]
    assert out[0].price == ahead["bid"][first]
    assert out[0].reason == (mt5.DEAL_REASON_TP if i_tp < i_sl else mt5.DEAL_REASON_SL)
    (close_order,) = [o for o in t.history_orders_get(position=r.order) if o.ticket != r.order]
    assert close_order.reason == (mt5.ORDER_REASON_TP if i_tp < i_sl else mt5.ORDER_REASON_SL)
    assert t.account_info().balance == pytest.approx(10_000 + out[0].profit)


def test_sell_stop_loss_triggers_on_ask(clock: FakeClock) -> None:
    t = make(clock)
    ahead = future(t, clock, "EURUSD", 6 * HOUR)
    tick = t.symbol_info_tick("EURUSD")
    sl = round(tick.ask + (ahead["ask"].max() - tick.ask) / 2, 5)
    r = t.order_send(
        {"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "type": 1, "volume": 0.1, "sl": sl}
    )
    assert r.retcode == mt5.TRADE_RETCODE_DONE
    clock.advance(6 * HOUR)
    i = int(np.argmax(ahead["ask"] >= sl))
    out = t.history_deals_get(position=r.order)[-1]
    assert out.reason == mt5.DEAL_REASON_SL
    assert out.price == ahead["ask"][i]
    assert out.comment.startswith("[sl ")


def test_stop_out_closes_the_losing_position_when_margin_level_falls(clock: FakeClock) -> None:
    t = make(clock, balance=400.0, leverage=500, margin_so_so=50.0)
    ahead = future(t, clock, "EURUSD", 24 * HOUR)
    tick = t.symbol_info_tick("EURUSD")
    # direction that loses most over the next day
    down = tick.bid - ahead["bid"].min() > ahead["ask"].max() - tick.ask
    side = mt5.ORDER_TYPE_BUY if down else mt5.ORDER_TYPE_SELL
    lots = 1.5
    r = t.order_send(
        {"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "type": side, "volume": lots}
    )
    assert r.retcode == mt5.TRADE_RETCODE_DONE
    margin = t.account_info().margin
    entry = r.price
    price = ahead["bid"] if side == mt5.ORDER_TYPE_BUY else ahead["ask"]
    profit = (price - entry) * lots * 100_000 * (1 if side == mt5.ORDER_TYPE_BUY else -1)
    level = (400.0 + profit) / margin * 100
    hit = np.flatnonzero(level < 50.0)
    assert hit.size, "pick a larger position: the fixture never reaches stop-out"
    clock.advance(24 * HOUR)
    assert t.positions_get() == ()
    out = t.history_deals_get(position=r.order)[-1]
    assert out.reason == mt5.DEAL_REASON_SO
    assert out.time_msc == ahead["time_msc"][hit[0]]
    assert out.comment.startswith("[so ")
    assert t.account_info().balance == pytest.approx(400.0 + out.profit)


def test_swaps_accrue_at_rollover_with_triple_on_wednesday(clock: FakeClock) -> None:
    t = make(clock)
    r = t.order_send(
        {"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "type": 0, "volume": 1.0}
    )
    assert r.retcode == mt5.TRADE_RETCODE_DONE
    one_night = EURUSD.swap_long * EURUSD.point * 100_000  # points → USD for 1 lot
    clock.advance(16 * HOUR)  # past Wednesday's rollover (Thu 00:00 server)
    assert t.positions_get()[0].swap == pytest.approx(round(3 * one_night, 2))
    clock.advance(24 * HOUR)  # past Thursday's rollover
    pos = t.positions_get()[0]
    assert pos.swap == pytest.approx(round(4 * one_night, 2))
    info = t.account_info()
    assert info.equity == pytest.approx(info.balance + pos.profit + pos.swap)
    close = t.Close("EURUSD")
    assert close is True
    out = t.history_deals_get(position=r.order)[-1]
    assert out.swap == pytest.approx(round(4 * one_night, 2))
    assert t.account_info().balance == pytest.approx(10_000 + out.profit + out.swap)
