"""TradeExecutionService: turns signals into orders through the ``Trader``.

Start-up reconciles the journal with the terminal (unfinished orders resolved, positions adopted,
positions closed while away booked); ``start()`` returns, and the engine reports ready, only
after that. The same reconciliation runs after every reconnect of the terminal port.

Messages on the signals channel, in order: entry and exit signals, then the candle that closes
their bar. On a candle, if this engine holds positions, they are refreshed (positions closed on
the terminal by SL, TP or stop-out are booked, with a ``PositionClosedEvent``).

Signals wait in ``ExecutionState.pending`` (owned by the engine) until executed: a service stopped
in the middle (a crash before it in the pipeline, a restart) leaves them to the next instance,
which, after its reconciliation, executes exits again (a position already closed is skipped) and
entries that have no order that may have executed (one refused by a requote was not).

The terminal unreachable (the port gave up reconnecting: a ``TransientError``) is not a crash of
this service: an entry is refused with a ``TradingBlockedEvent`` (rule ``terminal_unreachable``;
an entry sent minutes late would be a different trade), an exit is held and tried again with the
next candle, a refresh waits for the next candle; the service is DEGRADED until a candle goes
through cleanly. The reconciliation that follows the reconnect settles whatever was in flight.

Seed configuration (``services.trade_execution``):

- ``execution_mode: immediate``: each signal is executed as it arrives.
- ``execution_mode: batch``: signals are collected until their bar's candle arrives or
  ``batch_size`` of them are waiting, then executed exits first (they free risk), entries after.
- ``batch_size``: the largest batch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from loguru import logger

from trading_engine.clock import Clock
from trading_engine.errors import TransientError
from trading_engine.events import EntrySignalEvent, ExitSignalEvent, NewCandleEvent, SignalMessage
from trading_engine.execution.config import TradeExecutionConfig
from trading_engine.execution.trader import Trader
from trading_engine.runtime.channel import Receiver
from trading_engine.runtime.service import Service

__all__ = ["ExecutionState", "TradeExecutionService"]


@dataclass
class ExecutionState:
    """What outlives a restart of the service (owned by the engine): the signals taken from the
    channel and not finished yet (a batch, an exit held while the terminal was unreachable, the
    signal being executed when the service was stopped)."""

    pending: list[EntrySignalEvent | ExitSignalEvent] = field(default_factory=list)


class TradeExecutionService(Service):
    """Signals in; orders, fills and position events out (through the ``Trader``)."""

    def __init__(
        self,
        *,
        trader: Trader,
        config: TradeExecutionConfig,
        signals: Receiver[SignalMessage],
        clock: Clock,
        state: ExecutionState | None = None,
    ) -> None:
        super().__init__("trade_execution", clock=clock)
        self.trader = trader
        self._config = config
        self._signals = signals
        self._remove_callback: Any = None
        self._exec = state if state is not None else ExecutionState()
        self._unreachable = False
        self._held_exits: set[int] = set()  # ids of pending exits tried and held already

    async def on_start(self) -> None:
        await self.trader.reconcile()
        self._remove_callback = self.trader.port.on_reconnect(self._after_reconnect)

    async def on_stop(self) -> None:
        if self._remove_callback is not None:
            self._remove_callback()

    async def _after_reconnect(self) -> None:
        logger.info("terminal reconnected: reconciling")
        await self.trader.reconcile()

    async def run(self) -> None:
        state = self._exec
        if state.pending:  # left by the previous instance: finish them, never twice
            self._forget_sent_entries()
            await self._execute()
        async for message in self._signals:
            await self.handle(message)

    async def handle(self, message: SignalMessage, *, refresh: bool = True) -> None:
        """One message of the signals channel: a signal is executed (or batched); a candle
        executes what waits and refreshes the positions. ``refresh=False`` skips the refresh
        (a backtest that has proven no stop, target or stop-out can have closed a position
        since the last one)."""
        state = self._exec
        if isinstance(message, NewCandleEvent):
            if state.pending:
                await self._execute()
            if refresh and self.trader.portfolio.positions:
                await self._sync()
            if not state.pending and not self._unreachable:
                self.set_healthy()
            self._unreachable = False
        else:
            state.pending.append(message)
            if (
                self._config.execution_mode != "batch"
                or len(state.pending) >= self._config.batch_size
            ):
                await self._execute()

    async def _execute(self) -> None:
        """Execute the pending signals, exits first (they free risk), entries after; each leaves
        ``pending`` once done, so a service stopped in the middle leaves the rest to the next."""
        pending = self._exec.pending
        for exit_signal in [s for s in pending if type(s) is ExitSignalEvent]:
            try:
                done = await self._exit(exit_signal)
            except TransientError as exc:
                # Not lost: it stays pending and is tried again with the next message.
                self._terminal_unreachable(f"exit held for the next bar: {exc}")
                continue
            if not done:
                # Requoted, refused or the market closed: the position is still open. The exit
                # is not dropped: it stays pending and is tried again at every bar.
                self._held_exits.add(id(exit_signal))
                logger.bind(correlation_id=exit_signal.correlation_id).warning(
                    "exit of {} {} ({}) could not be sent; held, retried at the next bar",
                    exit_signal.symbol,
                    exit_signal.strategy,
                    exit_signal.reason,
                )
                self.set_degraded(f"exit held for the next bar: {exit_signal.symbol}")
                continue
            self._held_exits.discard(id(exit_signal))
            pending.remove(exit_signal)
        for entry in [s for s in pending if type(s) is EntrySignalEvent]:
            try:
                await self.trader.enter(entry)
            except TransientError as exc:
                # Refused, not lost: reported like any other refusal (a stale entry is not
                # worth sending later).
                self.trader.refuse(entry, "terminal_unreachable", f"{entry.symbol}: {exc}")
                self._terminal_unreachable(f"entry refused: {exc}")
            pending.remove(entry)

    def _forget_sent_entries(self) -> None:
        """Drop pending entries that already have an order that may have executed (journaled
        and not refused): reconciliation has settled those; sending again could double them."""
        pending = self._exec.pending
        entries = [s for s in pending if type(s) is EntrySignalEvent]
        if not entries:
            return
        refused = {"rejected", "canceled", "expired"}
        sent = {
            row.correlation_id
            for row in self.trader.journal.orders()
            if row.state not in refused or row.filled_volume > 0
        }
        for entry in entries:
            if entry.correlation_id in sent:
                pending.remove(entry)

    async def _sync(self) -> None:
        try:
            await self.trader.sync()
        except TransientError as exc:
            self._terminal_unreachable(f"positions not refreshed: {exc}")

    def _terminal_unreachable(self, reason: str) -> None:
        self._unreachable = True
        self.set_degraded(f"terminal unreachable; {reason}")

    async def _exit(self, signal: ExitSignalEvent) -> bool:
        """Close the positions ``signal`` names; False when one of them is still open."""
        trader = self.trader
        if id(signal) not in self._held_exits:  # a held exit's retries are not new signals
            trader.stats.signals += 1
        if signal.position_ticket is not None:
            found = trader.portfolio.get(signal.position_ticket)
            targets = [found] if found is not None else []
        else:
            targets = [
                p
                for p in trader.portfolio.for_symbol(signal.symbol, signal.strategy)
                if p.side is signal.side
            ]
        closed = True
        for position in targets:
            closed &= await trader.close(position, signal.reason or "signal", signal.correlation_id)
        return closed

    def health(self) -> dict[str, Any]:
        return {**super().health(), "risk_state": str(self.trader.risk.state)}

    def metrics(self) -> dict[str, Any]:
        trader = self.trader
        return {
            **super().metrics(),
            **asdict(trader.stats),
            "realized_pnl": round(trader.stats.realized_pnl, 2),
            "open_positions": len(trader.portfolio),
            "risk": trader.risk.stats(),
        }
