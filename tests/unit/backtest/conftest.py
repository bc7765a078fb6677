"""A synthetic ``BacktestResult`` builder: H1 or D1 rows, a random equity walk, random trades."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from trading_engine.backtest.result import EQUITY_DTYPE, BacktestResult, ClosedTrade

START = 1_704_067_200  # 2024-01-01 00:00 (a Monday), server time

ResultFactory = Callable[..., BacktestResult]


def sma_cross(fast: int, slow: int, atr: int) -> dict[str, Any]:
    """Config overrides: ``ema_cross`` on an SMA(``fast``)/SMA(``slow``) cross, no regime."""
    sma = [("sma_fast", "sma", fast), ("sma_slow", "sma", slow), ("atr", "atr", atr)]
    return {
        "indicators": {
            "indicators": [
                {"kind": kind, "params": {"timeperiod": n}, "name": name} for name, kind, n in sma
            ],
            "regime": None,
        },
        "strategies": [
            {
                "name": "sma_cross",
                "class_path": "ema_cross",
                "params": {
                    "fast_value": "sma_fast",
                    "slow_value": "sma_slow",
                    "regime_filter": False,
                },
            }
        ],
        "logging.level": "ERROR",
    }


def bar_times(step: int, n: int, *, weekends: bool) -> np.ndarray:
    times = START + step * np.arange(n * 2, dtype=np.int64)
    if not weekends:
        weekday = (times // 86_400 + 3) % 7
        times = times[weekday < 5]
    return times[:n]


def build_result(
    *,
    seed: int = 1,
    step: int = 3600,
    n: int = 1500,
    n_trades: int = 40,
    weekends: bool = False,
    drift: float = 0.0,
    symbols: tuple[str, ...] = ("EURUSD",),
) -> BacktestResult:
    rng = np.random.default_rng(seed)
    times = bar_times(step, n, weekends=weekends)
    equity = np.empty(n, dtype=EQUITY_DTYPE)
    equity["time"] = times
    walk = 10_000 * np.exp(np.cumsum(rng.normal(drift, 0.002, n)))
    walk[0] = 10_000.0
    equity["equity"] = walk
    equity["balance"] = walk.round(0)
    closes = {s: 1.1 * np.exp(np.cumsum(rng.normal(0, 0.001, n))) for s in symbols}
    trades: list[ClosedTrade] = []
    for k in range(n_trades):
        a = int(rng.integers(0, n - 2))
        b = int(rng.integers(a + 1, min(n, a + 60)))
        symbol = symbols[k % len(symbols)]
        side = "buy" if rng.random() < 0.5 else "sell"
        o, c = float(closes[symbol][a]), float(closes[symbol][b])
        volume = 0.1 * (1 + k % 3)
        sign = 1 if side == "buy" else -1
        profit = round(sign * (c - o) * volume * 100_000, 2)
        trades.append(
            ClosedTrade(
                symbol=symbol,
                strategy=("ema_cross", "rsi")[k % 2],
                side=side,
                volume=volume,
                open_time=int(times[a]),
                close_time=int(times[b]),
                open_price=o,
                close_price=c,
                sl=o - 0.002 * sign,
                tp=o + 0.004 * sign,
                close_reason=("signal", "sl", "tp", "signal", "end")[k % 5],
                profit=profit,
                commission=-0.7 * volume * 10,
                swap=round(-0.3 * (b - a) / 24, 2),
            )
        )
    trades.sort(key=lambda t: t.close_time)
    return BacktestResult(
        trades=trades,
        equity=equity,
        counts={"orders": 2 * n_trades, "fills": 2 * n_trades, "rejections": 3},
        rejections={"TRADE_RETCODE_MARKET_CLOSED": 2, "TRADE_RETCODE_NO_MONEY": 1},
        risk_refusals={"max_positions": 4},
        risk_events=[(int(times[10]), "halted", "daily loss limit")],
        disabled_strategies=[],
        initial_balance=10_000.0,
        currency="USD",
        symbols=list(symbols),
        timeframe="H1" if step == 3600 else "D1",
        modelling="EURUSD: open prices only (H1 bars, OHLC path inside)",
        start=int(times[0]),
        end=int(times[-1]),
        warmup_bars=50,
        bars=n,
        elapsed=0.5,
        engine="fast",
        fingerprint="ab" * 32,
        closes=closes,
    )


@pytest.fixture
def make_result() -> ResultFactory:
    return build_result


CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    assert binary, "Chromium missing: make test installs chromium and chromium-driver"
    assert driver_path, "chromedriver missing: make test installs chromium-driver"
    options = webdriver.ChromeOptions()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.binary_location = binary
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        yield driver
    finally:
        driver.quit()


DRAWN = """
return Array.from(document.querySelectorAll('.plotly-graph-div')).map(gd => ({
  title: (gd.layout && gd.layout.title && (gd.layout.title.text || gd.layout.title)) || '',
  traces: gd.data.length,
  empty: gd.data.filter(t => !((t.x && t.x.length) || (t.z && t.z.length))).length,
  paths: Array.from(gd.querySelectorAll('.cartesianlayer path'))
           .filter(p => (p.getAttribute('d') || '').length > 10).length,
  points: gd.querySelectorAll('.cartesianlayer .point').length,
  heat: gd.querySelectorAll('.hm image').length,
}));
"""


@pytest.fixture
def open_report(browser: Any) -> Callable[[Path], tuple[list[dict[str, Any]], list[Any]]]:
    """Open a report page: (what each chart drew, the console's SEVERE entries)."""

    def open_(path: Path) -> tuple[list[dict[str, Any]], list[Any]]:
        browser.get(path.as_uri())
        charts: list[dict[str, Any]] = []
        for _ in range(50):  # Plotly draws on load; allow the page a moment
            charts = browser.execute_script(DRAWN)
            if charts and all(c["paths"] or c["heat"] for c in charts):
                break
            time.sleep(0.1)
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        return charts, errors

    return open_
