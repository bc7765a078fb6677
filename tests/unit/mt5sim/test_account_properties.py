"""Account invariants under random trading (hypothesis) and determinism of fills."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trading_engine.mt5sim as mt5
from trading_engine.mt5sim import SimConfig, Terminal
from trading_engine.mt5sim.server.validation import volume_on_grid
from trading_engine.mt5sim.spec.symbols import DEFAULT_SYMBOLS

START = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)
SPECS = (DEFAULT_SYMBOLS["EURUSD"], DEFAULT_SYMBOLS["USDJPY"])


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


action = st.one_of(
    st.tuples(
        st.just("open"),
        st.sampled_from(["EURUSD", "USDJPY"]),
        st.booleans(),
        st.integers(1, 50),
        st.booleans(),
    ),
    st.tuples(st.just("close"), st.integers(0, 9), st.integers(1, 50)),
    st.tuples(st.just("wait"), st.integers(1, 4 * 3600)),
    st.tuples(
        st.just("pending"), st.sampled_from(["EURUSD", "USDJPY"]), st.booleans(), st.integers(1, 40)
    ),
)


def _run(t: Terminal, clock: FakeClock, actions: list[tuple[Any, ...]]) -> list[Any]:
    results: list[Any] = []
    for a in actions:
        if a[0] == "open":
            _, sym, is_buy, lots, with_stops = a
            tick = t.symbol_info_tick(sym)
            info = t.symbol_info(sym)
            req: dict[str, Any] = {
                "action": mt5.TRADE_ACTION_DEAL,
                "symbol": sym,
                "volume": lots / 100,
                "type": mt5.ORDER_TYPE_BUY if is_buy else mt5.ORDER_TYPE_SELL,
                "price": tick.ask if is_buy else tick.bid,
                "deviation": 20,
            }
            if with_stops:
                d = 300 * info.point
                ref = tick.bid if is_buy else tick.ask
                req["sl"] = round(ref - d if is_buy else ref + d, info.digits)
                req["tp"] = round(ref + d if is_buy else ref - d, info.digits)
            results.append(t.order_send(req))
        elif a[0] == "close":
            positions = t.positions_get()
            if positions:
                p = positions[a[1] % len(positions)]
                vol = min(p.volume, a[2] / 100)
                tick = t.symbol_info_tick(p.symbol)
                results.append(
                    t.order_send(
                        {
                            "action": mt5.TRADE_ACTION_DEAL,
                            "symbol": p.symbol,
                            "volume": vol,
                            "type": mt5.ORDER_TYPE_SELL if p.type == 0 else mt5.ORDER_TYPE_BUY,
                            "position": p.ticket,
                            "deviation": 20,
                            "price": tick.bid if p.type == 0 else tick.ask,
                        }
                    )
                )
        elif a[0] == "pending":
            _, sym, is_buy, pts = a
            tick = t.symbol_info_tick(sym)
            info = t.symbol_info(sym)
            gap = (pts + info.trade_stops_level) * info.point
            price = round(tick.ask - gap if is_buy else tick.bid + gap, info.digits)
            results.append(
                t.order_send(
                    {
                        "action": mt5.TRADE_ACTION_PENDING,
                        "symbol": sym,
                        "volume": 0.05,
                        "type": mt5.ORDER_TYPE_BUY_LIMIT if is_buy else mt5.ORDER_TYPE_SELL_LIMIT,
                        "price": price,
                        "type_filling": mt5.ORDER_FILLING_RETURN,
                    }
                )
            )
        else:
            clock.advance(a[1])
    return results


def _check_invariants(t: Terminal, results: list[Any]) -> None:
    info = t.account_info()
    positions = t.positions_get()
    floating = sum(p.profit + p.swap for p in positions)
    assert info.equity == pytest.approx(info.balance + floating, abs=0.011 * (1 + len(positions)))
    assert info.profit == pytest.approx(
        sum(p.profit for p in positions), abs=0.011 * len(positions) + 1e-9
    )
    assert info.margin_free == pytest.approx(info.equity - info.margin, abs=0.011)
    deals = t.history_deals_get(0, 2**40)
    assert info.balance == pytest.approx(
        sum(d.profit + d.commission + d.swap + d.fee for d in deals), abs=0.011 * len(deals)
    )
    # deals add up to positions: signed deal volumes per position id = the open signed volume
    net: dict[int, float] = defaultdict(float)
    for d in deals:
        if d.type in (mt5.DEAL_TYPE_BUY, mt5.DEAL_TYPE_SELL) and d.entry != mt5.DEAL_ENTRY_OUT_BY:
            net[d.position_id] += d.volume if d.type == mt5.DEAL_TYPE_BUY else -d.volume
    open_ids = {p.identifier: p.volume * (1 if p.type == 0 else -1) for p in positions}
    for pid, vol in net.items():
        assert vol == pytest.approx(open_ids.get(pid, 0.0), abs=1e-9)
    for p in positions:
        spec = t.specs[p.symbol]
        assert volume_on_grid(spec, p.volume)
        assert p.volume >= spec.volume_min - 1e-12
    # no order lost or filled twice
    history = t.history_orders_get(0, 2**40)
    active = t.orders_get()
    tickets = [o.ticket for o in history] + [o.ticket for o in active]
    assert len(tickets) == len(set(tickets))
    sent = {r.order for r in results if r is not None and r.order}
    assert sent <= set(tickets)
    filled = defaultdict(int)
    for d in deals:
        if d.order:
            filled[d.order] += 1
    assert all(
        n == 1
        for o, n in filled.items()
        if o not in {h.ticket for h in history if h.type == mt5.ORDER_TYPE_CLOSE_BY}
    )
    assert set(filled) <= {h.ticket for h in history}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=st.lists(action, min_size=1, max_size=14), netting=st.booleans())
def test_account_invariants_hold_under_random_trading(
    actions: list[tuple[Any, ...]], netting: bool
) -> None:
    clock = FakeClock(START.timestamp())
    mode = (
        mt5.ACCOUNT_MARGIN_MODE_RETAIL_NETTING
        if netting
        else mt5.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING
    )
    t = Terminal(
        SimConfig(
            symbols=SPECS, history_days=1, start=START, margin_mode=mode, commission_per_lot=3.0
        ),
        clock=clock,
    )
    assert t.initialize()
    results = _run(t, clock, actions)
    _check_invariants(t, results)
    if netting:
        symbols = [p.symbol for p in t.positions_get()]
        assert len(symbols) == len(set(symbols))


def test_same_seed_gives_the_same_fills_and_another_seed_does_not() -> None:
    script = [
        ("open", "EURUSD", True, 20, True),
        ("wait", 5400),
        ("pending", "USDJPY", False, 30),
        ("open", "USDJPY", False, 10, False),
        ("wait", 7200),
        ("close", 0, 50),
        ("wait", 3 * 3600),
    ]

    def run(seed: int) -> tuple[Any, ...]:
        clock = FakeClock(START.timestamp())
        t = Terminal(
            SimConfig(symbols=SPECS, history_days=1, start=START, seed=seed, slippage_points=3),
            clock=clock,
        )
        t.initialize()
        _run(t, clock, script)
        return t.history_deals_get(0, 2**40)

    a, b, c = run(5), run(5), run(6)
    assert a == b
    assert len(a) >= 4
    assert [d.price for d in a] != [d.price for d in c]
