"""Fault injection: scripted failures of the terminal, its connection and the trade server.

A ``Fault`` is active inside a window of simulated UTC time (``start``/``end``, either open) and
for a number of affected calls (``calls``; None = every call in the window). Kinds:

- ``"disconnect"``: every API call fails with None/False and an IPC error (``code`` -10004
  'No IPC connection' by default, or -10005 'IPC timeout'); calls recover once it ends.
- ``"no_connection"``: the terminal lost the trade server: ``order_send``/``order_check`` answer
  retcode 10031 and ``terminal_info().connected`` is False.
- ``"lost_reply"``: the trade request executes on the server but its reply is lost:
  ``order_send`` returns an ``OrderSendResult`` with retcode 10012 (TIMEOUT) and no
  deal/order tickets (``code`` 10012, the default) or None with ``(-10005, 'IPC timeout')``
  (``code`` -10005). The position, order and deals exist; only the answer is missing.
- ``"requote"``: market (DEAL) requests are requoted (10004) whatever the execution mode.
- ``"throttle"``: ``order_send`` answers ``code`` (10024 TOO_MANY_REQUESTS by default, or 10028
  LOCKED) without looking at the request.
- ``"no_prices"``: trade requests for ``symbol`` (None = all) answer 10021 'No prices'.
- ``"history_short"``: the next ``copy_rates_*`` call for ``symbol`` (None = any) returns a
  short answer, as while the terminal is still downloading history; the next call is full.
- ``"restart"``: at ``start`` the terminal restarts once (as ``Faults.restart()``): the first
  call from then on fails with -10004 and ``initialize()`` is needed again.

``Faults`` is the live controller, reached as ``terminal.faults``; ``restart()`` simulates a
terminal restart (the account, tickets and history persist; the connection drops, ``last_error``
is reset and ``initialize()`` is needed again).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Final, Literal

__all__ = ["FAULT_KINDS", "Fault", "Faults"]

FaultKind = Literal[
    "disconnect",
    "no_connection",
    "lost_reply",
    "requote",
    "throttle",
    "no_prices",
    "history_short",
    "restart",
]
FAULT_KINDS: Final[frozenset[str]] = frozenset(
    (
        "disconnect",
        "no_connection",
        "lost_reply",
        "requote",
        "throttle",
        "no_prices",
        "history_short",
        "restart",
    )
)
_DEFAULT_CODE: Final[dict[str, int]] = {
    "disconnect": -10004,
    "lost_reply": 10012,
    "throttle": 10024,
    "requote": 10004,
    "no_connection": 10031,
    "no_prices": 10021,
    "history_short": 0,
    "restart": 0,
}


@dataclasses.dataclass(slots=True)
class Fault:
    """One scripted fault: ``kind`` active in ``[start, end)`` (UTC epoch) for ``calls`` calls."""

    kind: FaultKind
    calls: int | None = None
    start: float | None = None
    end: float | None = None
    code: int | None = None
    symbol: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if self.kind == "restart" and self.calls is None:
            self.calls = 1
        if self.calls is not None and self.calls < 0:
            raise ValueError("calls must be >= 0")
        if self.code is None:
            self.code = _DEFAULT_CODE[self.kind]

    def active_at(self, now: float) -> bool:
        """Whether the fault applies at ``now`` (ignoring ``symbol``)."""
        if self.calls is not None and self.calls <= 0:
            return False
        if self.start is not None and now < self.start:
            return False
        return self.end is None or now < self.end


class Faults:
    """The fault controller of one terminal (``terminal.faults``)."""

    def __init__(
        self,
        clock: Callable[[], float],
        initial: Sequence[Fault] = (),
        on_restart: Callable[[], None] | None = None,
    ) -> None:
        self._clock = clock
        self._faults: list[Fault] = [dataclasses.replace(f) for f in initial]
        self._on_restart = on_restart
        self.latency: float = 0.0
        """Seconds each API call takes, spent through the terminal's ``sleep``."""

    # -- scripting -------------------------------------------------------------------------

    def add(self, fault: Fault) -> Fault:
        """Arm ``fault`` and return it (its ``calls`` count down as it fires)."""
        self._faults.append(fault)
        return fault

    def _window(
        self, start: float | None, end: float | None, seconds: float | None
    ) -> tuple[float | None, float | None]:
        if seconds is not None:
            start = self._clock() if start is None else start
            end = start + seconds
        return start, end

    def disconnect(
        self,
        calls: int | None = None,
        *,
        seconds: float | None = None,
        start: float | None = None,
        end: float | None = None,
        code: int = -10004,
    ) -> Fault:
        """IPC failure for ``calls`` calls or ``seconds`` of simulated time (-10004 or -10005)."""
        start, end = self._window(start, end, seconds)
        return self.add(Fault("disconnect", calls, start, end, code))

    def no_connection(
        self, calls: int | None = None, *, seconds: float | None = None, start: float | None = None
    ) -> Fault:
        """No trade-server connection: trade requests answer 10031."""
        start, end = self._window(start, None, seconds)
        return self.add(Fault("no_connection", calls, start, end))

    def lose_reply(self, calls: int = 1, *, code: int = 10012) -> Fault:
        """The next ``calls`` trade requests execute but lose their reply (10012, or -10005)."""
        if code not in (10012, -10005):
            raise ValueError("code must be 10012 (TIMEOUT result) or -10005 (IPC timeout)")
        return self.add(Fault("lost_reply", calls, code=code))

    def requote_storm(
        self, calls: int | None = None, *, seconds: float | None = None, start: float | None = None
    ) -> Fault:
        """Requote (10004) every market request for ``calls`` requests or ``seconds``."""
        start, end = self._window(start, None, seconds)
        return self.add(Fault("requote", calls, start, end))

    def throttle(
        self,
        calls: int | None = None,
        *,
        seconds: float | None = None,
        start: float | None = None,
        retcode: int = 10024,
    ) -> Fault:
        """Answer trade requests with 10024 TOO_MANY_REQUESTS (or 10028 LOCKED)."""
        if retcode not in (10024, 10028):
            raise ValueError("retcode must be 10024 or 10028")
        start, end = self._window(start, None, seconds)
        return self.add(Fault("throttle", calls, start, end, retcode))

    def no_prices(
        self,
        calls: int | None = None,
        *,
        seconds: float | None = None,
        start: float | None = None,
        symbol: str | None = None,
    ) -> Fault:
        """Answer trade requests (for ``symbol``, None = all) with 10021 'No prices'."""
        start, end = self._window(start, None, seconds)
        return self.add(Fault("no_prices", calls, start, end, symbol=symbol))

    def history_not_synced(self, symbol: str | None = None, calls: int = 1) -> Fault:
        """The next ``calls`` ``copy_rates_*`` answers (for ``symbol``) are short."""
        return self.add(Fault("history_short", calls, symbol=symbol))

    def restart(self) -> None:
        """Restart the terminal: state persists, the connection drops, last_error is reset."""
        if self._on_restart is not None:
            self._on_restart()

    def clear(self) -> None:
        """Disarm every fault and set the latency to zero."""
        self._faults.clear()
        self.latency = 0.0

    # -- queries used by the terminal --------------------------------------------------------

    @property
    def armed(self) -> tuple[Fault, ...]:
        """The faults still armed (spent ones are dropped lazily)."""
        return tuple(self._faults)

    def peek(self, kind: str, now: float, symbol: str | None = None) -> Fault | None:
        """The first fault of ``kind`` active at ``now`` for ``symbol``, without consuming it."""
        if not self._faults:
            return None
        for f in self._faults:
            if f.kind == kind and f.active_at(now) and (f.symbol is None or f.symbol == symbol):
                return f
        return None

    def take(self, kind: str, now: float, symbol: str | None = None) -> Fault | None:
        """Like ``peek`` but counts one call against the fault."""
        f = self.peek(kind, now, symbol)
        if f is not None and f.calls is not None:
            f.calls -= 1
            if f.calls <= 0:
                self._faults.remove(f)
        return f

    def __bool__(self) -> bool:
        return bool(self._faults)
