"""The ``backtest`` command's work behind the CLI: history, period, run, statistics, outputs.

``run_command(options)`` does everything the trader sees: reads the history files (one line
naming file, line and column when one is bad), plans the period (one warning per request
beyond the data), says when the numba kernels compile for the first time, shows a progress bar
on a TTY, runs :func:`~trading_engine.backtest.runner.run_backtest`, prints the run's summary
and the statistics, writes the HTML report and the trades, and raises ``StrategyError`` (exit 7)
when every strategy was disabled for raising — after the report, which says which and when.

``--quiet`` is for scripts and loops: the run's summary only (``backtest:``: counts, P&L,
balance, fingerprint) on stdout; no statistics, tables or "written" lines, no progress bar, no
compile note, and only errors in the log (the files asked for are still written).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, TextIO

import numpy as np
import numpy.typing as npt
from loguru import logger

from trading_engine.backtest.console import (
    LogFormat,
    backtest_logging,
    every_strategy_died,
    kernels_cached,
)
from trading_engine.backtest.period import plan_period
from trading_engine.backtest.progress import ProgressBar
from trading_engine.backtest.result import BacktestResult
from trading_engine.backtest.stats import Stats, compute_stats
from trading_engine.backtest.text import result_lines
from trading_engine.config import SystemConfig
from trading_engine.errors import ConfigError
from trading_engine.terminal.factory import modelling, server_time_of

__all__ = ["BacktestOptions", "parse_history", "run_command", "with_history"]


@dataclass(slots=True)
class BacktestOptions:
    """The command line's backtest options."""

    config_dir: Path
    history: Sequence[str] = ()
    start: date | None = None
    end: date | None = None
    bars: int | None = None
    engine: Literal["fast", "pipeline"] = "fast"
    journal: Path | None = None
    report: Path | None = None
    trades_csv: Path | None = None
    trades_parquet: Path | None = None
    quiet: bool = False
    log_level: str | None = None
    log_format: LogFormat = "auto"


def parse_history(items: Sequence[str], symbols: Sequence[str]) -> dict[str, Path]:
    """``--history`` values: ``SYMBOL=FILE`` or a bare ``FILE`` (the first symbol's)."""
    files: dict[str, Path] = {}
    for item in items:
        symbol, sep, path = item.partition("=")
        if not sep or "/" in symbol or "\\" in symbol:
            symbol, path = symbols[0], item
        symbol = symbol.strip()
        if symbol not in symbols:
            raise ConfigError(
                f"unknown symbol {symbol!r} (trading.symbols: {', '.join(symbols)})",
                key="--history",
            )
        if symbol in files:
            raise ConfigError(f"two files for {symbol}", key="--history")
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"{file}: no such file", key="--history")
        files[symbol] = file
    return files


def with_history(config: SystemConfig, files: Mapping[str, Path]) -> SystemConfig:
    """``config`` replaying ``files`` (symbol → history file) on its simulated terminal."""
    if not files:
        return config
    if config.terminal.kind != "sim":
        raise ConfigError("--history needs the simulated terminal", key="terminal.kind")
    sim = config.terminal.sim.model_copy(
        update={"history_files": dict(files), "history_file": None}
    )
    return config.model_copy(update={"terminal": config.terminal.model_copy(update={"sim": sim})})


def _check_outputs(options: BacktestOptions) -> None:
    for key, path in (
        ("--report", options.report),
        ("--trades-csv", options.trades_csv),
        ("--trades-parquet", options.trades_parquet),
    ):
        if path is not None:
            _check_writable(key, path)
    if options.journal is not None and options.journal.exists():
        raise ConfigError("journal exists; a backtest starts from an empty one", key="--journal")
    if options.report is not None:
        from trading_engine.backtest.report_html import require_plotly

        require_plotly()


def _check_writable(key: str, path: Path) -> None:
    """Refuse, before the run, an output the run could not write at its end."""
    if not path.parent.is_dir():
        raise ConfigError(f"no such directory: {path.parent}", key=key)
    if path.is_dir():
        raise ConfigError(f"{path} is a directory", key=key)
    existed = path.exists()
    try:
        with path.open("ab"):
            pass
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}", key=key) from None
    if not existed:
        path.unlink(missing_ok=True)


@contextmanager
def _writing(key: str, path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}", key=key) from None


def prepare(config: SystemConfig, options: BacktestOptions, *, tty: bool) -> SystemConfig:
    """The configuration of the run: history files, logging; outputs checked."""
    config = with_history(config, parse_history(options.history, config.trading.symbols))
    _check_outputs(options)
    return backtest_logging(
        config,
        log_format=options.log_format,
        tty=tty,
        quiet=options.quiet,
        level=options.log_level,
    )


def run_command(
    config: SystemConfig,
    options: BacktestOptions,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    setup_logging: Callable[[SystemConfig], None] | None = None,
    run: Callable[..., BacktestResult] | None = None,
) -> tuple[BacktestResult, Stats]:
    """Run the ``backtest`` command (module docstring); the result and its statistics."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    tty = err.isatty()
    config = prepare(config, options, tty=tty)
    if setup_logging is not None:
        setup_logging(config)
    period = plan_period(
        config,
        start=options.start,
        end=options.end,
        bars=options.bars,
        count=options.engine == "pipeline",
    )
    for warning in period.warnings:
        logger.warning(warning)
    if not options.quiet and not kernels_cached():
        err.write("compiling indicator kernels (first run only)\n")
        err.flush()
    st = server_time_of(config.terminal)
    bar = ProgressBar(err) if tty and not options.quiet else None
    progress = None
    if bar is not None:
        progress = _progress_callback(bar, st.to_server)
    if run is None:
        from trading_engine.backtest.runner import run_backtest

        run = run_backtest
    budget = period.bars
    if budget is None and options.engine == "pipeline":
        budget = period.held  # the pipeline counts bars; it has no end time: the exact count
    kwargs: dict[str, Any] = {
        "start": period.start,
        "end": period.end,
        "bars": budget,
        "engine": options.engine,
        "journal": options.journal,
        "config_dir": options.config_dir,
    }
    if progress is not None:
        kwargs["progress"] = progress
    try:
        result = run(config, **kwargs)
    finally:
        if bar is not None:
            bar.close()
    if config.terminal.kind == "sim":
        trading = config.trading
        result.modelling = modelling(config.terminal, trading.symbols, trading.timeframes)
    stats = compute_stats(result)
    lines = ["backtest:", *(f"  {line}" for line in result_lines(result))]
    if not options.quiet:  # --quiet: the run's summary only (counts, money, fingerprint)
        lines += ["statistics:", *(f"  {line}" if line else "" for line in stats.lines())]
    out.write("\n".join(lines) + "\n")
    if options.report is not None:
        with _writing("--report", options.report):
            write_report(config, result, stats, options.report)
        _written(out, options, f"report written: {options.report}")
    for key, path in (
        ("--trades-csv", options.trades_csv),
        ("--trades-parquet", options.trades_parquet),
    ):
        if path is not None:
            from trading_engine.backtest.trades_export import write_trades

            with _writing(key, path):
                write_trades(result, path, st.to_utc)
            _written(out, options, f"trades written: {path}")
    out.flush()
    names = [s.name for s in config.strategies if s.enabled]
    died = every_strategy_died(names, result.disabled_strategies)
    if died is not None:
        raise died
    return result, stats


def _written(out: TextIO, options: BacktestOptions, line: str) -> None:
    if not options.quiet:
        out.write(line + "\n")


def _progress_callback(
    bar: ProgressBar, to_server: Callable[[float], float]
) -> Callable[[int, int, float], None]:
    def progress(done: int, total: int, now_utc: float) -> None:
        bar.update(done, total, int(to_server(now_utc)))

    return progress


def report_bars(config: SystemConfig, result: BacktestResult) -> dict[str, npt.NDArray[np.void]]:
    """Each symbol's base-timeframe bars over the run, warm-up included, from the terminal the
    run used (generated or history)."""
    from trading_engine.clock import SimClock
    from trading_engine.terminal.factory import open_terminal
    from trading_engine.timeframes import fixed_seconds, parse_timeframe

    if config.terminal.kind != "sim" or not len(result.equity):
        return {}
    st = server_time_of(config.terminal)
    end_utc = st.to_utc(result.end) + 1
    clock = SimClock(end_utc)
    terminal, _ = open_terminal(config.terminal, clock, config.trading.symbols)
    timeframe = parse_timeframe(result.timeframe)
    seconds = fixed_seconds(timeframe) or 31 * 86_400
    first = int(result.equity["time"][0]) - result.warmup_bars * seconds
    bars: dict[str, npt.NDArray[np.void]] = {}
    for symbol in result.symbols:
        rates = terminal.market.copy_rates_range(symbol, timeframe, first, result.end, end_utc)
        if len(rates):
            bars[symbol] = rates
    return bars


def write_report(config: SystemConfig, result: BacktestResult, stats: Stats, path: Path) -> None:
    """The HTML report of a finished run, with its bars and the configured indicators."""
    from trading_engine.backtest.report_html import indicator_series, write_html_report

    bars = report_bars(config, result)
    first = int(result.equity["time"][0]) if len(result.equity) else 0
    shown: dict[str, npt.NDArray[np.void]] = {}
    indicators: dict[str, Any] = {}
    for symbol, rates in bars.items():
        series = indicator_series(config.indicators, rates)
        keep = rates["time"] >= first
        shown[symbol] = rates[keep]
        indicators[symbol] = {name: (overlay, v[keep]) for name, (overlay, v) in series.items()}
    write_html_report(result, stats, path, bars=shown, indicators=indicators)
