"""A backtest result as text lines and as a CSV of trades (the command line's minimal report)."""

from __future__ import annotations

import csv
from dataclasses import fields
from pathlib import Path

from trading_engine.backtest.result import BacktestResult, ClosedTrade

__all__ = ["result_lines", "write_trades_csv"]


def result_lines(result: BacktestResult) -> list[str]:
    """``key: value`` lines: the run, its counts, its money and its fingerprint."""
    net = sum(t.net for t in result.trades)
    wins = sum(1 for t in result.trades if t.net > 0)
    n = len(result.trades)
    lines = [
        f"engine: {result.engine}",
        f"symbols: {', '.join(result.symbols)}",
        f"timeframe: {result.timeframe}",
        f"bars: {result.bars}",
        *(f"{key}: {value}" for key, value in result.counts.items() if key != "bars"),
        f"trades: {n}",
        f"open_positions: {result.open_positions}",
        f"win_rate: {wins / n if n else 0.0:.1%}",
        f"net_pnl: {net:.2f}",
        f"balance: {result.final_balance:.2f}",
        f"equity: {result.final_equity:.2f}",
        f"elapsed_seconds: {result.elapsed:.2f}",
        f"bars_per_second: {result.bars_per_second:,.0f}",
        f"fingerprint: {result.fingerprint}",
    ]
    return lines


def write_trades_csv(result: BacktestResult, path: Path) -> None:
    """One row per closed trade, ``ClosedTrade``'s fields as columns."""
    names = [f.name for f in fields(ClosedTrade)]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for trade in result.trades:
            writer.writerow([getattr(trade, name) for name in names])
