"""The port against the simulated terminal: reads, classification, reconnects, order_send."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from loguru import logger

from trading_engine import mt5sim
from trading_engine.errors import TerminalConnectionError, TerminalError
from trading_engine.events import Side
from trading_engine.terminal import (
    Outcome,
    PortState,
    TerminalPort,
    build_market_request,
)
from trading_engine.terminal.symbols import ORDER_FILLING_FOK, SYMBOL_FILLING_FOK, SymbolRules

from .conftest import START, Rig, drive


async def market_request(port: TerminalPort, side: Side = Side.BUY, **kw: Any) -> dict[str, Any]:
    rules = await port.symbol_rules("EURUSD")
    tick = await port.symbol_info_tick("EURUSD")
    return build_market_request(rules, side, 0.1, tick, magic=4242, comment="te:1", **kw)


# -- connecting and reading ------------------------------------------------------------------


async def test_calls_before_connect_are_refused() -> None:
    rig = Rig()
    with pytest.raises(TerminalError, match="not connected"):
        await rig.port.account_info()
    assert rig.port.state is PortState.NEW


async def test_connect_then_reads_return_the_terminals_structs(rig: Rig) -> None:
    port = rig.port
    assert port.state is PortState.CONNECTED
    account = await port.account_info()
    assert account.login == mt5sim.SimConfig().login
    assert (await port.terminal_info()).connected
    assert (await port.version())[0] == 500
    assert port.health()["healthy"] is True


async def test_symbol_rules_are_loaded_from_the_simulator_and_cached(rig: Rig) -> None:
    spec = rig.sim.specs["EURUSD"]
    rules = await rig.port.symbol_rules("EURUSD")
    assert isinstance(rules, SymbolRules)
    assert (rules.digits, rules.point, rules.tick_size) == (
        spec.digits,
        spec.point,
        spec.trade_tick_size,
    )
    assert (rules.volume_min, rules.volume_max, rules.volume_step) == (
        spec.volume_min,
        spec.volume_max,
        spec.volume_step,
    )
    assert (rules.stops_level, rules.freeze_level) == (
        spec.trade_stops_level,
        spec.trade_freeze_level,
    )
    assert (rules.filling_mode, rules.exec_mode, rules.order_mode) == (
        spec.filling_mode,
        spec.trade_exemode,
        spec.order_mode,
    )
    assert rules.allows_filling(SYMBOL_FILLING_FOK)
    assert rules.currency_profit == spec.currency_profit
    assert await rig.port.symbol_rules("EURUSD") is rules
    assert rig.port.metrics()["calls_by_function"]["symbol_info"] == 1


async def test_symbol_rules_select_a_symbol_outside_market_watch() -> None:
    rig = Rig(mt5sim.SimConfig(market_watch=["GBPUSD"]))
    await rig.port.connect()
    with pytest.raises(TerminalError):
        await rig.port.symbol_info_tick("EURUSD")
    await rig.port.symbol_rules("EURUSD")
    assert rig.port.metrics()["calls_by_function"]["symbol_select"] == 1
    tick = await rig.port.symbol_info_tick("EURUSD")
    assert tick.ask > tick.bid > 0


async def test_failed_read_raises_with_the_classified_last_error(rig: Rig) -> None:
    with pytest.raises(TerminalError, match="symbol_info failed: -1 RES_E_FAIL") as info:
        await rig.port.symbol_info("NOSUCH")
    assert info.value.code == -1
    metrics = rig.port.metrics()
    assert metrics["errors_by_code"] == {-1: 1}
    assert metrics["last_error"] == (-1, "Terminal: Call failed")
    assert metrics["last_error_call"] == "symbol_info"
    assert metrics["retries"] == 0  # a FINAL error is not retried


async def test_rates_come_back_as_the_terminals_array(rig: Rig) -> None:
    rates = await rig.port.copy_rates_from_pos("EURUSD", mt5sim.TIMEFRAME_M1, 1, 50)
    assert isinstance(rates, np.ndarray)
    assert len(rates) == 50
    assert np.all(np.diff(rates["time"]) > 0)
    now = int(rig.clock.time())
    ranged = await rig.port.copy_rates_range("EURUSD", mt5sim.TIMEFRAME_M1, now - 3600, now)
    assert len(ranged) > 0


async def test_empty_answers_are_empty_tuples_not_errors(rig: Rig) -> None:
    assert await rig.port.positions_get() == ()
    assert await rig.port.orders_get(symbol="EURUSD") == ()


async def test_history_queries_need_a_ticket_a_position_or_dates(rig: Rig) -> None:
    with pytest.raises(TerminalError, match="ticket=, position= or both dates"):
        await rig.port.history_deals_get()


async def test_latency_is_measured_on_the_injected_clock() -> None:
    rig = Rig()
    rig.sim.faults.latency = 0.25
    rig.sim._sleep = rig.clock.advance  # the simulated call takes 0.25 s of simulated time
    await rig.port.connect()
    await rig.port.account_info()
    metrics = rig.port.metrics()
    assert metrics["latency_max"] == pytest.approx(0.25)
    assert 0 < metrics["latency_mean"] <= 0.25


# -- reconnects ------------------------------------------------------------------------------


async def test_ipc_error_reconnects_with_backoff_and_runs_callbacks(rig: Rig) -> None:
    fired: list[str] = []

    async def reconcile() -> None:
        fired.append("reconcile")
        await rig.port.positions_get()  # the port is usable inside the callback

    rig.port.on_reconnect(reconcile)
    rig.sim.faults.disconnect(calls=2)  # the read fails, then the first initialize fails
    account, waits = await drive(rig.clock, rig.port.account_info())
    assert account.login == mt5sim.SimConfig().login
    assert waits == pytest.approx(rig.expected_waits(range(2)))
    assert fired == ["reconcile"]
    metrics = rig.port.metrics()
    assert metrics["reconnects"] == 1
    assert metrics["errors_by_code"] == {-10004: 1, -10003: 1}
    assert rig.port.state is PortState.CONNECTED


async def test_unreachable_terminal_raises_after_n_attempts(rig: Rig) -> None:
    fired: list[str] = []

    async def reconcile() -> None:
        fired.append("reconcile")

    rig.port.on_reconnect(reconcile)
    rig.sim.faults.disconnect()  # every call, until cleared
    with pytest.raises(TerminalConnectionError, match="unreachable after 4 attempts"):
        await drive(rig.clock, rig.port.account_info())
    assert rig.port.state is PortState.DISCONNECTED
    assert rig.port.health()["healthy"] is False
    assert rig.port.metrics()["reconnect_failures"] == 1
    assert fired == []
    # once the terminal is back, the next call reconnects by itself
    rig.sim.faults.clear()
    account, _ = await drive(rig.clock, rig.port.account_info())
    assert account is not None
    assert fired == ["reconcile"]


async def test_failed_reconnect_waits_follow_the_full_jitter_schedule() -> None:
    rig = Rig(reconnect_attempts=6)
    await rig.port.connect()
    rig.sim.faults.disconnect()
    waits: list[float] = []
    with pytest.raises(TerminalConnectionError):
        await drive(rig.clock, rig.port.account_info(), waits)
    assert waits == pytest.approx(rig.expected_waits(range(6)))
    ceilings = [min(4.0, 0.5 * 2**k) for k in range(6)]
    assert all(0 <= w <= c for w, c in zip(waits, ceilings, strict=True))
    assert rig.clock.time() == pytest.approx(START + sum(waits))


async def test_two_callers_hit_by_one_outage_share_one_reconnect(rig: Rig) -> None:
    rig.sim.faults.disconnect(calls=1)
    both = asyncio.gather(rig.port.account_info(), rig.port.positions_get())
    (account, positions), _ = await drive(rig.clock, both)
    assert account is not None
    assert positions == ()
    assert rig.port.metrics()["reconnects"] == 1


async def test_failing_callback_is_counted_and_does_not_stop_the_others(rig: Rig) -> None:
    fired: list[str] = []

    async def broken() -> None:
        raise RuntimeError("reconcile failed")

    async def fine() -> None:
        fired.append("fine")

    rig.port.on_reconnect(broken)
    remove = rig.port.on_reconnect(fine)
    rig.sim.faults.disconnect(calls=1)
    logger.disable("trading_engine")
    try:
        await drive(rig.clock, rig.port.account_info())
    finally:
        logger.enable("trading_engine")
    assert fired == ["fine"]
    assert rig.port.metrics()["callback_errors"] == 1
    remove()
    rig.sim.faults.disconnect(calls=1)
    await drive(rig.clock, rig.port.account_info())
    assert fired == ["fine"]


async def test_login_runs_after_initialize_when_credentials_are_configured() -> None:
    config = mt5sim.SimConfig(password="s3cret")
    rig = Rig(config, login=config.login, server=config.server, password="s3cret")
    await rig.port.connect()
    assert rig.port.metrics()["calls_by_function"]["login"] == 1


async def test_wrong_password_fails_after_n_attempts_and_is_never_logged() -> None:
    config = mt5sim.SimConfig(password="s3cret")
    rig = Rig(config, login=config.login, server=config.server, password="hunter2")
    lines: list[str] = []
    logger.enable("trading_engine")
    sink = logger.add(lines.append, level="DEBUG", format="{message}")
    try:
        with pytest.raises(TerminalConnectionError, match="Authorization failed") as info:
            await drive(rig.clock, rig.port.connect())
    finally:
        logger.remove(sink)
        logger.disable("trading_engine")
    assert lines  # the failures were logged ...
    assert not any("hunter2" in line for line in lines)  # ... without the password
    assert "hunter2" not in str(info.value)
    assert "hunter2" not in repr(rig.settings)
    assert rig.port.metrics()["errors_by_code"] == {-6: 4}


async def test_closed_port_refuses_calls(rig: Rig) -> None:
    await rig.port.close()
    assert rig.port.state is PortState.CLOSED
    with pytest.raises(TerminalError, match="closed"):
        await rig.port.account_info()
    await rig.port.close()


async def test_port_is_an_async_context_manager() -> None:
    rig = Rig()
    async with rig.port as port:
        assert port.state is PortState.CONNECTED
    assert rig.port.state is PortState.CLOSED


# -- order_check and order_send --------------------------------------------------------------


async def test_order_check_accepts_a_normalised_request(rig: Rig) -> None:
    check = await rig.port.order_check(await market_request(rig.port))
    assert check.ok
    assert check.retcode == 0
    assert check.raw.margin > 0


async def test_order_check_reports_an_argument_error_as_final(rig: Rig) -> None:
    request = await market_request(rig.port)
    request["comment"] = "x" * 40
    check = await rig.port.order_check(request)
    assert check.outcome is Outcome.FINAL
    assert check.error[0] == -2
    assert "comment" in check.comment


async def test_order_send_success_carries_the_tickets(rig: Rig) -> None:
    request = await market_request(rig.port, sl=None)
    assert request["type_filling"] == ORDER_FILLING_FOK
    result = await rig.port.order_send(request)
    assert result.outcome is Outcome.SUCCESS
    assert result.retcode == 10009
    assert result.order > 0
    assert result.deal > 0
    assert result.volume == 0.1
    positions = await rig.port.positions_get(symbol="EURUSD")
    assert [p.ticket for p in positions] == [result.order]
    deals = await rig.port.history_deals_get(position=result.order)
    assert [d.ticket for d in deals] == [result.deal]
    orders = await rig.port.history_orders_get(ticket=result.order)
    assert [o.ticket for o in orders] == [result.order]


async def test_lost_reply_comes_back_as_verify_and_is_not_resent(rig: Rig) -> None:
    rig.sim.faults.lose_reply(code=10012)
    result = await rig.port.order_send(await market_request(rig.port))
    assert result.outcome is Outcome.VERIFY
    assert result.retcode == 10012
    assert rig.port.metrics()["calls_by_function"]["order_send"] == 1
    positions = await rig.port.positions_get()
    assert len(positions) == 1  # it executed exactly once
    assert positions[0].magic == 4242


async def test_lost_reply_as_ipc_timeout_is_verify_and_reconnects_before_the_next_call(
    rig: Rig,
) -> None:
    fired: list[str] = []

    async def reconcile() -> None:
        fired.append("reconcile")

    rig.port.on_reconnect(reconcile)
    rig.sim.faults.lose_reply(code=-10005)
    result = await rig.port.order_send(await market_request(rig.port))
    assert result.outcome is Outcome.VERIFY
    assert result.raw is None
    assert result.error[0] == -10005
    assert rig.port.state is PortState.DISCONNECTED
    positions, _ = await drive(rig.clock, rig.port.positions_get())
    assert len(positions) == 1
    assert fired == ["reconcile"]
    assert rig.port.metrics()["calls_by_function"]["order_send"] == 1


@pytest.mark.parametrize(
    ("arm", "retcode", "outcome"),
    [
        (lambda f: f.no_connection(calls=1), 10031, Outcome.VERIFY),
        (lambda f: f.requote_storm(calls=1), 10004, Outcome.RETRY),
        (lambda f: f.throttle(calls=1), 10024, Outcome.RETRY),
        (lambda f: f.throttle(calls=1, retcode=10028), 10028, Outcome.RETRY),
        (lambda f: f.no_prices(calls=1), 10021, Outcome.RETRY),
    ],
)
async def test_order_send_is_never_retried_by_the_port(
    rig: Rig, arm: Any, retcode: int, outcome: Outcome
) -> None:
    request = await market_request(rig.port)
    arm(rig.sim.faults)
    result = await rig.port.order_send(request)
    assert (result.retcode, result.outcome) == (retcode, outcome)
    assert rig.port.metrics()["calls_by_function"]["order_send"] == 1
    assert rig.port.metrics()["send_outcomes"] == {str(outcome): 1}
    assert rig.port.state is PortState.CONNECTED


async def test_order_send_rejected_by_the_server_is_final(rig: Rig) -> None:
    request = await market_request(rig.port)
    request["volume"] = 0.015  # off the step grid: 10014
    result = await rig.port.order_send(request)
    assert (result.retcode, result.outcome) == (10014, Outcome.FINAL)
    assert "10014 TRADE_RETCODE_INVALID_VOLUME" in result.describe()


async def test_order_send_with_a_bad_argument_is_final_without_a_result(rig: Rig) -> None:
    request = await market_request(rig.port)
    request["comment"] = "x" * 40
    result = await rig.port.order_send(request)
    assert result.raw is None
    assert result.retcode is None
    assert result.outcome is Outcome.FINAL
    assert result.error[0] == -2


async def test_order_send_while_unreachable_raises_before_sending(rig: Rig) -> None:
    request = await market_request(rig.port)
    rig.sim.faults.disconnect(calls=1)
    await rig.port.order_send(request)  # fails with -10004: VERIFY, port now disconnected
    assert rig.port.state is PortState.DISCONNECTED
    rig.sim.faults.disconnect()
    with pytest.raises(TerminalConnectionError):
        await drive(rig.clock, rig.port.order_send(request))
    assert rig.port.metrics()["calls_by_function"]["order_send"] == 1
    assert rig.sim.faults.armed  # still down; nothing else was sent


async def test_date_range_queries_accept_datetimes_and_epoch_seconds(rig: Rig) -> None:
    from datetime import UTC, datetime

    result = await rig.port.order_send(await market_request(rig.port))
    now = rig.clock.time()
    by_seconds = await rig.port.history_deals_get(now - 86_400, now + 86_400)
    by_datetime = await rig.port.history_deals_get(
        datetime.fromtimestamp(now - 86_400, UTC), datetime.fromtimestamp(now + 86_400, UTC)
    )
    assert result.deal in [d.ticket for d in by_seconds]
    assert [d.ticket for d in by_seconds] == [d.ticket for d in by_datetime]
    orders = await rig.port.history_orders_get(now - 86_400, now + 86_400, group="EUR*")
    assert [o.ticket for o in orders] == [result.order]
    ticks = await rig.port.copy_ticks_range("EURUSD", now - 600, now, mt5sim.COPY_TICKS_ALL)
    assert len(ticks) > 0
    bars = await rig.port.copy_rates_from("EURUSD", mt5sim.TIMEFRAME_M5, now, 10)
    assert len(bars) == 10


async def test_margin_and_profit_calculations_go_through_the_port(rig: Rig) -> None:
    tick = await rig.port.symbol_info_tick("EURUSD")
    margin = await rig.port.order_calc_margin(mt5sim.ORDER_TYPE_BUY, "EURUSD", 1.0, tick.ask)
    assert margin > 0
    profit = await rig.port.order_calc_profit(
        mt5sim.ORDER_TYPE_BUY, "EURUSD", 1.0, tick.ask, tick.ask + 0.001
    )
    assert profit == pytest.approx(100.0)
    symbols = await rig.port.symbols_get(group="EUR*")
    assert "EURUSD" in [s.name for s in symbols]
