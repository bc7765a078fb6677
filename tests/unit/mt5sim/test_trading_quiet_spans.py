"""Quiet spans (``horizon.py``) and quote bounds (``bounds.py``) of the catch-up against the
plain search on every call.

Three terminals replay the same random session: one with quiet spans and bounds (the default),
one with bounds only (every call searches, reading ticks only where the bounds let an event
fire), and the reference without either (``Catchup.quiet_spans = False``, ``Catchup.bounds =
False``: every call reads every window's ticks); every answer must be equal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import trading_engine.mt5sim as mt5
from trading_engine.mt5sim import SimConfig, Terminal
from trading_engine.mt5sim.spec.symbols import DEFAULT_SYMBOLS

START = datetime(2025, 3, 13, 20, 30, tzinfo=UTC)  # Thursday evening: a midnight, then Friday
SYMBOLS = (DEFAULT_SYMBOLS["EURUSD"], DEFAULT_SYMBOLS["XAUUSD"], DEFAULT_SYMBOLS["USDJPY"])


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _pair(mode: str, balance: float) -> tuple[Clock, Terminal, Terminal]:
    clock = Clock(START.timestamp())
    cfg = SimConfig(
        symbols=SYMBOLS,
        seed=11,
        start=START,
        history_days=1,
        market_mode=mode,  # type: ignore[arg-type]
        balance=balance,
    )
    fast, ref = Terminal(cfg, clock=clock), Terminal(cfg, clock=clock)
    ref._catchup.quiet_spans = False
    ref._catchup.bounds = False
    assert fast._catchup.bounds
    assert fast.initialize()
    assert ref.initialize()
    return clock, fast, ref


def _bounded(clock: Clock, ref: Terminal) -> Terminal:
    """A terminal like ``ref`` that searches on every call, with the quotes' bounds."""
    t = Terminal(ref.config, clock=clock)
    t._catchup.quiet_spans = False
    assert t._catchup.bounds
    assert t.initialize()
    return t


def _request(t: Terminal, op: tuple[Any, ...]) -> dict[str, Any] | None:
    kind, sym, side, dist, dist2, volume, pick = op
    tick = t.symbol_info_tick(sym)
    if tick is None:
        return None
    point = t.specs[sym].point
    digits = t.specs[sym].digits
    if kind == "market":
        buy = side == 0
        price = tick.ask if buy else tick.bid
        sl = round(price - dist * point if buy else price + dist * point, digits) if dist else 0.0
        tp = (
            round(price + dist2 * point if buy else price - dist2 * point, digits) if dist2 else 0.0
        )
        return {
            "action": mt5.TRADE_ACTION_DEAL,
            "symbol": sym,
            "type": side,
            "volume": volume,
            "price": price,
            "deviation": 50,
            "sl": sl,
            "tp": tp,
        }
    if kind == "pending":
        otype = (
            mt5.ORDER_TYPE_BUY_LIMIT,
            mt5.ORDER_TYPE_SELL_LIMIT,
            mt5.ORDER_TYPE_BUY_STOP,
            mt5.ORDER_TYPE_SELL_STOP,
        )[side % 4]
        below = otype in (mt5.ORDER_TYPE_BUY_LIMIT, mt5.ORDER_TYPE_SELL_STOP)
        ref = tick.ask if otype in (mt5.ORDER_TYPE_BUY_LIMIT, mt5.ORDER_TYPE_BUY_STOP) else tick.bid
        price = round(ref - (dist + 30) * point if below else ref + (dist + 30) * point, digits)
        req: dict[str, Any] = {
            "action": mt5.TRADE_ACTION_PENDING,
            "symbol": sym,
            "type": otype,
            "volume": volume,
            "price": price,
        }
        if dist2:
            req["type_time"] = mt5.ORDER_TIME_SPECIFIED
            req["expiration"] = int(tick.time) + dist2 * 7
        return req
    positions = t.positions_get()
    orders = t.orders_get()
    if kind == "sltp" and positions:
        p = positions[pick % len(positions)]
        point = t.specs[p.symbol].point
        digits = t.specs[p.symbol].digits
        buy = p.type == mt5.POSITION_TYPE_BUY
        sl = round(p.price_current - (dist % 80 + 15) * point * (1 if buy else -1), digits)
        return {"action": mt5.TRADE_ACTION_SLTP, "position": p.ticket, "sl": sl, "tp": p.tp}
    if kind == "close" and positions:
        p = positions[pick % len(positions)]
        buy = p.type == mt5.POSITION_TYPE_BUY
        return {
            "action": mt5.TRADE_ACTION_DEAL,
            "symbol": p.symbol,
            "type": 1 if buy else 0,
            "volume": p.volume,
            "position": p.ticket,
            "price": p.price_current,
            "deviation": 50,
        }
    if kind == "remove" and orders:
        return {"action": mt5.TRADE_ACTION_REMOVE, "order": orders[pick % len(orders)].ticket}
    return None


ops = st.one_of(
    st.tuples(st.just("minutes"), st.integers(1, 240)),
    st.tuples(
        st.just("wait"),
        st.one_of(
            st.just(60.0),
            st.floats(0.001, 120.0),
            st.floats(60.0, 4 * 3600.0),
            st.just(1e-3),
        ),
    ),
    st.tuples(
        st.sampled_from(["market", "pending", "sltp", "close", "remove"]),
        st.sampled_from(["EURUSD", "EURUSD", "EURUSD", "XAUUSD", "USDJPY"]),
        st.integers(0, 3),
        st.integers(0, 400),
        st.integers(0, 400),
        st.sampled_from([0.01, 0.1, 1.0, 5.0]),
        st.integers(0, 10),
    ),
)


def _answers(t: Terminal) -> tuple[Any, ...]:
    return (t.positions_get(), t.orders_get(), t.account_info(), t.last_error())


@settings(max_examples=80, deadline=None)
@given(
    script=st.lists(ops, min_size=1, max_size=60),
    mode=st.sampled_from(["m1", "ticks"]),
    balance=st.sampled_from([10_000.0, 300.0, 150.0]),
)
def test_quiet_spans_and_bounds_answer_as_the_search_on_every_call(
    script: list[tuple[Any, ...]], mode: str, balance: float
) -> None:
    clock, fast, ref = _pair(mode, balance)
    mid = _bounded(clock, ref)
    terminals = (fast, mid)
    reads = ref.market.tick_reads
    for op in script:
        if op[0] == "wait":
            clock.t += op[1]
            expected = _answers(ref)
            assert all(_answers(t) == expected for t in terminals)
            continue
        if op[0] == "minutes":  # a backtest's polling
            for _ in range(op[1]):
                clock.t += 60.0
                expected = ref.positions_get()
                assert all(t.positions_get() == expected for t in terminals)
            continue
        req = _request(ref, op)
        assert all(_request(t, op) == req for t in terminals)
        if req is not None:
            sent = ref.order_send(req)
            assert all(t.order_send(req) == sent for t in terminals)
        expected = _answers(ref)
        assert all(_answers(t) == expected for t in terminals)
    clock.t += 2 * 86_400.0
    expected = _answers(ref)
    assert all(_answers(t) == expected for t in terminals)
    deals = ref.history_deals_get(0, 2**40)
    orders = ref.history_orders_get(0, 2**40)
    for t in terminals:
        assert t.history_deals_get(0, 2**40) == deals
        assert t.history_orders_get(0, 2**40) == orders
        assert t._catchup.events == ref._catchup.events
    # the bounds spare tick reads (the reference reads every window it searches)
    assert mid.market.tick_reads - reads <= ref.market.tick_reads - reads
    for d in deals or ():  # the indexes answer as a scan of all deals
        assert fast.history_deals_get(position=d.position_id) == tuple(
            x for x in deals or () if x.position_id == d.position_id
        )
        assert fast.history_deals_get(ticket=d.order) == tuple(
            x for x in deals or () if x.order == d.order
        )
    assert fast.history_deals_get(position=123) == ()


def test_a_long_quiet_position_is_followed_minute_by_minute() -> None:
    clock, fast, ref = _pair("m1", 10_000.0)
    for t in (fast, ref):
        tick = t.symbol_info_tick("EURUSD")
        assert tick is not None
        r = t.order_send(
            {
                "action": mt5.TRADE_ACTION_DEAL,
                "symbol": "EURUSD",
                "type": 0,
                "volume": 0.1,
                "sl": round(tick.bid - 0.0030, 5),
                "tp": round(tick.ask + 0.0030, 5),
            }
        )
        assert r is not None
        assert r.retcode == mt5.TRADE_RETCODE_DONE
    for _ in range(3 * 1440):
        clock.t += 60.0
        assert fast.positions_get() == ref.positions_get()
    assert fast.history_deals_get(0, 2**40) == ref.history_deals_get(0, 2**40)
    assert fast.account_info() == ref.account_info()


def test_a_stop_moved_closer_is_hit_at_the_same_tick() -> None:
    clock, fast, ref = _pair("ticks", 10_000.0)
    for t in (fast, ref):
        op = ("market", "EURUSD", 0, 300, 300, 0.1, 0)
        req = _request(t, op)
        assert req is not None
        assert t.order_send(req).retcode == mt5.TRADE_RETCODE_DONE  # type: ignore[union-attr]
    clock.t += 60.0
    assert _answers(fast) == _answers(ref)  # the quiet span now reaches past the old stops
    for t in (fast, ref):
        req = _request(t, ("sltp", "EURUSD", 0, 5, 0, 0.1, 0))
        assert req is not None
        assert t.order_send(req).retcode == mt5.TRADE_RETCODE_DONE  # type: ignore[union-attr]
    for _ in range(600):
        clock.t += 60.0
        assert _answers(fast) == _answers(ref)
    assert fast.history_deals_get(0, 2**40) == ref.history_deals_get(0, 2**40)
    assert len(ref.history_deals_get(0, 2**40) or ()) == 3  # balance, in, out at the new stop


def test_a_stop_out_found_by_the_look_ahead_happens_at_the_same_tick() -> None:
    clock, fast, ref = _pair("m1", 300.0)
    for t in (fast, ref):
        req = _request(t, ("market", "XAUUSD", 0, 0, 0, 0.1, 0))
        assert req is not None
        assert t.order_send(req).retcode == mt5.TRADE_RETCODE_DONE  # type: ignore[union-attr]
    for _ in range(900):
        clock.t += 60.0
        assert _answers(fast) == _answers(ref)
    deals = ref.history_deals_get(0, 2**40) or ()
    assert deals[-1].reason == mt5.DEAL_REASON_SO
    assert fast.history_deals_get(0, 2**40) == deals


def test_the_bounds_spare_the_tick_reads_of_a_quiet_position_and_find_its_stop() -> None:
    clock, _fast, ref = _pair("ticks", 10_000.0)
    mid = _bounded(clock, ref)
    for t in (ref, mid):
        req = _request(t, ("market", "EURUSD", 0, 150, 150, 0.1, 0))
        assert req is not None
        assert t.order_send(req).retcode == mt5.TRADE_RETCODE_DONE  # type: ignore[union-attr]
    ref_reads, mid_reads = ref.market.tick_reads, mid.market.tick_reads
    for _ in range(2 * 1440):
        clock.t += 60.0
        assert mid.positions_get() == ref.positions_get()
    deals = ref.history_deals_get(0, 2**40) or ()
    assert deals[-1].reason in (mt5.DEAL_REASON_SL, mt5.DEAL_REASON_TP)  # it did close
    assert mid.history_deals_get(0, 2**40) == deals
    assert mid.account_info() == ref.account_info()
    # the reference reads the ticks of every minute while the position is open; the bounds
    # read them only in the blocks whose quotes reach the stop or the target
    assert ref.market.tick_reads - ref_reads > 100
    assert mid.market.tick_reads - mid_reads < (ref.market.tick_reads - ref_reads) / 10
