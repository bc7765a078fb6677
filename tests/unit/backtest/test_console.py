"""Terminal presentation: log format and level choice, the exit-7 verdict."""

from __future__ import annotations

from pathlib import Path

from trading_engine.backtest.console import backtest_logging, every_strategy_died
from trading_engine.config import ConfigLoader
from trading_engine.errors import StrategyError

CONFIG = Path(__file__).parents[3] / "configs" / "eurusd.yaml"


def test_text_logs_on_a_tty_json_otherwise_or_when_asked() -> None:
    cfg = ConfigLoader.load(CONFIG)
    assert cfg.logging.format == "json"
    on_tty = backtest_logging(cfg, log_format="auto", tty=True, quiet=False, level=None)
    assert on_tty.logging.format == "text"
    assert on_tty.logging.levels == {"execution": "WARNING"}
    assert on_tty.orchestrator.status_log_interval == 1_000_000
    piped = backtest_logging(cfg, log_format="auto", tty=False, quiet=False, level=None)
    assert piped.logging.format == "json"
    forced = backtest_logging(cfg, log_format="json", tty=True, quiet=False, level="debug")
    assert forced.logging.format == "json"
    assert forced.logging.level == "DEBUG"
    quiet = backtest_logging(cfg, log_format="auto", tty=True, quiet=True, level="DEBUG")
    assert quiet.logging.level == "ERROR"


def test_exit_7_only_when_every_strategy_died() -> None:
    died = [("a", 1_704_103_200, "ZeroDivisionError: division by zero")]
    assert every_strategy_died(["a", "b"], died) is None
    assert every_strategy_died([], died) is None
    error = every_strategy_died(["a"], died)
    assert isinstance(error, StrategyError)
    assert str(error) == (
        "every strategy was disabled for raising: "
        "a at 2024-01-01 10:00:00 (server): ZeroDivisionError: division by zero"
    )
