"""``trading-engine backtest`` as a trader runs it: real export formats, periods, report, exits."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from loguru import logger
from tests.unit.backtest.conftest import sma_cross
from typer.testing import CliRunner

from trading_engine.backtest.command import BacktestOptions, run_command
from trading_engine.cli import app
from trading_engine.config import ConfigLoader, SystemConfig
from trading_engine.errors import StrategyError
from trading_engine.mt5sim import SimConfig, Terminal
from trading_engine.mt5sim.spec import constants as c

CONFIG = Path(__file__).parents[3] / "configs" / "eurusd.yaml"
runner = CliRunner()

SMA_CROSS = {
    **sma_cross(5, 20, 14),
    "trading.timeframes": ["H1"],
    "services.indicator_calculation.warmup_bars": 40,
}


def h1_export(path: Path, count: int = 900) -> np.ndarray:
    """An MT5 H1 export as the terminal writes it: UTF-16 with a BOM, CRLF, ``HH:MM`` times."""
    end = datetime(2024, 4, 1, tzinfo=UTC)
    terminal = Terminal(
        SimConfig(seed=5, start=end, history_days=70, market_mode="m1"), clock=end.timestamp
    )
    assert terminal.initialize()
    bars = terminal.copy_rates_from_pos("EURUSD", c.TIMEFRAME_H1, 1, count)
    lines = ["<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>"]
    for b in bars:
        stamp = datetime.fromtimestamp(int(b["time"]), tz=UTC)
        lines.append(
            f"{stamp:%Y.%m.%d}\t{stamp:%H:%M}\t{b['open']:.5f}\t{b['high']:.5f}\t{b['low']:.5f}"
            f"\t{b['close']:.5f}\t{b['tick_volume']}\t0\t{b['spread']}"
        )
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-16"))
    return bars


def sma_config(**extra: Any) -> SystemConfig:
    return ConfigLoader.load(CONFIG, overrides={**SMA_CROSS, **extra})


def test_h1_only_history_with_an_sma_cross_over_a_period(tmp_path: Path, open_report: Any) -> None:
    bars = h1_export(tmp_path / "EURUSD_H1.csv")
    out = io.StringIO()
    report = tmp_path / "r.html"
    options = BacktestOptions(
        config_dir=CONFIG.parent,
        history=[f"EURUSD={tmp_path / 'EURUSD_H1.csv'}"],
        start=date(2024, 2, 1),
        end=date(2024, 3, 15),
        report=report,
        trades_csv=tmp_path / "t.csv",
    )
    result, stats = run_command(sma_config(), options, out=out, err=io.StringIO())
    text = out.getvalue()
    assert result.timeframe == "H1"
    assert "open prices only (H1 bars" in result.modelling
    first = datetime.fromtimestamp(int(result.equity["time"][0]), tz=UTC)
    last = datetime.fromtimestamp(int(result.equity["time"][-1]), tz=UTC)
    assert first.date() >= date(2024, 2, 1)
    assert last.date() <= date(2024, 3, 15)
    assert int(result.equity["time"][0]) in set(bars["time"].tolist())
    assert len(result.trades) >= 5
    assert stats["# Trades"] == len(result.trades)
    assert "Sharpe Ratio" in text
    assert re.search(r"Warm-up Bars\s+40", text)
    trades = pl.read_csv(tmp_path / "t.csv")
    assert trades.height == len(result.trades)
    charts, errors = open_report(report)
    assert errors == []
    assert charts[0]["title"].startswith("EURUSD")
    assert charts[0]["points"] >= 2 * len(result.trades)  # entries and exits on the chart


def test_a_file_shorter_than_bars_ends_at_the_end_of_the_data_a_two_row_file_is_an_error(
    tmp_path: Path,
) -> None:
    bars = h1_export(tmp_path / "EURUSD_H1.csv", count=120)
    cli = ["backtest", "--config", str(CONFIG), "--quiet", "--history"]
    sets = [
        "--set",
        "trading.timeframes=[H1]",
        "--set",
        "services.indicator_calculation.warmup_bars=10",
    ]
    result = runner.invoke(app, [*cli, str(tmp_path / "EURUSD_H1.csv"), "--bars", "5000", *sets])
    assert result.exit_code == 0, result.output
    assert result.output.count("--bars 5000: the history holds") <= 1
    assert re.search(r"bars: 10[0-9]\n", result.output)  # 120 bars less the warm-up
    two = tmp_path / "two.csv"
    text = (tmp_path / "EURUSD_H1.csv").read_bytes().decode("utf-16").splitlines()[:3]
    two.write_text("\n".join(text) + "\n")
    result = runner.invoke(app, [*cli, str(two), *sets])
    assert result.exit_code == 2, result.output  # nothing to trade: an error, not an empty run
    assert result.output.strip().count("\n") == 0
    assert f"{two}:3: 2 bars leave none to trade" in result.output
    assert bars.size == 120


def test_a_bad_value_in_the_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    h1_export(tmp_path / "EURUSD_H1.csv", count=50)
    lines = (tmp_path / "EURUSD_H1.csv").read_bytes().decode("utf-16").splitlines()
    cells = lines[7].split("\t")
    cells[4] = "1.0x"
    lines[7] = "\t".join(cells)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-16"))
    result = runner.invoke(
        app, ["backtest", "--config", str(CONFIG), "--history", f"EURUSD={bad}", "--quiet"]
    )
    assert result.exit_code == 2
    assert f"{bad}:8: column 5 <LOW>: not a number: '1.0x'" in result.output
    assert "Traceback" not in result.output
    unknown = runner.invoke(
        app, ["backtest", "--config", str(CONFIG), "--history", f"GBPJPY={bad}", "--quiet"]
    )
    assert unknown.exit_code == 2
    assert "unknown symbol 'GBPJPY'" in unknown.output


BOOM = """
from trading_engine.strategy.base import Strategy

class Boom(Strategy):
    def on_bar(self, snapshot):
        raise ZeroDivisionError("division by zero")
"""


def test_exit_7_when_every_strategy_was_disabled_for_raising(tmp_path: Path) -> None:
    (tmp_path / "boom.py").write_text(BOOM)
    h1_export(tmp_path / "EURUSD_H1.csv", count=200)
    cfg = sma_config(
        strategies=[{"name": "boom", "class_path": f"{tmp_path / 'boom.py'}:Boom"}],
        **{"services.indicator_calculation.warmup_bars": 30},
    )
    options = BacktestOptions(config_dir=tmp_path, history=[str(tmp_path / "EURUSD_H1.csv")])
    out = io.StringIO()
    with pytest.raises(StrategyError, match=r"every strategy was disabled for raising: boom at "):
        run_command(cfg, options, out=out, err=io.StringIO())
    assert "disabled strategies:" in out.getvalue()  # the report still printed, saying when
    assert "ZeroDivisionError" in out.getvalue()


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_two_symbols_from_two_files_with_a_progress_bar_on_a_tty(tmp_path: Path) -> None:
    end = datetime(2024, 6, 1, tzinfo=UTC)
    terminal = Terminal(
        SimConfig(seed=9, start=end, history_days=120, market_mode="m1"), clock=end.timestamp
    )
    assert terminal.initialize()
    from trading_engine.mt5sim.market.history import write_bars_csv, write_parquet

    write_bars_csv(tmp_path / "e.csv", terminal.copy_rates_from_pos("EURUSD", 16385, 1, 1500))
    write_parquet(tmp_path / "g.parquet", terminal.copy_rates_from_pos("GBPUSD", 16385, 1, 1500))
    cfg = sma_config(**{"trading.symbols": ["EURUSD", "GBPUSD"]})
    options = BacktestOptions(
        config_dir=CONFIG.parent,
        history=[f"EURUSD={tmp_path / 'e.csv'}", f"GBPUSD={tmp_path / 'g.parquet'}"],
        trades_parquet=tmp_path / "t.parquet",
    )
    err = FakeTty()
    result, stats = run_command(cfg, options, out=io.StringIO(), err=err)
    assert "bars/s" in err.getvalue()
    assert err.getvalue().endswith("\r")  # the bar is cleared at the end
    assert {row["symbol"] for row in stats.by_symbol} == {"EURUSD", "GBPUSD"}
    assert {t.symbol for t in result.trades} == {"EURUSD", "GBPUSD"}
    assert "GBPUSD: open prices only (H1" in result.modelling
    assert pl.read_parquet(tmp_path / "t.parquet").height == len(result.trades)


@pytest.mark.parametrize("option", ["--trades-csv", "--trades-parquet", "--report"])
def test_an_output_that_cannot_be_written_is_one_line_and_exit_2_before_the_run(
    tmp_path: Path, option: str
) -> None:
    result = runner.invoke(
        app, ["backtest", "--config", str(CONFIG), "--bars", "50", option, str(tmp_path), "--quiet"]
    )
    assert result.exit_code == 2, result.output
    assert f"{option}: {tmp_path} is a directory" in result.output
    assert "Traceback" not in result.output
    assert "backtest:" not in result.output  # refused before the run, not after it


@pytest.mark.timeout(120)
def test_the_pipeline_ends_at_the_end_of_a_history_file_as_the_fast_engine_does(
    tmp_path: Path,
) -> None:
    """Without --bars/--to the pipeline counts the bars that close (the file's last never does):
    counting the last one too, it waited for ever."""
    h1_export(tmp_path / "EURUSD_H1.csv", count=90)
    runs = {}
    for engine in ("fast", "pipeline"):
        options = BacktestOptions(
            config_dir=CONFIG.parent,
            history=[f"EURUSD={tmp_path / 'EURUSD_H1.csv'}"],
            engine=engine,
            quiet=True,
        )
        runs[engine], _ = run_command(sma_config(), options, out=io.StringIO(), err=io.StringIO())
    assert runs["pipeline"].bars == runs["fast"].bars == 48  # bars 42 … 89; the 90th never closes
    assert runs["pipeline"].fingerprint == runs["fast"].fingerprint


def test_a_bad_bar_in_the_file_is_logged_and_left_out_by_both_engines(tmp_path: Path) -> None:
    """A NaN close (line 62 of the file) is rejected with its line, never traded on: the run
    equals the run of the file without that row, and the pipeline ends (its bar budget counts
    the bars the terminal has, not the file's rows)."""
    h1_export(tmp_path / "clean.csv", count=90)
    lines = (tmp_path / "clean.csv").read_bytes().decode("utf-16").split("\r\n")
    fields = lines[61].split("\t")
    fields[5] = "nan"
    dirty = [*lines[:61], "\t".join(fields), *lines[62:]]
    (tmp_path / "dirty.csv").write_bytes("\r\n".join(dirty).encode("utf-16"))
    (tmp_path / "cut.csv").write_bytes("\r\n".join([*lines[:61], *lines[62:]]).encode("utf-16"))
    runs = {}
    logs: dict[tuple[str, str], list[str]] = {}
    logger.enable("trading_engine")
    try:
        for name, engine in (("dirty", "fast"), ("dirty", "pipeline"), ("cut", "fast")):
            options = BacktestOptions(
                config_dir=CONFIG.parent,
                history=[f"EURUSD={tmp_path / f'{name}.csv'}"],
                engine=engine,
                quiet=True,
            )
            lines = logs[name, engine] = []
            sink = logger.add(lines.append, level="WARNING", format="{message}")
            try:
                runs[name, engine], _ = run_command(
                    sma_config(), options, out=io.StringIO(), err=io.StringIO()
                )
            finally:
                logger.remove(sink)
    finally:
        logger.disable("trading_engine")
    rejected = "dirty.csv: 1 bad row rejected, never traded on: line 62: price not a positive"
    for key in (("dirty", "fast"), ("dirty", "pipeline")):
        assert any(rejected in line for line in logs[key])
    assert not any("bad row" in line for line in logs["cut", "fast"])
    assert runs["dirty", "fast"].bars == runs["cut", "fast"].bars == 47
    fingerprints = {run.fingerprint for run in runs.values()}
    assert len(fingerprints) == 1


def test_quiet_prints_the_run_s_summary_only(tmp_path: Path) -> None:
    """``--quiet`` (scripts, loops): the ``backtest:`` block with the fingerprint, nothing else
    on stdout, nothing on stderr; the files asked for are still written. Without it: the
    statistics, the tables and the "written" lines too."""
    h1_export(tmp_path / "EURUSD_H1.csv", count=120)
    cli = ["backtest", "--config", str(CONFIG), "--history", str(tmp_path / "EURUSD_H1.csv")]
    cli += [
        "--set",
        "trading.timeframes=[H1]",
        "--set",
        "services.indicator_calculation.warmup_bars=30",
    ]
    csv = tmp_path / "t.csv"
    quiet = runner.invoke(app, [*cli, "--quiet", "--trades-csv", str(csv)])
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""
    lines = quiet.stdout.splitlines()
    assert lines[0] == "backtest:"
    assert all(line.startswith("  ") and ": " in line for line in lines[1:])
    assert re.fullmatch(r"  fingerprint: [0-9a-f]{64}", lines[-1])
    assert "statistics:" not in quiet.stdout
    assert "Sharpe Ratio" not in quiet.stdout
    assert "written" not in quiet.stdout
    assert "symbol" in pl.read_csv(csv).columns  # written all the same
    full = runner.invoke(app, [*cli, "--trades-csv", str(csv)])
    assert full.exit_code == 0, full.output
    assert full.stdout.startswith("backtest:\n")  # the same summary, then the statistics
    assert f"{lines[-1]}\nstatistics:\n" in full.stdout
    assert "statistics:" in full.stdout
    assert "Sharpe Ratio" in full.stdout
    assert f"trades written: {csv}" in full.stdout
