"""The one place the search meets the backtest: a configuration and a window in, statistics out.

A window is ``bars`` bars of the base timeframe from the bar opening at ``start`` (server time,
as the history's bar times). Everything else in ``optimize`` sees only ``TrialOutcome``.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from trading_engine.config import SystemConfig
from trading_engine.optimize.metrics import equity_stats

__all__ = ["TrialOutcome", "Window", "run_window"]


@dataclass(frozen=True, slots=True)
class Window:
    """``bars`` bars of the base timeframe from the bar opening at ``start`` (server epoch s)."""

    start: int
    bars: int


@dataclass(slots=True)
class TrialOutcome:
    """The statistics of one backtest and its equity curve (times in UTC epoch seconds)."""

    stats: dict[str, float]
    times: npt.NDArray[np.int64] = field(repr=False)
    equity: npt.NDArray[np.float64] = field(repr=False)
    pnl: list[float] = field(default_factory=list, repr=False)
    elapsed: float = 0.0


def _server_to_utc(config: SystemConfig, server_seconds: int) -> float:
    from trading_engine.mt5sim.servertime import ServerTime

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

    Runs today's ``trading_engine.backtest.run_backtest`` (the whole pipeline on simulated time)
    in a journal of its own, and derives the equity curve from the closed trades.
    """
    from trading_engine.backtest import run_backtest

    if window is not None:
        start = datetime.fromtimestamp(_server_to_utc(config, window.start), tz=UTC)
        sim = config.terminal.sim.model_copy(update={"start": start})
        config = config.model_copy(
            update={"terminal": config.terminal.model_copy(update={"sim": sim})}
        )
        bars = window.bars
    with tempfile.TemporaryDirectory(prefix="te-trial-") as tmp:
        report = asyncio.run(
            run_backtest(
                config,
                max_bars=bars,
                history_file=history,
                journal_path=Path(tmp) / "trial.db",
                config_dir=config_dir,
            )
        )
    initial = config.terminal.sim.balance
    trades = report.trades.sort("closed_at")
    pnl = [float(x) for x in trades["net"]]
    closed = np.asarray(trades["closed_at"], dtype=np.float64)
    start_utc = config.terminal.sim.start.timestamp()
    times = np.r_[start_utc, closed].astype(np.int64)
    equity = np.r_[initial, initial + np.cumsum(pnl)] if pnl else np.array([initial])
    final = report.summary.equity
    if math.isfinite(final) and times.size:
        times = np.r_[times, max(int(times[-1]), int(start_utc))]
        equity = np.r_[equity, final]
    stats = equity_stats(times, equity, pnl, initial)
    return TrialOutcome(stats, times, equity.astype(np.float64), pnl, report.elapsed_seconds)
