"""``ema_cross``: trend following on the cross of a fast and a slow EMA, with a regime filter.

- **Entry**: when flat, on the bar where ``ema_fast`` crosses above ``ema_slow`` (buy) or below it
  (sell), if the regime filter allows it (by default not in a ``"ranging"`` or ``"volatile"``
  regime) and the side is enabled (``sides``).
- **Stops**: ``sl_atr`` / ``tp_atr`` ATR multiples from the bar's close, attached to the order
  (0 = none).
- **Exit**: on the opposite cross when ``exit_on_cross`` (else only by SL/TP).
- **Reversal**: with ``reverse``, an exit on the opposite cross is followed, on the first later
  bar where the strategy is flat and the EMAs still point the new way, by an entry in the new
  direction (the filters apply again). A position is never flipped in one order.

A cross is a change of sign of ``ema_fast - ema_slow``; bars where the two are equal do not count
as a side, so a touch without a cross is not a signal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trading_engine.events import Side
from trading_engine.strategy.base import (
    Signal,
    Snapshot,
    Strategy,
    atr_stop_values,
    atr_stops,
    check_regimes,
)

__all__ = ["EmaCross", "EmaCrossParams"]


class EmaCrossParams(BaseModel):
    """Parameters of ``ema_cross``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fast_value: str = "ema_fast"
    """Indicator value name of the fast EMA."""
    slow_value: str = "ema_slow"
    """Indicator value name of the slow EMA."""
    atr_value: str = "atr"
    """Indicator value name of the ATR (read only when ``sl_atr`` or ``tp_atr`` is set)."""
    sl_atr: float = Field(default=2.0, ge=0)
    """Stop loss distance in ATRs from the close (0 = no stop loss)."""
    tp_atr: float = Field(default=3.0, ge=0)
    """Take profit distance in ATRs from the close (0 = no take profit)."""
    exit_on_cross: bool = True
    """Exit on the opposite cross."""
    reverse: bool = True
    """After an exit on the opposite cross, enter the new direction on a later bar."""
    regime_filter: bool = True
    """Refuse entries while the regime is one of ``blocked_regimes``."""
    blocked_regimes: tuple[str, ...] = ("ranging", "volatile")
    sides: Literal["both", "long", "short"] = "both"
    volume: float | None = Field(default=None, gt=0)
    """Fixed lots per entry; ``None`` lets the risk rules size it from the stop distance."""

    @field_validator("blocked_regimes")
    @classmethod
    def _known_regimes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_regimes(value)

    @model_validator(mode="after")
    def _has_an_exit(self) -> EmaCrossParams:
        if not self.exit_on_cross and self.sl_atr == 0 and self.tp_atr == 0:
            raise ValueError("no way out of a position: set exit_on_cross, sl_atr or tp_atr")
        if self.fast_value == self.slow_value:
            raise ValueError("fast_value and slow_value name the same indicator")
        return self


class EmaCross(Strategy[EmaCrossParams]):
    """Trend following on EMA crosses; see the module docstring."""

    Params = EmaCrossParams
    default_name = "ema_cross"
    warmup_bars = 1

    def __init__(
        self, params: Mapping[str, Any] | BaseModel | None = None, *, name: str | None = None
    ) -> None:
        super().__init__(params, name=name)
        p = self.params
        stops = atr_stop_values(p.atr_value, p.sl_atr, p.tp_atr)
        self.required_values = (p.fast_value, p.slow_value, *stops)
        self._sign: dict[tuple[str, int], int] = {}
        self._pending: dict[tuple[str, int], Side] = {}

    def on_bar(self, snapshot: Snapshot) -> Signal | None:
        p = self.params
        key = self.stream_key(snapshot)
        diff = snapshot.values[p.fast_value] - snapshot.values[p.slow_value]
        sign = (diff > 0) - (diff < 0)
        previous = self._sign.get(key, 0)
        crossed: Side | None = None
        if sign:
            if previous and sign != previous:
                crossed = Side.BUY if sign > 0 else Side.SELL
            self._sign[key] = sign

        position = snapshot.position
        if position is not None:
            if crossed is not None and crossed != position.side and p.exit_on_cross:
                if p.reverse:
                    self._pending[key] = crossed
                return self.exit(f"ema cross against the {position.side} position")
            return None

        pending = self._pending.pop(key, None)
        side = crossed
        if side is None and pending is not None:
            # The reversal's entry: only if the EMAs still point the way of the cross.
            still = self._sign.get(key, 0) == (1 if pending is Side.BUY else -1)
            side = pending if still else None
        if side is None or not self._allowed(side, snapshot.regime):
            return None
        return self._entry(side, snapshot)

    def _allowed(self, side: Side, regime: str) -> bool:
        p = self.params
        if p.sides != "both" and side is not (Side.BUY if p.sides == "long" else Side.SELL):
            return False
        return not (p.regime_filter and regime in p.blocked_regimes)

    def _entry(self, side: Side, snapshot: Snapshot) -> Signal:
        p = self.params
        sl, tp = atr_stops(snapshot, side, p.atr_value, p.sl_atr, p.tp_atr)
        fast, slow = snapshot.values[p.fast_value], snapshot.values[p.slow_value]
        reason = f"{p.fast_value} {fast:.6g} crossed {'above' if side is Side.BUY else 'below'} "
        reason += f"{p.slow_value} {slow:.6g} ({snapshot.regime})"
        return self.enter(side, sl=sl, tp=tp, volume=p.volume, reason=reason)
