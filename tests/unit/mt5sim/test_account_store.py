"""The persistent account: a terminal rebuilt from its file is the terminal that never stopped."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import trading_engine.mt5sim as mt5
from trading_engine.mt5sim import SimConfig, Terminal
from trading_engine.mt5sim.spec.symbols import DEFAULT_SYMBOLS
from trading_engine.mt5sim.store import AccountMismatch, AccountStore, read_books, saved_clock

START = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)
EURUSD = DEFAULT_SYMBOLS["EURUSD"]
MINUTE = 60.0


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def config(**kw: Any) -> SimConfig:
    base: dict[str, Any] = {
        "symbols": (EURUSD,), "history_days": 1, "start": START, "slippage_points": 5, "seed": 3
    }  # fmt: skip
    return SimConfig(**{**base, **kw})


def make(clock: FakeClock, store: AccountStore | None = None, **kw: Any) -> Terminal:
    t = Terminal(config(**kw), clock=clock, store=store)
    assert t.initialize()
    return t


def trade(t: Terminal, step: int) -> None:
    """One step of a scripted session: buys with stops, a pending order, closes."""
    tick = t.symbol_info_tick("EURUSD")
    assert tick is not None
    if step % 3 == 0:
        request = {"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1,
                   "type": mt5.ORDER_TYPE_BUY, "price": tick.ask, "deviation": 50,
                   "sl": round(tick.bid - 0.0008, 5), "tp": round(tick.bid + 0.0008, 5),
                   "magic": 7, "comment": f"s{step}"}  # fmt: skip
        assert t.order_send(request).retcode == mt5.TRADE_RETCODE_DONE
    elif step % 3 == 1:
        request = {"action": mt5.TRADE_ACTION_PENDING, "symbol": "EURUSD", "volume": 0.2,
                   "type": mt5.ORDER_TYPE_BUY_LIMIT, "price": round(tick.ask - 0.0004, 5),
                   "magic": 7, "comment": f"p{step}"}  # fmt: skip
        assert t.order_send(request).retcode == mt5.TRADE_RETCODE_PLACED
    else:
        for p in t.positions_get() or ():
            request = {"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": p.volume,
                       "type": mt5.ORDER_TYPE_SELL, "position": p.ticket, "price": tick.bid,
                       "deviation": 50, "magic": 7}  # fmt: skip
            assert t.order_send(request).retcode == mt5.TRADE_RETCODE_DONE
            break


def books(t: Terminal) -> tuple[Any, ...]:
    return (
        t.history_deals_get(0, 2**40),
        t.history_orders_get(0, 2**40),
        t.positions_get(),
        t.orders_get(),
        t.account_info().balance,
    )


def test_a_terminal_rebuilt_from_its_file_continues_as_if_it_never_stopped(tmp_path: Path) -> None:
    steady_clock = FakeClock(START.timestamp())
    steady = make(steady_clock)
    clock = FakeClock(START.timestamp())
    path = tmp_path / "a.db"
    store = AccountStore(path)
    resumed = make(clock, store)
    assert not store.resumed
    for step in range(40):
        if step in (13, 27):  # the process dies; a new one opens the same file
            saved = saved_clock(path)
            assert saved is not None
            assert saved[0] == pytest.approx(clock.t)
            store = AccountStore(path)
            resumed = make(clock, store)
            assert store.resumed
        for terminal, c in ((steady, steady_clock), (resumed, clock)):
            c.t += 7 * MINUTE
            trade(terminal, step)
    assert books(resumed) == books(steady)
    deals = books(steady)[0]
    assert len(deals) > 20
    assert any(d.reason in (mt5.DEAL_REASON_SL, mt5.DEAL_REASON_TP) for d in deals)
    stored = read_books(path)
    assert tuple(stored.deals) == deals
    assert stored.balance == books(steady)[4]


def test_a_stop_loss_hit_while_no_process_ran_is_booked_when_the_account_resumes(
    tmp_path: Path,
) -> None:
    clock = FakeClock(START.timestamp())
    path = tmp_path / "a.db"
    t = make(clock, AccountStore(path))
    trade(t, 0)
    assert len(t.positions_get()) == 1
    clock.t += 2 * 86_400  # two days later, a new process
    again = make(clock, AccountStore(path))
    assert again.positions_get() == ()
    closing = [d for d in again.history_deals_get(0, 2**40) if d.entry == mt5.DEAL_ENTRY_OUT]
    assert [d.reason in (mt5.DEAL_REASON_SL, mt5.DEAL_REASON_TP) for d in closing] == [True]


def test_an_account_file_of_another_market_or_account_is_refused(tmp_path: Path) -> None:
    clock = FakeClock(START.timestamp())
    path = tmp_path / "a.db"
    make(clock, AccountStore(path))
    with pytest.raises(AccountMismatch, match=r"seed.*run --fresh"):
        make(clock, AccountStore(path), seed=4)
    with pytest.raises(AccountMismatch, match="leverage"):
        make(clock, AccountStore(path), leverage=30)
    fresh = make(clock, AccountStore(path, resume=False), seed=4)  # a new account instead
    assert fresh.history_deals_total(0, 2**40) == 1  # the deposit only
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE x (a)")
    with pytest.raises(AccountMismatch, match="not a simulated account file"):
        AccountStore(other)
