"""``Trader``: what the execution service does to the terminal, one order at a time.

Every order follows the same path: risk and sizing decide, the order is written to the journal as
SUBMITTED (committed and fsynced before anything is sent: the trader awaits the journal writer's
commit, off the event loop), then sent once; every other journal write is queued to the writer.
The answer moves it on:

- filled: the deal and the position are journaled, the portfolio updated, ``OrderPlacedEvent``
  and ``OrderFilledEvent`` (or ``PositionClosedEvent`` for a close) published;
- refused (a final retcode): REJECTED, ``OrderRejectedEvent``;
- refused for a transient reason (requote, price changed, no prices, throttled): definitely not
  executed, so a *new* order (new client id) is built from a fresh price, up to
  ``send_attempts`` in all, with backoff on the engine's clock;
- ambiguous (timeout, lost connection, no reply): UNKNOWN. It is resolved from the terminal's
  positions, orders and deals by ``magic`` and comment tag, re-checked ``verify_checks`` times
  ``verify_delay`` seconds apart, and **never sent again**. Found nowhere, it was not executed.
  If the terminal cannot be reached, it stays UNKNOWN until the reconciliation that follows the
  reconnect.

``reconcile()`` compares journal and terminal at start and after each reconnect: unfinished
orders resolved, this engine's positions adopted, positions closed while away booked.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from loguru import logger

from trading_engine.clock import Clock
from trading_engine.errors import (
    OrderError,
    TerminalConnectionError,
    TerminalError,
    TransientError,
)
from trading_engine.events import (
    EntrySignalEvent,
    OrderFilledEvent,
    OrderPlacedEvent,
    OrderRejectedEvent,
    PositionClosedEvent,
    Side,
    TradingBlockedEvent,
)
from trading_engine.execution.booking import book_close
from trading_engine.execution.books import (
    adopted,
    book_position,
    open_position_from_row,
    order_from_row,
    order_row,
    position_row,
)
from trading_engine.execution.client_ids import ClientIdFactory
from trading_engine.execution.config import TradingConfig
from trading_engine.execution.planner import Refusal, close_request, entry_request, plan_entry
from trading_engine.execution.reconcile import (
    ClosedPosition,
    Reconciliation,
    apply_resolution,
    reconcile,
)
from trading_engine.execution.risk import RiskRules
from trading_engine.execution.risk_store import save_risk
from trading_engine.journal.store import DealRow
from trading_engine.journal.writer import JournalWriter
from trading_engine.model.mt5 import (
    TRADE_RETCODE_POSITION_CLOSED,
    Outcome,
    close_reason,
)
from trading_engine.model.order import Order
from trading_engine.model.order_state import FINAL_STATES, OrderState
from trading_engine.model.position import OpenPosition, Portfolio
from trading_engine.runtime.backoff import Backoff
from trading_engine.runtime.crashpoints import crash_point
from trading_engine.runtime.hub import EventHub
from trading_engine.terminal.port import TerminalPort
from trading_engine.timeframes import fixed_seconds

__all__ = ["ExecutionStats", "Trader"]

_UNFINISHED = [str(s) for s in OrderState if s not in FINAL_STATES]
_HEDGING = 2  # ACCOUNT_MARGIN_MODE_RETAIL_HEDGING (docs/mt5-api.md)
_HISTORY_MARGIN = 3 * 86_400  # seconds around the window: server time may be ahead of UTC


@dataclass
class ExecutionStats:
    """Counters of the execution path (owned by the engine, so they survive restarts)."""

    signals: int = 0
    orders_sent: int = 0
    fills: int = 0
    rejected: int = 0
    blocked: int = 0
    unknown: int = 0
    resolved_unknown: int = 0
    positions_closed: int = 0
    realized_pnl: float = 0.0
    reconciliations: int = 0


class Trader:
    """Sends, resolves and books this engine's orders; see the module docstring."""

    def __init__(
        self,
        *,
        port: TerminalPort,
        journal: JournalWriter,
        portfolio: Portfolio,
        risk: RiskRules,
        trading: TradingConfig,
        hub: EventHub,
        stats: ExecutionStats,
        clock: Clock,
        id_prefix: str = "te1",
        send_attempts: int = 3,
        verify_checks: int = 3,
        verify_delay: float = 2.0,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        max_signal_age_bars: float | None = None,
    ) -> None:
        self.port = port
        self.max_signal_age_bars = max_signal_age_bars
        """Entries from bars older than this many bars are refused (None: no limit)."""
        self.journal = journal
        self.portfolio = portfolio
        self.risk = risk
        self.trading = trading
        self.hub = hub
        self.stats = stats
        self.clock = clock
        self.ids = ClientIdFactory(id_prefix)
        self.send_attempts = send_attempts
        self.verify_checks = verify_checks
        self.verify_delay = verify_delay
        self.backoff = backoff or Backoff(0.5, 5.0)
        self.rng = rng or random.Random(trading.magic)
        self._deals_journaled: set[int] = set()
        """Deal tickets this trader journaled whose position is still open (the opening deal
        is not written again with the close: the journal keeps a deal once anyway)."""

    # -- entries --------------------------------------------------------------------------------

    async def enter(self, signal: EntrySignalEvent) -> None:
        """Check risk, size, and open a position for an entry signal."""
        self.stats.signals += 1
        symbol = signal.symbol
        rules = await self.port.symbol_rules(symbol)
        for attempt in range(self.send_attempts):
            tick = await self.port.symbol_info_tick(symbol)
            if tick is None or not tick.bid or not tick.ask:  # no account read without prices
                refusal = Refusal("no_prices", f"{symbol}: the terminal has no prices")
                self.refuse(signal, refusal.rule, refusal.reason)
                return
            stale = self._stale(signal, int(tick.time))
            if stale:
                self.refuse(signal, "stale_signal", stale)
                return
            account = await self.port.account_info()
            hedging = getattr(account, "margin_mode", None) == _HEDGING
            plan = plan_entry(
                symbol=symbol,
                side=signal.side,
                sl=signal.sl,
                volume=signal.volume,
                rules=rules,
                tick=tick,
                equity=float(account.equity),
                balance=float(account.balance),
                risk=self.risk,
                open_positions=len(self.portfolio) + self._unknown_count(),
            )
            save_risk(self.journal, self.risk, self.clock.time())  # a restart keeps the latches
            if isinstance(plan, Refusal):
                self.refuse(signal, plan.rule, plan.reason)
                return
            order = self._new_order(signal.symbol, signal.side, plan.volume, signal)
            order.sl, order.tp = signal.sl, signal.tp
            try:
                request = entry_request(
                    rules,
                    signal.side,
                    plan.volume,
                    tick,
                    sl=signal.sl,
                    tp=signal.tp,
                    deviation=self.trading.deviation,
                    magic=self.trading.magic,
                    comment=order.comment,
                )
            except OrderError as exc:
                self._reject_unsent(order, str(exc))
                return
            # What is journaled is what is sent: the normalised price and stops.
            order.price = request["price"]
            order.sl, order.tp = request.get("sl") or None, request.get("tp") or None
            if (
                not await self._send(order, request, hedging=hedging)
                or attempt == self.send_attempts - 1
            ):
                return
            await self.clock.sleep(self.backoff.delay(attempt, self.rng))

    # -- exits ----------------------------------------------------------------------------------

    async def close(self, position: OpenPosition, reason: str, correlation_id: str) -> bool:
        """Close one of our positions (exits are always allowed by risk); False when it is still
        open after ``send_attempts`` (requotes, a closed market, a refusal): the caller keeps the
        exit and tries again later."""
        rules = await self.port.symbol_rules(position.symbol)
        side = Side.SELL if position.side is Side.BUY else Side.BUY
        for attempt in range(self.send_attempts):
            if self.portfolio.get(position.ticket) is None:
                return True  # closed meanwhile (SL/TP), booked by sync
            if not await self.port.positions_get(ticket=position.ticket):
                # Closed on the terminal since the last refresh (its SL or TP was hit during
                # the bar): book that close instead of sending one the server would refuse.
                await self._book_close(position, "closed", correlation_id)
                return True
            tick = await self.port.symbol_info_tick(position.symbol)
            order = self._new_order(position.symbol, side, position.volume, None)
            order.intent, order.position_to_close = "close", position.ticket
            order.strategy, order.correlation_id = position.strategy, correlation_id
            try:
                request = close_request(
                    rules,
                    side,
                    position.volume,
                    tick,
                    position=position.ticket,
                    deviation=self.trading.deviation,
                    magic=self.trading.magic,
                    comment=order.comment,
                )
            except OrderError as exc:
                self._reject_unsent(order, str(exc))
                break
            if not await self._send(order, request, close_reason=reason):
                break
            if attempt < self.send_attempts - 1:
                await self.clock.sleep(self.backoff.delay(attempt, self.rng))
        return self.portfolio.get(position.ticket) is None

    async def flatten(self, reason: str = "flatten on stop") -> None:
        """Close every position of ours."""
        for position in list(self.portfolio.positions.values()):
            await self.close(position, reason, "")

    def _stale(self, signal: EntrySignalEvent, server_now: int) -> str:
        """Why ``signal`` is too old to trade (``""`` when it is not): its bar closed more than
        ``max_signal_age_bars`` bars before the terminal's latest tick (a bar replayed after an
        outage: trading it hours late, or next to the trades of the bars after it, is wrong)."""
        limit = self.max_signal_age_bars
        seconds = fixed_seconds(signal.timeframe)
        if limit is None or not signal.bar_time or seconds is None:
            return ""
        age = server_now - (signal.bar_time + seconds)
        if age <= limit * seconds:
            return ""
        return (
            f"{signal.symbol}: the signal's bar closed {age} s before the latest tick, more "
            f"than {limit:g} bar(s) ago (a bar replayed after an outage); not traded"
        )

    # -- sending --------------------------------------------------------------------------------

    def _new_order(
        self, symbol: str, side: Side, volume: float, signal: EntrySignalEvent | None
    ) -> Order:
        client = self.ids.make(self.journal.next_sequence("client_id"))
        return Order(
            client_id=client.client_id,
            symbol=symbol,
            side=side,
            volume=volume,
            magic=self.trading.magic,
            comment=self.ids.comment(client),
            strategy=signal.strategy if signal is not None else "",
            correlation_id=signal.correlation_id if signal is not None else "",
            price=signal.price if signal is not None else None,
        )

    async def _send(
        self,
        order: Order,
        request: dict[str, Any],
        close_reason: str = "",
        *,
        hedging: bool = False,
    ) -> bool:
        """Journal, send once, book the answer; True when a retry with a new order makes sense.
        ``hedging``: the account is a hedging one (read with this order's account figures)."""
        now = self.clock.time()
        order.transition(OrderState.SUBMITTED, updated_at=now)
        await self.journal.insert_order(order_row(order, now))  # committed, fsynced: then send
        crash_point("journaled_before_send")
        try:
            result = await self.port.order_send(request)
        except TerminalConnectionError as exc:
            # The port could not connect before sending: the request certainly did not leave.
            order.transition(
                OrderState.REJECTED, message=f"not sent: {exc}", updated_at=self.clock.time()
            )
            self._save(order)
            raise
        crash_point("sent_before_reply")
        self.stats.orders_sent += 1
        state = order.apply_send_result(
            result.raw, error_code=result.error[0], error_message=result.error[1]
        )
        if state is OrderState.UNKNOWN:
            self.stats.unknown += 1
            self._save(order)
            logger.bind(correlation_id=order.correlation_id).warning(
                "order {} outcome unknown ({}); resolving from the terminal",
                order.client_id,
                result.describe(),
            )
            await self._resolve(order, close_reason)
            return False
        if order.filled_volume > 0:  # filled, in part or whole (a partial remainder is canceled)
            crash_point("filled_before_booking")
            await self._book_fill(order, close_reason, hedging=hedging)
            return False
        self._save(order)
        if state is OrderState.REJECTED:
            self.stats.rejected += 1
            self.hub.publish(
                OrderRejectedEvent(
                    order.correlation_id,
                    self.clock.time(),
                    order.client_id,
                    order.symbol,
                    order.retcode or result.error[0],
                    order.message or result.describe(),
                )
            )
            if order.intent == "close" and (
                order.retcode == TRADE_RETCODE_POSITION_CLOSED or result.outcome is Outcome.VERIFY
            ):
                # Closed meanwhile (SL/TP) or another close in flight: read back, book what is.
                await self.sync()
            return result.outcome is Outcome.RETRY
        return False

    def _reject_unsent(self, order: Order, reason: str) -> None:
        """An order refused before sending (normalisation): journaled REJECTED, published."""
        order.transition(OrderState.REJECTED, message=reason, updated_at=self.clock.time())
        self.journal.insert_order_nowait(order_row(order, self.clock.time()))
        self.stats.rejected += 1
        self.hub.publish(
            OrderRejectedEvent(
                order.correlation_id, self.clock.time(), order.client_id, order.symbol, 0, reason
            )
        )

    def _save(self, order: Order) -> None:
        self.journal.update_order(
            order.client_id,
            updated_at=self.clock.time(),
            state=str(order.state),
            order_ticket=order.order_ticket,
            position_ticket=order.position_ticket,
            deal_ticket=order.deal_ticket,
            retcode=order.retcode,
            error=order.message or None,
            filled_volume=order.filled_volume,
            fill_price=order.fill_price if order.filled_volume > 0 else None,
        )

    def refuse(self, signal: EntrySignalEvent, rule: str, reason: str) -> None:
        """Refuse an entry signal (counted, logged, a ``TradingBlockedEvent``)."""
        self.stats.blocked += 1
        logger.bind(correlation_id=signal.correlation_id).info("entry blocked: {}", reason)
        self.hub.publish(
            TradingBlockedEvent(
                signal.correlation_id,
                self.clock.time(),
                signal.symbol,
                str(rule),
                reason,
                str(self.risk.state),
            )
        )

    def _unknown_count(self) -> int:
        return len(self.journal.orders([str(OrderState.UNKNOWN)])) if self.stats.unknown else 0

    # -- booking --------------------------------------------------------------------------------

    def _publish_placed(self, order: Order, now: float, price: float) -> None:
        self.hub.publish(
            OrderPlacedEvent(
                order.correlation_id,
                now,
                order.client_id,
                order.symbol,
                order.side,
                order.volume,
                price,
                order.order_ticket or 0,
            )
        )

    def _publish_filled(self, order: Order, now: float, price: float, position: int) -> None:
        self.hub.publish(
            OrderFilledEvent(
                order.correlation_id,
                now,
                order.client_id,
                order.symbol,
                order.side,
                order.filled_volume,
                price,
                order.deal_ticket or 0,
                position,
            )
        )

    async def _book_fill(self, order: Order, close_reason: str, *, hedging: bool = False) -> None:
        self._save(order)
        self.stats.fills += 1
        now = self.clock.time()
        price = _fill_price(order)
        self._publish_placed(order, now, price)
        if order.intent == "close":
            position = self.portfolio.get(order.position_to_close or 0)
            if position is not None:
                await self._book_close(position, close_reason or "signal", order.correlation_id)
            return
        ticket = await self._position_ticket(order, hedging)
        existing = self.portfolio.get(ticket)
        if existing is not None:  # netting: the fill changed the symbol's one position
            await self.sync()
            return
        position = OpenPosition(
            ticket=ticket,
            symbol=order.symbol,
            side=order.side,
            volume=order.filled_volume,
            price_open=price,
            sl=order.sl,
            tp=order.tp,
            strategy=order.strategy,
            client_id=order.client_id,
            opened_at=now,
        )
        self.portfolio.add(position)
        self.journal.upsert_position(position_row(position, self.trading.magic))
        logger.bind(correlation_id=order.correlation_id).info(
            "filled {} {} {} @ {} (position {}, {})",
            order.side,
            order.filled_volume,
            order.symbol,
            price,
            ticket,
            order.client_id,
        )
        if order.order_ticket:  # the fill's deal, with the terminal's own time and figures
            try:
                for deal in await self.port.history_deals_get(ticket=order.order_ticket):
                    self._record_deal(deal, position)
            except (TerminalError, TransientError) as exc:  # journaled with the close instead
                logger.warning("deals of order {} not journaled yet: {}", order.client_id, exc)
        self._publish_filled(order, now, price, ticket)

    async def _position_ticket(self, order: Order, hedging: bool) -> int:
        """The ticket of the position a fill opened: the order's on hedging accounts, else the
        symbol's one position of ours (netting).

        Known without asking on an account known to be hedging: there a market order without
        ``position`` opens a new position, ticketed as the order (MT5's ticket model). Asked
        otherwise (netting, or the account not read with this order)."""
        ticket = order.position_ticket or order.order_ticket or 0
        if hedging and ticket:
            return ticket
        if await self.port.positions_get(ticket=ticket):
            return ticket
        mine = [
            p
            for p in await self.port.positions_get(symbol=order.symbol)
            if int(p.magic) == self.trading.magic
        ]
        return int(mine[0].ticket) if mine else ticket

    async def _book_close(self, position: OpenPosition, reason: str, correlation_id: str) -> None:
        """Book a position that is gone from the terminal, from its closing deals."""
        deals = await self.port.history_deals_get(position=position.ticket)
        booked = book_close(deals)
        if booked.deal_reason is not None:
            reason = close_reason(booked.deal_reason, expert=reason)
        for deal in deals:
            self._record_deal(deal, position)
        self._deals_journaled.difference_update(int(deal.ticket) for deal in deals)
        crash_point("mid_close")
        self._closed(
            position,
            booked.price or 0.0,
            booked.profit,
            booked.swap,
            booked.fees,
            reason,
            correlation_id,
        )

    def _record_deal(self, deal: Any, position: OpenPosition) -> None:
        ticket = int(deal.ticket)
        if ticket in self._deals_journaled:
            return  # written by this trader already (``record_deal`` would ignore it)
        self.journal.record_deal(
            DealRow(
                ticket=ticket,
                symbol=str(deal.symbol),
                entry=int(deal.entry),
                volume=float(deal.volume),
                price=float(deal.price),
                time=float(deal.time),
                order_ticket=int(deal.order),
                position_ticket=int(deal.position_id),
                client_id=position.client_id or None,
                side="buy" if int(deal.type) == 0 else "sell",
                profit=float(deal.profit),
                commission=float(deal.commission),
                swap=float(deal.swap),
                fee=float(deal.fee),
                magic=int(deal.magic),
                reason=int(deal.reason),
            )
        )
        self._deals_journaled.add(ticket)

    def _closed(
        self,
        position: OpenPosition,
        price: float,
        profit: float,
        swap: float,
        fees: float,
        reason: str,
        correlation_id: str,
    ) -> None:
        now = self.clock.time()
        # Every position in the portfolio has an open journal row (the portfolio changes only
        # here, in ``_book_fill`` after the row is written, and from the journal's open rows in
        # ``reconcile``): only a position gone from it may be booked closed already.
        row = (
            None
            if position.ticket in self.portfolio.positions
            else self.journal.get_position(position.ticket)
        )
        if row is not None and row.state == "closed":
            # Booked already (e.g. by the reconciliation of a reconnect inside close()): booking
            # is idempotent, a position is closed, counted and announced once.
            self.portfolio.remove(position.ticket)
            logger.debug("position {} is booked closed already", position.ticket)
            return
        self.portfolio.remove(position.ticket)
        self.journal.close_position(
            position.ticket,
            closed_at=now,
            price_close=price,
            profit=profit,
            swap=swap,
            fees=fees,
            reason=reason,
        )
        self.stats.positions_closed += 1
        self.stats.realized_pnl += profit + swap + fees
        logger.bind(correlation_id=correlation_id).info(
            "closed position {} {} {} {} @ {} ({}): {:+.2f}",
            position.ticket,
            position.side,
            position.volume,
            position.symbol,
            price,
            reason,
            profit + swap + fees,
        )
        self.hub.publish(
            PositionClosedEvent(
                correlation_id,
                now,
                position.symbol,
                position.ticket,
                position.side,
                position.volume,
                position.price_open,
                price,
                profit + swap + fees,
                reason,
            )
        )

    # -- keeping up with the terminal ---------------------------------------------------------

    async def sync(self) -> None:
        """Book positions closed on the terminal (SL, TP, stop-out, by hand); refresh the others."""
        live = {int(p.ticket): p for p in await self.port.positions_get()}
        for position in list(self.portfolio.positions.values()):
            found = live.get(position.ticket)
            if found is None:
                await self._book_close(position, "closed", "")
            else:
                position.profit = float(found.profit)
                position.volume = float(found.volume)

    async def _resolve(self, order: Order, close_reason: str) -> None:
        """Settle an UNKNOWN order from the terminal's records; never resend it."""
        for check in range(self.verify_checks):
            try:
                rec = await self._reconciliation([order], with_positions=False)
            except TerminalConnectionError:
                logger.warning("order {} stays UNKNOWN until the terminal is back", order.client_id)
                return
            if self._settled_elsewhere(order):
                # The reconnect inside that call ran ``reconcile()``, which settled and booked it.
                return
            resolution = next((r for r in rec.resolutions if r.client_id == order.client_id), None)
            if resolution is not None and (
                resolution.state is not OrderState.REJECTED or check == self.verify_checks - 1
            ):
                apply_resolution(order, resolution)
                self.stats.resolved_unknown += 1
                logger.info("order {} resolved: {}", order.client_id, resolution.reason)
                if order.filled_volume > 0:
                    await self._book_fill(order, close_reason)
                else:
                    self._save(order)
                return
            await self.clock.sleep(self.verify_delay)

    def _settled_elsewhere(self, order: Order) -> bool:
        """True when the journal no longer has ``order`` as UNKNOWN (a reconciliation settled
        it meanwhile): it must not be resolved, nor booked, a second time."""
        row = self.journal.get_order(order.client_id)
        return row is not None and row.state != str(OrderState.UNKNOWN)

    async def reconcile(self) -> Reconciliation:
        """Bring journal and portfolio in line with the terminal (at start, after reconnects)."""
        orders = [order_from_row(row) for row in self.journal.orders(_UNFINISHED)]
        rec = await self._reconciliation(orders, with_positions=True)
        by_id = {order.client_id: order for order in orders}
        now = self.clock.time()
        for resolution in rec.resolutions:
            order = by_id[resolution.client_id]
            apply_resolution(order, resolution)
            self._save(order)
            self.stats.resolved_unknown += 1
            if order.filled_volume > 0:
                self._announce_resolved_fill(order, now)
        crash_point("reconciling")
        for found in rec.adopted_positions:
            opener = self.journal.get_order(found.client_id) if found.client_id else None
            strategy = (opener.strategy or "") if opener is not None else "adopted"
            position = adopted(found, strategy, now)
            self.journal.upsert_position(
                position_row(position, self.trading.magic, identifier=found.identifier)
            )
        for gone in rec.closed_positions:
            await self._book_closed_while_away(gone)
        for update in rec.position_updates:
            row = self.journal.get_position(update.ticket)
            if row is None:
                continue
            if update.new_ticket:
                self.journal.rekey_position(update.ticket, update.new_ticket)
                row.ticket = update.new_ticket
            row.volume, row.sl, row.tp = update.volume, update.sl, update.tp
            self.journal.upsert_position(row)
        self.portfolio.positions = {
            row.ticket: open_position_from_row(row) for row in self.journal.open_positions()
        }
        self.stats.reconciliations += 1
        logger.info("reconciled with the terminal: {}", rec.summary())
        return rec

    def _announce_resolved_fill(self, order: Order, now: float) -> None:
        """Count and publish a fill that reconciliation found (its position is adopted, or
        booked closed, by the rest of the reconciliation)."""
        self.stats.fills += 1
        price = _fill_price(order)
        self._publish_placed(order, now, price)
        if order.intent == "close":
            return  # its PositionClosedEvent comes with the booking of the closed position
        self._publish_filled(order, now, price, order.position_ticket or order.order_ticket or 0)

    async def _book_closed_while_away(self, gone: ClosedPosition) -> None:
        row = self.journal.get_position(gone.ticket)
        position = (
            open_position_from_row(row)
            if row is not None
            else OpenPosition(
                gone.ticket,
                gone.symbol,
                gone.side,
                gone.volume,
                gone.price_open,
                None,
                None,
                "",
                gone.client_id or "",
                self.clock.time(),
            )
        )
        if row is None:
            self.journal.upsert_position(position_row(position, self.trading.magic))
        # its deals go to the journal, as for a close seen while running (``_book_close``)
        deals = await self.port.history_deals_get(position=gone.identifier or gone.ticket)
        for deal in deals:
            if int(deal.type) in (0, 1):  # buy/sell deals (not balance, commission ...)
                self._record_deal(deal, position)
        self._deals_journaled.difference_update(int(deal.ticket) for deal in deals)
        self._closed(
            position,
            gone.price_close or 0.0,
            gone.profit,
            gone.swap,
            gone.fees,
            gone.reason,
            "",
        )

    async def _reconciliation(self, orders: list[Order], *, with_positions: bool) -> Reconciliation:
        """Ask the terminal and run the pure reconciliation."""
        held = self.journal.open_positions()
        book = [book_position(row) for row in held] if with_positions else []
        times = [p.opened_at for p in held] + [o.updated_at or self.clock.time() for o in orders]
        start = min(times, default=self.clock.time()) - _HISTORY_MARGIN
        end = self.clock.time() + _HISTORY_MARGIN
        positions = await self.port.positions_get()
        pending = await self.port.orders_get()
        deals = await self.port.history_deals_get(int(start), int(end))
        history = await self.port.history_orders_get(int(start), int(end))
        return reconcile(
            magic=self.trading.magic,
            orders=orders,
            positions=book,
            terminal_positions=positions,
            terminal_orders=pending,
            deals=deals,
            history_orders=history,
        )


def _fill_price(order: Order) -> float:
    """The price an order was filled at (the deal's), or its requested one before a fill."""
    return order.fill_price or order.price or 0.0
