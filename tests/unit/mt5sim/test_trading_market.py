"""Market orders: validation retcodes, execution models, tickets, deals, account arithmetic."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

import trading_engine.mt5sim as mt5
from trading_engine.mt5sim import SimConfig, Terminal
from trading_engine.mt5sim.spec.symbols import DEFAULT_SYMBOLS

START = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)  # Wednesday
SATURDAY = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)
EURUSD = DEFAULT_SYMBOLS["EURUSD"]
USDJPY = DEFAULT_SYMBOLS["USDJPY"]
XAUUSD = DEFAULT_SYMBOLS["XAUUSD"]


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def make(clock: FakeClock | None = None, **kw: Any) -> Terminal:
    kw.setdefault("symbols", (EURUSD, USDJPY, XAUUSD))
    kw.setdefault("history_days", 1)
    kw.setdefault("start", START)
    t = Terminal(SimConfig(**kw), clock=clock or FakeClock(START.timestamp()))
    assert t.initialize()
    return t


def deal(symbol: str, type_: int, volume: float, **kw: Any) -> dict[str, Any]:
    return {
        "action": mt5.TRADE_ACTION_DEAL,
        "symbol": symbol,
        "type": type_,
        "volume": volume,
        **kw,
    }


def buy(t: Terminal, symbol: str = "EURUSD", volume: float = 0.1, **kw: Any) -> Any:
    tick = t.symbol_info_tick(symbol)
    assert tick is not None
    return t.order_send(
        deal(symbol, mt5.ORDER_TYPE_BUY, volume, price=tick.ask, deviation=10, **kw)
    )


def test_market_buy_opens_position_whose_ticket_is_the_order_ticket() -> None:
    t = make()
    r = buy(t, magic=77, comment="entry")
    tick = t.symbol_info_tick("EURUSD")
    assert r.retcode == mt5.TRADE_RETCODE_DONE
    assert r.comment == "Request executed"
    assert r.volume == 0.1
    assert r.price == tick.ask
    assert (r.bid, r.ask) == (tick.bid, tick.ask)
    assert r.request.magic == 77
    assert t.last_error() == (1, "Success")
    (pos,) = t.positions_get()
    assert pos.ticket == r.order
    assert pos.identifier == r.order
    assert pos.type == mt5.POSITION_TYPE_BUY
    assert pos.magic == 77
    assert pos.comment == "entry"
    assert pos.price_current == tick.bid
    (order,) = t.history_orders_get(ticket=r.order)
    assert order.state == mt5.ORDER_STATE_FILLED
    assert order.position_id == r.order
    deals = t.history_deals_get(ticket=r.order)
    assert [d.ticket for d in deals] == [r.deal]
    assert deals[0].entry == mt5.DEAL_ENTRY_IN
    assert deals[0].position_id == pos.identifier


def test_account_starts_with_a_balance_deal() -> None:
    t = make(balance=5_000.0)
    (d,) = t.history_deals_get(0, 2**40)
    assert d.type == mt5.DEAL_TYPE_BALANCE
    assert d.order == 0
    assert d.symbol == ""
    assert d.profit == 5_000.0
    assert t.account_info().balance == 5_000.0


def test_close_by_opposite_deal_books_out_deal_and_profit_on_balance() -> None:
    clock = FakeClock(START.timestamp())
    t = make(clock, commission_per_lot=7.0)
    r = buy(t, volume=0.3)
    clock.advance(1800)
    pos = t.positions_get()[0]
    tick = t.symbol_info_tick("EURUSD")
    expected = t.order_calc_profit(mt5.ORDER_TYPE_BUY, "EURUSD", 0.3, pos.price_open, tick.bid)
    assert pos.profit == expected
    assert t.account_info().equity == pytest.approx(t.account_info().balance + pos.profit)
    close = t.order_send(deal("EURUSD", mt5.ORDER_TYPE_SELL, 0.3, position=pos.ticket))
    assert close.retcode == mt5.TRADE_RETCODE_DONE
    assert close.order != r.order
    assert t.positions_get() == ()
    deals = t.history_deals_get(position=r.order)
    assert [d.entry for d in deals] == [mt5.DEAL_ENTRY_IN, mt5.DEAL_ENTRY_OUT]
    assert deals[1].profit == expected
    assert [d.commission for d in deals] == [-2.1, -2.1]
    assert t.account_info().balance == pytest.approx(10_000 + expected - 4.2)
    assert t.history_orders_get(position=r.order)[1].ticket == close.order


def test_partial_close_keeps_identifier_and_reduces_volume() -> None:
    t = make()
    r = buy(t, volume=0.5)
    c = t.order_send(deal("EURUSD", mt5.ORDER_TYPE_SELL, 0.2, position=r.order))
    assert c.retcode == mt5.TRADE_RETCODE_DONE
    (pos,) = t.positions_get()
    assert pos.ticket == r.order
    assert pos.volume == 0.3
    too_much = t.order_send(deal("EURUSD", mt5.ORDER_TYPE_SELL, 0.4, position=r.order))
    assert too_much.retcode == mt5.TRADE_RETCODE_INVALID_CLOSE_VOLUME
    gone = t.order_send(deal("EURUSD", mt5.ORDER_TYPE_SELL, 0.1, position=123))
    assert gone.retcode == mt5.TRADE_RETCODE_POSITION_CLOSED


@pytest.mark.parametrize("volume", [0.0, 0.001, 0.015, 501.0, -1.0])
def test_volume_off_bounds_or_grid_is_invalid_volume(volume: float) -> None:
    t = make()
    r = t.order_send(deal("EURUSD", mt5.ORDER_TYPE_BUY, volume))
    assert r.retcode == mt5.TRADE_RETCODE_INVALID_VOLUME
    assert r.comment == "Invalid volume"
    assert t.positions_total() == 0


def test_bad_request_values_return_none_with_invalid_argument() -> None:
    t = make()
    assert t.order_send(deal("EURUSD", mt5.ORDER_TYPE_BUY, "lots")) is None  # type: ignore[arg-type]
    assert t.last_error() == (-2, 'Invalid "volume" argument')
    assert t.order_send(deal("EURUSD", mt5.ORDER_TYPE_BUY, 0.1, comment="x" * 32)) is None
    assert t.last_error() == (-2, 'Invalid "comment" argument')
    ok = t.order_send(deal("EURUSD", mt5.ORDER_TYPE_BUY, 0.1, comment="x" * 31))
    assert ok.retcode == mt5.TRADE_RETCODE_DONE
    assert t.order_check(deal("EURUSD", mt5.ORDER_TYPE_BUY, 0.1, magic=1.5)) is None
    assert t.last_error() == (-2, 'Invalid "magic" argument')
    assert t.order_send([("action", 1)]) is None  # type: ignore[arg-type]


def test_sl_tp_must_respect_side_and_stops_level() -> None:
    t = make()
    tick = t.symbol_info_tick("USDJPY")
    level = 10 * 0.001  # USDJPY stops level 10 points
    base = {"price": tick.ask, "deviation": 10}
    bad = [
        {"sl": round(tick.bid + 0.05, 3)},  # SL above the bid for a buy
        {"tp": round(tick.bid - 0.05, 3)},
        {"sl": round(tick.bid - level / 2, 3)},  # within the stops level
        {"sl": tick.bid - 0.0101},  # off the tick grid
    ]
    for stops in bad:
        r = t.order_send(deal("USDJPY", mt5.ORDER_TYPE_BUY, 0.1, **base, **stops))
        assert r.retcode == mt5.TRADE_RETCODE_INVALID_STOPS, stops
    good = t.order_send(
        deal(
            "USDJPY",
            mt5.ORDER_TYPE_BUY,
            0.1,
            **base,
            sl=round(tick.bid - 0.5, 3),
            tp=round(tick.bid + 0.5, 3),
        )
    )
    assert good.retcode == mt5.TRADE_RETCODE_DONE
    pos = t.positions_get(ticket=good.order)[0]
    assert pos.sl == round(tick.bid - 0.5, 3)


def test_filling_mode_must_suit_execution_mode() -> None:
    t = make()
    tick = t.symbol_info_tick("USDJPY")
    instant_ioc = t.order_send(
        deal("USDJPY", mt5.ORDER_TYPE_BUY, 0.1, price=tick.ask, type_filling=mt5.ORDER_FILLING_IOC)
    )
    assert instant_ioc.retcode == mt5.TRADE_RETCODE_INVALID_FILL
    assert instant_ioc.comment == "Unsupported filling mode"
    market_return = t.order_send(
        deal("EURUSD", mt5.ORDER_TYPE_BUY, 0.1, type_filling=mt5.ORDER_FILLING_RETURN)
    )
    assert market_return.retcode == mt5.TRADE_RETCODE_INVALID_FILL
    market_ioc = t.order_send(
        deal("EURUSD", mt5.ORDER_TYPE_BUY, 0.1, type_filling=mt5.ORDER_FILLING_IOC)
    )
    assert market_ioc.retcode == mt5.TRADE_RETCODE_DONE
    exch = dataclasses.replace(
        EURUSD, name="EURUSD.x", trade_exemode=mt5.SYMBOL_TRADE_EXECUTION_EXCHANGE
    )
    t2 = make(symbols=(exch,))
    ret = t2.order_send(
        deal("EURUSD.x", mt5.ORDER_TYPE_BUY, 0.1, type_filling=mt5.ORDER_FILLING_RETURN)
    )
    assert ret.retcode == mt5.TRADE_RETCODE_DONE


@pytest.mark.parametrize(
    ("mode", "type_", "retcode"),
    [
        (mt5.SYMBOL_TRADE_MODE_DISABLED, mt5.ORDER_TYPE_BUY, mt5.TRADE_RETCODE_TRADE_DISABLED),
        (mt5.SYMBOL_TRADE_MODE_LONGONLY, mt5.ORDER_TYPE_SELL, mt5.TRADE_RETCODE_LONG_ONLY),
        (mt5.SYMBOL_TRADE_MODE_SHORTONLY, mt5.ORDER_TYPE_BUY, mt5.TRADE_RETCODE_SHORT_ONLY),
        (mt5.SYMBOL_TRADE_MODE_CLOSEONLY, mt5.ORDER_TYPE_BUY, mt5.TRADE_RETCODE_CLOSE_ONLY),
        (mt5.SYMBOL_TRADE_MODE_LONGONLY, mt5.ORDER_TYPE_BUY, mt5.TRADE_RETCODE_DONE),
    ],
)
def test_trade_mode_rules(mode: int, type_: int, retcode: int) -> None:
    t = make(symbols=(dataclasses.replace(EURUSD, trade_mode=mode),))
    assert t.order_send(deal("EURUSD", type_, 0.1)).retcode == retcode


def test_close_only_symbol_still_closes_positions() -> None:
    clock = FakeClock(START.timestamp())
    spec = dataclasses.replace(EURUSD, trade_mode=mt5.SYMBOL_TRADE_MODE_CLOSEONLY)
    t = make(clock, symbols=(spec,))
    t.specs["EURUSD"] = EURUSD  # open while the symbol is fully tradable …
    t.server.specs["EURUSD"] = EURUSD
    r = t.order_send(deal("EURUSD", mt5.ORDER_TYPE_BUY, 0.1))
    t.specs["EURUSD"] = spec  # … then the broker switches it to close-only
    t.server.specs["EURUSD"] = spec
    assert t.order_send(deal("EURUSD", mt5.ORDER_TYPE_BUY, 0.1)).retcode == 10044
    close = t.order_send(deal("EURUSD", mt5.ORDER_TYPE_SELL, 0.1, position=r.order))
    assert close.retcode == mt5.TRADE_RETCODE_DONE


def test_weekend_requests_get_market_closed() -> None:
    t = make(clock=FakeClock(SATURDAY.timestamp()), start=SATURDAY)
    r = t.order_send(deal("EURUSD", mt5.ORDER_TYPE_BUY, 0.1))
    assert r.retcode == mt5.TRADE_RETCODE_MARKET_CLOSED
    assert r.comment == "Market closed"


def test_margin_check_agrees_with_order_calc_margin() -> None:
    t = make(balance=1_000.0)
    tick = t.symbol_info_tick("EURUSD")
    one_lot = t.order_calc_margin(mt5.ORDER_TYPE_BUY, "EURUSD", 1.0, tick.ask)
    assert one_lot == pytest.approx(100_000 / 100 * tick.bid, rel=1e-9)  # EUR margin at EURUSD bid
    affordable = int(1_000 / one_lot * 100) / 100  # lots on the 0.01 grid
    too_big = round(affordable + 0.01, 2)
    check = t.order_check(deal("EURUSD", mt5.ORDER_TYPE_BUY, too_big))
    assert check.retcode == mt5.TRADE_RETCODE_NO_MONEY
    assert t.order_send(deal("EURUSD", mt5.ORDER_TYPE_BUY, too_big)).retcode == 10019
    ok = t.order_check(deal("EURUSD", mt5.ORDER_TYPE_BUY, affordable))
    assert ok.retcode == 0
    assert ok.comment == "Done"
    assert ok.margin == pytest.approx(
        t.order_calc_margin(mt5.ORDER_TYPE_BUY, "EURUSD", affordable, tick.ask), abs=0.011
    )
    sent = t.order_send(deal("EURUSD", mt5.ORDER_TYPE_BUY, affordable))
    assert sent.retcode == mt5.TRADE_RETCODE_DONE
    info = t.account_info()
    assert info.margin == ok.margin
    assert info.margin_free == pytest.approx(info.equity - info.margin)
    assert info.margin_level == pytest.approx(info.equity / info.margin * 100, abs=0.01)


def test_order_check_projects_without_trading() -> None:
    t = make()
    res = t.order_check(deal("XAUUSD", mt5.ORDER_TYPE_SELL, 1.0))
    tick = t.symbol_info_tick("XAUUSD")
    assert res.retcode == 0
    assert res.balance == 10_000.0
    assert res.margin == pytest.approx(
        100 * tick.bid / 100, abs=0.01
    )  # CFD leverage: lots·100·price/lev
    assert res.margin_free == pytest.approx(res.equity - res.margin)
    assert res.request.symbol == "XAUUSD"
    assert t.positions_total() == 0
    assert t.history_orders_total(0, 2**40) == 0


def test_usdjpy_profit_is_converted_to_usd() -> None:
    clock = FakeClock(START.timestamp())
    t = make(clock)
    r = buy(t, "USDJPY", 1.0)
    clock.advance(3600)
    tick = t.symbol_info_tick("USDJPY")
    pos = t.positions_get()[0]
    jpy = (tick.bid - pos.price_open) * 100_000
    assert pos.profit == pytest.approx(round(jpy / tick.ask, 2))
    assert (
        t.order_calc_profit(mt5.ORDER_TYPE_BUY, "USDJPY", 1.0, pos.price_open, tick.bid)
        == pos.profit
    )
    close = t.Close("USDJPY", ticket=r.order)
    assert close is True
    (out,) = [d for d in t.history_deals_get(position=r.order) if d.entry == mt5.DEAL_ENTRY_OUT]
    assert out.profit == pos.profit


def test_instant_execution_requotes_beyond_deviation() -> None:
    t = make()
    tick = t.symbol_info_tick("USDJPY")
    far = round(tick.ask - 0.05, 3)  # 50 points away
    r = t.order_send(deal("USDJPY", mt5.ORDER_TYPE_BUY, 0.1, price=far, deviation=10))
    assert r.retcode == mt5.TRADE_RETCODE_REQUOTE
    assert r.comment == "Requote"
    assert (r.bid, r.ask) == (tick.bid, tick.ask)
    near = t.order_send(
        deal("USDJPY", mt5.ORDER_TYPE_BUY, 0.1, price=round(tick.ask - 0.005, 3), deviation=10)
    )
    assert near.retcode == mt5.TRADE_RETCODE_DONE
    assert near.price == tick.ask
    no_price = t.order_send(deal("USDJPY", mt5.ORDER_TYPE_BUY, 0.1))
    assert no_price.retcode == mt5.TRADE_RETCODE_INVALID_PRICE


def test_requote_probability_one_always_requotes_instant_execution() -> None:
    t = make(requote_probability=1.0)
    tick = t.symbol_info_tick("USDJPY")
    r = t.order_send(deal("USDJPY", mt5.ORDER_TYPE_BUY, 0.1, price=tick.ask, deviation=10))
    assert r.retcode == mt5.TRADE_RETCODE_REQUOTE
    assert buy(t, "EURUSD").retcode == mt5.TRADE_RETCODE_DONE  # market execution never requotes


def test_market_execution_slippage_is_adverse_and_bounded() -> None:
    t = make(slippage_points=5, seed=3)
    tick = t.symbol_info_tick("EURUSD")
    prices = []
    for _ in range(20):
        r = t.order_send(deal("EURUSD", mt5.ORDER_TYPE_BUY, 0.01))
        assert r.retcode == mt5.TRADE_RETCODE_DONE
        prices.append(r.price)
    assert all(tick.ask <= p <= tick.ask + 5 * 0.00001 + 1e-12 for p in prices)
    assert len(set(prices)) > 1


def test_liquidity_partial_fill_with_ioc_and_rejection_with_fok() -> None:
    t = make(liquidity=0.5)
    fok = t.order_send(deal("EURUSD", mt5.ORDER_TYPE_BUY, 1.0, type_filling=mt5.ORDER_FILLING_FOK))
    assert fok.retcode == mt5.TRADE_RETCODE_REJECT
    ioc = t.order_send(deal("EURUSD", mt5.ORDER_TYPE_BUY, 1.0, type_filling=mt5.ORDER_FILLING_IOC))
    assert ioc.retcode == mt5.TRADE_RETCODE_DONE_PARTIAL
    assert ioc.volume == 0.5
    assert t.positions_get()[0].volume == 0.5
    (order,) = t.history_orders_get(ticket=ioc.order)
    assert order.volume_initial == 1.0
    assert order.volume_current == 0.5


def test_autotrading_off_gives_10027_and_order_check_still_works() -> None:
    t = make(trade_allowed=False)
    r = t.order_send(deal("EURUSD", mt5.ORDER_TYPE_BUY, 0.1))
    assert r.retcode == mt5.TRADE_RETCODE_CLIENT_DISABLES_AT
    assert r.comment == "AutoTrading disabled by client"
    assert t.terminal_info().trade_allowed is False
    assert t.order_check(deal("EURUSD", mt5.ORDER_TYPE_BUY, 0.1)).retcode == 0
    t.trade_allowed = True
    assert t.order_send(deal("EURUSD", mt5.ORDER_TYPE_BUY, 0.1)).retcode == 10009


def test_freeze_level_blocks_closing_near_the_stop() -> None:
    t = make()
    tick = t.symbol_info_tick("XAUUSD")
    sl = round(tick.bid - 0.25, 2)  # 25 points below the bid: outside the stops level (20)
    r = t.order_send(deal("XAUUSD", mt5.ORDER_TYPE_BUY, 0.1, sl=sl))
    assert r.retcode == mt5.TRADE_RETCODE_DONE
    pos = t.positions_get()[0]
    # move the SL into the freeze band by editing the book as the server would after a modify
    t.ledger.positions[pos.ticket].sl = round(tick.bid - 0.05, 2)
    close = t.order_send(deal("XAUUSD", mt5.ORDER_TYPE_SELL, 0.1, position=pos.ticket))
    assert close.retcode == mt5.TRADE_RETCODE_FROZEN
    modify = t.order_send({"action": mt5.TRADE_ACTION_SLTP, "position": pos.ticket, "sl": 0.0})
    assert modify.retcode == mt5.TRADE_RETCODE_FROZEN


def test_sltp_modifies_position_stops() -> None:
    t = make()
    r = buy(t)
    tick = t.symbol_info_tick("EURUSD")
    sl, tp = round(tick.bid - 0.002, 5), round(tick.bid + 0.002, 5)
    m = t.order_send(
        {
            "action": mt5.TRADE_ACTION_SLTP,
            "symbol": "EURUSD",
            "position": r.order,
            "sl": sl,
            "tp": tp,
        }
    )
    assert m.retcode == mt5.TRADE_RETCODE_DONE
    pos = t.positions_get()[0]
    assert (pos.sl, pos.tp) == (sl, tp)
    same = t.order_send({"action": mt5.TRADE_ACTION_SLTP, "position": r.order, "sl": sl, "tp": tp})
    assert same.retcode == mt5.TRADE_RETCODE_NO_CHANGES
    wrong = t.order_send({"action": mt5.TRADE_ACTION_SLTP, "position": r.order, "sl": tp})
    assert wrong.retcode == mt5.TRADE_RETCODE_INVALID_STOPS
    missing = t.order_send({"action": mt5.TRADE_ACTION_SLTP, "position": 1, "sl": sl})
    assert missing.retcode == mt5.TRADE_RETCODE_POSITION_CLOSED


def test_unknown_symbol_and_action_are_invalid_requests() -> None:
    t = make()
    assert t.order_send(deal("NOPE", mt5.ORDER_TYPE_BUY, 0.1)).retcode == mt5.TRADE_RETCODE_INVALID
    assert t.order_send({"action": 99}).retcode == mt5.TRADE_RETCODE_INVALID
    r = t.order_send(deal("EURUSD", mt5.ORDER_TYPE_BUY_LIMIT, 0.1))
    assert r.retcode == mt5.TRADE_RETCODE_INVALID_ORDER


def test_request_execution_answers_prices_changed_beyond_deviation() -> None:
    spec = dataclasses.replace(USDJPY, trade_exemode=mt5.SYMBOL_TRADE_EXECUTION_REQUEST)
    t = make(symbols=(spec,))
    tick = t.symbol_info_tick("USDJPY")
    far = round(tick.ask - 0.05, 3)
    r = t.order_send(deal("USDJPY", mt5.ORDER_TYPE_BUY, 0.1, price=far, deviation=10))
    assert r.retcode == mt5.TRADE_RETCODE_PRICE_CHANGED
    assert r.comment == "Prices changed"


def test_volume_limit_caps_positions_and_pending_orders_per_direction() -> None:
    t = make(symbols=(dataclasses.replace(EURUSD, volume_limit=1.0),))
    assert t.order_send(deal("EURUSD", mt5.ORDER_TYPE_BUY, 0.6)).retcode == 10009
    tick = t.symbol_info_tick("EURUSD")
    limit = {
        "action": mt5.TRADE_ACTION_PENDING,
        "symbol": "EURUSD",
        "type": mt5.ORDER_TYPE_BUY_LIMIT,
        "volume": 0.3,
        "price": round(tick.ask - 0.01, 5),
        "type_filling": mt5.ORDER_FILLING_RETURN,
    }
    assert t.order_send(limit).retcode == mt5.TRADE_RETCODE_PLACED
    over = t.order_send(deal("EURUSD", mt5.ORDER_TYPE_BUY, 0.2))
    assert over.retcode == mt5.TRADE_RETCODE_LIMIT_VOLUME
    assert t.order_send(deal("EURUSD", mt5.ORDER_TYPE_SELL, 0.9)).retcode == 10009


def test_hedged_positions_charge_margin_hedged_on_the_covered_volume() -> None:
    t = make()
    long = t.order_send(deal("EURUSD", mt5.ORDER_TYPE_BUY, 1.0))
    one_leg = t.account_info().margin
    check = t.order_check(deal("EURUSD", mt5.ORDER_TYPE_SELL, 1.0))
    assert check.retcode == 0
    # margin_hedged 50,000 of a 100,000 contract: the covered lot is charged at half of one leg
    assert check.margin == pytest.approx(one_leg * 0.5, abs=0.02)
    t.order_send(deal("EURUSD", mt5.ORDER_TYPE_SELL, 1.0))
    assert t.account_info().margin == pytest.approx(check.margin, abs=0.02)
    t.order_send(deal("EURUSD", mt5.ORDER_TYPE_SELL, 1.0, position=long.order))
    assert t.account_info().margin == pytest.approx(one_leg, rel=0.01)


def test_return_filling_keeps_the_rest_active_and_later_ticks_fill_it() -> None:
    clock = FakeClock(START.timestamp())
    exch = dataclasses.replace(
        EURUSD, name="EURUSD.x", trade_exemode=mt5.SYMBOL_TRADE_EXECUTION_EXCHANGE
    )
    t = make(clock, symbols=(exch,), liquidity=0.4)
    r = t.order_send(
        deal("EURUSD.x", mt5.ORDER_TYPE_BUY, 1.0, type_filling=mt5.ORDER_FILLING_RETURN)
    )
    assert r.retcode == mt5.TRADE_RETCODE_DONE_PARTIAL
    assert r.volume == 0.4
    (rest,) = t.orders_get()
    assert rest.ticket == r.order
    assert rest.state == mt5.ORDER_STATE_PARTIAL
    assert rest.volume_current == pytest.approx(0.6)
    clock.advance(120)  # a few ticks: 0.4 then 0.2 more
    assert t.orders_get() == ()
    (pos,) = t.positions_get()
    assert pos.ticket == r.order
    assert pos.volume == pytest.approx(1.0)
    deals = t.history_deals_get(ticket=r.order)
    assert [d.volume for d in deals] == [0.4, 0.4, 0.2]
    times = [d.time_msc for d in deals]
    assert times == sorted(set(times))  # one fill per tick: liquidity is per tick
    assert all(d.entry == mt5.DEAL_ENTRY_IN for d in deals)
    assert t.history_orders_get(ticket=r.order)[0].state == mt5.ORDER_STATE_FILLED


def test_open_positions_limit_answers_10040_but_closing_still_works() -> None:
    t = make(limit_positions=2)
    a = t.order_send(deal("EURUSD", mt5.ORDER_TYPE_BUY, 0.1))
    t.order_send(deal("EURUSD", mt5.ORDER_TYPE_SELL, 0.1))
    third = t.order_send(deal("EURUSD", mt5.ORDER_TYPE_BUY, 0.1))
    assert third.retcode == mt5.TRADE_RETCODE_LIMIT_POSITIONS
    assert third.comment == "Limit positions reached"
    close = t.order_send(deal("EURUSD", mt5.ORDER_TYPE_SELL, 0.1, position=a.order))
    assert close.retcode == mt5.TRADE_RETCODE_DONE
