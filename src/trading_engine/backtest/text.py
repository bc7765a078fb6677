"""A backtest result as text lines (the command line's summary before the statistics)."""

from __future__ import annotations

from trading_engine.backtest.result import BacktestResult

__all__ = ["result_lines"]


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
