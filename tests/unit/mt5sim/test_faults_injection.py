"""Fault injection: IPC loss, restart, lost replies, server refusals, short history, latency."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

import trading_engine.mt5sim as mt5
from trading_engine.mt5sim import Fault, SimConfig, Terminal
from trading_engine.mt5sim.spec.symbols import DEFAULT_SYMBOLS

START = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)
EURUSD = DEFAULT_SYMBOLS["EURUSD"]
USDJPY = DEFAULT_SYMBOLS["USDJPY"]


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START.timestamp())


def make(clock: FakeClock, **kw: Any) -> Terminal:
    kw.setdefault("symbols", (EURUSD, USDJPY))
    t = Terminal(SimConfig(history_days=1, start=START, **kw), clock=clock, sleep=clock.advance)
    assert t.initialize()
    return t


def buy(volume: float = 0.1) -> dict[str, Any]:
    return {"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "type": 0, "volume": volume}


def test_disconnect_for_n_calls_then_recovers(clock: FakeClock) -> None:
    t = make(clock)
    t.faults.disconnect(calls=2)
    assert t.account_info() is None
    assert t.last_error() == (-10004, "No IPC connection")
    assert t.positions_get() is None
    assert t.account_info() is not None
    assert t.last_error() == (1, "Success")


def test_disconnect_time_window_with_ipc_timeout(clock: FakeClock) -> None:
    t = make(clock)
    t.faults.disconnect(seconds=30, code=-10005)
    assert t.symbol_info("EURUSD") is None
    assert t.last_error() == (-10005, "IPC timeout")
    clock.advance(29)
    assert t.order_send(buy()) is None
    clock.advance(2)
    assert t.symbol_info("EURUSD") is not None


def test_scripted_fault_from_config_window(clock: FakeClock) -> None:
    t = make(
        clock,
        faults=(Fault("disconnect", start=START.timestamp() + 60, end=START.timestamp() + 120),),
    )
    assert t.account_info() is not None
    clock.advance(90)
    assert t.account_info() is None
    clock.advance(60)
    assert t.account_info() is not None


def test_restart_keeps_tickets_and_history_and_needs_initialize(clock: FakeClock) -> None:
    t = make(clock)
    first = t.order_send(buy())
    assert t.symbol_info("NOPE") is None
    t.faults.restart()
    assert t.last_error() == (1, "Success")
    assert t.positions_get() is None
    assert t.last_error() == (-10004, "No IPC connection")
    assert t.initialize()
    (pos,) = t.positions_get()
    assert pos.ticket == first.order
    second = t.order_send(buy())
    assert second.order > first.order
    assert second.deal > first.deal
    assert len(t.history_deals_get(0, 2**40)) == 3  # balance + two IN deals


def test_no_connection_answers_10031_and_terminal_reports_disconnected(clock: FakeClock) -> None:
    t = make(clock)
    t.faults.no_connection(seconds=10)
    r = t.order_send(buy())
    assert r.retcode == mt5.TRADE_RETCODE_CONNECTION
    assert r.comment == "No connection"
    assert t.terminal_info().connected is False
    assert t.positions_total() == 0
    clock.advance(11)
    assert t.terminal_info().connected is True
    assert t.order_send(buy()).retcode == mt5.TRADE_RETCODE_DONE


def test_lost_reply_leaves_exactly_one_position_and_answers_timeout(clock: FakeClock) -> None:
    t = make(clock)
    t.faults.lose_reply()
    r = t.order_send(buy())
    assert r.retcode == mt5.TRADE_RETCODE_TIMEOUT
    assert r.order == 0
    assert r.deal == 0
    (pos,) = t.positions_get()
    (d,) = t.history_deals_get(position=pos.ticket)
    assert d.entry == mt5.DEAL_ENTRY_IN
    assert t.order_send(buy()).retcode == mt5.TRADE_RETCODE_DONE  # only one reply was lost


def test_lost_reply_as_ipc_timeout_returns_none_but_the_trade_exists(clock: FakeClock) -> None:
    t = make(clock)
    t.faults.lose_reply(code=-10005)
    assert t.order_send(buy()) is None
    assert t.last_error() == (-10005, "IPC timeout")
    assert t.positions_total() == 1


def test_requote_storm_and_the_buy_helper_retries_ten_times(clock: FakeClock) -> None:
    t = make(clock)
    storm = t.faults.requote_storm(calls=9)
    r = t.Buy("EURUSD", 0.1)
    assert r.retcode == mt5.TRADE_RETCODE_DONE  # the 10th attempt goes through
    assert storm.calls == 0
    t.faults.requote_storm(calls=10)
    r = t.Buy("EURUSD", 0.1)
    assert r.retcode == mt5.TRADE_RETCODE_REQUOTE
    assert t.positions_total() == 1


def test_throttling_answers_too_many_requests_or_locked(clock: FakeClock) -> None:
    t = make(clock)
    t.faults.throttle(calls=1)
    t.faults.throttle(calls=1, retcode=mt5.TRADE_RETCODE_LOCKED)
    assert t.order_send(buy()).retcode == mt5.TRADE_RETCODE_TOO_MANY_REQUESTS
    assert t.order_send(buy()).retcode == mt5.TRADE_RETCODE_LOCKED
    assert t.order_send(buy()).retcode == mt5.TRADE_RETCODE_DONE


def test_no_prices_fault_and_session_open_window(clock: FakeClock) -> None:
    t = make(clock)
    t.faults.no_prices(calls=1, symbol="EURUSD")
    r = t.order_send(buy())
    assert r.retcode == mt5.TRADE_RETCODE_PRICE_OFF
    assert r.comment == "No prices"
    assert t.order_send(buy()).retcode == mt5.TRADE_RETCODE_DONE
    monday = datetime(2025, 3, 16, 22, 0, 30, tzinfo=UTC)  # 30 s after the Monday open (server)
    clock.t = monday.timestamp()
    t2 = make(clock, no_prices_after_open=60.0)
    assert t2.order_send(buy()).retcode == mt5.TRADE_RETCODE_PRICE_OFF
    clock.advance(60)
    assert t2.order_send(buy()).retcode == mt5.TRADE_RETCODE_DONE


def test_history_not_synced_gives_a_short_first_answer(clock: FakeClock) -> None:
    t = make(clock, history_sync_short=True)
    first = t.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M5, 0, 200)
    second = t.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M5, 0, 200)
    assert 0 < len(first) < 200
    assert len(second) == 200
    assert first["time"][-1] == second["time"][-1]  # the newest part arrives first
    t.faults.history_not_synced("EURUSD")
    assert len(t.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M5, 0, 200)) < 200
    assert len(t.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M5, 0, 200)) == 200


def test_latency_is_spent_through_the_injected_sleep(clock: FakeClock) -> None:
    t = make(clock, latency=0.25)
    t0 = clock.t
    t.account_info()
    t.symbol_info_tick("EURUSD")
    assert clock.t == pytest.approx(t0 + 0.5)
    ti = t.terminal_info()
    assert ti.ping_last == 250_000


def test_calls_are_serialised_by_one_lock(clock: FakeClock) -> None:
    t = make(clock)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(20):
                r = t.order_send({**buy(0.01)})
                assert r.retcode == mt5.TRADE_RETCODE_DONE
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    tickets = [p.ticket for p in t.positions_get()]
    assert len(tickets) == len(set(tickets)) == 80


def test_scripted_restart_requires_initialize_again(clock: FakeClock) -> None:
    at = START.timestamp() + 300
    t = make(clock, faults=(Fault("restart", start=at),))
    first = t.order_send(buy())
    clock.advance(600)
    assert t.positions_get() is None
    assert t.last_error() == (-10004, "No IPC connection")
    assert t.initialize()
    assert [p.ticket for p in t.positions_get()] == [first.order]
    assert t.account_info() is not None  # a restart happens once
