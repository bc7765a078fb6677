"""Settings of the strategy stage (``services.strategy_evaluation``) and of one strategy instance
(``strategies[]``)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from trading_engine.sections import Section, Timeframe, split_list

__all__ = ["StrategyConfig", "StrategyEvaluationConfig", "default_strategies"]


class StrategyEvaluationConfig(Section):
    """StrategyEvaluationService: runs the configured strategies on each bar."""

    enabled: bool = Field(True, description="run the service")
    evaluation_mode: Literal["on_new_candle"] = Field(
        "on_new_candle", description="when strategies run (only on_new_candle exists)"
    )
    min_rows_required: int = Field(
        3, ge=1, le=100_000, description="bars needed before a strategy is asked"
    )


_CLASS_PATH = re.compile(
    r"^(?:[A-Za-z_]\w*"  # a built-in name: ema_cross
    r"|[A-Za-z_][\w.]*:[A-Za-z_]\w*"  # package.module:ClassName
    r"|.+\.py:[A-Za-z_]\w*)$"  # path/to/file.py:ClassName
)


class StrategyConfig(Section):
    """One strategy instance."""

    name: str = Field(min_length=1, pattern=r"^\S+$", description="unique instance name")
    class_path: str = Field(
        description="built-in name (ema_cross), package.module:Class or path/file.py:Class"
    )
    params: dict[str, Any] = Field(default_factory=dict, description="keyword arguments")
    symbols: list[str] | None = Field(None, description="symbols it runs on; null = all")
    timeframes: list[Timeframe] | None = Field(None, description="timeframes; null = all")
    enabled: bool = Field(True, description="run it")

    @field_validator("class_path")
    @classmethod
    def _class_path_form(cls, value: str) -> str:
        if not _CLASS_PATH.match(value):
            raise ValueError(
                "expected a built-in name, 'package.module:ClassName' or 'path/file.py:ClassName'"
            )
        return value

    @field_validator("symbols", "timeframes", mode="before")
    @classmethod
    def _comma_lists(cls, value: object) -> object:
        return split_list(value)


def default_strategies() -> list[StrategyConfig]:
    return [StrategyConfig(name="ema_cross", class_path="ema_cross")]
