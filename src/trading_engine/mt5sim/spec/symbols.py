"""Symbol specifications: MT5 ``SymbolInfo`` static fields plus the price generator's parameters.

Field names equal the ``SymbolInfo`` field names (``docs/mt5-api.md`` §2.2) so the API side can copy
them one to one. ``trade_tick_value`` is the value of one tick for one lot **in the profit
currency** (``trade_tick_size * trade_contract_size``); converting it to the account currency is the
trading side's job. Volumes are in lots, levels and spreads in points, swaps in ``swap_mode`` units.

Generator parameters (not MT5 fields): ``start_price`` (the long-run level the simulated price
reverts to, slowly), ``spread_points`` (typical spread in active hours), ``min_spread_points``,
``volatility`` (annualised volatility of log prices), ``ticks_per_minute`` (average tick rate over
the 24 h of a trading day; quiet hours get fewer, active hours more), ``regime_days`` (mean
length, in trading days, of a trend or range regime) and ``weekend_gap`` (std of the Monday-open
gap as a fraction of one day's volatility).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from trading_engine.mt5sim.spec import constants as c
from trading_engine.mt5sim.spec import masks as m

__all__ = ["DEFAULT_SYMBOLS", "SymbolSpec"]


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """Static description of one tradable symbol (see the module docstring for units)."""

    name: str
    description: str = ""
    path: str = ""
    currency_base: str = ""
    currency_profit: str = "USD"
    currency_margin: str = ""
    digits: int = 5
    point: float = 1e-5
    trade_contract_size: float = 100_000.0
    trade_tick_size: float = 1e-5
    trade_tick_value: float = 1.0
    volume_min: float = 0.01
    volume_max: float = 500.0
    volume_step: float = 0.01
    volume_limit: float = 0.0
    trade_stops_level: int = 0
    trade_freeze_level: int = 0
    filling_mode: int = m.SYMBOL_FILLING_FOK | m.SYMBOL_FILLING_IOC
    order_mode: int = 127
    expiration_mode: int = (
        m.SYMBOL_EXPIRATION_GTC
        | m.SYMBOL_EXPIRATION_DAY
        | m.SYMBOL_EXPIRATION_SPECIFIED
        | m.SYMBOL_EXPIRATION_SPECIFIED_DAY
    )
    order_gtc_mode: int = c.SYMBOL_ORDERS_GTC
    trade_mode: int = c.SYMBOL_TRADE_MODE_FULL
    trade_exemode: int = c.SYMBOL_TRADE_EXECUTION_MARKET
    trade_calc_mode: int = c.SYMBOL_CALC_MODE_FOREX
    swap_mode: int = c.SYMBOL_SWAP_MODE_POINTS
    swap_long: float = 0.0
    swap_short: float = 0.0
    swap_rollover3days: int = c.DAY_OF_WEEK_WEDNESDAY
    margin_initial: float = 0.0
    margin_maintenance: float = 0.0
    margin_hedged: float = 50_000.0
    margin_hedged_use_leg: bool = False
    spread_float: bool = True
    chart_mode: int = c.SYMBOL_CHART_MODE_BID
    custom: bool = False
    ticks_bookdepth: int = 0
    option_mode: int = c.SYMBOL_OPTION_MODE_EUROPEAN
    option_right: int = c.SYMBOL_OPTION_RIGHT_CALL
    option_strike: float = 0.0
    start_time: int = 0
    expiration_time: int = 0
    trade_accrued_interest: float = 0.0
    trade_face_value: float = 0.0
    trade_liquidity_rate: float = 0.0
    basis: str = ""
    category: str = ""
    bank: str = ""
    exchange: str = ""
    formula: str = ""
    isin: str = ""
    page: str = ""
    # --- generator parameters (not MT5 fields) ---
    start_price: float = 1.0
    spread_points: int = 10
    min_spread_points: int = 1
    volatility: float = 0.08
    ticks_per_minute: float = 30.0
    regime_days: float = 4.0
    weekend_gap: float = 0.3

    def __post_init__(self) -> None:
        if self.digits < 0 or self.point <= 0 or self.trade_tick_size <= 0:
            raise ValueError(f"{self.name}: digits, point and tick size must be positive")
        if not 0 < self.volume_min <= self.volume_max or self.volume_step <= 0:
            raise ValueError(f"{self.name}: inconsistent volume bounds")
        if self.start_price <= 0 or self.volatility < 0 or self.ticks_per_minute <= 0:
            raise ValueError(f"{self.name}: bad generator parameters")
        if not 0 < self.min_spread_points <= self.spread_points:
            raise ValueError(f"{self.name}: need 0 < min_spread_points <= spread_points")


_FX: Final = "Forex\\"

DEFAULT_SYMBOLS: Final[dict[str, SymbolSpec]] = {
    "EURUSD": SymbolSpec(
        name="EURUSD",
        description="Euro vs US Dollar",
        path=_FX + "EURUSD",
        currency_base="EUR",
        currency_profit="USD",
        currency_margin="EUR",
        swap_long=-9.8,
        swap_short=4.3,
        start_price=1.0850,
        spread_points=8,
        min_spread_points=2,
        volatility=0.07,
    ),
    "GBPUSD": SymbolSpec(
        name="GBPUSD",
        description="Great Britain Pound vs US Dollar",
        path=_FX + "GBPUSD",
        currency_base="GBP",
        currency_profit="USD",
        currency_margin="GBP",
        swap_long=-4.6,
        swap_short=0.9,
        start_price=1.2700,
        spread_points=12,
        min_spread_points=3,
        volatility=0.08,
    ),
    "USDJPY": SymbolSpec(
        name="USDJPY",
        description="US Dollar vs Japanese Yen",
        path=_FX + "USDJPY",
        currency_base="USD",
        currency_profit="JPY",
        currency_margin="USD",
        digits=3,
        point=0.001,
        trade_tick_size=0.001,
        trade_tick_value=100.0,
        trade_stops_level=10,
        filling_mode=m.SYMBOL_FILLING_FOK,
        trade_exemode=c.SYMBOL_TRADE_EXECUTION_INSTANT,
        swap_long=14.5,
        swap_short=-31.2,
        start_price=150.00,
        spread_points=12,
        min_spread_points=3,
        volatility=0.10,
    ),
    "XAUUSD": SymbolSpec(
        name="XAUUSD",
        description="Gold vs US Dollar",
        path="Metals\\XAUUSD",
        currency_base="XAU",
        currency_profit="USD",
        currency_margin="USD",
        digits=2,
        point=0.01,
        trade_contract_size=100.0,
        trade_tick_size=0.01,
        trade_tick_value=1.0,
        volume_max=100.0,
        trade_stops_level=20,
        trade_freeze_level=10,
        trade_calc_mode=c.SYMBOL_CALC_MODE_CFDLEVERAGE,
        swap_long=-25.4,
        swap_short=11.8,
        margin_hedged=50.0,
        start_price=2350.00,
        spread_points=25,
        min_spread_points=8,
        volatility=0.15,
        ticks_per_minute=40.0,
    ),
}
"""EURUSD, GBPUSD (market execution, FOK+IOC), USDJPY (instant execution, FOK only, stops level
10), XAUUSD (CFD-leverage margin, 100 oz contract, stops 20 / freeze 10 points)."""
