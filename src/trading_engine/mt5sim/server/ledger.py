"""The trade server's books: positions, active orders, order and deal history, balance, tickets.

Ticket model (as MT5): orders and deals have their own ticket sequences; a position opened by an
order gets that order's ticket as its ticket *and* its identifier; the identifier never changes
(a netting reversal gives the position the reversing order's ticket but keeps the identifier).
Every deal carries ``position_id`` = the position identifier. All times are server time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

from trading_engine.mt5sim.server.cents import cents
from trading_engine.mt5sim.spec.constants import (
    DEAL_ENTRY_IN,
    DEAL_REASON_CLIENT,
    DEAL_TYPE_BALANCE,
    ORDER_STATE_PLACED,
    POSITION_TYPE_BUY,
)
from trading_engine.mt5sim.spec.structs import TradeDeal, TradeOrder, TradePosition

__all__ = ["Ledger", "OrderRecord", "PositionRecord"]


@dataclasses.dataclass(slots=True)
class PositionRecord:
    """An open position (mutable while open)."""

    ticket: int
    identifier: int
    symbol: str
    type: int
    volume: float
    price_open: float
    sl: float
    tp: float
    magic: int
    comment: str
    reason: int
    time_msc: int
    time_update_msc: int
    margin: float = 0.0
    swap: float = 0.0
    external_id: str = ""

    @property
    def buy(self) -> bool:
        """Whether this is a long position."""
        return self.type == POSITION_TYPE_BUY

    def struct(self, price_current: float, profit: float) -> TradePosition:
        """The ``TradePosition`` the API returns."""
        return TradePosition._make(
            (
                self.ticket,
                self.time_msc // 1000,
                self.time_msc,
                self.time_update_msc // 1000,
                self.time_update_msc,
                self.type,
                self.magic,
                self.identifier,
                self.reason,
                self.volume,
                self.price_open,
                self.sl,
                self.tp,
                price_current,
                cents(self.swap),
                profit,
                self.symbol,
                self.comment,
                self.external_id,
            )
        )


@dataclasses.dataclass(slots=True)
class OrderRecord:
    """An order, active (pending) or in history."""

    ticket: int
    symbol: str
    type: int
    volume_initial: float
    volume_current: float
    price_open: float
    price_stoplimit: float
    sl: float
    tp: float
    type_time: int
    type_filling: int
    time_expiration: int
    magic: int
    comment: str
    reason: int
    position_id: int
    position_by_id: int
    time_setup_msc: int
    state: int = ORDER_STATE_PLACED
    time_done_msc: int = 0
    price_current: float = 0.0
    external_id: str = ""

    def struct(self, price_current: float | None = None) -> TradeOrder:
        """The ``TradeOrder`` the API returns."""
        return TradeOrder._make(
            (
                self.ticket,
                self.time_setup_msc // 1000,
                self.time_setup_msc,
                self.time_done_msc // 1000,
                self.time_done_msc,
                self.time_expiration,
                self.type,
                self.type_time,
                self.type_filling,
                self.state,
                self.magic,
                self.position_id,
                self.position_by_id,
                self.reason,
                self.volume_initial,
                self.volume_current,
                self.price_open,
                self.sl,
                self.tp,
                self.price_current if price_current is None else price_current,
                self.price_stoplimit,
                self.symbol,
                self.comment,
                self.external_id,
            )
        )


class Ledger:
    """Positions, orders, deals and the balance of one account."""

    def __init__(self, first_order: int = 500_000_001, first_deal: int = 400_000_001) -> None:
        self.positions: dict[int, PositionRecord] = {}
        self.orders: dict[int, OrderRecord] = {}
        self.history_orders: dict[int, OrderRecord] = {}
        self.deals: list[TradeDeal] = []
        self.deals_by_position: dict[int, list[TradeDeal]] = {}
        """``deals`` by ``position_id``, in order (``history_deals_get(position=)``)."""
        self.deals_by_order: dict[int, list[TradeDeal]] = {}
        """``deals`` by ``order``, in order (``history_deals_get(ticket=)``)."""
        self.balance: float = 0.0
        self._next_order = first_order
        self._next_deal = first_deal

    def new_order_ticket(self) -> int:
        """The next order ticket."""
        t = self._next_order
        self._next_order += 1
        return t

    def new_deal_ticket(self) -> int:
        """The next deal ticket."""
        t = self._next_deal
        self._next_deal += 1
        return t

    def deposit(self, amount: float, time_msc: int, comment: str = "Deposit") -> TradeDeal:
        """A balance operation (DEAL_TYPE_BALANCE, order 0, empty symbol)."""
        return self.add_deal(
            order=0,
            time_msc=time_msc,
            type_=DEAL_TYPE_BALANCE,
            entry=DEAL_ENTRY_IN,
            magic=0,
            position_id=0,
            reason=DEAL_REASON_CLIENT,
            volume=0.0,
            price=0.0,
            commission=0.0,
            swap=0.0,
            profit=amount,
            symbol="",
            comment=comment,
        )

    def add_deal(
        self,
        *,
        order: int,
        time_msc: int,
        type_: int,
        entry: int,
        magic: int,
        position_id: int,
        reason: int,
        volume: float,
        price: float,
        commission: float,
        swap: float,
        profit: float,
        symbol: str,
        comment: str,
        fee: float = 0.0,
    ) -> TradeDeal:
        """Record a deal and book its money on the balance."""
        deal = TradeDeal._make(
            (
                self.new_deal_ticket(),
                order,
                time_msc // 1000,
                time_msc,
                type_,
                entry,
                magic,
                position_id,
                reason,
                volume,
                price,
                commission,
                swap,
                profit,
                fee,
                symbol,
                comment,
                "",
            )
        )
        self.deals.append(deal)
        self.deals_by_position.setdefault(position_id, []).append(deal)
        self.deals_by_order.setdefault(order, []).append(deal)
        self.balance = round(self.balance + profit + commission + swap + fee, 2)
        return deal

    def archive(self, order: OrderRecord, state: int, time_msc: int) -> None:
        """Move ``order`` to history with ``state``."""
        self.orders.pop(order.ticket, None)
        order.state = state
        order.time_done_msc = time_msc
        self.history_orders[order.ticket] = order

    def positions_of(self, symbol: str) -> list[PositionRecord]:
        """Open positions on ``symbol`` (oldest first)."""
        return [p for p in self.positions.values() if p.symbol == symbol]

    def select_positions(
        self, pred: Callable[[PositionRecord], bool] | None = None
    ) -> Iterable[PositionRecord]:
        """Open positions matching ``pred`` (all when None)."""
        return self.positions.values() if pred is None else filter(pred, self.positions.values())
