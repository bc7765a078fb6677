"""The report of a backtest, from the journal's closed positions (polars for the trade table)."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from trading_engine.journal.store import Journal
from trading_engine.orchestrator import RunSummary

__all__ = ["BacktestReport", "build_report"]


@dataclass(frozen=True)
class BacktestReport:
    """Trades and their statistics; ``trades`` has one row per closed position."""

    summary: RunSummary
    elapsed_seconds: float
    trades: pl.DataFrame = field(repr=False)

    @property
    def bars_per_second(self) -> float:
        return self.summary.bars / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    @property
    def net_pnl(self) -> float:
        return float(self.trades["net"].sum()) if self.trades.height else 0.0

    @property
    def win_rate(self) -> float:
        n = self.trades.height
        return float((self.trades["net"] > 0).sum()) / n if n else 0.0

    @property
    def profit_factor(self) -> float:
        """Gross profit over gross loss (inf without losing trades, 0 without trades)."""
        net = self.trades["net"] if self.trades.height else pl.Series([], dtype=pl.Float64)
        gains = float(net.filter(net > 0).sum())
        losses = -float(net.filter(net < 0).sum())
        if losses == 0:
            return float("inf") if gains > 0 else 0.0
        return gains / losses

    @property
    def max_drawdown(self) -> float:
        """Largest fall of the closed-trade equity curve from its peak, account currency."""
        if not self.trades.height:
            return 0.0
        curve = self.trades["net"].cum_sum()
        peak = curve.cum_max().clip(lower_bound=0.0)
        worst = (peak - curve).max()
        return float(worst) if isinstance(worst, int | float) else 0.0

    def lines(self) -> list[str]:
        """The report as ``key: value`` lines."""
        return [
            *self.summary.lines(),
            f"trades: {self.trades.height}",
            f"win_rate: {self.win_rate:.1%}",
            f"net_pnl: {self.net_pnl:.2f}",
            f"profit_factor: {self.profit_factor:.2f}",
            f"max_drawdown: {self.max_drawdown:.2f}",
            f"elapsed_seconds: {self.elapsed_seconds:.2f}",
            f"bars_per_second: {self.bars_per_second:,.0f}",
        ]


def build_report(journal: Journal, summary: RunSummary, elapsed_seconds: float) -> BacktestReport:
    """The report of a finished run whose orders and positions are in ``journal``."""
    rows = [
        {
            "ticket": p.ticket,
            "symbol": p.symbol,
            "side": p.side,
            "volume": p.volume,
            "price_open": p.price_open,
            "price_close": p.price_close,
            "opened_at": p.opened_at,
            "closed_at": p.closed_at,
            "reason": p.close_reason,
            "strategy": p.strategy,
            "net": (p.profit or 0.0) + (p.swap or 0.0) + (p.fees or 0.0),
        }
        for p in journal.closed_positions()
    ]
    schema = {
        "ticket": pl.Int64,
        "symbol": pl.Utf8,
        "side": pl.Utf8,
        "volume": pl.Float64,
        "price_open": pl.Float64,
        "price_close": pl.Float64,
        "opened_at": pl.Float64,
        "closed_at": pl.Float64,
        "reason": pl.Utf8,
        "strategy": pl.Utf8,
        "net": pl.Float64,
    }
    trades = pl.DataFrame(rows, schema=schema).sort("closed_at")
    return BacktestReport(summary, elapsed_seconds, trades)
