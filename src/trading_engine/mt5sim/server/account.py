"""Account arithmetic of the trade server: position profit, margin (hedged legs), figures.

Every figure ``account_info``, ``order_check``, ``positions_get`` and the stop-out reports comes
from here, at the quotes of the server's current instant: profit per position rounded to cents,
equity = balance + Σ(profit + swap), margin per ``account_margin``, free margin = equity −
margin, margin level = equity / margin · 100 (0 without margin).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from trading_engine.mt5sim.server.cents import cents
from trading_engine.mt5sim.server.ledger import Ledger, PositionRecord
from trading_engine.mt5sim.server.money import Money, is_buy
from trading_engine.mt5sim.server.trade_types import Figures, MarketView
from trading_engine.mt5sim.spec.constants import POSITION_TYPE_BUY
from trading_engine.mt5sim.spec.symbols import SymbolSpec

__all__ = ["Account", "q_of"]


def q_of(market: MarketView) -> Callable[[str], tuple[float, float] | None]:
    """The market's quote function."""
    return market.quote


class Account:
    """Figures of one account over its ledger, at the market's current quotes."""

    def __init__(
        self, specs: dict[str, SymbolSpec], money: Money, ledger: Ledger, market: MarketView
    ) -> None:
        self.specs = specs
        self.money = money
        self.ledger = ledger
        self.market = market

    def position_profit(self, p: PositionRecord) -> tuple[float, float]:
        """(price_current, profit in the account currency rounded to cents) of ``p`` now."""
        quote = self.market.quote
        q = quote(p.symbol)
        if q is None:
            return p.price_open, 0.0
        buy = p.type == POSITION_TYPE_BUY
        price = q[0] if buy else q[1]
        profit = self.money.profit(self.specs[p.symbol], buy, p.volume, p.price_open, price, quote)
        return price, 0.0 if profit is None else cents(profit)

    def account_margin(self, legs: Iterable[tuple[str, bool, float]] | None = None) -> float:
        """Margin of (symbol, is_buy, leg margin) legs — the open positions by default.

        Hedged volume on a hedging account: per symbol, the smaller side's margin is charged at
        ``margin_hedged / trade_contract_size`` of it, on top of the uncovered remainder of the
        larger side; with ``margin_hedged_use_leg`` only the larger side is charged.
        """
        if legs is None:
            positions = self.ledger.positions
            if len(positions) <= 1:  # what the sums below come to for no or one position
                return sum(p.margin for p in positions.values()) + 0.0
            legs = ((p.symbol, p.buy, p.margin) for p in positions.values())
        sides: dict[str, list[float]] = {}
        for sym, buy, m in legs:
            acc = sides.get(sym)
            if acc is None:
                acc = sides[sym] = [0.0, 0.0]
            acc[0 if buy else 1] += m
        total = 0.0
        for sym, (long, short) in sides.items():
            if not long or not short:
                total += long + short
                continue
            spec = self.specs[sym]
            big, small = max(long, short), min(long, short)
            if spec.margin_hedged_use_leg:
                total += big
            else:
                cs = spec.trade_contract_size
                ratio = spec.margin_hedged / cs if cs > 0 else 1.0
                total += big - small + small * ratio
        return total

    def figures(self) -> Figures:
        """The account's figures now."""
        profit = 0.0
        swaps = 0.0
        for p in self.ledger.positions.values():
            profit += self.position_profit(p)[1]
            swaps += cents(p.swap)
        balance = self.ledger.balance
        equity = cents(balance + profit + swaps)
        margin = cents(self.account_margin())
        level = cents(equity / margin * 100.0) if margin > 0 else 0.0
        return Figures(balance, cents(profit), equity, margin, cents(equity - margin), level)

    def projection(self, current: Figures, margin_after: float) -> Figures:
        """``current`` with the margin replaced by ``margin_after``."""
        level = round(current.equity / margin_after * 100.0, 2) if margin_after > 0 else 0.0
        return Figures(
            current.balance,
            current.profit,
            current.equity,
            margin_after,
            round(current.equity - margin_after, 2),
            level,
        )

    def over_volume_limit(self, spec: SymbolSpec, buy: bool, volume: float) -> bool:
        """Whether ``volume`` more in direction ``buy`` exceeds the symbol's ``volume_limit``.

        The limit caps open positions plus pending orders in one direction (0 = no limit).
        """
        limit = spec.volume_limit
        if not limit:
            return False
        held = sum(
            p.volume
            for p in self.ledger.positions.values()
            if p.symbol == spec.name and p.buy == buy
        )
        held += sum(
            o.volume_current
            for o in self.ledger.orders.values()
            if o.symbol == spec.name and is_buy(o.type) == buy
        )
        return held + volume > limit + 1e-9

    def net_position(self, symbol: str) -> PositionRecord | None:
        for p in self.ledger.positions.values():
            if p.symbol == symbol:
                return p
        return None
