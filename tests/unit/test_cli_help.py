"""``-h`` everywhere, ``check-config`` taking the configuration as ``run`` does, unknown symbols."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from trading_engine.cli import app

CONFIG = Path(__file__).parents[2] / "configs" / "eurusd.yaml"
runner = CliRunner()


def test_dash_h_works_for_every_command() -> None:
    for args in ([], ["run"], ["backtest"], ["check-config"], ["init-config"]):
        result = runner.invoke(app, [*args, "-h"])
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.output


def test_check_config_takes_the_file_as_run_does() -> None:
    for args in ([str(CONFIG)], ["--config", str(CONFIG)], ["-c", str(CONFIG)]):
        result = runner.invoke(app, ["check-config", *args])
        assert result.exit_code == 0, result.output
        assert "valid (EURUSD" in result.output
    both = runner.invoke(app, ["check-config", str(CONFIG), "--config", str(CONFIG)])
    assert both.exit_code == 2


def test_an_unknown_symbol_is_named() -> None:
    result = runner.invoke(
        app,
        ["backtest", "--config", str(CONFIG), "--bars", "10", "--set", "trading.symbols=[FOOBAR]"],
    )
    assert result.exit_code == 2
    assert "unknown symbol 'FOOBAR'" in result.output
    assert "EURUSD" in result.output
