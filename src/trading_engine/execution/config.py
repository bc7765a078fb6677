"""Settings of the execution stage: ``trading`` (what is traded, the identity of our orders),
``services.trade_execution`` and the ``risk`` limits."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from trading_engine.sections import Section, Timeframe, no_duplicates, split_list

__all__ = ["RiskConfig", "TradeExecutionConfig", "TradingConfig"]


class TradeExecutionConfig(Section):
    """TradeExecutionService: risk checks, orders, fills."""

    enabled: bool = Field(True, description="run the service")
    execution_mode: Literal["immediate", "batch"] = Field(
        "immediate", description="send each signal at once, or in batches of batch_size"
    )
    batch_size: int = Field(1, ge=1, le=1000, description="signals per batch in batch mode")
    max_signal_age_bars: float = Field(
        1.0,
        gt=0,
        le=10_000,
        description="an entry signal older than this many bars of its timeframe (a bar replayed "
        "after an outage) is not traded, and is logged",
    )


class RiskConfig(Section):
    """Risk limits; the engine enters REDUCING at reduce_at_pct of a limit, HALTED at the limit."""

    daily_loss_limit: float = Field(
        1000.0, gt=0, description="loss per server day, account currency"
    )
    max_positions: int = Field(10, ge=1, le=10_000, description="open positions at most")
    max_position_size: float = Field(1.0, gt=0, description="lots per position at most")
    max_drawdown_pct: float = Field(
        20.0, gt=0, le=100, description="drawdown from the equity peak, percent"
    )
    risk_per_trade_pct: float = Field(
        1.0, gt=0, le=100, description="equity risked per trade when a signal has no volume, %"
    )
    reduce_at_pct: float = Field(
        0.8, gt=0, le=1, description="fraction of a limit at which the engine enters REDUCING"
    )


class TradingConfig(Section):
    """What is traded: symbols, timeframes, the order identity."""

    symbols: list[Annotated[str, Field(min_length=1, pattern=r"^\S+$")]] = Field(
        min_length=1, description="symbols to trade ('symbol: EURUSD' is accepted too)"
    )
    timeframes: list[Timeframe] = Field(
        min_length=1, description="timeframes: M1, H1, D1 ... or minutes '1', '60', '1440'"
    )
    magic: int = Field(20261125, ge=1, le=2**63 - 1, description="magic number of our orders")
    deviation: int = Field(
        10, ge=0, le=100_000, description="max slippage of market orders, points"
    )
    flatten_on_stop: bool = Field(False, description="close our positions when the engine stops")

    @model_validator(mode="before")
    @classmethod
    def _symbol_alias(cls, data: Any) -> Any:
        if isinstance(data, dict) and "symbol" in data:
            data = dict(data)
            symbol = data.pop("symbol")
            if "symbols" in data:
                raise ValueError("give either 'symbol' or 'symbols', not both")
            data["symbols"] = symbol
        return data

    @field_validator("symbols", "timeframes", mode="before")
    @classmethod
    def _comma_lists(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return [value]
        return split_list(value)

    @field_validator("symbols", "timeframes")
    @classmethod
    def _unique(cls, value: list[Any]) -> list[Any]:
        no_duplicates(value, "value")
        return value

    @property
    def symbol(self) -> str:
        """The first symbol (the earlier design traded one)."""
        return self.symbols[0]
