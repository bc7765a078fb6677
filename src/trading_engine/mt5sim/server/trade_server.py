"""The trade server: validates trade requests and books what they do on the ``Ledger``.

``TradeServer.process(request, check_only)`` runs the validation pipeline (``validation.py``) for
the request's action and either projects the result (``order_check``) or executes it
(``order_send``). Execution models, chosen by the symbol's ``trade_exemode``:

- INSTANT / REQUEST: the request's ``price`` must be on the tick grid; if the market moved more
  than ``deviation`` points away the answer is a requote (10004, with the new bid/ask; REQUEST
  execution answers 10020 'Prices changed'); a seeded ``requote_probability`` requotes even
  within the deviation; the fill is at the current price.
- MARKET: ``price`` is ignored; the fill is at the current price, up to ``slippage_points`` worse.
- EXCHANGE: as MARKET, RETURN filling allowed.

Liquidity (``SimConfig.liquidity`` lots per order): FOK above it is rejected (10006), IOC and
RETURN fill what is available (10010); IOC drops the rest, RETURN keeps it as an active order in
state PARTIAL that later ticks fill, up to the liquidity per tick. Hedging accounts open one
position per order and close with ``position=``; netting accounts keep one position per symbol
(IN, OUT, INOUT reversal).
``volume_limit`` caps positions plus pending orders per direction (10034),
``SimConfig.limit_positions`` the number of open positions (10040).
Positions keep the margin computed when their volume last changed (at the fill price); the
account's margin nets hedged legs with ``margin_hedged`` (``account_margin``), so opening a
hedge can need less margin than ``order_calc_margin`` quotes for the order alone, as in MT5.
Deals of Python-API requests carry reason EXPERT, as in the MT5 docs' examples.
"""

from __future__ import annotations

import numpy as np

from trading_engine.mt5sim.config import SimConfig
from trading_engine.mt5sim.server import orders
from trading_engine.mt5sim.server import validation as v
from trading_engine.mt5sim.server.account import Account, q_of
from trading_engine.mt5sim.server.ledger import Ledger, OrderRecord, PositionRecord
from trading_engine.mt5sim.server.money import Money
from trading_engine.mt5sim.server.trade_types import DealPlan, MarketView, Outcome
from trading_engine.mt5sim.spec import constants as c
from trading_engine.mt5sim.spec.masks import (
    SYMBOL_ORDER_MARKET,
    SYMBOL_ORDER_SL,
    SYMBOL_ORDER_TP,
)
from trading_engine.mt5sim.spec.structs import TradeRequest
from trading_engine.mt5sim.spec.symbols import SymbolSpec

__all__ = ["TradeServer"]


class TradeServer(Account):
    """Validation and booking of trade requests for one account."""

    def __init__(
        self,
        specs: dict[str, SymbolSpec],
        config: SimConfig,
        money: Money,
        ledger: Ledger,
        market: MarketView,
        rng: np.random.Generator,
    ) -> None:
        super().__init__(specs, money, ledger, market)
        self.config = config
        self.rng = rng
        self.netting = config.margin_mode != c.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING
        self.async_rejects: set[int] = set()
        self.last_fill_msc: dict[int, int] = {}
        """Order ticket → time of its last partial fill (liquidity is per tick)."""

    # -- entry point ------------------------------------------------------------------------

    def process(self, req: TradeRequest, check_only: bool) -> Outcome:
        """Validate ``req`` and execute it (or, with ``check_only``, project it)."""
        action = req.action
        if action == c.TRADE_ACTION_DEAL:
            return self._deal(req, check_only)
        if action == c.TRADE_ACTION_PENDING:
            return orders.pending(self, req, check_only)
        if action == c.TRADE_ACTION_SLTP:
            return orders.sltp(self, req, check_only)
        if action == c.TRADE_ACTION_MODIFY:
            return orders.modify(self, req, check_only)
        if action == c.TRADE_ACTION_REMOVE:
            return orders.remove(self, req, check_only)
        if action == c.TRADE_ACTION_CLOSE_BY:
            return orders.close_by(self, req, check_only)
        return Outcome(c.TRADE_RETCODE_INVALID)

    # -- market deals -------------------------------------------------------------------------

    def quote_checks(self, spec: SymbolSpec) -> tuple[int, float, float]:
        market = self.market
        if not market.is_open(spec.name):
            return c.TRADE_RETCODE_MARKET_CLOSED, 0.0, 0.0
        q = market.quote(spec.name)
        if q is None or market.no_prices(spec.name):
            return c.TRADE_RETCODE_PRICE_OFF, 0.0, 0.0
        return 0, q[0], q[1]

    def _plan_deal(self, req: TradeRequest) -> tuple[int, DealPlan | None, float, float]:
        """Check a market deal in MT5's order (request, volumes, limits, prices) and plan it."""
        spec = self.specs.get(req.symbol)
        if spec is None:
            return c.TRADE_RETCODE_INVALID, None, 0.0, 0.0
        if req.type not in (c.ORDER_TYPE_BUY, c.ORDER_TYPE_SELL):
            return c.TRADE_RETCODE_INVALID_ORDER, None, 0.0, 0.0
        buy = req.type == c.ORDER_TYPE_BUY
        rc = v.check_volume(spec, req.volume)
        if rc:
            return rc, None, 0.0, 0.0
        rc, close = self._position_to_close(req, spec, buy)
        if rc:
            return rc, None, 0.0, 0.0
        close_volume, open_volume = self._split_volume(req.volume, close)
        rc = self._capacity(spec, buy, open_volume)
        if rc:
            return rc, None, 0.0, 0.0
        rc, bid, ask = self.quote_checks(spec)
        if not rc and not spec.order_mode & SYMBOL_ORDER_MARKET:
            rc = c.TRADE_RETCODE_INVALID_ORDER
        if not rc:
            rc = v.check_filling(spec, req.type_filling, True, req.type)
        if not rc:
            rc = self._price_checks(req, spec, buy, close, open_volume, bid, ask)
        if rc:
            return rc, None, bid, ask
        volume = req.volume
        liquidity = self.config.liquidity
        if liquidity is not None and volume > liquidity + 1e-9:
            if req.type_filling == c.ORDER_FILLING_FOK:
                return c.TRADE_RETCODE_REJECT, None, bid, ask
            volume = self.fillable(spec, volume)
            close_volume, open_volume = self._split_volume(volume, close)
        market_price = ask if buy else bid
        plan = DealPlan(spec, buy, volume, market_price, close, close_volume, open_volume)
        return 0, plan, bid, ask

    def _position_to_close(
        self, req: TradeRequest, spec: SymbolSpec, buy: bool
    ) -> tuple[int, PositionRecord | None]:
        """The position the deal closes (named by ``req.position``, or netting's opposite one)."""
        if req.position:
            close = self.ledger.positions.get(req.position)
            if close is None:
                return c.TRADE_RETCODE_POSITION_CLOSED, None
            if close.symbol != spec.name or close.buy == buy:
                return c.TRADE_RETCODE_INVALID, None
            if not self.netting and req.volume > close.volume + 1e-9:
                return c.TRADE_RETCODE_INVALID_CLOSE_VOLUME, None
            return 0, close
        if self.netting:
            net = self.net_position(spec.name)
            if net is not None and net.buy != buy:
                return 0, net
        return 0, None

    def _split_volume(self, volume: float, close: PositionRecord | None) -> tuple[float, float]:
        """(volume that closes, volume that opens) of a deal of ``volume``."""
        close_volume = min(volume, close.volume) if close is not None else 0.0
        open_volume = round(volume - close_volume, 8) if self.netting or close is None else 0.0
        return close_volume, open_volume

    def _capacity(self, spec: SymbolSpec, buy: bool, open_volume: float) -> int:
        """The symbol's direction rule, its volume limit and the account's position limit."""
        rc = v.check_direction(spec, buy, open_volume > 0)
        if rc:
            return rc
        if open_volume > 0 and self.over_volume_limit(spec, buy, open_volume):
            return c.TRADE_RETCODE_LIMIT_VOLUME
        cap = self.config.limit_positions
        if (
            cap
            and open_volume > 0
            and (not self.netting or self.net_position(spec.name) is None)
            and len(self.ledger.positions) >= cap
        ):
            return c.TRADE_RETCODE_LIMIT_POSITIONS
        return 0

    def _price_checks(
        self,
        req: TradeRequest,
        spec: SymbolSpec,
        buy: bool,
        close: PositionRecord | None,
        open_volume: float,
        bid: float,
        ask: float,
    ) -> int:
        """Stops of the opened part, the freeze level of the closed position, and (instant or
        request execution) the requested price against the market within the deviation."""
        if open_volume > 0 and (req.sl or req.tp):
            if (req.sl and not spec.order_mode & SYMBOL_ORDER_SL) or (
                req.tp and not spec.order_mode & SYMBOL_ORDER_TP
            ):
                return c.TRADE_RETCODE_INVALID_STOPS
            rc = v.check_stops(spec, buy, bid if buy else ask, req.sl, req.tp)
            if rc:
                return rc
        if close is not None:
            rc = v.frozen(spec, bid if close.buy else ask, (close.sl, close.tp))
            if rc:
                return rc
        exe = spec.trade_exemode
        if exe not in (c.SYMBOL_TRADE_EXECUTION_INSTANT, c.SYMBOL_TRADE_EXECUTION_REQUEST):
            return 0
        tick = spec.trade_tick_size or spec.point
        if req.price <= 0 or not v.on_grid(req.price, tick):
            return c.TRADE_RETCODE_INVALID_PRICE
        market_price = ask if buy else bid
        if abs(market_price - req.price) > req.deviation * spec.point + tick * 1e-6:
            if exe == c.SYMBOL_TRADE_EXECUTION_REQUEST:
                return c.TRADE_RETCODE_PRICE_CHANGED
            return c.TRADE_RETCODE_REQUOTE
        return 0

    def fillable(self, spec: SymbolSpec, volume: float) -> float:
        """The part of ``volume`` the configured liquidity fills at once (on the volume grid)."""
        liquidity = self.config.liquidity
        if liquidity is None or volume <= liquidity + 1e-9:
            return volume
        steps = np.floor((liquidity - spec.volume_min) / spec.volume_step + 1e-9)
        return float(round(spec.volume_min + steps * spec.volume_step, 8))

    def margin_after(self, plan: DealPlan) -> float:
        """The account's margin after ``plan`` is executed at ``plan.price``."""
        quote = q_of(self.market)
        close = plan.close
        legs: list[tuple[str, bool, float]] = []
        for p in self.ledger.positions.values():
            m = p.margin
            if p is close:
                m *= 1.0 - min(1.0, plan.close_volume / p.volume)
            legs.append((p.symbol, p.buy, m))
        if plan.open_volume > 0:
            new = self.money.margin(plan.spec, plan.open_volume, plan.price, quote)
            legs.append((plan.spec.name, plan.buy, 0.0 if new is None else new))
        return self.account_margin(legs)

    def _deal(self, req: TradeRequest, check_only: bool) -> Outcome:
        rc, plan, bid, ask = self._plan_deal(req)
        if plan is None:
            return Outcome(rc, bid=bid, ask=ask, figures=self.figures() if check_only else None)
        if self.money.rate(plan.spec.currency_profit, q_of(self.market)) is None:
            return Outcome(c.TRADE_RETCODE_PRICE_OFF)
        if plan.open_volume > 0 or check_only:  # a deal that only closes needs no money
            current = self.figures()
            margin_after = round(self.margin_after(plan), 2)
            grows = plan.open_volume > 0 and margin_after > current.margin + 1e-9
            if grows and current.equity - margin_after < 0:
                projected = self.projection(current, margin_after)
                return Outcome(c.TRADE_RETCODE_NO_MONEY, bid=bid, ask=ask, figures=projected)
            if check_only:
                return Outcome(0, figures=self.projection(current, margin_after))
        instant = plan.spec.trade_exemode in (
            c.SYMBOL_TRADE_EXECUTION_INSTANT,
            c.SYMBOL_TRADE_EXECUTION_REQUEST,
        )
        if (
            instant
            and self.config.requote_probability > 0
            and self.rng.random() < self.config.requote_probability
        ):
            return Outcome(c.TRADE_RETCODE_REQUOTE, bid=bid, ask=ask)
        price = plan.price
        if not instant and self.config.slippage_points > 0:
            k = int(self.rng.integers(0, self.config.slippage_points + 1))
            price = round(price + (k if plan.buy else -k) * plan.spec.point, plan.spec.digits)
        plan.price = price
        rest = req.volume - plan.volume if req.type_filling == c.ORDER_FILLING_RETURN else 0.0
        order, deal = self.execute_deal(
            plan, req, c.ORDER_REASON_EXPERT, c.DEAL_REASON_EXPERT, req.comment, remainder=rest
        )
        rc = (
            c.TRADE_RETCODE_DONE
            if plan.volume >= req.volume - 1e-9
            else c.TRADE_RETCODE_DONE_PARTIAL
        )
        return Outcome(rc, deal, order, plan.volume, price, bid, ask)

    def execute_deal(
        self,
        plan: DealPlan,
        req: TradeRequest,
        order_reason: int,
        deal_reason: int,
        comment: str,
        order: OrderRecord | None = None,
        remainder: float = 0.0,
    ) -> tuple[int, int]:
        """Book a market deal (new order or the activated ``order``); return (order, deal).

        With a ``remainder`` (RETURN filling short of liquidity) the order stays active in state
        PARTIAL for that volume; the catch-up fills it on the next ticks.
        """
        ledger = self.ledger
        now = self.market.now_msc
        spec = plan.spec
        if order is None:
            order = OrderRecord(
                ticket=ledger.new_order_ticket(),
                symbol=spec.name,
                type=c.ORDER_TYPE_BUY if plan.buy else c.ORDER_TYPE_SELL,
                volume_initial=req.volume,
                volume_current=round(req.volume - plan.volume, 8),
                price_open=plan.price,
                price_stoplimit=0.0,
                sl=req.sl,
                tp=req.tp,
                type_time=req.type_time,
                type_filling=req.type_filling,
                time_expiration=0,
                magic=req.magic,
                comment=comment,
                reason=order_reason,
                position_id=0,
                position_by_id=0,
                time_setup_msc=now,
            )
        order.price_current = plan.price
        deal_type = c.DEAL_TYPE_BUY if plan.buy else c.DEAL_TYPE_SELL
        commission = -round(self.config.commission_per_lot * plan.volume, 2) or 0.0
        close = plan.close
        deal_ticket = 0
        if close is not None and plan.close_volume > 0:
            entry = c.DEAL_ENTRY_INOUT if plan.open_volume > 0 else c.DEAL_ENTRY_OUT
            profit, swap = self.reduce(close, plan.close_volume, plan.price)
            order.position_id = close.identifier
            deal_ticket = ledger.add_deal(
                order=order.ticket,
                time_msc=now,
                type_=deal_type,
                entry=entry,
                magic=req.magic,
                position_id=close.identifier,
                reason=deal_reason,
                volume=plan.volume if entry == c.DEAL_ENTRY_INOUT else plan.close_volume,
                price=plan.price,
                commission=commission,
                swap=swap,
                profit=profit,
                symbol=spec.name,
                comment=comment,
            ).ticket
            if entry == c.DEAL_ENTRY_INOUT:
                self._open(plan, req, order, close.identifier, comment)
        elif plan.open_volume > 0:
            net = (
                self.net_position(spec.name)
                if self.netting
                else self.ledger.positions.get(order.ticket)  # a later part of the same order
            )
            identifier = order.ticket if net is None else net.identifier
            order.position_id = identifier
            deal_ticket = ledger.add_deal(
                order=order.ticket,
                time_msc=now,
                type_=deal_type,
                entry=c.DEAL_ENTRY_IN,
                magic=req.magic,
                position_id=identifier,
                reason=deal_reason,
                volume=plan.volume,
                price=plan.price,
                commission=commission,
                swap=0.0,
                profit=0.0,
                symbol=spec.name,
                comment=comment,
            ).ticket
            if net is None:
                self._open(plan, req, order, identifier, comment)
            else:
                self._add_to(net, plan, req)
        if remainder > 1e-9:
            order.state = c.ORDER_STATE_PARTIAL
            order.volume_current = round(remainder, 8)
            ledger.orders[order.ticket] = order
            self.last_fill_msc[order.ticket] = now
        else:
            ledger.archive(order, c.ORDER_STATE_FILLED, now)
            self.last_fill_msc.pop(order.ticket, None)
        return order.ticket, deal_ticket

    def _open(
        self, plan: DealPlan, req: TradeRequest, order: OrderRecord, identifier: int, comment: str
    ) -> None:
        now = self.market.now_msc
        margin = self.money.margin(plan.spec, plan.open_volume, plan.price, q_of(self.market))
        self.ledger.positions[order.ticket] = PositionRecord(
            ticket=order.ticket,
            identifier=identifier,
            symbol=plan.spec.name,
            type=c.POSITION_TYPE_BUY if plan.buy else c.POSITION_TYPE_SELL,
            volume=plan.open_volume,
            price_open=plan.price,
            sl=req.sl,
            tp=req.tp,
            magic=req.magic,
            comment=comment,
            reason=c.POSITION_REASON_EXPERT,
            time_msc=now,
            time_update_msc=now,
            margin=0.0 if margin is None else margin,
        )

    def _add_to(self, pos: PositionRecord, plan: DealPlan, req: TradeRequest) -> None:
        total = pos.volume + plan.open_volume
        pos.price_open = (pos.price_open * pos.volume + plan.price * plan.open_volume) / total
        pos.volume = round(total, 8)
        m = self.money.margin(plan.spec, plan.open_volume, plan.price, q_of(self.market))
        pos.margin += 0.0 if m is None else m
        if req.sl or req.tp:
            pos.sl, pos.tp = req.sl, req.tp
        pos.time_update_msc = self.market.now_msc

    def reduce(self, pos: PositionRecord, volume: float, price: float) -> tuple[float, float]:
        """Take ``volume`` off ``pos`` at ``price``; return (profit, swap) of the closed part."""
        spec = self.specs[pos.symbol]
        profit = self.money.profit(spec, pos.buy, volume, pos.price_open, price, q_of(self.market))
        share = min(1.0, volume / pos.volume)
        swap = round(pos.swap * share, 2)
        remaining = round(pos.volume - volume, 8)
        if remaining <= 1e-9:
            del self.ledger.positions[pos.ticket]
        else:
            pos.volume = remaining
            pos.swap -= swap
            pos.margin *= 1.0 - share
            pos.time_update_msc = self.market.now_msc
        return (0.0 if profit is None else round(profit, 2)), swap

    def close_position(self, pos: PositionRecord, price: float, reason: int, comment: str) -> None:
        """Close ``pos`` entirely at ``price`` for a server reason (SL, TP, stop-out)."""
        spec = self.specs[pos.symbol]
        req = TradeRequest._make(
            (
                c.TRADE_ACTION_DEAL,
                pos.magic,
                0,
                pos.symbol,
                pos.volume,
                price,
                0.0,
                0.0,
                0.0,
                0,
                c.ORDER_TYPE_SELL if pos.buy else c.ORDER_TYPE_BUY,
                c.ORDER_FILLING_FOK,
                c.ORDER_TIME_GTC,
                0,
                comment,
                pos.ticket,
                0,
            )
        )
        plan = DealPlan(spec, not pos.buy, pos.volume, price, pos, pos.volume, 0.0)
        deal_reason = {
            c.ORDER_REASON_SL: c.DEAL_REASON_SL,
            c.ORDER_REASON_TP: c.DEAL_REASON_TP,
            c.ORDER_REASON_SO: c.DEAL_REASON_SO,
        }[reason]
        self.execute_deal(plan, req, reason, deal_reason, comment)
