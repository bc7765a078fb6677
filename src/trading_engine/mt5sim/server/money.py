"""Account-currency arithmetic: margin, profit, swaps and currency conversion.

One ``Money`` per terminal. Every figure the simulator reports (``order_calc_margin``,
``order_calc_profit``, ``order_check``, the margin and profit of positions and deals) goes through
the same functions here, so they agree with each other by construction.

Conventions (documented simplifications of the broker side):
- margin rate 1.0 for every order type (the Python API has no SymbolInfoMarginRate);
- FOREX: ``lots·contract/leverage`` in the margin currency; FOREX_NO_LEVERAGE: ``lots·contract``;
  CFD, CFDINDEX, EXCH_STOCKS: ``lots·contract·price`` in the profit currency; CFDLEVERAGE:
  ``lots·contract·price/leverage``; FUTURES and exchange futures/options: ``lots·margin_initial``;
- profit: ``(close − open)·lots·contract`` in the profit currency (FUTURES: ticks × tick value);
- conversion to the account currency at the current quote of a symbol that pairs the two
  currencies: ``CCYACC`` at its bid, ``ACCCCY`` at 1/ask. No pair → no conversion (None).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from trading_engine.mt5sim.spec.constants import (
    ORDER_TYPE_BUY,
    ORDER_TYPE_BUY_LIMIT,
    ORDER_TYPE_BUY_STOP,
    ORDER_TYPE_BUY_STOP_LIMIT,
    SYMBOL_CALC_MODE_CFD,
    SYMBOL_CALC_MODE_CFDINDEX,
    SYMBOL_CALC_MODE_CFDLEVERAGE,
    SYMBOL_CALC_MODE_EXCH_FUTURES,
    SYMBOL_CALC_MODE_EXCH_OPTIONS,
    SYMBOL_CALC_MODE_EXCH_OPTIONS_MARGIN,
    SYMBOL_CALC_MODE_EXCH_STOCKS,
    SYMBOL_CALC_MODE_EXCH_STOCKS_MOEX,
    SYMBOL_CALC_MODE_FOREX,
    SYMBOL_CALC_MODE_FOREX_NO_LEVERAGE,
    SYMBOL_CALC_MODE_FUTURES,
    SYMBOL_SWAP_MODE_CURRENCY_DEPOSIT,
    SYMBOL_SWAP_MODE_CURRENCY_MARGIN,
    SYMBOL_SWAP_MODE_CURRENCY_SYMBOL,
    SYMBOL_SWAP_MODE_INTEREST_CURRENT,
    SYMBOL_SWAP_MODE_INTEREST_OPEN,
    SYMBOL_SWAP_MODE_POINTS,
)
from trading_engine.mt5sim.spec.symbols import SymbolSpec

__all__ = ["BUY_TYPES", "Money", "Quote", "is_buy"]

Quote = Callable[[str], "tuple[float, float] | None"]
"""``symbol -> (bid, ask)`` at the current time, or None without prices."""

BUY_TYPES = frozenset(
    (ORDER_TYPE_BUY, ORDER_TYPE_BUY_LIMIT, ORDER_TYPE_BUY_STOP, ORDER_TYPE_BUY_STOP_LIMIT)
)

_PRICE_MARGIN = frozenset(
    (
        SYMBOL_CALC_MODE_CFD,
        SYMBOL_CALC_MODE_CFDINDEX,
        SYMBOL_CALC_MODE_EXCH_STOCKS,
        SYMBOL_CALC_MODE_EXCH_STOCKS_MOEX,
    )
)
_FUTURES = frozenset(
    (
        SYMBOL_CALC_MODE_FUTURES,
        SYMBOL_CALC_MODE_EXCH_FUTURES,
        SYMBOL_CALC_MODE_EXCH_OPTIONS,
        SYMBOL_CALC_MODE_EXCH_OPTIONS_MARGIN,
    )
)


def is_buy(order_type: int) -> bool:
    """Whether an ORDER_TYPE_* buys."""
    return order_type in BUY_TYPES


class Money:
    """Margin, profit and conversion for one account currency and leverage."""

    def __init__(self, specs: Iterable[SymbolSpec], currency: str, leverage: int) -> None:
        self.currency = currency
        self.leverage = leverage
        self._pairs: dict[str, tuple[str, bool]] = {}
        for s in specs:
            base, quote = s.currency_base, s.currency_profit
            if quote == currency and base != currency:
                self._pairs.setdefault(base, (s.name, False))
            elif base == currency and quote != currency:
                self._pairs.setdefault(quote, (s.name, True))

    def conversion_symbol(self, ccy: str) -> tuple[str, bool] | None:
        """``(symbol, inverse)`` converting ``ccy`` to the account currency, or None."""
        return self._pairs.get(ccy)

    def rate(self, ccy: str, quote: Quote) -> float | None:
        """Account-currency value of one unit of ``ccy`` now, or None without a pair/prices."""
        if ccy == self.currency:
            return 1.0
        pair = self._pairs.get(ccy)
        if pair is None:
            return None
        q = quote(pair[0])
        if q is None:
            return None
        bid, ask = q
        if pair[1]:
            return 1.0 / ask if ask > 0 else None
        return bid

    def margin_in_ccy(self, spec: SymbolSpec, volume: float, price: float) -> tuple[float, str]:
        """Margin of ``volume`` lots at ``price`` and the currency it is expressed in."""
        mode = spec.trade_calc_mode
        cs = spec.trade_contract_size
        if mode == SYMBOL_CALC_MODE_FOREX:
            return volume * cs / self.leverage, spec.currency_margin or spec.currency_base
        if mode == SYMBOL_CALC_MODE_FOREX_NO_LEVERAGE:
            return volume * cs, spec.currency_margin or spec.currency_base
        if mode in _PRICE_MARGIN:
            return volume * cs * price, spec.currency_profit
        if mode == SYMBOL_CALC_MODE_CFDLEVERAGE:
            return volume * cs * price / self.leverage, spec.currency_profit
        if mode in _FUTURES:
            return volume * float(spec.margin_initial), spec.currency_margin or spec.currency_profit
        return volume * cs / self.leverage, spec.currency_margin or spec.currency_base

    def margin(self, spec: SymbolSpec, volume: float, price: float, quote: Quote) -> float | None:
        """Margin in the account currency (unrounded), or None without a conversion rate."""
        amount, ccy = self.margin_in_ccy(spec, volume, price)
        r = self.rate(ccy, quote)
        return None if r is None else amount * r

    def profit_in_ccy(
        self, spec: SymbolSpec, buy: bool, volume: float, price_open: float, price_close: float
    ) -> float:
        """Profit in the symbol's profit currency."""
        diff = (price_close - price_open) if buy else (price_open - price_close)
        if spec.trade_calc_mode in _FUTURES and spec.trade_tick_size > 0:
            return diff / spec.trade_tick_size * spec.trade_tick_value * volume
        return diff * volume * spec.trade_contract_size

    def profit(
        self,
        spec: SymbolSpec,
        buy: bool,
        volume: float,
        price_open: float,
        price_close: float,
        quote: Quote,
    ) -> float | None:
        """Profit in the account currency (unrounded), or None without a conversion rate."""
        r = self.rate(spec.currency_profit, quote)
        if r is None:
            return None
        return self.profit_in_ccy(spec, buy, volume, price_open, price_close) * r

    def swap(
        self, spec: SymbolSpec, buy: bool, volume: float, price_open: float, quote: Quote
    ) -> float:
        """One night's swap of a position in the account currency (0.0 when not computable).

        Modes POINTS, CURRENCY_SYMBOL, CURRENCY_MARGIN, CURRENCY_DEPOSIT and the two INTEREST
        modes are computed; DISABLED and the REOPEN modes charge nothing.
        """
        rate = spec.swap_long if buy else spec.swap_short
        if rate == 0.0:
            return 0.0
        mode = spec.swap_mode
        amount: float
        ccy: str
        if mode == SYMBOL_SWAP_MODE_POINTS:
            amount = rate * spec.point * volume * spec.trade_contract_size
            ccy = spec.currency_profit
        elif mode == SYMBOL_SWAP_MODE_CURRENCY_SYMBOL:
            amount, ccy = rate * volume, spec.currency_base
        elif mode == SYMBOL_SWAP_MODE_CURRENCY_MARGIN:
            amount, ccy = rate * volume, spec.currency_margin or spec.currency_base
        elif mode == SYMBOL_SWAP_MODE_CURRENCY_DEPOSIT:
            amount, ccy = rate * volume, self.currency
        elif mode in (SYMBOL_SWAP_MODE_INTEREST_CURRENT, SYMBOL_SWAP_MODE_INTEREST_OPEN):
            q = quote(spec.name)
            if mode == SYMBOL_SWAP_MODE_INTEREST_CURRENT and q is not None:
                price = q[0] if buy else q[1]
            else:
                price = price_open
            amount = price * volume * spec.trade_contract_size * rate / 100.0 / 360.0
            ccy = spec.currency_profit
        else:
            return 0.0
        r = self.rate(ccy, quote)
        return 0.0 if r is None else amount * r
