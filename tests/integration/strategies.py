"""Small deterministic strategies for the integration tests (loaded by file path, as a user's).

Each counts the bars it is shown (``seen``, 1 for the first bar ``on_bar`` receives) and records
what it saw, so a test can say exactly which bar made which signal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from trading_engine.events import Side
from trading_engine.strategy.base import Signal, Snapshot, Strategy


class ScriptParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enter_at: list[int] = Field(default_factory=list)
    """Bar numbers (``seen``) on which to send an entry, whether or not a position is open."""
    exit_at: list[int] = Field(default_factory=list)
    """Bar numbers on which to exit the open position (if there is one)."""
    side: Literal["buy", "sell"] = "buy"
    volume: float | None = 0.1
    sl_points: float | None = None
    """Stop loss this many points from the close (``None``: no stop loss)."""
    tp_points: float | None = None
    point: float = 0.00001


class Scripted(Strategy[ScriptParams]):
    """Enter on the bars listed in ``enter_at``, exit on those in ``exit_at``."""

    Params = ScriptParams

    def __init__(
        self, params: Mapping[str, Any] | BaseModel | None = None, *, name: str | None = None
    ) -> None:
        super().__init__(params, name=name)
        self.seen = 0
        self.times: list[int] = []
        self.bars: list[tuple[float, float, float, float]] = []
        self.positions: list[int | None] = []

    def on_bar(self, snapshot: Snapshot) -> Signal | None:
        self.seen += 1
        self.times.append(snapshot.time)
        self.bars.append((snapshot.open, snapshot.high, snapshot.low, snapshot.close))
        self.positions.append(snapshot.position.ticket if snapshot.position else None)
        p = self.params
        side = Side(p.side)
        sign = 1.0 if side is Side.BUY else -1.0
        if self.seen in p.enter_at:
            sl = snapshot.close - sign * p.sl_points * p.point if p.sl_points else None
            tp = snapshot.close + sign * p.tp_points * p.point if p.tp_points else None
            return self.enter(side, volume=p.volume, sl=sl, tp=tp, reason=f"bar {self.seen}")
        if self.seen in p.exit_at and snapshot.position is not None:
            return self.exit(f"bar {self.seen}")
        return None


class RaiseParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    raise_at: list[int] = Field(default_factory=list)
    """Bar numbers on which ``on_bar`` raises."""
    raise_from: int | None = None
    """Raise on every bar from this one on."""


class Raising(Strategy[RaiseParams]):
    """A strategy with a bug: ``on_bar`` raises ``ZeroDivisionError`` on chosen bars."""

    Params = RaiseParams

    def __init__(
        self, params: Mapping[str, Any] | BaseModel | None = None, *, name: str | None = None
    ) -> None:
        super().__init__(params, name=name)
        self.seen = 0
        self.calls = 0

    def on_bar(self, snapshot: Snapshot) -> Signal | None:
        self.calls += 1
        self.seen += 1
        p = self.params
        if self.seen in p.raise_at or (p.raise_from is not None and self.seen >= p.raise_from):
            return Signal("enter", Side.BUY, volume=1 / 0)  # the bug
        return None


class CrashParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    crash_at: int = 10
    """The evaluation (1-based) on which the strategy service is made to fail, once."""
    always: bool = False
    """Fail on every evaluation from ``crash_at`` on (a crash loop)."""


class CrashesServiceOnce(Strategy[CrashParams]):
    """Makes the strategy service fail once with an unexpected exception.

    ``evaluate`` (the engine's entry point, which turns an ``on_bar`` error into a
    ``StrategyError`` that the service isolates) raises a bare ``RuntimeError`` on the
    ``crash_at``-th call: the service itself crashes, as it would on a bug of its own.
    """

    Params = CrashParams

    def __init__(
        self, params: Mapping[str, Any] | BaseModel | None = None, *, name: str | None = None
    ) -> None:
        super().__init__(params, name=name)
        self.calls = 0
        self.crashed = False

    def evaluate(self, snapshot: Snapshot) -> Signal | None:
        self.calls += 1
        p = self.params
        if (self.calls == p.crash_at and not self.crashed) or (
            p.always and self.calls >= p.crash_at
        ):
            self.crashed = True
            raise RuntimeError("unexpected failure inside the strategy service")
        return super().evaluate(snapshot)

    def on_bar(self, snapshot: Snapshot) -> Signal | None:
        return None


class Recorder(Strategy[BaseModel]):
    """Never trades; records every snapshot it is shown."""

    def __init__(
        self, params: Mapping[str, Any] | BaseModel | None = None, *, name: str | None = None
    ) -> None:
        super().__init__(params, name=name)
        self.snapshots: list[Snapshot] = []

    def on_bar(self, snapshot: Snapshot) -> Signal | None:
        self.snapshots.append(snapshot)
        return None


class DayParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    volume: float = 1.0
    loss_trigger: float = 50.0
    """Floating loss (account currency) at which the second entry is tried."""
    day_offset: int = 0
    """Seconds added to a bar's server time before its day is taken (the risk's day start)."""


class DailyLossProbe(Strategy[DayParams]):
    """Drives the daily-loss scenario; ``log`` says what it asked for, bar by bar.

    1. first bar: enter (``volume`` lots);
    2. once the position's floating loss reaches ``loss_trigger``: enter again (risk must refuse);
    3. next bar: exit the position (risk must allow it); 4. next bar: enter (refused again);
    5. first bar of the next server day: enter (allowed again).
    """

    Params = DayParams

    def __init__(
        self, params: Mapping[str, Any] | BaseModel | None = None, *, name: str | None = None
    ) -> None:
        super().__init__(params, name=name)
        self.step = 1
        self.day: int | None = None
        self.log: list[tuple[str, int]] = []

    def on_bar(self, snapshot: Snapshot) -> Signal | None:
        day = (snapshot.time + self.params.day_offset) // 86_400
        position = snapshot.position
        if self.step == 1:
            self.day = day
            self.step = 2
            self.log.append(("enter", snapshot.time))
            return self.enter(Side.BUY, volume=self.params.volume, reason="first entry")
        if self.step == 2 and position is not None and position.profit <= -self.params.loss_trigger:
            self.step = 3
            self.log.append(("enter_at_loss", snapshot.time))
            return self.enter(Side.BUY, volume=self.params.volume, reason="entry at a loss")
        if self.step == 3 and position is not None:
            self.step = 4
            self.log.append(("exit", snapshot.time))
            return self.exit("exit while halted")
        if self.step == 4 and position is None:
            self.step = 5
            self.log.append(("enter_halted", snapshot.time))
            return self.enter(Side.BUY, volume=self.params.volume, reason="entry while halted")
        if self.step == 5 and day != self.day:
            self.step = 6
            self.log.append(("enter_next_day", snapshot.time))
            return self.enter(Side.BUY, volume=self.params.volume, reason="next server day")
        return None


class ClockParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: int = 20
    """Bars of a round trip: enter on a bar whose minute is a multiple of it, exit half-way."""
    volume: float = 0.1


class ByClock(Strategy[ClockParams]):
    """A pure strategy (its signals depend on the snapshot alone): enter on the bars whose
    minute number is a multiple of ``period``, exit ``period / 2`` bars later. Evaluating a bar
    twice gives the same signal, as a redelivered bar must."""

    Params = ClockParams

    def on_bar(self, snapshot: Snapshot) -> Signal | None:
        p = self.params
        minute = snapshot.time // 60
        if snapshot.position is None and minute % p.period == 0:
            return self.enter(Side.BUY, volume=p.volume, reason=f"minute {minute}")
        if snapshot.position is not None and minute % p.period == p.period // 2:
            return self.exit(f"minute {minute}")
        return None


class MakesCycles(Strategy):
    """Leave a reference cycle behind on every bar (two lists that hold each other): garbage
    that only the cyclic garbage collector can free. Never signals."""

    def on_bar(self, snapshot: Snapshot) -> Signal | None:
        first: list[Any] = [snapshot.time]
        second: list[Any] = [first]
        first.append(second)
        return None
