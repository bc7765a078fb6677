"""The strategy contract: a snapshot in, maybe a signal out, synchronously and without I/O.

A strategy subclasses :class:`Strategy`, declares its parameters as a pydantic model in
``Params`` (validated when the strategy is built; unknown keys are refused), says how many bars it
needs (``warmup_bars``) and which indicator values it reads (``required_values``), and implements
``on_bar(snapshot) -> Signal | None`` with the helpers ``self.enter(...)`` and ``self.exit(...)``::

    class BreakoutParams(BaseModel):
        model_config = ConfigDict(extra="forbid")
        level: float = Field(gt=0)

    class Breakout(Strategy[BreakoutParams]):
        Params = BreakoutParams
        required_values = ("atr",)

        def on_bar(self, snapshot: Snapshot) -> Signal | None:
            if snapshot.position is None and snapshot.close > self.params.level:
                return self.enter(Side.BUY, sl=snapshot.close - 2 * snapshot.values["atr"])
            return None

The engine calls :meth:`Strategy.evaluate`, which skips bars before warm-up and bars where a
required value is missing or not finite, and turns any exception into a ``StrategyError`` naming
the strategy. One instance may serve several symbols and timeframes: keep per-stream state keyed
by ``(snapshot.symbol, snapshot.timeframe)`` (see :meth:`Strategy.stream_key`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Container, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from trading_engine.errors import StrategyError
from trading_engine.model.position import PositionView
from trading_engine.model.side import Side
from trading_engine.model.signal import Signal

__all__ = [
    "REGIMES",
    "NoParams",
    "PositionView",
    "Signal",
    "Snapshot",
    "Strategy",
    "atr_stop_values",
    "atr_stops",
    "check_regimes",
    "format_validation_error",
]


REGIMES: frozenset[str] = frozenset(
    {"unknown", "trending_up", "trending_down", "ranging", "volatile"}
)
"""The regime names the classifier emits (the values of ``trading_engine.indicators.Regime``)."""


def check_regimes(names: tuple[str, ...]) -> tuple[str, ...]:
    """Lower-case ``names`` and refuse any that is not a regime (a typo would disable a filter)."""
    cleaned = tuple(name.strip().lower() for name in names)
    unknown = sorted(set(cleaned) - REGIMES)
    if unknown:
        raise ValueError(f"unknown regime(s) {unknown}; expected some of {sorted(REGIMES)}")
    return cleaned


def atr_stop_values(atr_value: str, sl_atr: float, tp_atr: float) -> tuple[str, ...]:
    """The values ``atr_stops`` reads: ``(atr_value,)`` when a multiple is set, else none."""
    return (atr_value,) if sl_atr > 0 or tp_atr > 0 else ()


def atr_stops(
    snapshot: Snapshot, side: Side, atr_value: str, sl_atr: float, tp_atr: float
) -> tuple[float | None, float | None]:
    """``(sl, tp)`` of an entry on ``side``: ``sl_atr`` / ``tp_atr`` ATRs (the value named
    ``atr_value``) from the bar's close, ``None`` for a multiple of 0 (the ATR is read only when a
    multiple is set)."""
    sl = tp = None
    if sl_atr > 0 or tp_atr > 0:
        atr = snapshot.values[atr_value]
        direction = 1.0 if side is Side.BUY else -1.0
        if sl_atr > 0:
            sl = snapshot.close - direction * sl_atr * atr
        if tp_atr > 0:
            tp = snapshot.close + direction * tp_atr * atr
    return sl, tp


@dataclass(slots=True)
class Snapshot:
    """Everything a strategy sees for one closed bar of one stream.

    ``time`` is the bar's open time (server-time epoch seconds); ``values`` the indicator values
    by name (``ema_fast``, ``rsi``, ``atr`` …; NaN while an indicator warms up); ``regime`` the
    regime classifier's state (``"unknown"``, ``"trending_up"``, ``"trending_down"``,
    ``"ranging"``, ``"volatile"``); ``position`` this strategy's open position on the symbol, if
    any; ``bars`` how many bars of this stream the engine has seen, this one included.
    """

    symbol: str
    timeframe: int
    time: int
    open: float
    high: float
    low: float
    close: float
    values: Mapping[str, float]
    regime: str
    position: PositionView | None
    bars: int


class NoParams(BaseModel):
    """The parameters of a strategy that takes none."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def format_validation_error(error: ValidationError) -> str:
    """One line naming each offending field: ``"fast: Input should be greater than 0; …"``."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "params"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


P = TypeVar("P", bound=BaseModel)


class Strategy(ABC, Generic[P]):
    """Base class of every strategy; see the module docstring for a complete example."""

    Params: ClassVar[type[BaseModel]] = NoParams
    """The pydantic model of the parameters (use ``extra="forbid"``)."""
    required_values: tuple[str, ...] = ()
    """Indicator value names read by ``on_bar``; bars where one is missing or NaN are skipped."""
    warmup_bars: int = 1
    """Bars of a stream seen before ``on_bar`` is first called for it."""
    default_name: ClassVar[str] = ""
    """Name used when none is given (else the class name)."""

    params: P
    name: str

    def __init__(
        self, params: Mapping[str, Any] | BaseModel | None = None, *, name: str | None = None
    ) -> None:
        self.name = name or self.default_name or type(self).__name__
        self.params = self._validate_params(params)
        self._snapshot: Snapshot | None = None
        self.skipped_bars = 0
        """Bars not passed to ``on_bar`` (warm-up, or a required value missing / NaN)."""

    def _validate_params(self, params: Mapping[str, Any] | BaseModel | None) -> P:
        model = type(self).Params
        if isinstance(params, model):
            return params  # type: ignore[return-value]
        raw: Any = params.model_dump() if isinstance(params, BaseModel) else dict(params or {})
        try:
            return model.model_validate(raw)  # type: ignore[return-value]
        except ValidationError as exc:
            raise StrategyError(
                f"invalid parameters for strategy {self.name!r}: {format_validation_error(exc)}"
            ) from None

    # -- what subclasses implement -------------------------------------------------------------

    @abstractmethod
    def on_bar(self, snapshot: Snapshot) -> Signal | None:
        """Decide on one closed bar: return a signal, or ``None`` to do nothing."""

    # -- helpers for on_bar ---------------------------------------------------------------------

    def enter(
        self,
        side: Side,
        *,
        sl: float | None = None,
        tp: float | None = None,
        volume: float | None = None,
        reason: str = "",
    ) -> Signal:
        """An entry signal (stops as absolute prices; ``volume=None``: sized by risk)."""
        return Signal("enter", Side(side), sl, tp, volume, reason or f"{self.name} entry")

    def exit(self, reason: str = "", *, side: Side | None = None) -> Signal:
        """An exit of the current snapshot's position (or of the position on ``side``)."""
        position = self._snapshot.position if self._snapshot is not None else None
        if side is None:
            if position is None:
                raise StrategyError(f"strategy {self.name!r}: exit() without an open position")
            side = position.side
        ticket = position.ticket if position is not None and position.side == side else None
        return Signal("exit", Side(side), reason=reason or f"{self.name} exit", ticket=ticket)

    @staticmethod
    def stream_key(snapshot: Snapshot) -> tuple[str, int]:
        """The key under which to keep per-stream state: ``(symbol, timeframe)``."""
        return snapshot.symbol, snapshot.timeframe

    # -- what the engine calls ------------------------------------------------------------------

    def missing_values(self, available: Container[str]) -> list[str]:
        """Required value names absent from ``available`` (checked once by the engine)."""
        return [name for name in self.required_values if name not in available]

    def evaluate(self, snapshot: Snapshot) -> Signal | None:
        """Run ``on_bar`` on a snapshot, after the warm-up and value checks.

        Raises ``StrategyError`` (with the original exception as ``__cause__``) when ``on_bar``
        raises or returns something other than a ``Signal`` or ``None``.
        """
        if snapshot.bars < self.warmup_bars or not self._values_ready(snapshot.values):
            self.skipped_bars += 1
            return None
        self._snapshot = snapshot
        try:
            signal = self.on_bar(snapshot)
        except StrategyError:
            raise
        except Exception as exc:
            raise StrategyError(
                f"strategy {self.name!r} raised on {snapshot.symbol} bar {snapshot.time}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        finally:
            self._snapshot = None
        if signal is not None and not isinstance(signal, Signal):
            raise StrategyError(
                f"strategy {self.name!r} returned {type(signal).__name__}, not Signal or None"
            )
        return signal

    def _values_ready(self, values: Mapping[str, float]) -> bool:
        for key in self.required_values:
            value = values.get(key)
            if value is None or not math.isfinite(value):
                return False
        return True

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, params={self.params!r})"
