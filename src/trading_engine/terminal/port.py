"""The asynchronous port to an MT5 terminal: one lane, timeouts, classification and reconnects.

``TerminalPort`` wraps any object with the MetaTrader5 module API (the real package, a bridge with
the same API, the ``trading_engine.mt5sim`` module or an ``mt5sim.Terminal``).

The lane
    Every call and the ``last_error()`` read that follows it run in one lane slot, so no other call
    can overwrite the process-global error in between. With a real terminal (``in_process=False``)
    the slot is a ``CapacityLimiter(1)`` and the call runs in a worker thread
    (``anyio.to_thread.run_sync``) under ``anyio.fail_after(call_timeout)`` (wall time: the IPC
    call blocks for real). A thread cannot be interrupted: after a timeout the caller gets its
    answer at once, but the slot stays taken until the thread returns, so calls never overlap.
    With the in-process simulator (``in_process=True``) the call is made directly on the event
    loop thread; it cannot be interleaved with another call since nothing is awaited between the
    call and the ``last_error()`` read. Such calls do not yield to the loop.

Classification and retries
    Read-only calls (everything but ``order_send``) are tried up to ``read_attempts`` times, each
    retry after a reconnect, when they fail with a connection error (IPC -10000…-10005, -6, a lane
    timeout, an ``OSError``/``EOFError`` from a bridge); no other ``last_error()`` code is
    transient for a read, so any other failure raises ``TerminalError`` with the code at once.
    ``order_send`` is never retried: it returns a ``SendResult`` whose ``outcome`` is ``VERIFY``
    whenever the request may have executed (10012, 10031, None with an IPC error, a lane
    timeout); the execution layer resolves it from orders, positions and deals.

Reconnects
    After a connection error the port is *disconnected*; the next call first reconnects:
    ``initialize`` (+ ``login`` when ``settings.login`` is set) up to ``reconnect_attempts`` times,
    waiting ``Backoff(base, cap).delay(k, rng)`` through the injected clock before attempt ``k``,
    then ``TerminalConnectionError``. One task reconnects; others wait for it. After a successful
    reconnect the symbol cache is cleared and the ``on_reconnect`` callbacks run, in order, in the
    task that reconnected, before its call is retried; a callback that raises is logged and
    counted, and the others still run.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import TracebackType
from typing import Any, Final

import anyio
import anyio.to_thread
from loguru import logger

from trading_engine.clock import Clock
from trading_engine.errors import TerminalConnectionError, TerminalError, TerminalUnreachable
from trading_engine.model.mt5 import (
    RES_E_INVALID_PARAMS,
    RES_S_OK,
    Outcome,
    classify_check_retcode,
    classify_send_error,
    classify_send_retcode,
    describe_error,
    describe_retcode,
    is_connection_error,
)
from trading_engine.runtime.backoff import Backoff
from trading_engine.terminal.config import PortSettings
from trading_engine.terminal.symbols import SymbolRules

__all__ = [
    "LANE_TIMEOUT",
    "CheckResult",
    "PortMetrics",
    "PortState",
    "ReconnectCallback",
    "SendResult",
    "TerminalPort",
]

LANE_TIMEOUT: Final = -10005
"""The ``last_error`` code a lane timeout is reported with (that of 'IPC timeout')."""

ReconnectCallback = Callable[[], Awaitable[None]]
DateArg = datetime | int | float


class PortState(StrEnum):
    """Connection state of the port."""

    NEW = "new"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    DISCONNECTED = "disconnected"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class SendResult:
    """The answer to one ``order_send``: the raw result (or None), its outcome and its codes.

    ``retcode`` is None when no ``OrderSendResult`` came back; ``error`` is the ``last_error()``
    read right after the call; ``timed_out`` is True when the lane timed out.
    """

    raw: Any
    outcome: Outcome
    retcode: int | None
    error: tuple[int, str]
    timed_out: bool = False

    @property
    def order(self) -> int:
        """The order ticket (0 when unknown)."""
        return int(getattr(self.raw, "order", 0) or 0)

    @property
    def deal(self) -> int:
        """The deal ticket (0 when unknown)."""
        return int(getattr(self.raw, "deal", 0) or 0)

    @property
    def volume(self) -> float:
        """The executed volume (0.0 when unknown)."""
        return float(getattr(self.raw, "volume", 0.0) or 0.0)

    @property
    def price(self) -> float:
        """The execution price (0.0 when unknown)."""
        return float(getattr(self.raw, "price", 0.0) or 0.0)

    @property
    def comment(self) -> str:
        """The server's comment, or the error text when there is no result."""
        if self.raw is not None:
            return str(getattr(self.raw, "comment", ""))
        return self.error[1]

    def describe(self) -> str:
        """One line for logs and rejection events."""
        if self.timed_out:
            return f"{self.outcome}: no answer within the call timeout"
        if self.retcode is not None:
            return f"{self.outcome}: {describe_retcode(self.retcode)} {self.comment!r}"
        return f"{self.outcome}: {describe_error(*self.error)}"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The answer to one ``order_check``; ``retcode`` 0 ('Done') is success."""

    raw: Any
    outcome: Outcome
    retcode: int | None
    error: tuple[int, str]

    @property
    def ok(self) -> bool:
        """True when the request would be accepted."""
        return self.outcome is Outcome.SUCCESS

    @property
    def comment(self) -> str:
        """The terminal's comment, or the error text when there is no result."""
        if self.raw is not None:
            return str(getattr(self.raw, "comment", ""))
        return self.error[1]


@dataclass(slots=True)
class PortMetrics:
    """Counters of one port; ``snapshot()`` gives a plain dict."""

    calls: int = 0
    calls_by_function: Counter[str] = field(default_factory=Counter)
    errors_by_code: Counter[int] = field(default_factory=Counter)
    retcodes: Counter[int] = field(default_factory=Counter)
    send_outcomes: Counter[str] = field(default_factory=Counter)
    timeouts: int = 0
    retries: int = 0
    reconnects: int = 0
    reconnect_failures: int = 0
    callback_errors: int = 0
    last_error: tuple[int, str] | None = None
    last_error_call: str | None = None
    latency_total: float = 0.0
    latency_max: float = 0.0

    @property
    def latency_mean(self) -> float:
        """Mean seconds per call (0.0 before the first call)."""
        return self.latency_total / self.calls if self.calls else 0.0

    def snapshot(self) -> dict[str, Any]:
        """A copy of every counter as plain values."""
        return {
            "calls": self.calls,
            "calls_by_function": dict(self.calls_by_function),
            "errors_by_code": dict(self.errors_by_code),
            "retcodes": dict(self.retcodes),
            "send_outcomes": dict(self.send_outcomes),
            "timeouts": self.timeouts,
            "retries": self.retries,
            "reconnects": self.reconnects,
            "reconnect_failures": self.reconnect_failures,
            "callback_errors": self.callback_errors,
            "last_error": self.last_error,
            "last_error_call": self.last_error_call,
            "latency_mean": self.latency_mean,
            "latency_max": self.latency_max,
        }


class _LaneTimeout(Exception):
    """The lane slot did not come back within ``call_timeout``."""


class _Reply:
    """What one lane slot produced: the result, the error read after it, or the exception."""

    __slots__ = ("code", "exc", "failed", "generation", "message", "result")

    def __init__(
        self, result: Any, code: int, message: str, exc: Exception | None, generation: int
    ) -> None:
        self.result = result
        self.code = code
        self.message = message
        self.exc = exc
        self.generation = generation
        self.failed = exc is not None or result is None or result is False

    @property
    def connection_lost(self) -> bool:
        if isinstance(self.exc, (OSError, EOFError)):
            return True
        return self.failed and self.exc is None and is_connection_error(self.code)


def _date(value: DateArg) -> datetime | int:
    return value if isinstance(value, datetime) else int(value)


class TerminalPort:
    """Async access to one terminal through one lane (see the module docstring)."""

    def __init__(
        self,
        api: Any,
        *,
        clock: Clock,
        settings: PortSettings | None = None,
        in_process: bool = False,
        rng: random.Random | None = None,
    ) -> None:
        self._api = api
        self._clock = clock
        self._settings = settings if settings is not None else PortSettings()
        self._in_process = in_process
        self._rng = rng if rng is not None else random.Random()
        self._backoff = Backoff(self._settings.backoff_base, self._settings.backoff_cap)
        self._lane = anyio.CapacityLimiter(1)
        self._reconnect_lock = asyncio.Lock()
        self._state = PortState.NEW
        self._generation = 0
        self._callbacks: list[ReconnectCallback] = []
        self._rules: dict[str, SymbolRules] = {}
        self._metrics = PortMetrics()
        self._unreachable_since: float | None = None  # engine clock, while disconnected
        self._gave_up: TerminalUnreachable | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def state(self) -> PortState:
        """The connection state."""
        return self._state

    @property
    def settings(self) -> PortSettings:
        """The settings the port was built with."""
        return self._settings

    @property
    def api(self) -> Any:
        """The object with the MetaTrader5 API that the port calls."""
        return self._api

    async def connect(self) -> None:
        """``initialize`` (+ ``login``) with backoff; ``TerminalConnectionError`` when it fails.

        Connecting does not run the ``on_reconnect`` callbacks (the engine reconciles at start).
        """
        if self._state is PortState.CLOSED:
            raise TerminalError("the terminal port is closed")
        async with self._reconnect_lock:
            if self._state is PortState.CONNECTED:
                return
            await self._establish(first_immediate=True)

    async def close(self) -> None:
        """``shutdown()`` the terminal connection; later calls raise ``TerminalError``."""
        if self._state is PortState.CLOSED:
            return
        was_open = self._state is not PortState.NEW
        self._state = PortState.CLOSED
        if was_open:
            try:
                await self._call("shutdown")
            except _LaneTimeout:
                logger.warning("terminal shutdown() did not return within the call timeout")

    async def __aenter__(self) -> TerminalPort:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def on_reconnect(self, callback: ReconnectCallback) -> Callable[[], None]:
        """Run ``callback`` after every successful reconnect; returns a function that removes it."""
        self._callbacks.append(callback)

        def remove() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return remove

    # -- observability -----------------------------------------------------------------------

    def metrics(self) -> dict[str, Any]:
        """Calls, errors by code, retcodes, reconnects, last error, mean/max latency."""
        snap = self._metrics.snapshot()
        snap["state"] = str(self._state)
        return snap

    def health(self) -> dict[str, Any]:
        """``healthy`` is True while connected; with the state, reconnects and the last error."""
        m = self._metrics
        return {
            "healthy": self._state is PortState.CONNECTED,
            "state": str(self._state),
            "reconnects": m.reconnects,
            "reconnect_failures": m.reconnect_failures,
            "last_error": m.last_error,
            "last_error_call": m.last_error_call,
        }

    # -- account, terminal, symbols ----------------------------------------------------------

    async def account_info(self) -> Any:
        """``AccountInfo``."""
        return await self._read("account_info")

    async def terminal_info(self) -> Any:
        """``TerminalInfo``."""
        return await self._read("terminal_info")

    async def version(self) -> Any:
        """``(terminal_version, build, release_date)``."""
        return await self._read("version")

    async def symbol_info(self, symbol: str) -> Any:
        """``SymbolInfo``; ``TerminalError`` for an unknown symbol."""
        return await self._read("symbol_info", symbol)

    async def symbol_select(self, symbol: str, enable: bool = True) -> bool:
        """Add the symbol to (or remove it from) Market Watch; ``TerminalError`` on failure."""
        return bool(await self._read("symbol_select", symbol, enable))

    async def symbol_info_tick(self, symbol: str) -> Any:
        """The last ``Tick``; the symbol must be in Market Watch (``symbol_rules`` selects it)."""
        return await self._read("symbol_info_tick", symbol)

    async def symbol_rules(self, symbol: str) -> SymbolRules:
        """The symbol's ``SymbolRules``, read once and cached until the next reconnect.

        Selects the symbol into Market Watch when it is not there yet, so ticks can be read.
        """
        rules = self._rules.get(symbol)
        if rules is not None:
            return rules
        info = await self.symbol_info(symbol)
        if not getattr(info, "select", True):
            await self.symbol_select(symbol, True)
        rules = SymbolRules.from_info(info)
        self._rules[symbol] = rules
        return rules

    def invalidate_symbols(self, symbol: str | None = None) -> None:
        """Forget cached rules of ``symbol`` (or of all symbols)."""
        if symbol is None:
            self._rules.clear()
        else:
            self._rules.pop(symbol, None)

    async def symbols_get(self, group: str | None = None) -> tuple[Any, ...]:
        """Every ``SymbolInfo`` (matching the MT5 ``group`` mask when given)."""
        kwargs: dict[str, Any] = {"group": group} if group is not None else {}
        return tuple(await self._read("symbols_get", **kwargs))

    # -- market data -------------------------------------------------------------------------

    async def copy_rates_from_pos(
        self, symbol: str, timeframe: int, start_pos: int, count: int
    ) -> Any:
        """Bars ``start_pos`` (0 = the forming bar) back, ``count`` of them, oldest first."""
        return await self._read("copy_rates_from_pos", symbol, timeframe, start_pos, count)

    async def copy_rates_from(
        self, symbol: str, timeframe: int, date_from: DateArg, count: int
    ) -> Any:
        """``count`` bars opening at or before ``date_from``, oldest first."""
        return await self._read("copy_rates_from", symbol, timeframe, _date(date_from), count)

    async def copy_rates_range(
        self, symbol: str, timeframe: int, date_from: DateArg, date_to: DateArg
    ) -> Any:
        """Bars opening within ``[date_from, date_to]``, oldest first."""
        return await self._read(
            "copy_rates_range", symbol, timeframe, _date(date_from), _date(date_to)
        )

    async def copy_ticks_from(self, symbol: str, date_from: DateArg, count: int, flags: int) -> Any:
        """``count`` ticks from ``date_from`` on."""
        return await self._read("copy_ticks_from", symbol, _date(date_from), count, flags)

    async def copy_ticks_range(
        self, symbol: str, date_from: DateArg, date_to: DateArg, flags: int
    ) -> Any:
        """Ticks within ``[date_from, date_to]``."""
        return await self._read("copy_ticks_range", symbol, _date(date_from), _date(date_to), flags)

    # -- trading state -----------------------------------------------------------------------

    async def positions_get(
        self, *, symbol: str | None = None, ticket: int | None = None, group: str | None = None
    ) -> tuple[Any, ...]:
        """Open positions matching the filter (``()`` when none)."""
        return tuple(await self._read("positions_get", **_filters(symbol, ticket, group)))

    async def orders_get(
        self, *, symbol: str | None = None, ticket: int | None = None, group: str | None = None
    ) -> tuple[Any, ...]:
        """Active (pending) orders matching the filter (``()`` when none)."""
        return tuple(await self._read("orders_get", **_filters(symbol, ticket, group)))

    async def history_orders_get(
        self,
        date_from: DateArg | None = None,
        date_to: DateArg | None = None,
        *,
        group: str | None = None,
        position: int | None = None,
        ticket: int | None = None,
    ) -> tuple[Any, ...]:
        """History orders by order ``ticket``, by ``position`` id, or within a date range."""
        args, kwargs = _history_args(date_from, date_to, group, position, ticket)
        return tuple(await self._read("history_orders_get", *args, **kwargs))

    async def history_deals_get(
        self,
        date_from: DateArg | None = None,
        date_to: DateArg | None = None,
        *,
        group: str | None = None,
        position: int | None = None,
        ticket: int | None = None,
    ) -> tuple[Any, ...]:
        """Deals by *order* ``ticket``, by ``position`` id, or within a date range."""
        args, kwargs = _history_args(date_from, date_to, group, position, ticket)
        return tuple(await self._read("history_deals_get", *args, **kwargs))

    # -- trading -----------------------------------------------------------------------------

    async def order_calc_margin(
        self, action: int, symbol: str, volume: float, price: float
    ) -> float:
        """Margin in account currency that ``volume`` lots at ``price`` would need."""
        return float(await self._read("order_calc_margin", action, symbol, volume, price))

    async def order_calc_profit(
        self, action: int, symbol: str, volume: float, price_open: float, price_close: float
    ) -> float:
        """Profit in account currency of ``volume`` lots from ``price_open`` to ``price_close``."""
        return float(
            await self._read("order_calc_profit", action, symbol, volume, price_open, price_close)
        )

    async def order_check(self, request: Mapping[str, Any]) -> CheckResult:
        """Validate ``request`` without sending it (retried on connection errors like a read)."""
        reply = await self._read("order_check", dict(request), raise_on_failure=False)
        if reply.result is None:
            code = reply.code if reply.code != RES_S_OK else RES_E_INVALID_PARAMS
            message = reply.message if reply.exc is None else repr(reply.exc)
            return CheckResult(None, Outcome.FINAL, None, (code, message))
        retcode = int(reply.result.retcode)
        return CheckResult(
            reply.result, classify_check_retcode(retcode), retcode, (reply.code, reply.message)
        )

    async def order_send(self, request: Mapping[str, Any]) -> SendResult:
        """Send ``request`` once; never retried. Ambiguous outcomes come back as ``VERIFY``.

        Raises ``TerminalConnectionError`` only when the port could not (re)connect *before*
        sending, i.e. when the request certainly did not leave.
        """
        if self._state is not PortState.CONNECTED:
            await self._ensure_connected()
        generation = self._generation
        try:
            if self._in_process:
                reply = self._call_now("order_send", (dict(request),), {})
            else:
                reply = await self._call("order_send", dict(request))
        except _LaneTimeout:
            self._lost(generation)
            error = (LANE_TIMEOUT, f"order_send: no answer within {self._settings.call_timeout}s")
            result = SendResult(None, Outcome.VERIFY, None, error, timed_out=True)
        else:
            if reply.connection_lost:
                self._lost(reply.generation)
            if reply.exc is not None:
                final = isinstance(reply.exc, (TypeError, ValueError))
                outcome = Outcome.FINAL if final else Outcome.VERIFY
                result = SendResult(None, outcome, None, (reply.code, repr(reply.exc)))
            elif reply.result is None:
                outcome = classify_send_error(reply.code)
                result = SendResult(None, outcome, None, (reply.code, reply.message))
            else:
                retcode = int(reply.result.retcode)
                self._metrics.retcodes[retcode] += 1
                outcome = classify_send_retcode(retcode)
                result = SendResult(reply.result, outcome, retcode, (reply.code, reply.message))
        self._metrics.send_outcomes[str(result.outcome)] += 1
        if result.outcome is not Outcome.SUCCESS:
            logger.info("order_send {}", result.describe())
        return result

    # -- internals ---------------------------------------------------------------------------

    async def _read(
        self, name: str, *args: Any, raise_on_failure: bool = True, **kwargs: Any
    ) -> Any:
        """Call ``name`` with retries; return its result (or the ``_Reply`` when not raising)."""
        first: _Reply | None = None
        if self._in_process and self._state is PortState.CONNECTED:
            # the simulator's calls: made here, synchronously; the loop below only on a failure
            first = self._call_now(name, args, kwargs)
            if not first.failed:
                return first.result if raise_on_failure else first
        attempts = self._settings.read_attempts
        last = "no attempt made"
        for attempt in range(attempts):
            if attempt:
                self._metrics.retries += 1
            if first is not None:  # the failed call above is the first attempt
                reply, first = first, None
            else:
                if self._state is not PortState.CONNECTED:
                    await self._ensure_connected()
                generation = self._generation
                if self._in_process:  # no lane, no timeout: the call is made here
                    reply = self._call_now(name, args, kwargs)
                else:
                    try:
                        reply = await self._call(name, *args, **kwargs)
                    except _LaneTimeout:
                        self._lost(generation)
                        last = f"no answer within {self._settings.call_timeout}s"
                        continue
            if not reply.failed:
                return reply.result if raise_on_failure else reply
            if reply.connection_lost:
                self._lost(reply.generation)
                last = repr(reply.exc) if reply.exc else describe_error(reply.code, reply.message)
                continue
            if reply.exc is not None:
                if not raise_on_failure:
                    return reply
                raise TerminalError(f"{name} raised {reply.exc!r}") from reply.exc
            if not raise_on_failure:
                return reply
            raise TerminalError(
                f"{name} failed: {describe_error(reply.code, reply.message)}", code=reply.code
            )
        raise TerminalConnectionError(f"{name} failed after {attempts} attempts: {last}")

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> _Reply:
        """One lane slot: the call, then ``last_error()``; metrics updated."""
        if self._in_process:
            return self._call_now(name, args, kwargs)
        if self._state is PortState.CLOSED and name != "shutdown":
            raise TerminalError("the terminal port is closed")
        function = getattr(self._api, name)
        generation = self._generation
        started = self._clock.monotonic()
        try:
            work = functools.partial(self._slot, function, args, kwargs, generation)
            reply = await self._threaded(work)
        except _LaneTimeout:
            self._count(name, started)
            self._metrics.timeouts += 1
            self._note_error(name, LANE_TIMEOUT, "lane timeout")
            raise
        self._count(name, started)
        if reply.exc is not None or (reply.failed and reply.code != RES_S_OK):
            self._note_error(
                name, reply.code, reply.message if reply.exc is None else repr(reply.exc)
            )
        return reply

    def _call_now(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Reply:
        """``_call`` in process (``in_process``): the slot on the caller's thread, with nothing
        awaited (so no coroutine to create), which is the whole cost of a simulator's call."""
        if self._state is PortState.CLOSED and name != "shutdown":
            raise TerminalError("the terminal port is closed")
        started = self._clock.monotonic()
        reply = self._slot(getattr(self._api, name), args, kwargs, self._generation)
        self._count(name, started)
        if reply.exc is not None or (reply.failed and reply.code != RES_S_OK):
            self._note_error(
                name, reply.code, reply.message if reply.exc is None else repr(reply.exc)
            )
        return reply

    def _slot(
        self,
        function: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        generation: int,
    ) -> _Reply:
        """The body of a lane slot: the call and, at once, ``last_error()``."""
        exc: Exception | None = None
        try:
            result = function(*args, **kwargs)
        except Exception as error:  # a bridge or C module raising: classified by the caller
            result, exc = None, error
        try:
            code, message = self._api.last_error()
        except Exception as error:
            code, message = -10000, f"last_error() raised {error!r}"
        return _Reply(result, int(code), str(message), exc, generation)

    async def _threaded(self, work: Callable[[], _Reply]) -> _Reply:
        """Run ``work`` in a worker thread holding the lane until the thread really returns."""
        token = object()
        worker: asyncio.Future[_Reply] | None = None
        try:
            with anyio.fail_after(self._settings.call_timeout):
                # an interrupted acquire holds nothing; once it returns, the worker starts at once
                await self._lane.acquire_on_behalf_of(token)
                worker = asyncio.ensure_future(anyio.to_thread.run_sync(work))
                return await asyncio.shield(worker)
        except TimeoutError as exc:
            raise _LaneTimeout from exc
        finally:
            if worker is None:
                pass
            elif worker.done():
                self._lane.release_on_behalf_of(token)
            else:  # timed out or cancelled: the slot is freed when the thread returns
                worker.add_done_callback(lambda done: self._release_after(done, token))

    def _release_after(self, done: asyncio.Future[_Reply], token: object) -> None:
        if not done.cancelled():
            done.exception()  # consumed: a late result of an abandoned call is dropped
        self._lane.release_on_behalf_of(token)

    def _count(self, name: str, started: float) -> None:
        m = self._metrics
        elapsed = self._clock.monotonic() - started
        m.calls += 1
        m.calls_by_function[name] += 1
        m.latency_total += elapsed
        m.latency_max = max(m.latency_max, elapsed)

    def _note_error(self, name: str, code: int, message: str) -> None:
        m = self._metrics
        m.errors_by_code[code] += 1
        m.last_error = (code, message)
        m.last_error_call = name

    def _lost(self, generation: int) -> None:
        """Mark the connection lost, unless a reconnect already replaced the one that failed."""
        if generation == self._generation and self._state is PortState.CONNECTED:
            self._state = PortState.DISCONNECTED
            self._unreachable_since = self._clock.time()
            logger.warning("terminal connection lost: {}", self._metrics.last_error)

    async def _ensure_connected(self) -> None:
        state = self._state
        if state is PortState.CONNECTED:
            return
        if state is PortState.CLOSED:
            raise TerminalError("the terminal port is closed")
        if state is PortState.NEW:
            raise TerminalError("the terminal port is not connected: call connect() first")
        if self._gave_up is not None:
            raise self._gave_up
        async with self._reconnect_lock:
            if self._state is PortState.CONNECTED:
                return  # another task reconnected while this one waited
            if self._state is PortState.CLOSED:
                raise TerminalError("the terminal port is closed")
            if self._gave_up is not None:
                raise self._gave_up
            try:
                await self._establish(first_immediate=False)
            except TerminalConnectionError as exc:
                self._give_up_if_too_long(exc)
                raise
            self._metrics.reconnects += 1
            self._rules.clear()
        for callback in list(self._callbacks):
            try:
                await callback()
            except Exception:
                self._metrics.callback_errors += 1
                logger.opt(exception=True).error("on_reconnect callback {!r} failed", callback)

    def _give_up_if_too_long(self, error: TerminalConnectionError) -> None:
        """After a failed reconnect cycle: give up for good once the terminal has been
        unreachable for ``unreachable_timeout`` seconds; every later call raises the same
        ``TerminalUnreachable``."""
        since = self._unreachable_since
        limit = self._settings.unreachable_timeout
        if since is None or self._clock.time() - since < limit:
            return
        self._gave_up = TerminalUnreachable(
            f"the terminal stayed unreachable for {self._clock.time() - since:.0f} s "
            f"(terminal.unreachable_timeout {limit:g} s): {error}"
        )
        logger.error("{}", self._gave_up)
        raise self._gave_up from error

    @property
    def gave_up(self) -> TerminalUnreachable | None:
        """The error the port gave up with (None while it still tries)."""
        return self._gave_up

    async def _establish(self, *, first_immediate: bool) -> None:
        """Initialize (+ log in) with backoff; raise ``TerminalConnectionError`` when it fails."""
        self._state = PortState.RECONNECTING
        if self._unreachable_since is None:
            self._unreachable_since = self._clock.time()
        attempts = self._settings.reconnect_attempts
        last = "no attempt made"
        for attempt in range(attempts):
            if attempt or not first_immediate:
                k = attempt - 1 if first_immediate else attempt
                await self._clock.sleep(self._backoff.delay(k, self._rng))
            if self._state is PortState.CLOSED:
                raise TerminalError("the terminal port is closed")
            problem = await self._initialize_once()
            if problem is None:
                self._generation += 1
                self._state = PortState.CONNECTED
                self._unreachable_since = None
                logger.info("terminal connected (attempt {} of {})", attempt + 1, attempts)
                return
            last = problem
            logger.warning(
                "terminal connect attempt {} of {} failed: {}", attempt + 1, attempts, last
            )
        self._metrics.reconnect_failures += 1
        self._state = PortState.DISCONNECTED
        raise TerminalConnectionError(f"terminal unreachable after {attempts} attempts: {last}")

    async def _initialize_once(self) -> str | None:
        """One ``initialize`` (+ ``login``); None on success, else what went wrong."""
        s = self._settings
        args: tuple[Any, ...] = (s.path,) if s.path else ()
        kwargs: dict[str, Any] = {"timeout": s.timeout_ms}
        if s.portable:
            kwargs["portable"] = True
        try:
            reply = await self._call("initialize", *args, **kwargs)
        except _LaneTimeout:
            return "initialize: no answer within the call timeout"
        if reply.failed:
            detail = repr(reply.exc) if reply.exc else describe_error(reply.code, reply.message)
            return f"initialize: {detail}"
        if s.login is None:
            return None
        login_kwargs: dict[str, Any] = {"timeout": s.timeout_ms}
        if s.server:
            login_kwargs["server"] = s.server
        if s.password is not None:
            login_kwargs["password"] = s.password.get_secret_value()
        try:
            reply = await self._call("login", s.login, **login_kwargs)
        except _LaneTimeout:
            return "login: no answer within the call timeout"
        if reply.failed:
            detail = repr(reply.exc) if reply.exc else describe_error(reply.code, reply.message)
            return f"login {s.login}@{s.server or '?'}: {detail}"
        return None


def _filters(symbol: str | None, ticket: int | None, group: str | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if symbol is not None:
        kwargs["symbol"] = symbol
    if ticket is not None:
        kwargs["ticket"] = int(ticket)
    if group is not None:
        kwargs["group"] = group
    return kwargs


def _history_args(
    date_from: DateArg | None,
    date_to: DateArg | None,
    group: str | None,
    position: int | None,
    ticket: int | None,
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if ticket is not None:
        return (), {"ticket": int(ticket)}
    if position is not None:
        return (), {"position": int(position)}
    if date_from is None or date_to is None:
        raise TerminalError("history queries need ticket=, position= or both dates")
    kwargs: dict[str, Any] = {"group": group} if group is not None else {}
    return (_date(date_from), _date(date_to)), kwargs
