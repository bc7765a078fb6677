"""Settings of the execution stage: ``services.trade_execution`` and the ``risk`` limits."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trading_engine.sections import Section

__all__ = ["RiskConfig", "TradeExecutionConfig"]


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
