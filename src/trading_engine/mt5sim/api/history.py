"""Active orders, open positions and the order/deal history."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from trading_engine.mt5sim.api.core import TerminalCore, int_arg
from trading_engine.mt5sim.server.ledger import OrderRecord, PositionRecord
from trading_engine.mt5sim.server.money import is_buy
from trading_engine.mt5sim.spec.groups import compile_group
from trading_engine.mt5sim.spec.structs import (
    TradeDeal,
    TradeOrder,
    TradePosition,
)

__all__ = ["HistoryApi"]


class HistoryApi(TerminalCore):
    """Active orders, open positions and the order/deal history."""

    # -- orders and positions -------------------------------------------------------------------

    def _filter(
        self, items: Iterable[Any], symbol: Any, group: Any, ticket: Any, ticket_of: str
    ) -> list[Any] | None:
        if symbol is not None:
            if not isinstance(symbol, str):
                self._error.argument("symbol")
                return None
            return [x for x in items if x.symbol == symbol]
        if group is not None:
            if not isinstance(group, str):
                self._error.argument("group")
                return None
            pred = compile_group(group)
            return [x for x in items if pred(x.symbol)]
        if ticket is not None:
            try:
                tk = int_arg(ticket)
            except (TypeError, ValueError):
                self._error.argument("ticket")
                return None
            return [x for x in items if getattr(x, ticket_of) == tk]
        return list(items)

    def orders_total(self) -> int | None:
        """Number of active (pending) orders."""
        with self._lock:
            if not self._begin():
                return None
            self._error.ok()
            return len(self.ledger.orders)

    def orders_get(
        self, *, symbol: str | None = None, group: str | None = None, ticket: int | None = None
    ) -> tuple[TradeOrder, ...] | None:
        """Active orders (filter precedence: symbol, group, ticket)."""
        with self._lock:
            if not self._begin():
                return None
            chosen = self._filter(self.ledger.orders.values(), symbol, group, ticket, "ticket")
            if chosen is None:
                return None
            out = tuple(self._order_struct(o) for o in chosen)
            self._error.ok()
            return out

    def _order_struct(self, o: OrderRecord) -> TradeOrder:
        q = self._now.quote(o.symbol)
        price = o.price_current if q is None else (q[1] if is_buy(o.type) else q[0])
        return o.struct(price)

    def positions_total(self) -> int | None:
        """Number of open positions."""
        with self._lock:
            if not self._begin():
                return None
            self._error.ok()
            return len(self.ledger.positions)

    def positions_get(
        self, *, symbol: str | None = None, group: str | None = None, ticket: int | None = None
    ) -> tuple[TradePosition, ...] | None:
        """Open positions (filter precedence: symbol, group, ticket)."""
        with self._lock:
            if not self._begin():
                return None
            positions = self.ledger.positions.values()
            if symbol is None and group is None and ticket is None:
                chosen: list[PositionRecord] | None = list(positions)
            else:
                chosen = self._filter(positions, symbol, group, ticket, "ticket")
            if chosen is None:
                return None
            profit = self.server.position_profit
            out = tuple([p.struct(*profit(p)) for p in chosen])
            self._error.ok()
            return out

    # -- history ----------------------------------------------------------------------------

    def _history(
        self,
        items: list[Any],
        time_of: Callable[[Any], int],
        date_from: Any,
        date_to: Any,
        group: Any,
        position: Any,
        ticket: Any,
        ticket_of: str,
        index: Callable[[str, int], list[Any]] | None = None,
    ) -> list[Any] | None:
        for name, value in (("position", position), ("ticket", ticket)):
            if value is not None:
                try:
                    key = int_arg(value)
                except (TypeError, ValueError):
                    self._error.argument(name)
                    return None
                attr = ticket_of if name == "ticket" else "position_id"
                if index is not None:
                    return index(attr, key)
                return [x for x in items if getattr(x, attr) == key]
        dates = self._dates(date_from, date_to)
        if dates is None:
            return None
        lo, hi = dates
        chosen = [x for x in items if lo <= time_of(x) <= hi]
        if group is not None:
            if not isinstance(group, str):
                self._error.argument("group")
                return None
            pred = compile_group(group)
            chosen = [x for x in chosen if pred(x.symbol)]
        return chosen

    def history_orders_total(
        self, date_from: datetime | int, date_to: datetime | int, /
    ) -> int | None:
        """Number of history orders set up within the dates."""
        with self._lock:
            if not self._begin():
                return None
            dates = self._dates(date_from, date_to)
            if dates is None:
                return None
            lo, hi = dates
            n = sum(
                1
                for o in self.ledger.history_orders.values()
                if lo <= o.time_setup_msc // 1000 <= hi
            )
            self._error.ok()
            return n

    def history_orders_get(
        self,
        date_from: datetime | int | None = None,
        date_to: datetime | int | None = None,
        /,
        *,
        group: str | None = None,
        position: int | None = None,
        ticket: int | None = None,
    ) -> tuple[TradeOrder, ...] | None:
        """History orders: by dates (+group), or by ``position`` id, or by order ``ticket``."""
        with self._lock:
            if not self._begin():
                return None
            chosen = self._history(
                list(self.ledger.history_orders.values()),
                lambda o: o.time_setup_msc // 1000,
                date_from,
                date_to,
                group,
                position,
                ticket,
                "ticket",
            )
            if chosen is None:
                return None
            out = tuple(o.struct() for o in chosen)
            self._error.ok()
            return out

    def _deals_of(self, attr: str, key: int) -> list[TradeDeal]:
        """The deals whose ``attr`` ("position_id" or "order") is ``key``, from the indexes."""
        ledger = self.ledger
        by = ledger.deals_by_position if attr == "position_id" else ledger.deals_by_order
        return list(by.get(key, ()))

    def history_deals_total(
        self, date_from: datetime | int, date_to: datetime | int, /
    ) -> int | None:
        """Number of deals within the dates."""
        with self._lock:
            if not self._begin():
                return None
            dates = self._dates(date_from, date_to)
            if dates is None:
                return None
            lo, hi = dates
            n = sum(1 for d in self.ledger.deals if lo <= d.time <= hi)
            self._error.ok()
            return n

    def history_deals_get(
        self,
        date_from: datetime | int | None = None,
        date_to: datetime | int | None = None,
        /,
        *,
        group: str | None = None,
        position: int | None = None,
        ticket: int | None = None,
    ) -> tuple[TradeDeal, ...] | None:
        """Deals: by dates (+group), by ``position`` id, or by ``ticket`` = the deal's order."""
        with self._lock:
            if not self._begin():
                return None
            chosen = self._history(
                self.ledger.deals,
                lambda d: d.time,
                date_from,
                date_to,
                group,
                position,
                ticket,
                "order",
                self._deals_of,
            )
            if chosen is None:
                return None
            self._error.ok()
            return tuple(chosen)
