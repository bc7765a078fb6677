"""Symbols, Market Watch and depth of market: the ``symbol*`` and ``market_book_*`` calls."""

from __future__ import annotations

from typing import Any

from trading_engine.mt5sim.api.core import CALL_FAILED, SYMBOL_FIELDS, TerminalCore
from trading_engine.mt5sim.spec import constants as c
from trading_engine.mt5sim.spec.groups import compile_group
from trading_engine.mt5sim.spec.structs import (
    BookInfo,
    SymbolInfo,
    Tick,
)
from trading_engine.mt5sim.spec.symbols import SymbolSpec

__all__ = ["SymbolsApi"]


class SymbolsApi(TerminalCore):
    """Symbols, Market Watch and depth of market: the ``symbol*`` and ``market_book_*`` calls."""

    # -- symbols ----------------------------------------------------------------------------

    def symbols_total(self) -> int:
        """Number of symbols (selected or not)."""
        with self._lock:
            if not self._begin():
                return 0
            self._error.ok()
            return len(self.specs)

    def symbols_get(self, *, group: str | None = None) -> tuple[SymbolInfo, ...] | None:
        """All symbols, or those matching the group mask."""
        with self._lock:
            if not self._begin():
                return None
            if group is not None and not isinstance(group, str):
                self._error.argument("group")
                return None
            pred = compile_group(group) if group else None
            out = tuple(
                self._symbol_info(s) for n, s in self.specs.items() if pred is None or pred(n)
            )
            self._error.ok()
            return out

    def symbol_info(self, symbol: str, /) -> SymbolInfo | None:
        """The symbol's properties, with the current quote."""
        with self._lock:
            if not self._begin():
                return None
            spec = self._spec(symbol)
            if spec is None:
                return None
            self._error.ok()
            return self._symbol_info(spec)

    def _symbol_info(self, spec: SymbolSpec) -> SymbolInfo:
        tick = self._now.tick(spec.name)
        stats = self.market.day_stats(spec.name, self._now.now_utc) if tick is not None else None
        selected = spec.name in self._selected
        live: dict[str, Any] = {
            "select": selected,
            "visible": selected,
            "time": 0,
            "spread": 0,
            "bid": 0.0,
            "ask": 0.0,
            "path": spec.path or spec.name,
            "ticks_bookdepth": spec.ticks_bookdepth,
            "currency_margin": spec.currency_margin or spec.currency_base,
            "trade_tick_value_profit": 0.0,
            "trade_tick_value_loss": 0.0,
        }
        tv = self.money.rate(spec.currency_profit, self._now.quote)
        if tv is not None:
            live["trade_tick_value"] = spec.trade_tick_size * spec.trade_contract_size * tv
            live["trade_tick_value_profit"] = live["trade_tick_value_loss"] = live[
                "trade_tick_value"
            ]
        if tick is not None:
            bid, ask = float(tick["bid"]), float(tick["ask"])
            live.update(
                time=int(tick["time"]),
                bid=bid,
                ask=ask,
                spread=round((ask - bid) / spec.point),
            )
        if stats is not None:
            live.update(
                bidhigh=stats.bidhigh,
                bidlow=stats.bidlow,
                askhigh=stats.askhigh,
                asklow=stats.asklow,
                session_open=stats.session_open,
                session_close=stats.session_close,
                price_change=(
                    round((live["bid"] / stats.session_close - 1.0) * 100.0, 4)
                    if stats.session_close
                    else 0.0
                ),
            )
        values = []
        for name in SYMBOL_FIELDS:
            if name in live:
                values.append(live[name])
            else:
                values.append(getattr(spec, name, _zero(name)))
        return SymbolInfo._make(tuple(values))

    def symbol_info_tick(self, symbol: str, /) -> Tick | None:
        """The last tick (None unless the symbol is in Market Watch)."""
        with self._lock:
            if not self._begin():
                return None
            spec = self._spec(symbol)
            if spec is None:
                return None
            if spec.name not in self._selected:
                self._fail(CALL_FAILED)
                return None
            r = self._now.row(spec.name)
            if r is None:
                self._fail(CALL_FAILED)
                return None
            self._error.ok()
            return Tick._make(r)

    def symbol_select(self, symbol: str, enable: bool = True, /) -> bool:
        """Add to (or remove from) Market Watch; a symbol with positions/orders stays."""
        with self._lock:
            if not self._begin():
                return False
            spec = self._spec(symbol)
            if spec is None:
                return False
            if enable:
                self._selected.add(spec.name)
            else:
                busy = any(p.symbol == spec.name for p in self.ledger.positions.values()) or any(
                    o.symbol == spec.name for o in self.ledger.orders.values()
                )
                if busy:
                    self._fail(CALL_FAILED)
                    return False
                self._selected.discard(spec.name)
                self._books.discard(spec.name)
            self._error.ok()
            return True

    def market_book_add(self, symbol: str, /) -> bool:
        """Subscribe to the symbol's depth of market."""
        with self._lock:
            if not self._begin():
                return False
            spec = self._spec(symbol)
            if spec is None:
                return False
            self._selected.add(spec.name)
            self._books.add(spec.name)
            self._error.ok()
            return True

    def market_book_release(self, symbol: str, /) -> bool:
        """Cancel the depth-of-market subscription."""
        with self._lock:
            if not self._begin():
                return False
            spec = self._spec(symbol)
            if spec is None:
                return False
            if spec.name not in self._books:
                self._fail(CALL_FAILED)
                return False
            self._books.discard(spec.name)
            self._error.ok()
            return True

    def market_book_get(self, symbol: str, /) -> tuple[BookInfo, ...] | None:
        """Depth of market around the current quote (needs ``market_book_add``).

        Synthetic: ``ticks_bookdepth`` levels per side (5 when the spec says 0), one tick size
        apart, sells (highest first) then buys; each level holds ``liquidity`` lots (10 when
        unlimited) times its depth index.
        """
        with self._lock:
            if not self._begin():
                return None
            spec = self._spec(symbol)
            if spec is None:
                return None
            if spec.name not in self._books:
                self._fail(CALL_FAILED)
                return None
            q = self._now.quote(spec.name)
            self._error.ok()
            if q is None:
                return ()
            depth = spec.ticks_bookdepth or 5
            step = spec.trade_tick_size or spec.point
            lots = self.config.liquidity or 10.0
            sells = [
                BookInfo._make(
                    (
                        c.BOOK_TYPE_SELL,
                        round(q[1] + i * step, spec.digits),
                        int(lots * (i + 1)),
                        lots * (i + 1),
                    )
                )
                for i in reversed(range(depth))
            ]
            buys = [
                BookInfo._make(
                    (
                        c.BOOK_TYPE_BUY,
                        round(q[0] - i * step, spec.digits),
                        int(lots * (i + 1)),
                        lots * (i + 1),
                    )
                )
                for i in range(depth)
            ]
            return tuple(sells + buys)


def _zero(name: str) -> Any:
    """Default of a SymbolInfo field the spec does not carry."""
    if name in ("custom", "select", "visible", "spread_float", "margin_hedged_use_leg"):
        return False
    str_fields = {
        "basis",
        "category",
        "currency_base",
        "currency_profit",
        "currency_margin",
        "bank",
        "description",
        "exchange",
        "formula",
        "isin",
        "name",
        "page",
        "path",
    }
    if name in str_fields:
        return ""
    int_fields = {
        "chart_mode",
        "session_deals",
        "session_buy_orders",
        "session_sell_orders",
        "volume",
        "volumehigh",
        "volumelow",
        "time",
        "digits",
        "spread",
        "ticks_bookdepth",
        "trade_calc_mode",
        "trade_mode",
        "start_time",
        "expiration_time",
        "trade_stops_level",
        "trade_freeze_level",
        "trade_exemode",
        "swap_mode",
        "swap_rollover3days",
        "expiration_mode",
        "filling_mode",
        "order_mode",
        "order_gtc_mode",
        "option_mode",
        "option_right",
    }
    return 0 if name in int_fields else 0.0
