"""Lane mechanics of the port with a real worker thread: one call at a time, timeouts, errors.

A stuck IPC call is the simulator with a latency spent waiting on a gate. Two cases the simulator
cannot show use ``BlockingMT5``, a few lines standing in for the third-party ``MetaTrader5``
module (not for any code of ours): the exact order of calls and ``last_error()`` reads (the
simulator serialises its calls itself, which would hide a broken lane), and a bridge raising.
"""

from __future__ import annotations

import asyncio
import random
import threading
from typing import Any

import anyio.to_thread
import pytest

from trading_engine import mt5sim
from trading_engine.clock import SimClock
from trading_engine.errors import TerminalConnectionError, TerminalError
from trading_engine.terminal import (
    Outcome,
    PortSettings,
    PortState,
    TerminalPort,
    build_market_request,
)

from .conftest import START, settle


class BlockingMT5:
    """MetaTrader5-shaped object: calls may block on a gate; records what ran, and how."""

    def __init__(self) -> None:
        self.error: tuple[int, str] = (1, "Success")
        self.trace: list[str] = []
        self.gate: threading.Event | None = None
        self.entered = threading.Event()
        self._lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.raise_on: dict[str, Exception] = {}
        self.fail_on: dict[str, tuple[int, str]] = {}

    def _run(self, name: str, result: Any) -> Any:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.trace.append(name)
        self.entered.set()
        try:
            if self.gate is not None:
                self.gate.wait()
            if name in self.raise_on:
                raise self.raise_on[name]
            if name in self.fail_on:
                self.error = self.fail_on[name]
                return None
            self.error = (1, "Success")
            return result
        finally:
            with self._lock:
                self.active -= 1

    def initialize(self, *args: Any, **kwargs: Any) -> bool:
        return bool(self._run("initialize", True))

    def login(self, *args: Any, **kwargs: Any) -> bool:
        return bool(self._run("login", True))

    def shutdown(self) -> None:
        self._run("shutdown", None)

    def account_info(self) -> Any:
        return self._run("account_info", ("account",))

    def symbol_info(self, symbol: str) -> Any:
        return self._run("symbol_info", (symbol,))

    def order_send(self, request: dict[str, Any]) -> Any:
        return self._run("order_send", ("sent", request))

    def last_error(self) -> tuple[int, str]:
        with self._lock:
            self.trace.append("last_error")
        return self.error


def make_port(api: BlockingMT5, **settings: Any) -> TerminalPort:
    values: dict[str, Any] = {"backoff_base": 0.0, "backoff_cap": 0.0, "call_timeout": 30.0}
    values.update(settings)
    return TerminalPort(
        api, clock=SimClock(), settings=PortSettings(**values), rng=random.Random(1)
    )


async def wait_entered(api: BlockingMT5) -> None:
    await anyio.to_thread.run_sync(api.entered.wait)
    api.entered.clear()


async def test_threaded_calls_run_one_at_a_time_each_followed_by_its_last_error() -> None:
    api = BlockingMT5()
    port = make_port(api)
    await port.connect()
    api.trace.clear()
    api.entered.clear()
    api.gate = threading.Event()
    calls = [asyncio.create_task(port.symbol_info(s)) for s in ("A", "B", "C", "D")]
    await wait_entered(api)
    await settle()
    assert port._lane.statistics().tasks_waiting == 3  # the others queue for the lane
    assert api.trace == ["symbol_info"]
    api.gate.set()
    results = await asyncio.gather(*calls)
    assert results == [("A",), ("B",), ("C",), ("D",)]
    assert api.max_active == 1
    assert api.trace == ["symbol_info", "last_error"] * 4
    await port.close()


async def test_send_that_outlives_the_call_timeout_is_verify_and_holds_the_lane() -> None:
    gate = threading.Event()
    clock = SimClock(START)
    sim = mt5sim.Terminal(mt5sim.SimConfig(), clock=clock.time, sleep=lambda _: gate.wait())
    settings = PortSettings(call_timeout=30.0, backoff_base=0.0, backoff_cap=0.0)
    port = TerminalPort(sim, clock=clock, settings=settings, rng=random.Random(1))
    await port.connect()
    gate.set()
    rules = await port.symbol_rules("EURUSD")
    request = build_market_request(rules, "buy", 0.1, await port.symbol_info_tick("EURUSD"))
    gate.clear()
    sim.faults.latency = 1.0  # every call now blocks its worker thread until the gate opens
    # only the send gets a short timeout: a busy machine can take 50 ms to run any thread
    port._settings = settings.model_copy(update={"call_timeout": 0.05})
    result = await port.order_send(request)
    port._settings = settings
    assert result.outcome is Outcome.VERIFY
    assert result.timed_out
    assert result.raw is None
    assert port.state is PortState.DISCONNECTED
    # the stuck call still owns the lane: the next call (a reconnect first) waits for it
    following = asyncio.create_task(port.positions_get())
    await settle()
    assert port._lane.statistics().tasks_waiting == 1
    assert not following.done()
    gate.set()
    positions = await following
    assert len(positions) == 1  # the abandoned send did execute, once
    metrics = port.metrics()
    assert (metrics["timeouts"], metrics["reconnects"]) == (1, 1)
    assert metrics["calls_by_function"]["order_send"] == 1
    await port.close()


async def test_exception_from_a_bridge_is_a_terminal_error_for_reads() -> None:
    api = BlockingMT5()
    port = make_port(api)
    await port.connect()
    api.raise_on["symbol_info"] = TypeError("bad symbol argument")
    with pytest.raises(TerminalError, match="bad symbol argument"):
        await port.symbol_info("X")
    await port.close()


async def test_send_raising_a_type_error_is_final_and_other_exceptions_verify() -> None:
    api = BlockingMT5()
    port = make_port(api)
    await port.connect()
    api.raise_on["order_send"] = TypeError("unexpected field")
    final = await port.order_send({"action": 1})
    assert final.outcome is Outcome.FINAL
    assert "unexpected field" in final.comment
    api.raise_on["order_send"] = SystemError("C module failure")
    unsure = await port.order_send({"action": 1})
    assert unsure.outcome is Outcome.VERIFY
    assert port.state is PortState.CONNECTED
    await port.close()


async def test_bridge_connection_error_triggers_a_reconnect() -> None:
    api = BlockingMT5()
    port = make_port(api)
    await port.connect()
    api.raise_on["account_info"] = ConnectionResetError("bridge dropped")
    with pytest.raises(TerminalConnectionError, match="bridge dropped"):
        await port.account_info()
    assert port.metrics()["reconnects"] == 2  # read_attempts=3: two reconnects between tries
    await port.close()


async def test_cancelled_caller_leaves_the_lane_held_until_the_thread_returns() -> None:
    gate = threading.Event()
    clock = SimClock(START)
    sim = mt5sim.Terminal(mt5sim.SimConfig(), clock=clock.time, sleep=lambda _: gate.wait())
    port = TerminalPort(sim, clock=clock, settings=PortSettings(call_timeout=30.0))
    await port.connect()
    sim.faults.latency = 1.0
    stuck = asyncio.create_task(port.account_info())
    await settle()
    assert port._lane.statistics().borrowed_tokens == 1
    stuck.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stuck
    assert port._lane.statistics().borrowed_tokens == 1  # the thread is still in the terminal
    following = asyncio.create_task(port.terminal_info())
    await settle()
    assert not following.done()
    gate.set()
    assert (await following).connected
    assert port._lane.statistics().borrowed_tokens == 0
    assert port.state is PortState.CONNECTED
    await port.close()
