"""``rsi_reversion``: mean reversion on RSI extremes, only while the market is ranging.

- **Entry**: when flat and the regime is one of ``regimes`` (default ``"ranging"`` only): buy when
  RSI < ``oversold``, sell when RSI > ``overbought``.
- **Stops**: ``sl_atr`` / ``tp_atr`` ATR multiples from the close, attached to the order
  (0 = none).
- **Exit**: when RSI gets back to ``midline`` (a long exits at RSI ≥ midline, a short at RSI ≤
  midline) if ``exit_at_midline``; optionally as soon as the regime leaves ``regimes``
  (``exit_on_regime_change``); otherwise by SL/TP.
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

__all__ = ["RsiReversion", "RsiReversionParams"]


class RsiReversionParams(BaseModel):
    """Parameters of ``rsi_reversion``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rsi_value: str = "rsi"
    """Indicator value name of the RSI."""
    atr_value: str = "atr"
    """Indicator value name of the ATR (read only when ``sl_atr`` or ``tp_atr`` is set)."""
    oversold: float = Field(default=30.0, gt=0, lt=100)
    overbought: float = Field(default=70.0, gt=0, lt=100)
    midline: float = Field(default=50.0, gt=0, lt=100)
    exit_at_midline: bool = True
    exit_on_regime_change: bool = False
    """Exit as soon as the regime is no longer one of ``regimes``."""
    sl_atr: float = Field(default=1.5, ge=0)
    """Stop loss distance in ATRs from the close (0 = no stop loss)."""
    tp_atr: float = Field(default=0.0, ge=0)
    """Take profit distance in ATRs from the close (0 = no take profit)."""
    regimes: tuple[str, ...] = ("ranging",)
    """Regimes in which entries are allowed."""
    sides: Literal["both", "long", "short"] = "both"
    volume: float | None = Field(default=None, gt=0)
    """Fixed lots per entry; ``None`` lets the risk rules size it from the stop distance."""

    @field_validator("regimes")
    @classmethod
    def _known_regimes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one regime is needed to trade in")
        return check_regimes(value)

    @model_validator(mode="after")
    def _consistent(self) -> RsiReversionParams:
        if not self.oversold < self.midline < self.overbought:
            raise ValueError(
                f"need oversold < midline < overbought, got {self.oversold}, {self.midline}, "
                f"{self.overbought}"
            )
        if not (self.exit_at_midline or self.exit_on_regime_change or self.sl_atr or self.tp_atr):
            raise ValueError(
                "no way out of a position: set exit_at_midline, exit_on_regime_change, "
                "sl_atr or tp_atr"
            )
        return self


class RsiReversion(Strategy[RsiReversionParams]):
    """Mean reversion on RSI extremes in ranging markets; see the module docstring."""

    Params = RsiReversionParams
    default_name = "rsi_reversion"
    warmup_bars = 1

    def __init__(
        self, params: Mapping[str, Any] | BaseModel | None = None, *, name: str | None = None
    ) -> None:
        super().__init__(params, name=name)
        p = self.params
        self.required_values = (p.rsi_value, *atr_stop_values(p.atr_value, p.sl_atr, p.tp_atr))

    def on_bar(self, snapshot: Snapshot) -> Signal | None:
        p = self.params
        rsi = snapshot.values[p.rsi_value]
        position = snapshot.position
        if position is not None:
            if p.exit_at_midline:
                if position.side is Side.BUY and rsi >= p.midline:
                    return self.exit(f"rsi {rsi:.1f} back to the midline {p.midline:g}")
                if position.side is Side.SELL and rsi <= p.midline:
                    return self.exit(f"rsi {rsi:.1f} back to the midline {p.midline:g}")
            if p.exit_on_regime_change and snapshot.regime not in p.regimes:
                return self.exit(f"regime {snapshot.regime} is not one of {list(p.regimes)}")
            return None

        if snapshot.regime not in p.regimes:
            return None
        if rsi < p.oversold and p.sides != "short":
            return self._entry(Side.BUY, snapshot, f"rsi {rsi:.1f} < {p.oversold:g}")
        if rsi > p.overbought and p.sides != "long":
            return self._entry(Side.SELL, snapshot, f"rsi {rsi:.1f} > {p.overbought:g}")
        return None

    def _entry(self, side: Side, snapshot: Snapshot, why: str) -> Signal:
        p = self.params
        sl, tp = atr_stops(snapshot, side, p.atr_value, p.sl_atr, p.tp_atr)
        return self.enter(side, sl=sl, tp=tp, volume=p.volume, reason=f"{why} ({snapshot.regime})")
