"""The pipeline's bar budget (``period.closing_bars``) is exact: it counts the bars the run emits.

The pipeline counts bars (it has no end time), so a budget one bar too high made it wait for ever
and one bar too low ended it early. Each case below is one the earlier count got wrong; in each
the pipeline now ends by its budget, not by the end-of-data guard (``runner._end_of_data``), with
the fast engine's bars and fingerprint.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from loguru import logger
from tests.unit.backtest.conftest import sma_cross

from trading_engine.backtest.command import BacktestOptions, run_command, with_history
from trading_engine.backtest.period import plan_period
from trading_engine.backtest.result import BacktestResult
from trading_engine.backtest.runner import run_backtest
from trading_engine.config import ConfigLoader, SystemConfig
from trading_engine.mt5sim.market.history import write_bars_csv, write_ticks_csv
from trading_engine.mt5sim.spec.dtypes import RATES_DTYPE, TICKS_DTYPE

CONFIG = Path(__file__).parents[3] / "configs" / "eurusd.yaml"
JAN_1 = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())  # a Monday, server time
GUARD = "the data ended after"

SMA_CROSS = sma_cross(3, 8, 5)


def config(timeframes: list[str], warmup: int) -> SystemConfig:
    overrides = {
        **SMA_CROSS,
        "trading.timeframes": timeframes,
        "services.indicator_calculation.warmup_bars": warmup,
    }
    return ConfigLoader.load(CONFIG, overrides=overrides)


def walk(n: int, seed: int = 3) -> np.ndarray:
    return 1.1 + np.cumsum(np.random.default_rng(seed).normal(0, 0.0004, n))


def ticks_file(path: Path, seconds: list[int], minutes: int = 180) -> Path:
    """Ticks at ``seconds`` into each of ``minutes`` minutes from 2024-01-01 00:00."""
    times = JAN_1 + np.sort((60 * np.arange(minutes)[:, None] + np.array(seconds)).ravel())
    ticks = np.zeros(times.size, dtype=TICKS_DTYPE)
    ticks["time"], ticks["time_msc"] = times, times * 1000
    ticks["bid"] = walk(times.size)
    ticks["ask"] = ticks["bid"] + 0.0002
    write_ticks_csv(path, ticks)
    return path


def bars_file(
    path: Path,
    step: int,
    n: int,
    *,
    tick_volume: int = 100,
    nan_at: int = -1,
    without: tuple[date, ...] = (),
) -> Path:
    """``n`` bars of ``step`` seconds on weekdays from 2024-01-01 00:00 (none on the days
    ``without``), a random walk."""
    times = JAN_1 + step * np.arange(3 * n, dtype=np.int64)
    missing = [
        int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()) // 86_400 for d in without
    ]
    times = times[((times // 86_400 + 3) % 7 < 5) & ~np.isin(times // 86_400, missing)][:n]
    close = walk(n)
    bars = np.zeros(n, dtype=RATES_DTYPE)
    bars["time"] = times
    bars["open"] = np.r_[close[0], close[:-1]]
    bars["close"] = close
    bars["high"] = np.maximum(bars["open"], close) + 0.0003
    bars["low"] = np.minimum(bars["open"], close) - 0.0003
    bars["tick_volume"] = tick_volume
    bars["spread"] = 10
    if nan_at >= 0:
        bars["close"][nan_at] = np.nan
    write_bars_csv(path, bars)
    return path


def _weekdays(first: date, n: int) -> tuple[date, ...]:
    """``n`` weekdays from ``first`` on."""
    days = (first + timedelta(days=i) for i in range(2 * n + 7))
    return tuple(d for d in days if d.weekday() < 5)[:n]


@contextmanager
def warnings() -> Iterator[list[str]]:
    lines: list[str] = []
    logger.enable("trading_engine")
    sink = logger.add(lambda m: lines.append(m.rstrip("\n")), level="WARNING", format="{message}")
    try:
        yield lines
    finally:
        logger.remove(sink)
        logger.disable("trading_engine")


def both(
    cfg: SystemConfig, file: Path, *, end: date | None = None
) -> tuple[dict[str, BacktestResult], int | None, list[str]]:
    """Both engines through the ``backtest`` command; the runs, the planned budget, warnings."""
    runs = {}
    with warnings() as lines:
        for engine in ("fast", "pipeline"):
            options = BacktestOptions(
                config_dir=CONFIG.parent,
                history=[f"EURUSD={file}"],
                end=end,
                engine=engine,  # type: ignore[arg-type]
                quiet=True,
            )
            runs[engine], _ = run_command(cfg, options, out=io.StringIO(), err=io.StringIO())
    held = plan_period(with_history(cfg, {"EURUSD": file}), end=end).held
    return runs, held, lines


Case = Callable[[Path], tuple[SystemConfig, Path, date | None]]
CASES: dict[str, Case] = {
    # the file's last bar never closes (no tick after it): the first hang
    "the end of an H1 file": lambda d: (
        config(["H1"], 24),
        bars_file(d / "h1.csv", 3600, 150),
        None,
    ),
    # the bar before the start closes with a tick exactly at the start: closed before the run
    "ticks on the minute": lambda d: (
        config(["M1"], 60),
        ticks_file(d / "t.csv", [0, 20, 40]),
        None,
    ),
    # the bar before the start closes 7 s after it: traded
    "ticks inside the minute": lambda d: (
        config(["M1"], 60),
        ticks_file(d / "t.csv", [7, 37]),
        None,
    ),
    # one tick a bar, at its 59th second (MT5's "1 minute OHLC"): every bar closes 59 s late,
    # the bar before the start after the start
    "one-tick M1 bars, M1 and M5": lambda d: (
        config(["M1", "M5"], 30),
        bars_file(d / "m1.csv", 60, 600, tick_volume=1),
        None,
    ),
    # a bad M1 row reaches the bar validation, which rejects it: never emitted
    "an M1 bar with a NaN close": lambda d: (
        config(["M1"], 30),
        bars_file(d / "m1.csv", 60, 300, nan_at=150),
        None,
    ),
    # --to on a Friday: its last bar closes on Monday, with the next tick
    "--to on a Friday": lambda d: (
        config(["H1"], 24),
        bars_file(d / "h1.csv", 3600, 400),
        date(2024, 1, 5),
    ),
    # --to before four days without data (a Friday and a Monday missing): its last bar closes
    # with the next tick, on Tuesday
    "--to before four days without data": lambda d: (
        config(["H1"], 24),
        bars_file(d / "h1.csv", 3600, 400, without=(date(2024, 1, 5), date(2024, 1, 8))),
        date(2024, 1, 4),
    ),
    # --to on a Friday before four more days without data: the next tick comes a week later
    "--to before a week without data": lambda d: (
        config(["H1"], 24),
        bars_file(d / "h1.csv", 3600, 400, without=_weekdays(date(2024, 1, 8), 4)),
        date(2024, 1, 5),
    ),
    # six weeks without data (a history file with a hole): the fast engine looks two months
    # ahead for the next tick, and so do the budget and the pipeline's end-of-data guard
    "--to before six weeks without data": lambda d: (
        config(["H1"], 24),
        bars_file(d / "h1.csv", 3600, 1100, without=_weekdays(date(2024, 1, 8), 30)),
        date(2024, 1, 5),
    ),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", list(CASES))
def test_the_pipeline_s_budget_is_the_bars_the_run_emits(tmp_path: Path, case: str) -> None:
    cfg, file, end = CASES[case](tmp_path)
    runs, held, lines = both(cfg, file, end=end)
    assert held == runs["fast"].bars == runs["pipeline"].bars
    assert runs["pipeline"].fingerprint == runs["fast"].fingerprint
    assert not any(GUARD in line for line in lines), lines  # ended by its budget


@pytest.mark.timeout(120)
def test_the_guard_ends_a_pipeline_whose_budget_is_too_high_with_a_warning(
    tmp_path: Path,
) -> None:
    """``run_backtest`` with a budget the data cannot fill (an API caller's, or a future
    miscount): the pipeline stops once its polls have passed the end of the data, and says so."""
    file = bars_file(tmp_path / "h1.csv", 3600, 120)
    cfg = with_history(config(["H1"], 24), {"EURUSD": file})
    period = plan_period(cfg)
    assert period.held is not None
    fast = run_backtest(cfg, start=period.start, end=period.end)
    with warnings() as lines:
        pipeline = run_backtest(
            cfg, start=period.start, end=period.end, bars=period.held + 3, engine="pipeline"
        )
    assert pipeline.bars == fast.bars == period.held
    assert pipeline.fingerprint == fast.fingerprint
    assert [line for line in lines if GUARD in line] == [
        f"backtest: the data ended after {period.held} of the {period.held + 3} bars the "
        "pipeline was to run; it stops there (the bar budget counted bars that never close)"
    ]


@pytest.mark.timeout(120)
def test_the_pipeline_runs_a_period_of_generated_prices() -> None:
    """``--from``/``--to`` on generated prices: the pipeline gets the counted bars as its
    budget (it said "the pipeline engine needs a bar budget")."""
    cfg = config(["M5"], 30)
    runs = {}
    for engine in ("fast", "pipeline"):
        options = BacktestOptions(
            config_dir=CONFIG.parent,
            start=date(2024, 1, 12),  # a Friday: the period spans a weekend
            end=date(2024, 1, 15),
            engine=engine,  # type: ignore[arg-type]
            quiet=True,
        )
        runs[engine], _ = run_command(cfg, options, out=io.StringIO(), err=io.StringIO())
    held = plan_period(cfg, start=date(2024, 1, 12), end=date(2024, 1, 15), count=True).held
    assert held == runs["fast"].bars == runs["pipeline"].bars
    assert 2 * 288 <= held <= 3 * 288 + 1
    assert runs["pipeline"].fingerprint == runs["fast"].fingerprint
