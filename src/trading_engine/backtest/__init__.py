"""Backtests: the live engine on the simulated terminal under a simulated clock, and its report."""

from __future__ import annotations

from trading_engine.backtest.report import BacktestReport, build_report
from trading_engine.backtest.runner import run_backtest

__all__ = ["BacktestReport", "build_report", "run_backtest"]
