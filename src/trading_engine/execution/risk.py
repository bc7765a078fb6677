"""Risk rules (pure): what may be opened, given the account and this engine's positions.

Limits (:class:`RiskLimits`, all in the account currency or percent):

- **daily loss limit** on the broker's *server* day: the day's loss is the day's starting equity
  minus the current equity (realised P&L of the day plus the change of floating P&L). The day
  starts at 00:00 server time (plus ``day_offset_seconds``); its starting equity is the first
  equity seen that day, or the last one of the previous day when the day rolls without an account
  update. Reaching the limit halts entries for the rest of that server day (latched, even if
  equity recovers); trading resumes by itself on the next server day.
- **max drawdown** from the equity peak, in percent: reaching it halts entries until an operator
  calls :meth:`RiskRules.reset_drawdown_halt` (the peak then restarts from the current equity).
- **max positions** (this engine's open positions, all symbols) and **max position size** (lots
  per order); an order above the size limit is refused, not trimmed (size orders with
  ``min(symbol volume_max, max_position_size)``).

States: ``HALTED`` when a daily-loss or drawdown limit is reached (no new entries; exits and
closes are always allowed); ``REDUCING`` when the day's loss or the drawdown reaches the fraction
``reduce_at_pct`` of its limit (0.8 = 80 %, as in ``RiskConfig``): entries are still allowed at
``reduce_factor`` × their volume (half by default, rounded down to the volume step when given;
``reduce_factor=0`` blocks them); ``ACTIVE`` otherwise.

Every refusal is a :class:`Decision` with the rule's name and a human reason; the service turns it
into a ``TradingBlockedEvent``. Times are server-time epoch seconds passed in by the caller.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trading_engine.errors import DataIntegrityError
from trading_engine.execution.sizing import round_volume_down

__all__ = [
    "Decision",
    "RiskLimits",
    "RiskRule",
    "RiskRules",
    "RiskState",
    "server_day",
]

_DAY = 86_400


class RiskState(StrEnum):
    """The risk state of the engine."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


class RiskRule(StrEnum):
    """The rule behind a decision (``Decision.rule``)."""

    DAILY_LOSS_LIMIT = "daily_loss_limit"
    MAX_DRAWDOWN = "max_drawdown"
    MAX_POSITIONS = "max_positions"
    MAX_POSITION_SIZE = "max_position_size"
    REDUCING = "reducing"
    INVALID_VOLUME = "invalid_volume"
    NO_ACCOUNT_DATA = "no_account_data"


class RiskLimits(BaseModel):
    """The limits the rules enforce (build from the system's ``RiskConfig`` with
    ``RiskLimits.model_validate(cfg, from_attributes=True)``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    daily_loss_limit: float | None = Field(default=None, gt=0)
    """Largest loss of one server day, account currency (``None``: no limit)."""
    max_positions: int = Field(default=10, ge=1)
    max_position_size: float = Field(default=1.0, gt=0)
    """Largest volume of one order, lots."""
    max_drawdown_pct: float | None = Field(default=None, gt=0, le=100)
    """Largest drawdown from the equity peak, percent (``None``: no limit)."""
    risk_per_trade_pct: float = Field(default=1.0, gt=0, le=100)
    """Equity risked per trade when sizing from the stop distance (used by the caller)."""
    reduce_at_pct: float = Field(default=0.8, gt=0, le=1)
    """REDUCING once a loss or drawdown reaches this *fraction* of its limit (0.8 = 80 %; the
    name is the seed's)."""
    reduce_factor: float = Field(default=0.5, ge=0, le=1)
    """Volume multiplier of entries while REDUCING (0 blocks them)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """A rule's answer: ``allowed``, the ``rule`` that decided (``""`` when none did), a human
    ``reason``, and the ``volume`` that may be sent (0 when refused)."""

    allowed: bool
    rule: str
    reason: str
    volume: float


def server_day(server_time: float, offset_seconds: int = 0) -> int:
    """Days since 1970-01-01 of a server-time epoch second (the day starting at ``offset``)."""
    return int((server_time - offset_seconds) // _DAY)


def _day_text(day: int) -> str:
    return (_dt.date(1970, 1, 1) + _dt.timedelta(days=day)).isoformat()


class _Snapshot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=1)
    day: int | None
    day_start_equity: float | None
    peak_equity: float | None
    last_equity: float | None
    last_balance: float | None
    daily_halted_day: int | None
    daily_halt_reason: str
    drawdown_halted: bool
    drawdown_halt_reason: str


class RiskRules:
    """The risk rules over one account; feed it account updates, ask it before each entry."""

    def __init__(self, limits: RiskLimits, *, day_offset_seconds: int = 0) -> None:
        self.limits = limits
        self.day_offset_seconds = day_offset_seconds
        self._day: int | None = None
        self._day_start_equity: float | None = None
        self._peak_equity: float | None = None
        self._last_equity: float | None = None
        self._last_balance: float | None = None
        self._daily_halted_day: int | None = None
        self._daily_halt_reason = ""
        self._drawdown_halted = False
        self._drawdown_halt_reason = ""

    # -- account updates ------------------------------------------------------------------------

    def on_account(self, equity: float, balance: float, server_time: float) -> RiskState:
        """Record an account update at ``server_time``; returns the (possibly new) state."""
        if not (math.isfinite(equity) and math.isfinite(balance) and math.isfinite(server_time)):
            raise DataIntegrityError(
                f"account update with a non-finite value: equity={equity}, balance={balance}, "
                f"server_time={server_time}"
            )
        self._roll(server_time, opening_equity=equity)
        if self._day_start_equity is None:
            self._day_start_equity = equity
        self._last_equity = equity
        self._last_balance = balance
        if self._peak_equity is None or equity > self._peak_equity:
            self._peak_equity = equity
        limits = self.limits
        if (
            limits.daily_loss_limit is not None
            and self._daily_halted_day != self._day
            and self.daily_loss >= limits.daily_loss_limit
        ):
            self._daily_halted_day = self._day
            self._daily_halt_reason = (
                f"daily loss {self.daily_loss:.2f} reached the limit {limits.daily_loss_limit:.2f}"
                f" on server day {_day_text(self._day or 0)}; entries resume on the next server day"
            )
        if (
            limits.max_drawdown_pct is not None
            and not self._drawdown_halted
            and self.drawdown_pct >= limits.max_drawdown_pct
        ):
            self._drawdown_halted = True
            self._drawdown_halt_reason = (
                f"drawdown {self.drawdown_pct:.2f}% from the equity peak {self._peak_equity:.2f} "
                f"reached the limit {limits.max_drawdown_pct:g}%; entries stay blocked until "
                "the drawdown halt is reset"
            )
        return self.state

    def adjust_for_cash_flow(self, amount: float) -> None:
        """Shift the day's start and the peak by a deposit (> 0) or withdrawal (< 0), so that
        moving money is not counted as profit or loss."""
        if self._day_start_equity is not None:
            self._day_start_equity += amount
        if self._peak_equity is not None:
            self._peak_equity += amount

    def reset_drawdown_halt(self) -> None:
        """Operator action: lift a drawdown halt; the peak restarts from the current equity."""
        self._drawdown_halted = False
        self._drawdown_halt_reason = ""
        self._peak_equity = self._last_equity

    def _roll(self, server_time: float, *, opening_equity: float | None = None) -> None:
        day = server_day(server_time, self.day_offset_seconds)
        if self._day is None or day > self._day:
            self._day = day
            start = opening_equity if opening_equity is not None else self._last_equity
            self._day_start_equity = start

    # -- measures -------------------------------------------------------------------------------

    @property
    def daily_loss(self) -> float:
        """Loss of the current server day (≥ 0), account currency."""
        if self._day_start_equity is None or self._last_equity is None:
            return 0.0
        return max(0.0, self._day_start_equity - self._last_equity)

    @property
    def drawdown_pct(self) -> float:
        """Drawdown from the equity peak, percent (≥ 0)."""
        if not self._peak_equity or self._last_equity is None or self._peak_equity <= 0:
            return 0.0
        return max(0.0, (self._peak_equity - self._last_equity) / self._peak_equity * 100.0)

    @property
    def state(self) -> RiskState:
        if self._halt() is not None:
            return RiskState.HALTED
        if self._reducing_reason():
            return RiskState.REDUCING
        return RiskState.ACTIVE

    @property
    def halt_reason(self) -> str:
        """Why entries are halted (``""`` when they are not)."""
        halt = self._halt()
        return "" if halt is None else halt[1]

    def _halt(self) -> tuple[RiskRule, str] | None:
        if self._daily_halted_day is not None and self._daily_halted_day == self._day:
            return RiskRule.DAILY_LOSS_LIMIT, self._daily_halt_reason
        if self._drawdown_halted:
            return RiskRule.MAX_DRAWDOWN, self._drawdown_halt_reason
        return None

    def _reducing_reason(self) -> str:
        limits, at = self.limits, self.limits.reduce_at_pct
        if limits.daily_loss_limit is not None and self.daily_loss >= at * limits.daily_loss_limit:
            return (
                f"daily loss {self.daily_loss:.2f} is at {at:.0%} or more of "
                f"the limit {limits.daily_loss_limit:.2f}"
            )
        if (
            limits.max_drawdown_pct is not None
            and self.drawdown_pct >= at * limits.max_drawdown_pct
        ):
            return (
                f"drawdown {self.drawdown_pct:.2f}% is at {at:.0%} or more of "
                f"the limit {limits.max_drawdown_pct:g}%"
            )
        return ""

    # -- decisions ------------------------------------------------------------------------------

    def check_entry(
        self,
        symbol: str,
        volume: float,
        open_positions: int,
        server_time: float,
        *,
        volume_step: float | None = None,
        volume_min: float | None = None,
    ) -> Decision:
        """May this engine open ``volume`` lots on ``symbol`` now?

        ``open_positions`` is the number of this engine's open positions (all symbols). Give the
        symbol's ``volume_step`` / ``volume_min`` to have a REDUCING volume rounded down to them.
        """
        if not (math.isfinite(volume) and volume > 0):
            return _refuse(RiskRule.INVALID_VOLUME, f"{symbol}: volume {volume} is not > 0")
        self._roll(server_time)
        if self._last_equity is None:
            return _refuse(RiskRule.NO_ACCOUNT_DATA, f"{symbol}: no account update received yet")
        halt = self._halt()
        if halt is not None:
            return _refuse(halt[0], f"{symbol}: {halt[1]}")
        limits = self.limits
        if open_positions >= limits.max_positions:
            return _refuse(
                RiskRule.MAX_POSITIONS,
                f"{symbol}: {open_positions} positions open, the limit is {limits.max_positions}",
            )
        if volume > limits.max_position_size + 1e-12:
            return _refuse(
                RiskRule.MAX_POSITION_SIZE,
                f"{symbol}: volume {volume:g} lots is above the limit {limits.max_position_size:g}",
            )
        reducing = self._reducing_reason()
        if not reducing:
            return Decision(True, "", "", volume)
        reduced = volume * limits.reduce_factor
        if volume_step is not None:
            reduced = round_volume_down(
                reduced, volume_step, volume_min if volume_min is not None else volume_step, volume
            )
        if reduced <= 0:
            return _refuse(
                RiskRule.REDUCING,
                f"{symbol}: {reducing}; the reduced volume of {volume:g} lots is below the minimum",
            )
        return Decision(
            True,
            str(RiskRule.REDUCING),
            f"{symbol}: {reducing}; volume reduced from {volume:g} to {reduced:g} lots",
            reduced,
        )

    def check_exit(self, symbol: str, volume: float) -> Decision:
        """Exits and closes are always allowed, whatever the state."""
        return Decision(True, "", f"{symbol}: exits are always allowed", volume)

    # -- persistence ----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The mutable state as a JSON-ready dict (to persist in the journal)."""
        return {
            "version": 1,
            "day": self._day,
            "day_start_equity": self._day_start_equity,
            "peak_equity": self._peak_equity,
            "last_equity": self._last_equity,
            "last_balance": self._last_balance,
            "daily_halted_day": self._daily_halted_day,
            "daily_halt_reason": self._daily_halt_reason,
            "drawdown_halted": self._drawdown_halted,
            "drawdown_halt_reason": self._drawdown_halt_reason,
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Restore a :meth:`snapshot` (``DataIntegrityError`` if it is malformed)."""
        try:
            s = _Snapshot.model_validate(snapshot)
        except ValidationError as exc:
            raise DataIntegrityError(f"corrupt risk snapshot: {exc}") from None
        self._day = s.day
        self._day_start_equity = s.day_start_equity
        self._peak_equity = s.peak_equity
        self._last_equity = s.last_equity
        self._last_balance = s.last_balance
        self._daily_halted_day = s.daily_halted_day
        self._daily_halt_reason = s.daily_halt_reason
        self._drawdown_halted = s.drawdown_halted
        self._drawdown_halt_reason = s.drawdown_halt_reason

    def stats(self) -> dict[str, Any]:
        """For metrics: state, day, day's loss, drawdown, equity, peak."""
        return {
            "state": str(self.state),
            "server_day": None if self._day is None else _day_text(self._day),
            "daily_loss": self.daily_loss,
            "drawdown_pct": self.drawdown_pct,
            "equity": self._last_equity,
            "balance": self._last_balance,
            "peak_equity": self._peak_equity,
            "day_start_equity": self._day_start_equity,
        }


def _refuse(rule: RiskRule, reason: str) -> Decision:
    return Decision(False, str(rule), reason, 0.0)
