"""The backtest's progress bar on a terminal: bars, simulated date, bars per second, time left.

One line redrawn in place (carriage return) at most ``1 / interval`` times a second, cleared when
done; used only when the stream is a TTY and the run is not ``--quiet``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

__all__ = ["ProgressBar", "render"]


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def render(done: int, total: int, server_time: int, elapsed: float, width: int = 24) -> str:
    """One progress line: ``[####----]  40% 4,000/10,000 bars  2024-03-05 14:00  8,000 bars/s
    ETA 0:01``."""
    fraction = min(1.0, done / total) if total > 0 else 0.0
    filled = round(fraction * width)
    rate = done / elapsed if elapsed > 0 else 0.0
    left = (total - done) / rate if rate > 0 else float("nan")
    eta = _clock(left) if left == left else "--:--"
    date = f"{datetime.fromtimestamp(server_time, tz=UTC):%Y-%m-%d %H:%M}"
    return (
        f"[{'#' * filled}{'-' * (width - filled)}] {fraction:4.0%} {done:,}/{total:,} bars  "
        f"{date}  {rate:,.0f} bars/s  ETA {eta}"
    )


class ProgressBar:
    """Redraws :func:`render`'s line on ``stream`` as :meth:`update` is called."""

    def __init__(
        self,
        stream: TextIO,
        *,
        interval: float = 0.1,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.stream = stream
        self.interval = interval
        self.clock = clock
        self.started = clock()
        self._last = -float("inf")
        self._width = 0
        self.drawn = 0

    def update(self, done: int, total: int, server_time: int) -> None:
        """Show ``done`` of ``total`` bars at simulated server time ``server_time``."""
        now = self.clock()
        if now - self._last < self.interval and done < total:
            return
        self._last = now
        line = render(done, total, server_time, now - self.started)
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = len(line)
        self.drawn += 1

    def close(self) -> None:
        """Clear the line."""
        if self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0
