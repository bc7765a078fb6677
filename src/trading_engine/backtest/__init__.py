"""Backtests: the engine's cores in one synchronous loop (fast) or the whole asyncio pipeline on
simulated time, both returning a ``BacktestResult`` with a parity fingerprint."""

from __future__ import annotations

from trading_engine.backtest.engine import BacktestEngine
from trading_engine.backtest.fingerprint import fingerprint
from trading_engine.backtest.result import BacktestResult, ClosedTrade
from trading_engine.backtest.runner import run_backtest, run_pipeline

__all__ = [
    "BacktestEngine",
    "BacktestResult",
    "ClosedTrade",
    "fingerprint",
    "run_backtest",
    "run_pipeline",
]
