"""DataFetchingService: polls the terminal per symbol × timeframe and emits each new closed bar.

Seed configuration, as this service reads it (``services.data_fetching``):

- ``close_delay`` and ``fetch_interval``: polls are bar-timed (``schedule.py``): the service sleeps
  until the next bar boundary plus ``close_delay`` seconds and polls; while a stream that should
  have closed a bar at that boundary has none yet, it polls again every ``fetch_interval``
  seconds until the next boundary (the seed's key, now the retry interval); a closed market costs
  one poll per boundary, and a backtest and a live run poll at the same instants.
- ``nbr_bars``: bars asked for per poll (``copy_rates_from_pos(symbol, tf, 0, nbr_bars)``). When
  the answer does not reach back to the last bar emitted (after a pause, a restart or a
  disconnect), the missing stretch is fetched with ``copy_rates_range``: no bar is skipped.
- ``candle_index``: which bar counts as the newest closed one (1, the default: the bar before the
  forming bar 0; MT5 knows a bar has closed when the first tick of the next one arrives).
- ``retry_attempts``: consecutive failed polls tolerated (the stream is DEGRADED meanwhile; the
  port has already retried and reconnected inside each poll); one more failure raises, and the
  supervisor takes over.

Bars that fail validation (NaN, non-positive prices, high < low, out of order, duplicates…) are
rejected, counted per reason and logged; they never reach a strategy. The validators live in
``DataState``, owned by the engine, so a restarted service resumes after the last bar it emitted.
The stage's source is the terminal, not a channel, so its part of delivery once (the rule of
``runtime.delivery``) is its resume point: a validator checks a whole answer, then its
``last_time`` is set back to where the answer began and moves forward with each candle the
channel has accepted. A service that crashes or is stopped in the middle of a batch (a long
catch-up blocked on a full channel) resumes after the last bar it sent; the rest is fetched again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from loguru import logger

from trading_engine.clock import Clock
from trading_engine.data.config import DataFetchingConfig
from trading_engine.data.schedule import boundary_step, due, next_wake
from trading_engine.data.validation import BarValidator, new_closed_bars
from trading_engine.errors import TerminalError, TransientError
from trading_engine.events import DataFetchedEvent, NewCandleEvent, new_correlation_id
from trading_engine.runtime.channel import Sender
from trading_engine.runtime.hub import EventHub
from trading_engine.runtime.service import Service
from trading_engine.terminal.port import TerminalPort
from trading_engine.timeframes import fixed_seconds, timeframe_name

__all__ = ["DataFetchingService", "DataState", "Stream"]

Stream = tuple[str, int]
"""(symbol, MT5 timeframe constant)."""


@dataclass
class DataState:
    """What outlives a restart of the service: one validator per stream, and the bar budget."""

    max_bars: int | None = None
    emitted: int = 0
    validators: dict[Stream, BarValidator] = field(default_factory=dict)
    exhausted: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once ``max_bars`` bars have been emitted."""

    def validator(self, stream: Stream) -> BarValidator:
        found = self.validators.get(stream)
        if found is None:
            symbol, timeframe = stream
            found = BarValidator(symbol, timeframe, timeframe_seconds=fixed_seconds(timeframe))
            self.validators[stream] = found
        return found


class DataFetchingService(Service):
    """Poll, validate, emit: a ``NewCandleEvent`` per new bar, a ``DataFetchedEvent`` per poll."""

    def __init__(
        self,
        *,
        port: TerminalPort,
        streams: Sequence[Stream],
        config: DataFetchingConfig,
        candles: Sender[NewCandleEvent],
        hub: EventHub,
        state: DataState,
        clock: Clock,
    ) -> None:
        super().__init__("data_fetching", clock=clock)
        self._port = port
        self._streams = tuple(streams)
        self._config = config
        self._candles = candles
        self._hub = hub
        self._data = state
        self._failures = 0
        self.polls = 0

    async def on_start(self) -> None:
        for symbol in sorted({symbol for symbol, _ in self._streams}):
            try:
                selected = await self._port.symbol_select(symbol)
            except TerminalError as exc:
                raise TerminalError(f"unknown symbol {symbol!r}? {exc}") from exc
            if not selected:
                raise TerminalError(f"symbol {symbol!r} cannot be selected in the terminal")
        for stream in self._streams:
            validator = self._data.validator(stream)
            if validator.last_time is None:  # first start: begin after the current closed bar
                rates = await self._port.copy_rates_from_pos(*stream, 0, self._config.nbr_bars + 1)
                if rates is None:
                    continue
                closed = new_closed_bars(rates, None, self._config.candle_index)
                if len(closed):
                    validator.last_time = int(closed["time"][-1])

    async def run(self) -> None:
        interval = float(self._config.fetch_interval)
        delay = float(self._config.close_delay)
        seconds = {stream: fixed_seconds(stream[1]) for stream in self._streams}
        step = boundary_step(seconds.values())
        missing: set[Stream] = set()  # due at the last boundary, bar not there yet
        quiet: set[Stream] = set()  # a whole period without its bar: no retries
        wake = next_wake(self.clock.time(), step, delay)
        while not self._data.exhausted.is_set():
            now = self.clock.time()
            if missing and now + interval < wake:
                await self.clock.sleep(interval)
                fresh = await self.poll()
                missing -= fresh
                quiet -= fresh
                continue
            quiet |= missing
            await self.clock.sleep(wake - now)
            fresh = await self.poll()
            quiet -= fresh
            missing = {s for s in self._streams if due(wake, delay, seconds[s])} - fresh - quiet
            wake = next_wake(wake, step, delay)
        self._candles.close()  # the bar budget is spent: the pipeline drains and ends

    async def poll(self) -> set[Stream]:
        """Fetch every stream once and emit what is new; count a failed poll. Returns the
        streams that emitted at least one bar."""
        self.polls += 1
        fresh: set[Stream] = set()
        try:
            for stream in self._streams:
                if await self._poll_stream(stream):
                    fresh.add(stream)
        except (TerminalError, TransientError) as exc:
            self._failures += 1
            if self._failures > self._config.retry_attempts:
                raise
            self.set_degraded(f"poll failed ({self._failures}x): {exc}")
            return fresh
        if self._failures:
            self._failures = 0
            self.set_healthy()
        return fresh

    async def _poll_stream(self, stream: Stream) -> int:
        """Emit the stream's new closed bars; how many were sent."""
        validator = self._data.validator(stream)
        rates = await self._port.copy_rates_from_pos(*stream, 0, self._config.nbr_bars)
        if rates is None or len(rates) == 0:
            return 0
        if validator.last_time is not None and self._missed_bars(rates, validator):
            rates = await self._catch_up(stream, validator, rates)
        resume_after = validator.last_time
        batch = validator.process(rates, candle_index=self._config.candle_index)
        for time, reason in batch.rejected:
            logger.warning(
                "rejected bar {} {} at {}: {}", stream[0], timeframe_name(stream[1]), time, reason
            )
        bars = batch.accepted
        validator.last_time = resume_after  # moves with each candle sent (``_emit``)
        if len(bars) == 0:
            return 0
        return await self._emit(stream, validator, bars)

    @staticmethod
    def _missed_bars(rates: np.ndarray[Any, Any], validator: BarValidator) -> bool:
        """True when the oldest bar of the answer is newer than the bar after the last emitted."""
        seconds = validator.timeframe_seconds or 0
        last = validator.last_time or 0
        return int(rates["time"][0]) > last + seconds

    async def _catch_up(
        self, stream: Stream, validator: BarValidator, rates: np.ndarray[Any, Any]
    ) -> np.ndarray[Any, Any]:
        """The bars from the last emitted one up to the newest, in one array."""
        last = validator.last_time or 0
        history = await self._port.copy_rates_range(*stream, last, int(rates["time"][0]) - 1)
        if history is None or len(history) == 0:
            return rates
        return np.concatenate((history, rates))

    async def _emit(
        self, stream: Stream, validator: BarValidator, bars: np.ndarray[Any, Any]
    ) -> int:
        """Send ``bars`` as candles; how many were sent. The validator's resume point follows
        each one sent, so a stop in the middle of the batch resumes after the last bar sent."""
        symbol, timeframe = stream
        data = self._data
        clock = self.clock
        send = self._candles.send
        if data.max_bars is not None:
            bars = bars[: max(0, data.max_bars - data.emitted)]
        if len(bars) == 0:
            return 0
        now = clock.time()
        self._hub.publish(
            DataFetchedEvent(
                new_correlation_id(), now, symbol, timeframe, len(bars), int(bars["time"][-1])
            )
        )
        for time, open_, high, low, close, tick_volume, spread, real_volume in bars.tolist():
            candle = NewCandleEvent(
                new_correlation_id(),
                now,
                symbol,
                timeframe,
                time,
                open_,
                high,
                low,
                close,
                tick_volume,
                spread,
                real_volume,
            )
            self._hub.publish(candle)
            await send(candle)
            validator.last_time = time  # with the send: nothing that can raise in between
            data.emitted += 1  # per bar: a stop mid-batch keeps the count (and the budget) right
        if data.max_bars is not None and data.emitted >= data.max_bars:
            data.exhausted.set()
        return len(bars)

    def metrics(self) -> dict[str, Any]:
        return {
            **super().metrics(),
            "polls": self.polls,
            "bars_emitted": self._data.emitted,
            "failed_polls_in_a_row": self._failures,
            "streams": [self._data.validator(s).stats() for s in self._streams],
        }
