"""The one place the search meets the backtest: a configuration and a window in, statistics out.

A window is ``bars`` bars of the base timeframe from the bar opening at ``start`` (server time,
as the history's bar times). Everything else in ``optimize`` sees only ``TrialOutcome``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from trading_engine.config import SystemConfig

__all__ = [
    "TrialOutcome",
    "Window",
    "numeric",
    "outcome_of",
    "report_stats",
    "run_window",
    "write_best_report",
]


@dataclass(frozen=True, slots=True)
class Window:
    """``bars`` bars of the base timeframe from the bar opening at ``start`` (server epoch s)."""

    start: int
    bars: int


@dataclass(slots=True)
class TrialOutcome:
    """The statistics of one backtest and its equity curve (times: server epoch seconds)."""

    stats: dict[str, float]
    times: npt.NDArray[np.int64] = field(repr=False)
    equity: npt.NDArray[np.float64] = field(repr=False)
    pnl: list[float] = field(default_factory=list, repr=False)
    elapsed: float = 0.0
    returns: list[float] = field(default_factory=list, repr=False)
    """Each trade's return (``backtest.stats.trade_return``), beside its P&L in ``pnl``."""


def _server_to_utc(config: SystemConfig, server_seconds: int) -> float:
    from trading_engine.mt5sim.market.servertime import ServerTime

    sim = config.terminal.sim
    st = (
        ServerTime.eet()
        if sim.server_utc_offset_hours is None
        else ServerTime.fixed(round(sim.server_utc_offset_hours * 3600))
    )
    return st.to_utc(server_seconds)


def run_window(
    config: SystemConfig,
    *,
    history: Path | None,
    window: Window | None,
    bars: int,
    config_dir: Path | None = None,
) -> TrialOutcome:
    """Backtest ``config`` on ``window`` of ``history`` (or on ``bars`` bars from its start).

    The fast engine (``trading_engine.backtest.run_backtest``), no journal: :func:`outcome_of`.
    """
    return outcome_of(_backtest(config, history, window, bars, config_dir))


def outcome_of(result: Any) -> TrialOutcome:
    """A backtest's statistics, the report's (:func:`report_stats`), its equity curve (one row
    per base bar) and its trades' P&L and returns."""
    from trading_engine.backtest.stats import trade_return

    times = np.asarray(result.equity["time"], dtype=np.int64)
    equity = np.asarray(result.equity["equity"], dtype=np.float64)
    pnl = [t.net for t in result.trades]
    returns = [trade_return(t) for t in result.trades]
    return TrialOutcome(report_stats(result), times, equity, pnl, result.elapsed, returns)


def _backtest(
    config: SystemConfig,
    history: Path | None,
    window: Window | None,
    bars: int,
    config_dir: Path | None,
) -> Any:
    """The fast engine's ``BacktestResult`` of ``config`` on ``window`` (or ``bars`` bars)."""
    from trading_engine.backtest import run_backtest

    start = None
    if window is not None:
        start = datetime.fromtimestamp(_server_to_utc(config, window.start), tz=UTC)
        bars = window.bars
    return run_backtest(
        config,
        history={config.trading.symbols[0]: history} if history is not None else None,
        start=start,
        bars=bars,
        config_dir=config_dir,
    )


def report_stats(result: Any) -> dict[str, float]:
    """The numeric statistics of the backtest report (``backtest.stats.compute_stats``): a
    trial is judged by the figures its report would print."""
    from trading_engine.backtest.stats import compute_stats

    return numeric(compute_stats(result))


def numeric(figures: Mapping[str, Any]) -> dict[str, float]:
    """The numbers among a report's figures (no text, dates, durations or flags)."""
    return {
        str(key): float(value)
        for key, value in figures.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def write_best_report(
    config: SystemConfig,
    *,
    history: Path | None,
    window: Window | None,
    bars: int,
    path: Path,
    config_dir: Path | None = None,
) -> Path:
    """Run ``config`` again and write the report's HTML page of it to ``path``."""
    from trading_engine.backtest.report_html import write_html_report
    from trading_engine.backtest.stats import compute_stats

    result = _backtest(config, history, window, bars, config_dir)
    write_html_report(result, compute_stats(result), path, title="Best trial")
    return path
