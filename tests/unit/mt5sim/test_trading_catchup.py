"""The catch-up between calls: vectorised event search against tick-by-tick oracles."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trading_engine.mt5sim as mt5
from trading_engine.mt5sim import SimConfig, Terminal
from trading_engine.mt5sim.spec.symbols import DEFAULT_SYMBOLS

START = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)
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
    t = Terminal(
        SimConfig(symbols=(EURUSD, USDJPY), history_days=1, start=START, **kw), clock=clock
    )
    assert t.initialize()
    return t


def now_msc(t: Terminal, clock: FakeClock) -> int:
    return math.floor(t.market.server_time.to_server(clock.t) * 1000)


def test_nothing_open_catches_up_without_reading_ticks() -> None:
    clock = FakeClock(START.timestamp())
    t = make(clock)
    reads = t.market.tick_reads

    for _ in range(50):
        clock.advance(7 * 24 * HOUR)
        assert t.account_info() is not None
    assert t.history_deals_total(0, 2**40) == 1
    assert t.market.tick_reads == reads  # nothing open: no tick was walked


def test_pending_fill_then_take_profit_in_one_catch_up(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock(START.timestamp())
    t = make(clock)
    lo = now_msc(t, clock)
    ahead = t.market.ticks_between("EURUSD", lo, lo + int(8 * HOUR * 1000))
    tick = t.symbol_info_tick("EURUSD")
    i_min = int(np.argmin(ahead["ask"]))
    price = round(float(ahead["ask"][i_min]) + 0.00002, 5)  # filled near the low
    later_high = float(ahead["bid"][i_min:].max())
    tp = round(price + (later_high - price) * 0.6, 5)
    assert price < tick.ask
    assert tp > price
    r = t.order_send(
        {
            "action": mt5.TRADE_ACTION_PENDING,
            "symbol": "EURUSD",
            "type": mt5.ORDER_TYPE_BUY_LIMIT,
            "volume": 0.1,
            "price": price,
            "tp": tp,
            "type_filling": mt5.ORDER_FILLING_RETURN,
        }
    )
    assert r.retcode == mt5.TRADE_RETCODE_PLACED
    clock.advance(8 * HOUR)  # one call catches up through both events
    deals = t.history_deals_get(position=r.order)
    assert [d.entry for d in deals] == [mt5.DEAL_ENTRY_IN, mt5.DEAL_ENTRY_OUT]
    fill = int(np.argmax(ahead["ask"] <= price))
    hit = fill + int(np.argmax(ahead["bid"][fill:] >= tp))
    assert deals[0].time_msc == ahead["time_msc"][fill]
    assert deals[1].time_msc == ahead["time_msc"][hit]
    assert deals[1].reason == mt5.DEAL_REASON_TP
    assert deals[1].price == ahead["bid"][hit]


@settings(max_examples=10, deadline=None)
@given(
    is_buy=st.booleans(),
    sl_pips=st.integers(3, 40),
    tp_pips=st.integers(3, 40),
    wait_h=st.integers(1, 20),
)
def test_sl_tp_exit_matches_a_tick_by_tick_oracle(
    is_buy: bool, sl_pips: int, tp_pips: int, wait_h: int
) -> None:
    clock = FakeClock(START.timestamp())
    t = make(clock)
    tick = t.symbol_info_tick("EURUSD")
    ref = tick.bid if is_buy else tick.ask
    sign = 1 if is_buy else -1
    sl = round(ref - sign * sl_pips * 1e-4, 5)
    tp = round(ref + sign * tp_pips * 1e-4, 5)
    r = t.order_send(
        {
            "action": mt5.TRADE_ACTION_DEAL,
            "symbol": "EURUSD",
            "type": 0 if is_buy else 1,
            "volume": 0.1,
            "sl": sl,
            "tp": tp,
        }
    )
    assert r.retcode == mt5.TRADE_RETCODE_DONE
    lo = now_msc(t, clock)
    clock.advance(wait_h * HOUR)
    ticks = t.market.ticks_between("EURUSD", lo, now_msc(t, clock))
    expected = None
    for k in range(len(ticks)):  # the oracle: one tick at a time
        price = float(ticks["bid"][k] if is_buy else ticks["ask"][k])
        hit_sl = price <= sl if is_buy else price >= sl
        hit_tp = price >= tp if is_buy else price <= tp
        if hit_sl or hit_tp:
            expected = (int(ticks["time_msc"][k]), price, hit_sl)
            break
    deals = t.history_deals_get(position=r.order)
    if expected is None:
        assert len(deals) == 1
        assert t.positions_total() == 1
    else:
        out = deals[-1]
        assert (out.time_msc, out.price) == expected[:2]
        assert out.reason == (mt5.DEAL_REASON_SL if expected[2] else mt5.DEAL_REASON_TP)


def test_two_symbol_stop_out_matches_a_merged_tick_oracle() -> None:
    clock = FakeClock(START.timestamp())
    t = make(clock, balance=600.0, leverage=500, margin_so_so=60.0)
    lo = now_msc(t, clock)
    horizon = 24 * HOUR
    eu = t.market.ticks_between("EURUSD", lo, lo + int(horizon * 1000))
    uj = t.market.ticks_between("USDJPY", lo, lo + int(horizon * 1000))
    q0 = t.symbol_info_tick("EURUSD")
    j0 = t.symbol_info_tick("USDJPY")
    # take the losing side of each market over the day
    eu_buy = eu["bid"].min() - q0.bid < q0.ask - eu["ask"].max()
    uj_buy = uj["bid"].min() - j0.bid < j0.ask - uj["ask"].max()
    a = t.order_send({"action": 1, "symbol": "EURUSD", "type": 0 if eu_buy else 1, "volume": 1.0})
    b = t.order_send(
        {
            "action": 1,
            "symbol": "USDJPY",
            "type": 0 if uj_buy else 1,
            "volume": 1.0,
            "price": j0.ask if uj_buy else j0.bid,
            "deviation": 5,
        }
    )
    assert a.retcode == b.retcode == mt5.TRADE_RETCODE_DONE
    margin = t.account_info().margin
    # oracle: walk both symbols' ticks in time order
    events = sorted(
        [(int(x["time_msc"]), 0, float(x["bid"]), float(x["ask"])) for x in eu]
        + [(int(x["time_msc"]), 1, float(x["bid"]), float(x["ask"])) for x in uj]
    )
    last = {0: (q0.bid, q0.ask), 1: (j0.bid, j0.ask)}
    expected = None
    for tm, sym, bid, ask in events:
        last[sym] = (bid, ask)
        p_eu = ((last[0][0] - a.price) if eu_buy else (a.price - last[0][1])) * 100_000
        jpy = ((last[1][0] - b.price) if uj_buy else (b.price - last[1][1])) * 100_000
        equity = 600.0 + p_eu + jpy / last[1][1]
        if equity / margin * 100 < 60.0:
            expected = tm
            break
    assert expected is not None, "the fixture never reaches stop-out; adjust the sizes"
    clock.advance(horizon)
    so = [d for d in t.history_deals_get(0, 2**40) if d.reason == mt5.DEAL_REASON_SO]
    assert so
    assert so[0].time_msc == expected
