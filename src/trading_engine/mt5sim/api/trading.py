"""Trade requests and calculations: ``order_calc_*``, ``order_check`` and ``order_send``."""

from __future__ import annotations

from typing import Any

from trading_engine.mt5sim.api.core import CALL_FAILED, TerminalCore, int_arg
from trading_engine.mt5sim.api.requests import RequestError, parse_request
from trading_engine.mt5sim.server.money import is_buy
from trading_engine.mt5sim.server.trade_types import Outcome
from trading_engine.mt5sim.spec import constants as c
from trading_engine.mt5sim.spec.structs import (
    OrderCheckResult,
    OrderSendResult,
    TradeRequest,
)
from trading_engine.mt5sim.spec.symbols import SymbolSpec

__all__ = ["TradingApi"]


class TradingApi(TerminalCore):
    """Trade requests and calculations: ``order_calc_*``, ``order_check`` and ``order_send``."""

    # -- calculations -------------------------------------------------------------------------

    def _calc_args(
        self, action: Any, symbol: Any, numbers: tuple[tuple[str, Any], ...]
    ) -> tuple[SymbolSpec, int, list[float]] | None:
        try:
            act = int_arg(action)
            if not c.ORDER_TYPE_BUY <= act <= c.ORDER_TYPE_SELL_STOP_LIMIT:
                raise ValueError
        except (TypeError, ValueError):
            self._error.argument("action")
            return None
        spec = self._spec(symbol)
        if spec is None:
            return None
        values = []
        for name, value in numbers:
            if isinstance(value, str | bytes) or value is None:
                self._error.argument(name)
                return None
            try:
                values.append(float(value))
            except (TypeError, ValueError):
                self._error.argument(name)
                return None
        return spec, act, values

    def order_calc_margin(
        self, action: int, symbol: str, volume: float, price: float, /
    ) -> float | None:
        """Margin (account currency) of ``volume`` lots of ``action`` at ``price``."""
        with self._lock:
            if not self._begin():
                return None
            args = self._calc_args(action, symbol, (("volume", volume), ("price", price)))
            if args is None:
                return None
            spec, _, (vol, px) = args
            m = self.money.margin(spec, vol, px, self._now.quote)
            if m is None:
                self._fail(CALL_FAILED)
                return None
            self._error.ok()
            return round(m, 2)

    def order_calc_profit(
        self, action: int, symbol: str, volume: float, price_open: float, price_close: float, /
    ) -> float | None:
        """Profit (account currency) of ``volume`` lots opened and closed at the prices."""
        with self._lock:
            if not self._begin():
                return None
            args = self._calc_args(
                action,
                symbol,
                (("volume", volume), ("price_open", price_open), ("price_close", price_close)),
            )
            if args is None:
                return None
            spec, act, (vol, po, pc) = args
            p = self.money.profit(spec, is_buy(act), vol, po, pc, self._now.quote)
            if p is None:
                self._fail(CALL_FAILED)
                return None
            self._error.ok()
            return round(p, 2)

    # -- trading ----------------------------------------------------------------------------

    def order_check(self, request: dict[str, Any], /) -> OrderCheckResult | None:
        """Check a request and project the account after it (retcode 0 'Done' when it passes)."""
        with self._lock:
            if not self._begin():
                return None
            try:
                req = parse_request(request, self.config.comment_limit)
            except RequestError as e:
                self._error.argument(e.field)
                return None
            out = self.server.process(req, check_only=True)
            f = out.figures if out.figures is not None else self.server.figures()
            self._error.ok()
            return OrderCheckResult._make(
                (
                    out.retcode,
                    f.balance,
                    f.equity,
                    f.profit,
                    f.margin,
                    f.margin_free,
                    f.margin_level,
                    out.comment,
                    req,
                )
            )

    def order_send(self, request: dict[str, Any], /) -> OrderSendResult | None:
        """Send a trade request to the (simulated) trade server."""
        with self._lock:
            if not self._begin():
                return None
            try:
                req = parse_request(request, self.config.comment_limit)
            except RequestError as e:
                self._error.argument(e.field)
                return None
            self._request_id += 1
            out = self._send(req)
            if self._store is not None:  # on file before the reply leaves, as on a server
                self._store.changed(self, self._now.now_utc)
            if out.retcode in (
                c.TRADE_RETCODE_DONE,
                c.TRADE_RETCODE_DONE_PARTIAL,
                c.TRADE_RETCODE_PLACED,
            ):
                if req.symbol in self.specs:
                    self._selected.add(req.symbol)
                if self.faults:
                    lost = self.faults.take("lost_reply", self._now.now_utc)
                    if lost is not None:
                        if lost.code == c.RES_E_INTERNAL_FAIL_TIMEOUT:
                            self._fail(c.RES_E_INTERNAL_FAIL_TIMEOUT)
                            return None
                        out = Outcome(c.TRADE_RETCODE_TIMEOUT, bid=out.bid, ask=out.ask)
            self._error.ok()
            return OrderSendResult._make(
                (
                    out.retcode,
                    out.deal,
                    out.order,
                    out.volume,
                    out.price,
                    out.bid,
                    out.ask,
                    out.comment,
                    self._request_id,
                    0,
                    req,
                )
            )

    def _send(self, req: TradeRequest) -> Outcome:
        if not self.trade_allowed:
            return Outcome(c.TRADE_RETCODE_CLIENT_DISABLES_AT)
        faults = self.faults
        if faults:
            now = self._now.now_utc
            if faults.take("no_connection", now) is not None:
                return Outcome(c.TRADE_RETCODE_CONNECTION)
            f = faults.take("throttle", now)
            if f is not None:
                return Outcome(f.code or c.TRADE_RETCODE_TOO_MANY_REQUESTS)
            if req.action == c.TRADE_ACTION_DEAL and req.symbol in self.specs:
                q = self._now.quote(req.symbol)
                if q is not None and self._now.is_open(req.symbol):
                    f = faults.take("requote", now, req.symbol)
                    if f is not None:
                        return Outcome(c.TRADE_RETCODE_REQUOTE, bid=q[0], ask=q[1])
        return self.server.process(req, check_only=False)
