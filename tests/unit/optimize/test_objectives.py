"""Objectives: aliases, directions, the drawdown-penalised profit, the trade minimum."""

from __future__ import annotations

import math

import pytest

from trading_engine.errors import ConfigError
from trading_engine.optimize.objectives import TooFewTrades, check_trades, parse_objective

STATS = {
    "Sharpe Ratio": 1.2,
    "Return [%]": 10.0,
    "Max. Drawdown [%]": -4.0,
    "# Trades": 12.0,
}


def test_aliases_and_exact_names() -> None:
    assert parse_objective("sharpe").value(STATS) == 1.2
    assert parse_objective("Return [%]").value(STATS) == 10.0
    assert parse_objective("SHARPE").stat == "Sharpe Ratio"


def test_direction_prefix() -> None:
    assert parse_objective("sharpe").direction == "maximize"
    objective = parse_objective("min:# Trades")
    assert objective.direction == "minimize"
    assert objective.stat == "# Trades"


def test_profit_with_drawdown_penalty() -> None:
    assert parse_objective("profit_dd").value(STATS) == 10.0 - 4.0
    assert parse_objective("profit_dd", penalty=2.0).value(STATS) == 10.0 - 8.0


def test_unknown_statistic_against_known_names() -> None:
    with pytest.raises(ConfigError, match="objective: unknown statistic 'Shrpe'"):
        parse_objective("Shrpe", known=frozenset(STATS))
    with pytest.raises(KeyError, match="no statistic"):
        parse_objective("Shrpe").value(STATS)


def test_undefined_value_is_nan() -> None:
    assert math.isnan(parse_objective("sharpe").value({**STATS, "Sharpe Ratio": math.nan}))


def test_minimum_trade_count() -> None:
    check_trades(STATS, 12)
    with pytest.raises(TooFewTrades, match="12 trades, fewer than the minimum 13"):
        check_trades(STATS, 13)
