"""Our statistics against backtesting.py's own ``compute_stats`` on the same equity and trades."""

from __future__ import annotations

import math
import warnings
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from backtesting._stats import compute_stats as reference_stats

from trading_engine.backtest.result import BacktestResult
from trading_engine.backtest.stats import compute_stats

SHARED = [
    "Start", "End", "Duration", "Exposure Time [%]", "Equity Final [$]", "Equity Peak [$]",
    "Return [%]", "Buy & Hold Return [%]", "Return (Ann.) [%]", "Volatility (Ann.) [%]",
    "CAGR [%]", "Sharpe Ratio", "Sortino Ratio", "Calmar Ratio", "Alpha [%]", "Beta",
    "Max. Drawdown [%]", "Avg. Drawdown [%]", "Max. Drawdown Duration", "Avg. Drawdown Duration",
    "# Trades", "Win Rate [%]", "Best Trade [%]", "Worst Trade [%]", "Avg. Trade [%]",
    "Max. Trade Duration", "Avg. Trade Duration", "Profit Factor", "Expectancy [%]", "SQN",
    "Kelly Criterion",
]  # fmt: skip


def reference(result: BacktestResult) -> pd.Series:
    """backtesting.py's statistics of ``result``, its inputs built here independently."""
    times = result.equity["time"]
    index = pd.DatetimeIndex(times.astype("datetime64[s]"))
    row_of = {int(t): i for i, t in enumerate(times)}
    closes = next(iter(result.closes.values()))
    rows = []
    for t in result.trades:
        sign = 1 if t.side == "buy" else -1
        net = t.profit + t.commission + t.swap
        gross = sign * (t.close_price / t.open_price - 1)
        rows.append(
            {
                "Size": sign * t.volume,
                "EntryBar": row_of[t.open_time],
                "ExitBar": row_of[t.close_time],
                "PnL": net,
                "ReturnPct": gross * net / t.profit if t.profit else gross,
                "EntryTime": index[row_of[t.open_time]],
                "ExitTime": index[row_of[t.close_time]],
            }
        )
    columns = ["Size", "EntryBar", "ExitBar", "PnL", "ReturnPct", "EntryTime", "ExitTime"]
    trades = pd.DataFrame(rows, columns=columns)
    trades["Duration"] = trades["ExitTime"] - trades["EntryTime"]
    ohlc = pd.DataFrame({"Close": closes}, index=index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return reference_stats(trades, np.asarray(result.equity["equity"]), ohlc, None, 0)


def same(ours: Any, theirs: Any) -> bool:
    if isinstance(theirs, pd.Timestamp):
        return isinstance(ours, datetime) and theirs.to_pydatetime() == ours
    if isinstance(theirs, pd.Timedelta) or theirs is pd.NaT:
        if theirs is pd.NaT:
            return ours is None
        return isinstance(ours, timedelta) and theirs.to_pytimedelta() == ours
    if theirs is None or (isinstance(theirs, float) and math.isnan(theirs)):
        return ours is None or (isinstance(ours, float) and math.isnan(ours))
    return bool(np.isclose(float(ours), float(theirs), rtol=1e-9, atol=1e-12))


@pytest.mark.parametrize(
    "options",
    [
        {"seed": 1},  # H1 without weekends: 252 trading days
        {"seed": 2, "drift": 0.0004, "n_trades": 15},
        {"seed": 3, "step": 86_400, "n": 400, "weekends": True},  # D1 with weekends: 365
        {"seed": 4, "drift": -0.0003, "n": 300, "n_trades": 0},
        {"seed": 5, "n": 200, "n_trades": 1},
    ],
)
def test_statistics_agree_with_backtesting_py(make_result: Any, options: dict[str, Any]) -> None:
    result = make_result(**options)
    ours = compute_stats(result)
    theirs = reference(result)
    wrong = {key: (ours[key], theirs[key]) for key in SHARED if not same(ours[key], theirs[key])}
    assert not wrong
    order = [*SHARED[:6], "Commissions [$]", "Swaps [$]", *SHARED[6:]]
    assert list(ours)[: len(order)] == order


def test_tables_and_costs(make_result: Any) -> None:
    result = make_result(seed=7, symbols=("EURUSD", "GBPUSD"))
    stats = compute_stats(result)
    assert stats["Commissions [$]"] == pytest.approx(sum(t.commission for t in result.trades))
    assert stats["Swaps [$]"] == pytest.approx(sum(t.swap for t in result.trades))
    assert stats["Rejections"] == 3
    assert stats["Risk Refusals"] == 4
    assert stats["Fingerprint"] == result.fingerprint
    assert [row["symbol"] for row in stats.by_symbol] == ["EURUSD", "GBPUSD"]
    assert sum(row["# Trades"] for row in stats.by_symbol) == len(result.trades)  # type: ignore[misc]
    assert {row["strategy"] for row in stats.by_strategy} == {"ema_cross", "rsi"}
    net = sum(t.profit + t.commission + t.swap for t in result.trades)
    assert sum(row["Net P&L"] for row in stats.exits) == pytest.approx(net)  # type: ignore[misc]
    assert {row["reason"] for row in stats.exits} == {"signal", "sl", "tp", "end"}
    text = "\n".join(stats.lines())
    assert "Sharpe Ratio" in text
    assert "TRADE_RETCODE_NO_MONEY: 1" in text
    assert "max_positions: 4" in text
    assert "per strategy:" in text


def test_the_tables_profit_factor_is_the_statistics_one(make_result: Any) -> None:
    """One symbol: its row's Profit Factor is the headline's, not a second definition."""
    result = make_result(seed=7)
    stats = compute_stats(result)
    (row,) = stats.by_symbol
    assert row["Profit Factor"] == pytest.approx(stats["Profit Factor"])
    assert row["Avg. Trade [%]"] == pytest.approx(stats["Avg. Trade [%]"])
