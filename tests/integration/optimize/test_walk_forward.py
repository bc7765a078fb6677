"""Walk-forward on a generated history: folds, windows actually run, the report's contents."""

from __future__ import annotations

import json
import math
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.integration.optimize.conftest import make_config

from trading_engine.optimize.engine import TrialOutcome, Window
from trading_engine.optimize.history import base_bars, load_bars
from trading_engine.optimize.runner import OptimizeRequest
from trading_engine.optimize.walkforward import WalkForwardReport, walk_forward
from trading_engine.optimize.wf_report import report_json, report_lines, write_report_html
from trading_engine.optimize.workers import Job, SerialBackend, TrialResult
from trading_engine.optimize_config import WalkForwardConfig


class Recording:
    """A serial backend that records every window it is asked to run, and when."""

    def __init__(self, job: Job) -> None:
        self.inner = SerialBackend(job)
        self.workers = 1
        self.job = job
        self.windows: list[Window] = []
        self.ran: list[tuple[int, int]] = []  # (first, last) equity time the engine produced

    def submit(self, params: dict[str, Any], window: Window | None) -> Future[TrialResult]:
        assert window is not None
        self.windows.append(window)
        future = self.inner.submit(params, window)
        result = future.result()
        assert isinstance(result, TrialOutcome), result
        self.ran.append((int(result.times[0]), int(result.times[-1])))
        return future

    def close(self, *, cancel: bool = False) -> None:
        return None


WF = WalkForwardConfig(in_sample=300, out_of_sample=100, holdout=100)


@pytest.fixture(scope="module")
def analysis(
    history_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[WalkForwardReport, Recording, np.ndarray[Any, Any]]:
    out = tmp_path_factory.mktemp("wf")
    request = OptimizeRequest(
        make_config(),
        None,
        out,
        history=history_file,
        bars=10**9,
        start=datetime(2024, 1, 11, 6, tzinfo=UTC),
        end=datetime(2024, 1, 11, 17, 40, tzinfo=UTC),  # 700 bars: 3 folds, then the hold-out
        params=["ema_cross.fast=5:10:5"],
        objectives=["return"],
        sampler="grid",
    )
    recorded: list[Recording] = []

    def factory(job: Job) -> Recording:
        recorded.append(Recording(job))
        return recorded[0]

    report = walk_forward(request, WF, backend_factory=factory)
    assert recorded[0].job.bars_file is not None
    times, _ = base_bars(load_bars(recorded[0].job.bars_file), 60)
    return report, recorded[0], times


def test_folds_cover_the_range_without_out_of_sample_overlap(
    analysis: tuple[WalkForwardReport, Recording, np.ndarray[Any, Any]],
) -> None:
    report, _, _ = analysis
    assert len(report.folds) == 3
    for a, b in zip(report.folds, report.folds[1:], strict=False):
        assert b.oos_window.start == a.oos_window.start + 100 * 60  # back to back, no overlap
    assert report.holdout is not None
    assert report.holdout.oos_window.start == report.folds[-1].oos_window.start + 100 * 60
    assert report.holdout.oos_window.bars == 100


def test_no_out_of_sample_bar_is_seen_in_sample(
    analysis: tuple[WalkForwardReport, Recording, np.ndarray[Any, Any]],
) -> None:
    report, backend, times = analysis

    def span(w: Window) -> tuple[int, int]:
        i = int(np.searchsorted(times, w.start))
        assert times[i] == w.start
        return i, i + w.bars

    holdout = span(report.holdout.oos_window) if report.holdout else (10**12, 10**12)
    windows = list(backend.windows)
    # per fold: 2 in-sample trials, then the out-of-sample run; the hold-out last
    assert len(windows) == 3 * 3 + 1
    for k, fold in enumerate(report.folds):
        searches, oos = windows[3 * k : 3 * k + 2], windows[3 * k + 2]
        assert oos == fold.oos_window
        oos_lo, oos_hi = span(oos)
        for w in searches:
            _lo, hi = span(w)
            assert w == fold.is_window
            assert hi <= oos_lo  # the search ends where its out-of-sample window begins
            assert hi <= holdout[0]  # and never reaches the hold-out
            for later in report.folds[k:]:  # nor any later out-of-sample window
                assert hi <= span(later.oos_window)[0]
        assert oos_hi <= holdout[0]
    assert report.holdout is not None
    assert windows[-1] == report.holdout.oos_window
    # what the engine actually ran: one equity row per bar (stamped with its opening time), the
    # window's bars and no others
    for window, (first, last) in zip(windows, backend.ran, strict=True):
        assert first == window.start
        assert last == window.start + 60 * (window.bars - 1)


def test_report_contents(
    analysis: tuple[WalkForwardReport, Recording, np.ndarray[Any, Any]], tmp_path: Path
) -> None:
    report, _, _ = analysis
    assert report.trials == 3 * 2
    for fold in report.folds:
        assert fold.params["ema_cross.fast"] in (5, 10)
        assert fold.error is None
        assert "Return [%]" in fold.is_stats
        assert "Return [%]" in fold.oos_stats
        assert math.isfinite(fold.oos_buy_hold)
    # the joined curve: out-of-sample bars only, compounded fold after fold
    assert report.times.size == sum(f.oos.times.size for f in report.folds if f.oos is not None)
    first = report.folds[0].oos
    assert first is not None
    assert report.equity[0] == pytest.approx(first.equity[0])
    product = np.prod([f.oos.equity[-1] / f.oos.equity[0] for f in report.folds if f.oos])
    assert report.equity[-1] / report.equity[0] == pytest.approx(product)
    assert set(report.stability) == {"ema_cross.fast"}
    assert len(report.stability["ema_cross.fast"]["values"]) == 3
    lines = report_lines(report)
    assert any(line.startswith("out-of-sample, joined (3 folds)") for line in lines)
    data = json.loads(report_json(report))
    assert len(data["folds"]) == 3
    assert data["holdout"]["params"] == report.folds[-1].params
    page = write_report_html(report, tmp_path / "wf.html").read_text()
    assert "Joined out-of-sample equity" in page
    assert "plotly" in page
