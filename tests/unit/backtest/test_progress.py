"""The progress bar: content, throttling, clearing."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from trading_engine.backtest.progress import ProgressBar, render

T = int(datetime(2024, 3, 5, 14, 0, tzinfo=UTC).timestamp())


def test_render_shows_bars_date_rate_and_time_left() -> None:
    line = render(4_000, 10_000, T, 0.5, width=10)
    assert line == "[####------]  40% 4,000/10,000 bars  2024-03-05 14:00  8,000 bars/s  ETA 0:01"
    assert "ETA --:--" in render(0, 10, T, 0.0)


def test_updates_are_throttled_and_the_line_is_cleared() -> None:
    now = [0.0]
    out = io.StringIO()
    bar = ProgressBar(out, interval=0.1, clock=lambda: now[0])
    for i in range(1, 101):
        now[0] = i * 0.01  # 100 updates over one second
        bar.update(i, 100, T + i * 60)
    assert 9 <= bar.drawn <= 12  # about ten redraws a second, and always the last one
    assert out.getvalue().rstrip().endswith("ETA 0:00")
    bar.close()
    assert out.getvalue().endswith("\r")
