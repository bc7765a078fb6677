"""The search uses the backtest report's statistics and HTML page (issue 12)."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

from trading_engine.backtest.result import BacktestResult
from trading_engine.config import SystemConfig
from trading_engine.optimize.engine import run_window, write_best_report


def _fake_report(monkeypatch: pytest.MonkeyPatch, calls: list[Any]) -> None:
    stats = types.ModuleType("trading_engine.backtest.stats")
    html = types.ModuleType("trading_engine.backtest.report_html")

    def compute_stats(result: BacktestResult) -> dict[str, Any]:
        assert isinstance(result, BacktestResult)
        return {"Sharpe Ratio": 9.5, "# Trades": len(result.trades), "Start": "text", "Flag": True}

    def write_html_report(result: BacktestResult, s: Any, path: Path, **kwargs: Any) -> None:
        calls.append((result, s, path, kwargs))
        path.write_text("<html>report</html>")

    stats.compute_stats = compute_stats  # type: ignore[attr-defined]
    html.write_html_report = write_html_report  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "trading_engine.backtest.stats", stats)
    monkeypatch.setitem(sys.modules, "trading_engine.backtest.report_html", html)


def test_a_trial_s_statistics_are_its_report_s(config: SystemConfig) -> None:
    """``run_window`` judges a trial by the figures ``backtest`` would print for the same run
    (numbers only), not by a second set of formulas."""
    from trading_engine.backtest import run_backtest
    from trading_engine.backtest.stats import compute_stats

    outcome = run_window(config, history=None, window=None, bars=200)
    report = compute_stats(run_backtest(config, bars=200))
    expected = {
        key: float(value)
        for key, value in report.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    got = dict(outcome.stats)
    assert got.pop("Elapsed [s]") > 0
    del expected["Elapsed [s]"]
    assert got == pytest.approx(expected, nan_ok=True)
    assert "Start" not in outcome.stats  # numbers only
    assert outcome.stats["# Trades"] == len(outcome.pnl) == len(outcome.returns)


def test_best_report_page(
    monkeypatch: pytest.MonkeyPatch, config: SystemConfig, tmp_path: Path
) -> None:
    calls: list[Any] = []
    _fake_report(monkeypatch, calls)
    page = write_best_report(config, history=None, window=None, bars=200, path=tmp_path / "b.html")
    assert page == tmp_path / "b.html"
    assert page.read_text() == "<html>report</html>"
    result, stats, _path, kwargs = calls[0]
    assert result.bars == 200
    assert stats["Sharpe Ratio"] == 9.5
    assert kwargs == {"title": "Best trial"}
