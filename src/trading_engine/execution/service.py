"""TradeExecutionService: turns signals into orders through the ``Trader``.

Start-up reconciles the journal with the terminal (unfinished orders resolved, positions adopted,
positions closed while away booked); ``start()`` returns, and the engine reports ready, only
after that. The same reconciliation runs after every reconnect of the terminal port.

Messages on the signals channel, in order: entry and exit signals, then the candle that closes
their bar. On a candle, if this engine holds positions, they are refreshed (positions closed on
the terminal by SL, TP or stop-out are booked, with a ``PositionClosedEvent``).

Delivery once (the rule of ``runtime.delivery``): a signal is acknowledged on its channel only
once executed (or refused), a candle once handled; a service stopped in the middle (a crash, a
restart of a stage before it) leaves what it had not finished to the next instance, which gets
it redelivered after its reconciliation has settled whatever was in flight. A redelivered
message may have been partly applied, so its effects are keyed, never applied twice:

- an entry whose (correlation id, strategy) already has a journaled order that may have executed
  (every journaled order but one refused before it could fill) is acknowledged without sending:
  the order row is written before the request leaves, so "journaled" covers "maybe sent", and
  reconciliation has settled its fate from the terminal;
- an exit closes what is still open of the strategy's positions: one closed already (by the
  earlier attempt, booked by reconciliation) is simply not found;
- a candle refreshes the positions, which is idempotent.

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

from dataclasses import asdict
from typing import Any

from loguru import logger

from trading_engine.clock import Clock
from trading_engine.errors import ChannelClosed, TransientError
from trading_engine.events import EntrySignalEvent, ExitSignalEvent, NewCandleEvent, SignalMessage
from trading_engine.execution.config import TradeExecutionConfig
from trading_engine.execution.trader import Trader
from trading_engine.runtime.channel import Consumer, Delivery
from trading_engine.runtime.service import Service

__all__ = ["TradeExecutionService"]

_Pending = tuple[EntrySignalEvent | ExitSignalEvent, Delivery[SignalMessage] | None]
"""A signal taken and not finished, with its delivery (None when not from the channel)."""

_REFUSED = frozenset({"rejected", "canceled", "expired"})
"""Order states that mean the order never executed (unless it has a filled volume)."""


class TradeExecutionService(Service):
    """Signals in; orders, fills and position events out (through the ``Trader``)."""

    def __init__(
        self,
        *,
        trader: Trader,
        config: TradeExecutionConfig,
        signals: Consumer[SignalMessage],
        clock: Clock,
    ) -> None:
        super().__init__("trade_execution", clock=clock)
        self.trader = trader
        self._config = config
        self._signals = signals
        self._remove_callback: Any = None
        self._pending: list[_Pending] = []
        """Signals taken and not finished (a batch, an exit held for the next bar): in flight
        on the channel, so a restart hands them to the next instance."""
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
        inbox = self._signals
        while True:
            try:
                delivery = await inbox.receive()
            except ChannelClosed:
                return
            message = delivery.message
            if delivery.redelivered and self._already_sent(message):
                inbox.ack(delivery)  # settled by reconciliation: sending again could double it
                continue
            await self.handle(message, delivery=delivery)

    async def handle(
        self,
        message: SignalMessage,
        *,
        refresh: bool = True,
        delivery: Delivery[SignalMessage] | None = None,
    ) -> None:
        """One message of the signals channel: a signal is executed (or batched); a candle
        executes what waits and refreshes the positions. ``delivery`` (the channel's, when the
        message came from it) is acknowledged once the message is done. ``refresh=False`` skips
        the refresh (a backtest that has proven no stop, target or stop-out can have closed a
        position since the last one)."""
        if isinstance(message, NewCandleEvent):
            if self._pending:
                await self._execute()
            if refresh and self.trader.portfolio.positions:
                await self._sync()
            self._candle_done()
            if delivery is not None:
                self._signals.ack(delivery)
        else:
            self._pending.append((message, delivery))
            if (
                self._config.execution_mode != "batch"
                or len(self._pending) >= self._config.batch_size
            ):
                await self._execute()

    def quiet_candle(self, *, refresh: bool) -> bool:
        """``handle`` of a candle that has nothing to await (no pending signal, no refresh of
        open positions), done synchronously: True; False when ``handle`` must run."""
        if self._pending or (refresh and self.trader.portfolio.positions):
            return False
        self._candle_done()
        return True

    def _candle_done(self) -> None:
        if not self._pending and not self._unreachable:
            self.set_healthy()
        self._unreachable = False

    async def _execute(self) -> None:
        """Execute the pending signals, exits first (they free risk), entries after; each is
        acknowledged once done, so a service stopped in the middle leaves the rest to the next."""
        pending = self._pending
        for item in list(pending):
            exit_signal = item[0]
            if type(exit_signal) is not ExitSignalEvent:
                continue
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
            self._done(item)
        for item in list(pending):
            entry = item[0]
            if type(entry) is not EntrySignalEvent:
                continue
            try:
                await self.trader.enter(entry)
            except TransientError as exc:
                # Refused, not lost: reported like any other refusal (a stale entry is not
                # worth sending later).
                self.trader.refuse(entry, "terminal_unreachable", f"{entry.symbol}: {exc}")
                self._terminal_unreachable(f"entry refused: {exc}")
            self._done(item)

    def _done(self, item: _Pending) -> None:
        self._pending.remove(item)
        if item[1] is not None:
            self._signals.ack(item[1])

    def _already_sent(self, message: SignalMessage) -> bool:
        """True for an entry that already has a journaled order that may have executed (see the
        module docstring); exits and candles are idempotent and always go through."""
        if type(message) is not EntrySignalEvent:
            return False
        return any(
            row.correlation_id == message.correlation_id
            and row.strategy == message.strategy
            and (row.state not in _REFUSED or row.filled_volume > 0)
            for row in self.trader.journal.orders()
        )

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
