"""The period a backtest runs over: ``--from``/``--to`` (server dates) or ``--bars``.

Rules, on history files (generated prices have no end: the period is taken as asked):

- The indicators warm up on the bars before ``--from`` (``services.indicator_calculation.
  warmup_bars`` of them); a ``--from`` earlier than the data allows for that starts later, with
  one warning saying where. A ``--from`` at or after the end of the data is an error.
- ``--to`` is inclusive (the run ends at the close of the last bar of that date); a ``--to``
  beyond the data is trimmed to the data's end, with one warning.
- Without ``--to`` or ``--bars`` the run ends at the end of the data. ``--bars N`` asking for
  more bars than the data holds after the start ends at the end of the data, with one warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np

from trading_engine.config import SystemConfig
from trading_engine.errors import ConfigError
from trading_engine.terminal.factory import HistorySpan, read_spans, server_time_of
from trading_engine.timeframes import fixed_seconds

__all__ = ["DEFAULT_GENERATED_BARS", "Period", "plan_period"]

DEFAULT_GENERATED_BARS = 10_000
"""Bars replayed on generated prices when neither ``--bars`` nor ``--to`` is given."""

_DAY = 86_400


@dataclass(frozen=True, slots=True)
class Period:
    """What to pass to ``run_backtest``: start and end (UTC), a bar budget, and the warnings."""

    start: datetime | None
    end: datetime | None
    bars: int | None
    warnings: list[str] = field(default_factory=list)
    held: int | None = None
    """Bars of every stream that close from start to end (history only): the pipeline's
    budget."""


def _stamp(server_seconds: int) -> str:
    return f"{datetime.fromtimestamp(server_seconds, tz=UTC):%Y-%m-%d %H:%M}"


def _step(span: HistorySpan) -> int:
    seconds = fixed_seconds(span.timeframe)
    if seconds is not None:
        return seconds
    return int(np.median(np.diff(span.times))) if span.times.size > 1 else 31 * _DAY


def _bars_after(span: HistorySpan, timeframes: list[int], start: int, end: int) -> int:
    """Bars of every configured timeframe of ``span`` closing in ``(start, end]``."""
    from trading_engine.mt5sim.market.bars import bar_open_times

    times = span.times[span.times + _step(span) > start]
    total = 0
    for tf in timeframes:
        opens = np.unique(bar_open_times(tf, times))
        seconds = fixed_seconds(tf) or 31 * _DAY
        total += int(np.count_nonzero((opens + seconds > start) & (opens + seconds <= end)))
    return total


def plan_period(
    config: SystemConfig,
    *,
    start: date | None = None,
    end: date | None = None,
    bars: int | None = None,
) -> Period:
    """The period of a backtest of ``config`` (module docstring); dates are server dates."""
    if start is not None and end is not None and end < start:
        raise ConfigError(f"--to {end} is before --from {start}", key="--to")
    st = server_time_of(config.terminal)

    def utc(server_seconds: int) -> datetime:
        return datetime.fromtimestamp(st.to_utc(server_seconds), tz=UTC)

    start_srv = _server_midnight(start) if start is not None else None
    end_srv = _server_midnight(end) + _DAY if end is not None else None
    trading = config.trading
    spans = read_spans(config.terminal, trading.symbols, trading.timeframes)
    if not spans:
        start_utc = None if start_srv is None else utc(start_srv)
        budget = bars if bars is not None or end_srv is not None else DEFAULT_GENERATED_BARS
        return Period(start_utc, utc(end_srv) if end_srv is not None else None, budget)
    for span in spans:
        if span.times.size < 2:
            n = int(span.times.size)
            raise ConfigError(
                f"{span.path}:{n + 1}: only {n} bar{'' if n == 1 else 's'}: a backtest needs "
                "at least 2 (the first warms the indicators up)"
            )
    warm = config.services.indicator_calculation.warmup_bars
    earliest = max(
        int(s.times[min(warm, s.times.size - 2)]) + _step(s) for s in spans if s.times.size > 1
    )
    data_end = min(int(s.times[-1]) + _step(s) for s in spans)
    warnings: list[str] = []
    if start_srv is None:
        first = earliest
    elif start_srv >= data_end:
        raise ConfigError(
            f"--from {start} is after the end of the history (last bar closes {_stamp(data_end)})",
            key="--from",
        )
    elif start_srv < earliest:
        first = earliest
        warnings.append(
            f"--from {start}: the history allows the {warm}-bar warm-up only up to "
            f"{_stamp(earliest)}; the run starts there"
        )
    else:
        first = start_srv
    last = data_end
    if end_srv is not None:
        if end_srv > data_end:
            warnings.append(
                f"--to {end}: the history ends at {_stamp(data_end)}; the run ends there"
            )
        else:
            last = end_srv
    if end_srv is not None and last <= first:
        raise ConfigError(
            f"--to {end} is before the first bar the run can trade (the {warm}-bar warm-up "
            f"ends at {_stamp(first)})",
            key="--to",
        )
    budget = bars
    each = [_bars_after(s, config.trading.timeframes, first, last) for s in spans]
    # MT5 closes a bar with the next one's first tick: the file's last bar never closes.
    if all(n <= (1 if last == data_end else 0) for n in each):
        raise _nothing_to_trade(spans[0], warm, clamped=start_srv is None or first != start_srv)
    # The bars that close in the run: a bars file's last bar, closing at the end of its data,
    # never does (the pipeline counts bars: counting that one, it would wait for ever).
    held = sum(
        _bars_after(s, config.trading.timeframes, first, last - 1)
        if s.kind == "bars" and last == data_end and int(s.times[-1]) + _step(s) == data_end
        else n
        for s, n in zip(spans, each, strict=True)
    )
    if bars is not None and bars > held:
        warnings.append(
            f"--bars {bars}: the history holds {held} bars from {_stamp(first)}; "
            "the run ends at the end of the data"
        )
        budget = None
    if budget is None:
        return Period(utc(first), utc(last), None, warnings, held)
    end_utc = utc(last) if end_srv is not None else None
    return Period(utc(first), end_utc, budget, warnings, held)


def _nothing_to_trade(span: HistorySpan, warm: int, *, clamped: bool) -> ConfigError:
    if not clamped:
        return ConfigError("no bar of the history closes between --from and --to", key="--from")
    n = int(span.times.size)
    return ConfigError(
        f"{span.path}:{n + 1}: {n} bars leave none to trade after the warm-up "
        f"(services.indicator_calculation.warmup_bars: {warm}; the last bar, with no tick "
        "after it, never closes)"
    )


def _server_midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
