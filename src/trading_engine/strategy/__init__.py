"""Strategies: the ``Strategy`` contract (snapshot in, signal out), the loader, and the built-ins
``ema_cross`` and ``rsi_reversion``, the stage's settings (``config``) and the
``StrategyEvaluationService`` that runs them (``service``)."""

from __future__ import annotations

from trading_engine.strategy.base import PositionView, Signal, Snapshot, Strategy
from trading_engine.strategy.loader import BUILTIN_STRATEGIES, load_strategy

__all__ = [
    "BUILTIN_STRATEGIES",
    "PositionView",
    "Signal",
    "Snapshot",
    "Strategy",
    "load_strategy",
]
