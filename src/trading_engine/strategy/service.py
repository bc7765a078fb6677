"""StrategyEvaluationService: runs the configured strategies on each bar's indicator values.

Each strategy sees, per bar of the streams it is configured for, a ``Snapshot`` (bar, indicator
values, regime, its current position) and may return a signal, which goes on as an
``EntrySignalEvent`` or ``ExitSignalEvent`` with the candle's correlation id. After the signals of
a bar the candle itself follows on the same channel: it tells the execution service that a bar
has been evaluated (it then refreshes the positions it holds).

Seed configuration (``services.strategy_evaluation``):

- ``evaluation_mode``: ``on_new_candle``, every strategy is evaluated once per new closed bar.
- ``min_rows_required``: bars a stream must have seen (warm-up history included) before any
  strategy is evaluated on it, on top of each strategy's own ``warmup_bars``.

Feature events come through ``runtime.delivery.relay``: an event the previous instance took and
did not finish is redelivered; if its bar was evaluated, the signals not yet sent are sent
without evaluating again; if the instance crashed during the evaluation, the bar is evaluated
again from the start (strategies are pure functions of their snapshot, and the counters are
committed only once every strategy has returned).

A strategy that raises is isolated: the error is logged with the candle's correlation id and
counted, the service goes DEGRADED, the other strategies go on. After ``max_errors`` errors in a
row, the strategy is disabled (logged as an error, visible in health and metrics).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loguru import logger

from trading_engine.clock import Clock
from trading_engine.errors import StrategyError
from trading_engine.events import (
    EntrySignalEvent,
    ExitSignalEvent,
    IndicatorsCalculatedEvent,
    SignalMessage,
)
from trading_engine.model.position import PositionViews
from trading_engine.runtime.channel import Consumer, Sender
from trading_engine.runtime.delivery import relay
from trading_engine.runtime.hub import EventHub
from trading_engine.runtime.service import Service
from trading_engine.strategy.base import Snapshot, Strategy
from trading_engine.strategy.config import StrategyConfig, StrategyEvaluationConfig
from trading_engine.strategy.loader import load_strategy

__all__ = [
    "SignalMessage",
    "StrategyBinding",
    "StrategyEvaluationService",
    "StrategyState",
    "bind_strategies",
]


@dataclass
class StrategyBinding:
    """A strategy and the streams it runs on (``None``: every configured symbol or timeframe)."""

    strategy: Strategy[Any]
    symbols: frozenset[str] | None = None
    timeframes: frozenset[int] | None = None

    def applies(self, symbol: str, timeframe: int) -> bool:
        return (self.symbols is None or symbol in self.symbols) and (
            self.timeframes is None or timeframe in self.timeframes
        )


def bind_strategies(
    specs: Sequence[StrategyConfig], values: Sequence[str], *, base_dir: Path | None = None
) -> list[StrategyBinding]:
    """Load the enabled strategies of ``specs`` and check that ``values`` (the indicator set's
    value names) hold everything each one reads; ``StrategyError`` names what is wrong, and
    the entry of ``strategies`` it is (``strategies[1] ('breakout'): ...``)."""
    available = set(values)
    bindings: list[StrategyBinding] = []
    for index, spec in enumerate(specs):
        if not spec.enabled:
            continue
        try:
            strategy = load_strategy(
                spec.class_path, spec.params, name=spec.name, base_dir=base_dir
            )
            missing = strategy.missing_values(available)
            if missing:
                raise StrategyError(
                    f"strategy {strategy.name!r} reads {missing}, which the indicator "
                    f"set does not compute (it has {sorted(available)})"
                )
        except StrategyError as exc:
            raise StrategyError(f"strategies[{index}] ({spec.name!r}): {exc}") from exc
        bindings.append(
            StrategyBinding(
                strategy,
                frozenset(spec.symbols) if spec.symbols is not None else None,
                frozenset(spec.timeframes) if spec.timeframes is not None else None,
            )
        )
    return bindings


@dataclass
class StrategyState:
    """What outlives a restart: error counts, disabled strategies and signal counts."""

    errors: dict[str, int] = field(default_factory=dict)
    errors_in_a_row: dict[str, int] = field(default_factory=dict)
    disabled: set[str] = field(default_factory=set)
    disabled_at: dict[str, tuple[float, str]] = field(default_factory=dict)
    """When (clock time) and why (the last error) each disabled strategy was disabled."""
    signals: int = 0
    evaluations: int = 0


class StrategyEvaluationService(Service):
    """Evaluate the strategies on each ``IndicatorsCalculatedEvent``; send their signals on."""

    def __init__(
        self,
        *,
        bindings: Sequence[StrategyBinding],
        config: StrategyEvaluationConfig,
        features: Consumer[IndicatorsCalculatedEvent],
        signals: Sender[SignalMessage],
        positions: PositionViews,
        hub: EventHub,
        state: StrategyState,
        clock: Clock,
        max_errors: int = 10,
    ) -> None:
        super().__init__("strategy_evaluation", clock=clock)
        self._bindings = tuple(bindings)
        self._config = config
        self._features = features
        self._signals = signals
        self._positions = positions
        self._hub = hub
        self._strategy_state = state
        self._max_errors = max_errors

    async def run(self) -> None:
        await relay(self._features, self._signals.send, self._outputs)
        self._signals.close()  # the features ended: pass the end on

    def _outputs(self, event: IndicatorsCalculatedEvent) -> list[SignalMessage]:
        """The bar's signals, then its candle (which tells execution the bar is evaluated)."""
        out: list[SignalMessage] = []
        if event.ready and event.bars >= self._config.min_rows_required:
            out.extend(self.evaluate(event))
            for signal in out:
                self._hub.publish(signal)
        out.append(event.candle)
        return out

    def evaluate(
        self, event: IndicatorsCalculatedEvent
    ) -> list[EntrySignalEvent | ExitSignalEvent]:
        """The signals of every applicable strategy on one bar (pure apart from the counters)."""
        candle = event.candle
        state = self._strategy_state
        out: list[EntrySignalEvent | ExitSignalEvent] = []
        evaluations = 0
        for binding in self._bindings:
            strategy = binding.strategy
            if strategy.name in state.disabled or not binding.applies(
                candle.symbol, candle.timeframe
            ):
                continue
            snapshot = Snapshot(
                candle.symbol,
                candle.timeframe,
                candle.time,
                candle.open,
                candle.high,
                candle.low,
                candle.close,
                event.values,
                event.regime,
                self._positions.view(candle.symbol, strategy.name),
                event.bars,
            )
            evaluations += 1
            try:
                signal = strategy.evaluate(snapshot)
            except StrategyError as exc:
                self._strategy_failed(strategy.name, exc, event.correlation_id)
                continue
            state.errors_in_a_row[strategy.name] = 0
            if signal is None:
                continue
            now = self.clock.time()
            if signal.action == "enter":
                out.append(
                    EntrySignalEvent(
                        event.correlation_id,
                        now,
                        candle.symbol,
                        candle.timeframe,
                        strategy.name,
                        signal.side,
                        candle.close,
                        signal.sl,
                        signal.tp,
                        signal.volume,
                        signal.reason,
                        bar_time=candle.time,
                    )
                )
            else:
                out.append(
                    ExitSignalEvent(
                        event.correlation_id,
                        now,
                        candle.symbol,
                        candle.timeframe,
                        strategy.name,
                        signal.side,
                        signal.reason,
                        signal.ticket,
                    )
                )
        state.evaluations += evaluations  # committed once every strategy returned
        state.signals += len(out)
        return out

    def _strategy_failed(self, name: str, exc: StrategyError, correlation_id: str) -> None:
        state = self._strategy_state
        state.errors[name] = state.errors.get(name, 0) + 1
        in_a_row = state.errors_in_a_row.get(name, 0) + 1
        state.errors_in_a_row[name] = in_a_row
        logger.bind(correlation_id=correlation_id, service=self.name).opt(
            exception=exc.__cause__ or exc
        ).error("{}", exc)
        if in_a_row >= self._max_errors:
            state.disabled.add(name)
            state.disabled_at.setdefault(name, (self.clock.time(), str(exc)))
            logger.bind(service=self.name).error(
                "strategy {!r} disabled after {} errors in a row", name, in_a_row
            )
        self.set_degraded(f"strategy {name!r} raised: {exc}")

    def health(self) -> dict[str, Any]:
        return {**super().health(), "disabled_strategies": sorted(self._strategy_state.disabled)}

    def metrics(self) -> dict[str, Any]:
        state = self._strategy_state
        return {
            **super().metrics(),
            "strategies": [b.strategy.name for b in self._bindings],
            "evaluations": state.evaluations,
            "signals": state.signals,
            "errors": dict(state.errors),
            "disabled": sorted(state.disabled),
        }
