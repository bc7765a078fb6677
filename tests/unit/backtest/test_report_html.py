"""The HTML report opened in a real headless Chromium: no console error, every chart drawn."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from trading_engine.backtest.report_html import (
    indicator_series,
    monthly_returns,
    resample_ohlc,
    write_html_report,
)
from trading_engine.backtest.result import BacktestResult
from trading_engine.backtest.stats import compute_stats
from trading_engine.backtest.trades_export import write_trades
from trading_engine.indicators.config import IndicatorSetConfig, IndicatorSpec
from trading_engine.mt5sim.spec.dtypes import RATES_DTYPE


def bars_of(result: BacktestResult, symbol: str) -> np.ndarray:
    closes = result.closes[symbol]
    bars = np.zeros(closes.size, dtype=RATES_DTYPE)
    bars["time"] = result.equity["time"]
    bars["close"] = closes
    bars["open"] = np.r_[closes[0], closes[:-1]]
    bars["high"] = np.maximum(bars["open"], closes) + 0.0002
    bars["low"] = np.minimum(bars["open"], closes) - 0.0002
    bars["tick_volume"] = 100
    return bars


def test_report_opens_in_chromium_with_every_chart_drawn(
    make_result: Any, browser: Any, open_report: Any, tmp_path: Path
) -> None:
    result = make_result(seed=11, n=800, n_trades=12)
    result.disabled_strategies.append(("rsi", int(result.equity["time"][500]), "ZeroDivisionError"))
    stats = compute_stats(result)
    bars = bars_of(result, "EURUSD")
    config = IndicatorSetConfig(
        indicators=(
            IndicatorSpec(kind="sma", params={"timeperiod": 20}, name="sma_fast"),
            IndicatorSpec(kind="rsi", params={"timeperiod": 14}),
        )
    )
    series = indicator_series(config, bars)
    path = tmp_path / "report.html"
    write_html_report(result, stats, path, bars={"EURUSD": bars}, indicators={"EURUSD": series})

    charts, errors = open_report(path)
    assert errors == []
    assert [c["title"].split(" ")[0] for c in charts] == ["EURUSD", "Equity", "P&L", "Monthly"]
    for chart in charts:
        assert chart["traces"] > 0
        assert chart["empty"] == 0
        assert chart["paths"] > 0 or chart["heat"] == 1
    price = charts[0]
    assert price["traces"] == 1 + 2 + 2 + 1 + 2  # candles, sma+rsi, buy/sell, exits, SL+TP
    assert price["points"] >= 2 * len(result.trades)  # an entry and an exit marker per trade
    text = browser.find_element("tag name", "body").text
    assert "Sharpe Ratio" in text
    assert "rsi at" in text
    assert "ZeroDivisionError" in text
    assert result.fingerprint in text


def test_a_long_run_is_resampled(make_result: Any, tmp_path: Path) -> None:
    result = make_result(seed=12, n=200_000, n_trades=30)
    bars = bars_of(result, "EURUSD")
    shown, k = resample_ohlc(bars, 4_000)
    assert shown.size <= 4_000
    assert k == 50
    assert shown["high"][1] == bars["high"][50:100].max()
    assert shown["low"][1] == bars["low"][50:100].min()
    assert shown["close"][1] == bars["close"][99]
    assert shown["open"][1] == bars["open"][50]
    started = time.perf_counter()
    path = tmp_path / "big.html"
    write_html_report(result, compute_stats(result), path, bars={"EURUSD": bars})
    assert time.perf_counter() - started < 20
    assert path.stat().st_size < 8_000_000  # plotly.js (4.8 MB) + a few thousand points


def test_monthly_returns_chain(make_result: Any) -> None:
    result = make_result(seed=13, step=86_400, n=120, weekends=True)
    years, grid = monthly_returns(result)
    assert years == [2024]
    equity = result.equity["equity"]
    months = result.equity["time"].astype("datetime64[s]").astype("datetime64[M]")
    jan_end = equity[months == months[0]][-1]
    assert grid[0][0] == pytest.approx((jan_end / equity[0] - 1) * 100)
    compounded = np.prod([1 + v / 100 for v in grid[0] if v is not None])
    assert compounded == pytest.approx(equity[-1] / equity[0])


def test_trades_csv_and_parquet_state_the_time_zone(make_result: Any, tmp_path: Path) -> None:
    result = make_result(seed=14, n=300, n_trades=5)
    write_trades(result, tmp_path / "t.csv", lambda s: s - 7200)  # a UTC+2 server
    write_trades(result, tmp_path / "t.parquet", lambda s: s - 7200)
    csv = pl.read_csv(tmp_path / "t.csv")
    first = min(result.trades, key=lambda t: t.close_time)
    assert csv.height == 5
    row = csv.row(0, named=True)
    assert row["open_time"].endswith("+02:00")
    assert row["open_time_utc"].endswith("+00:00")
    stamp = np.datetime64(row["open_time"][:19])
    assert int(stamp.astype("datetime64[s]").astype(np.int64)) == first.open_time
    parquet = pl.read_parquet(tmp_path / "t.parquet")
    assert str(parquet.schema["open_time_utc"]) == "Datetime(time_unit='us', time_zone='UTC')"
    assert parquet["net"].sum() == pytest.approx(
        sum(t.profit + t.commission + t.swap for t in result.trades)
    )
