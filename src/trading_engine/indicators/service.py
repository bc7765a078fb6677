"""IndicatorCalculationService: streaming indicators and the regime per symbol × timeframe.

At start each stream's ``IndicatorSet`` is warmed up from history (the closed bars before the
first new candle, read and validated by the data stage's ``ClosedHistory``, which this stage sees
only as a ``History``), so the first live bar already has valid values. Then every candle
costs one ``@njit`` call; the service emits an ``IndicatorsCalculatedEvent`` with the candle's
correlation id, and a ``RegimeChangedEvent`` when the classifier switches (if
``track_regime_changes``).

Seed configuration (``services.indicator_calculation``):

- ``recent_rows_limit``: how many recent rows (candle, values, regime) the service keeps per
  stream for inspection (``recent()``, metrics).
- ``track_regime_changes``: publish ``RegimeChangedEvent``.

The sets live in ``IndicatorState``, owned by the engine: a restarted service resumes exactly
where it stopped. Candles come through ``runtime.delivery.relay``: one the previous instance took
and did not finish is redelivered, and its event, if it was calculated, is sent without updating
the set again. ``calculate`` is atomic (the rule of ``runtime.delivery``): everything that may
raise comes before the set's update, which is one call, and the stream's last time is recorded
with it. A candle at or before the last one a stream has seen is a duplicate, counted and skipped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from trading_engine.clock import Clock
from trading_engine.events import IndicatorsCalculatedEvent, NewCandleEvent, RegimeChangedEvent
from trading_engine.indicators.config import IndicatorCalculationConfig, IndicatorSetConfig
from trading_engine.indicators.regime import REGIME_CODES
from trading_engine.indicators.streaming import IndicatorSet
from trading_engine.indicators.warmup import warm_up
from trading_engine.runtime.channel import Consumer, Sender
from trading_engine.runtime.delivery import relay
from trading_engine.runtime.hub import EventHub
from trading_engine.runtime.service import Service

__all__ = ["IndicatorCalculationService", "IndicatorState"]

Stream = tuple[str, int]
_REGIME_NAMES = tuple(str(regime) for regime in REGIME_CODES)


@dataclass
class IndicatorState:
    """What outlives a restart: each stream's set, last bar time, regime and recent rows."""

    sets: dict[Stream, IndicatorSet] = field(default_factory=dict)
    last_time: dict[Stream, int] = field(default_factory=dict)
    regimes: dict[Stream, str] = field(default_factory=dict)
    recent: dict[Stream, deque[IndicatorsCalculatedEvent]] = field(default_factory=dict)
    duplicates: int = 0
    regime_changes: int = 0
    warmup_rejected: int = 0
    """Malformed history bars left out of the warm-up."""


class History(Protocol):
    """Past bars of a stream (the data stage's ``ClosedHistory`` reads them from the terminal)."""

    async def closed_bars(self, symbol: str, timeframe: int, count: int) -> tuple[Any, int]:
        """Up to ``count`` valid closed bars (an MT5 rates array or None), and how many
        malformed ones were left out."""
        ...


class IndicatorCalculationService(Service):
    """Candles in, ``IndicatorsCalculatedEvent`` out (and ``RegimeChangedEvent`` on a switch)."""

    def __init__(
        self,
        *,
        history: History,
        streams: Sequence[Stream],
        config: IndicatorCalculationConfig,
        indicators: IndicatorSetConfig,
        warmup_bars: int,
        candles: Consumer[NewCandleEvent],
        features: Sender[IndicatorsCalculatedEvent],
        hub: EventHub,
        state: IndicatorState,
        clock: Clock,
    ) -> None:
        super().__init__("indicator_calculation", clock=clock)
        self._history = history
        self._streams = tuple(streams)
        self._config = config
        self._indicators = indicators
        self._warmup_bars = warmup_bars
        self._candles = candles
        self._features = features
        self._hub = hub
        self._ind = state

    async def on_start(self) -> None:
        warm_up(self._indicators)
        for stream in self._streams:
            if stream not in self._ind.sets:
                await self._warm_stream(stream)

    async def _warm_stream(self, stream: Stream) -> None:
        iset = IndicatorSet(self._indicators)
        closed, rejected = await self._history.closed_bars(*stream, self._warmup_bars)
        self._ind.warmup_rejected += rejected
        if closed is not None and len(closed):
            iset.warm_up(
                np.ascontiguousarray(closed["high"], dtype=np.float64),
                np.ascontiguousarray(closed["low"], dtype=np.float64),
                np.ascontiguousarray(closed["close"], dtype=np.float64),
            )
            self._ind.last_time[stream] = int(closed["time"][-1])
        ind = self._ind
        ind.sets[stream] = iset
        ind.regimes[stream] = str(iset.regime)
        ind.recent[stream] = deque(maxlen=self._config.recent_rows_limit)

    async def run(self) -> None:
        await relay(self._candles, self._features.send, self._outputs)
        self._features.close()  # the candles ended: pass the end on

    def _outputs(self, candle: NewCandleEvent) -> tuple[IndicatorsCalculatedEvent, ...]:
        event = self.calculate(candle)
        return () if event is None else (event,)

    def calculate(self, candle: NewCandleEvent) -> IndicatorsCalculatedEvent | None:
        """Update the candle's stream; None for a duplicate or an unknown stream."""
        iset = self._accepting(candle)
        if iset is None:
            return None
        values = iset.update(candle.high, candle.low, candle.close)  # the one lasting change
        self._ind.last_time[(candle.symbol, candle.timeframe)] = candle.time
        return self._emit(candle, values.tolist(), iset.regime_code, iset.ready, iset.bars)

    def advance(self, stream: Stream, bars: np.ndarray[Any, Any]) -> np.ndarray[Any, Any] | None:
        """The batch form of ``calculate``'s update, for a backtest that knows the bars ahead.

        Moves the stream's set past ``bars`` (closed bars newer than its last, in order) in one
        call and returns ``IndicatorSet.advance``'s rows; ``calculated(candle, row)`` then emits
        each bar's event as ``calculate`` would have. None for an unknown stream.
        """
        iset = self._ind.sets.get(stream)
        if iset is None:
            return None
        times = bars["time"].astype(np.int64)
        last = self._ind.last_time.get(stream)
        if len(times) and (
            (last is not None and times[0] <= last) or bool(np.any(np.diff(times) <= 0))
        ):
            raise ValueError(f"{stream}: bars to advance over must be new and in order")
        return iset.advance(
            np.ascontiguousarray(bars["high"], dtype=np.float64),
            np.ascontiguousarray(bars["low"], dtype=np.float64),
            np.ascontiguousarray(bars["close"], dtype=np.float64),
        )

    def calculated(
        self, candle: NewCandleEvent, row: Sequence[float]
    ) -> IndicatorsCalculatedEvent | None:
        """``calculate`` of a candle whose update ``advance`` made: ``row`` is its row."""
        iset = self._accepting(candle)
        if iset is None:
            return None
        self._ind.last_time[(candle.symbol, candle.timeframe)] = candle.time
        return self._emit(candle, row, int(row[-1]), row[-2] > iset.lookback, int(row[-3]))

    def _accepting(self, candle: NewCandleEvent) -> IndicatorSet | None:
        """The candle's set, or None (counted) for a duplicate or an unknown stream."""
        ind = self._ind
        stream = (candle.symbol, candle.timeframe)
        iset = ind.sets.get(stream)
        if iset is None:
            return None
        last = ind.last_time.get(stream)
        if last is not None and candle.time <= last:
            ind.duplicates += 1
            return None
        return iset

    def _emit(
        self,
        candle: NewCandleEvent,
        values: Sequence[float],
        regime_code: int,
        ready: bool,
        bars: int,
    ) -> IndicatorsCalculatedEvent:
        """The event of an updated bar, and the regime change it makes (if any). ``values``
        starts with the set's values in ``names`` order (``advance``'s rows go on after them)."""
        ind = self._ind
        stream = (candle.symbol, candle.timeframe)
        regime = _REGIME_NAMES[regime_code]
        now = self.clock.time()
        event = IndicatorsCalculatedEvent(
            candle.correlation_id,
            now,
            candle,
            dict(zip(ind.sets[stream].names, values)),  # noqa: B905 - see the docstring
            regime,
            ready,
            bars,
        )
        previous = ind.regimes[stream]
        if regime != previous:
            ind.regimes[stream] = regime
            ind.regime_changes += 1
            if self._config.track_regime_changes:
                self._hub.publish(
                    RegimeChangedEvent(
                        candle.correlation_id,
                        now,
                        candle.symbol,
                        candle.timeframe,
                        candle.time,
                        previous,
                        regime,
                    )
                )
        ind.recent[stream].append(event)
        self._hub.publish(event)
        return event

    def recent(self, symbol: str, timeframe: int) -> list[IndicatorsCalculatedEvent]:
        """The last ``recent_rows_limit`` rows of a stream, oldest first."""
        return list(self._ind.recent.get((symbol, timeframe), ()))

    def metrics(self) -> dict[str, Any]:
        ind = self._ind
        return {
            **super().metrics(),
            "streams": {
                f"{symbol}:{tf}": {
                    "bars": s.bars,
                    "ready": s.ready,
                    "regime": ind.regimes[(symbol, tf)],
                }
                for (symbol, tf), s in ind.sets.items()
            },
            "duplicates": ind.duplicates,
            "warmup_rejected": ind.warmup_rejected,
            "regime_changes": ind.regime_changes,
        }
