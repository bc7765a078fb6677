"""The search's statistics are the backtest report's (``backtest.stats``): a trial's, and the
walk-forward's joined out-of-sample summary (it had its own Sharpe and annualised return)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tests.unit.backtest.conftest import build_result

from trading_engine.backtest.stats import compute_stats
from trading_engine.optimize.engine import numeric, outcome_of
from trading_engine.optimize.walkforward import joined_stats


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_joined_curve_that_is_one_backtest_reports_that_backtest_s_figures(seed: int) -> None:
    """One fold: the joined out-of-sample curve is the fold's backtest's curve, so every figure
    of the joined summary is the one the backtest's report prints."""
    result = build_result(seed=seed, n=2000, n_trades=60, drift=0.0004 * (seed - 2))
    report = numeric(compute_stats(result))
    times, equity, joined = joined_stats([outcome_of(result)], result.initial_balance)
    assert np.array_equal(equity, result.equity["equity"])
    assert np.array_equal(times, result.equity["time"])
    assert math.isfinite(joined["Sharpe Ratio"])
    assert joined["Sharpe Ratio"] == pytest.approx(report["Sharpe Ratio"], rel=1e-12)
    assert joined["Return (Ann.) [%]"] == pytest.approx(report["Return (Ann.) [%]"], rel=1e-12)
    for key, value in joined.items():  # the rest too: one definition of each
        assert value == pytest.approx(report[key], rel=1e-12, nan_ok=True), key
    assert {"Sortino Ratio", "Calmar Ratio", "Profit Factor", "SQN", "# Trades"} <= set(joined)


def test_a_trial_is_judged_by_its_report_s_figures() -> None:
    result = build_result(seed=4, n=1500, n_trades=40)
    outcome = outcome_of(result)
    assert outcome.stats == numeric(compute_stats(result))
    assert outcome.pnl == [t.net for t in result.trades]
    assert len(outcome.returns) == len(result.trades)


def test_two_folds_join_compounded_with_the_report_s_definitions() -> None:
    """Two out-of-sample runs, each from the initial balance: the second is scaled to start
    where the first ended; the summary is the report's figures of that joined curve."""
    first, second = build_result(seed=5, n=800), build_result(seed=6, n=800)
    second.equity["time"] += int(first.equity["time"][-1] - second.equity["time"][0]) + 3600
    second.equity["equity"] *= 10_000.0 / float(second.equity["equity"][0])
    times, equity, joined = joined_stats(
        [outcome_of(first), outcome_of(second)], first.initial_balance
    )
    level = float(first.equity["equity"][-1])
    assert equity[800] == pytest.approx(level)
    assert equity[-1] == pytest.approx(level * float(second.equity["equity"][-1]) / 10_000.0)
    assert joined["# Trades"] == len(first.trades) + len(second.trades)
    assert joined["Return [%]"] == pytest.approx((equity[-1] / 10_000.0 - 1) * 100)
    assert np.all(np.diff(times) > 0)
