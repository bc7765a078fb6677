"""The period a backtest runs over: ``--from``/``--to`` (server dates) or ``--bars``.

Rules, on history files (generated prices have no end: the period is taken as asked):

- The indicators warm up on the bars before ``--from`` (``services.indicator_calculation.
  warmup_bars`` of them); a ``--from`` earlier than the data allows for that starts later, with
  one warning saying where. A ``--from`` at or after the end of the data is an error.
- ``--to`` is inclusive (the run ends at the close of the last bar of that date); a ``--to``
  beyond the data is trimmed to the data's end, with one warning.
- Without ``--to`` or ``--bars`` the run ends at the end of the data. ``--bars N`` asking for
  more bars than the data holds after the start ends at the end of the data, with one warning.

The pipeline counts bars, it has no end time: its budget for a period with an end is ``held``,
the bars the run will emit, counted exactly on the run's own simulated market
(:func:`closing_bars`), so that the budget is always reached and never passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from trading_engine.config import SystemConfig
from trading_engine.data.validation import BarValidator
from trading_engine.errors import ConfigError
from trading_engine.terminal.factory import HistorySpan, read_spans, server_time_of, sim_config_of
from trading_engine.timeframes import fixed_seconds

if TYPE_CHECKING:
    from trading_engine.mt5sim.market.data import MarketData

__all__ = ["DEFAULT_GENERATED_BARS", "Period", "closing_bars", "plan_period"]

DEFAULT_GENERATED_BARS = 10_000
"""Bars replayed on generated prices when neither ``--bars`` nor ``--to`` is given."""

_DAY = 86_400
_NEVER = np.iinfo(np.int64).max


@dataclass(frozen=True, slots=True)
class Period:
    """What to pass to ``run_backtest``: start and end (UTC), a bar budget, and the warnings."""

    start: datetime | None
    end: datetime | None
    bars: int | None
    warnings: list[str] = field(default_factory=list)
    held: int | None = None
    """The bars the run emits, every stream together (:func:`closing_bars`): the pipeline's
    budget when the period has an end. History files; generated prices with ``count``."""


def _stamp(server_seconds: int) -> str:
    return f"{datetime.fromtimestamp(server_seconds, tz=UTC):%Y-%m-%d %H:%M}"


def _step(span: HistorySpan) -> int:
    seconds = fixed_seconds(span.timeframe)
    if seconds is not None:
        return seconds
    return int(np.median(np.diff(span.times))) if span.times.size > 1 else 31 * _DAY


def plan_period(
    config: SystemConfig,
    *,
    start: date | None = None,
    end: date | None = None,
    bars: int | None = None,
    count: bool = False,
) -> Period:
    """The period of a backtest of ``config`` (module docstring); dates are server dates.
    ``count``: count ``held`` on generated prices too (the pipeline's budget for ``--to``)."""
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
        return _generated(config, start_srv, end_srv, bars, count=count)
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
    held = closing_bars(config, first, last)
    if held == 0:
        raise _nothing_to_trade(spans[0], warm, clamped=start_srv is None or first != start_srv)
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


def _generated(
    config: SystemConfig, start: int | None, end: int | None, bars: int | None, *, count: bool
) -> Period:
    """The period on generated prices: as asked (they have no end); ``held`` counted with
    ``count`` for a period with an end and no ``--bars``."""
    st = server_time_of(config.terminal)
    start_utc = None if start is None else datetime.fromtimestamp(st.to_utc(start), tz=UTC)
    if end is None:
        return Period(start_utc, None, bars if bars is not None else DEFAULT_GENERATED_BARS)
    end_utc = datetime.fromtimestamp(st.to_utc(end), tz=UTC)
    if bars is not None or not count or config.terminal.kind != "sim":
        return Period(start_utc, end_utc, bars)
    first = start if start is not None else int(st.to_server(config.terminal.sim.start.timestamp()))
    held = closing_bars(config, first, end)
    if held == 0:
        raise ConfigError("no bar closes between the start and the end of --to", key="--to")
    return Period(start_utc, end_utc, None, held=held)


def closing_bars(config: SystemConfig, first: int, last: int) -> int:
    """The bars the data service emits in a run of ``config`` from ``first`` to ``last`` (server
    seconds), counted on the run's own simulated market: every stream's bars

    - that close after the start: MT5 closes a bar with the first tick at or after its close
      (``first_msc`` of the first M1 bar opening then), so a bar whose next tick lies exactly
      at ``first`` is already closed when the run starts, and a bar followed by a gap closes
      only when the market reopens (``--from`` on a weekend, ``--to`` on a Friday);
    - whose close is at or before ``last``, and after which a tick does come (the data's last
      bar never closes);
    - and that pass the data service's bar validation (a bad M1 row is never emitted).
    """
    from trading_engine import mt5sim

    st = server_time_of(config.terminal)
    start_utc = st.to_utc(first)
    sim = config.terminal.sim.model_copy(update={"start": datetime.fromtimestamp(start_utc, UTC)})
    market = mt5sim.Terminal(
        sim_config_of(sim, config.trading.symbols), clock=lambda: start_utc
    ).market
    total = 0
    for symbol in config.trading.symbols:
        # far enough for the bars closing at ``last`` to close, with the first tick at or after
        # it: past a weekend, a holiday, or days missing from a history file (up to two months)
        horizon = last + 4 * _DAY
        while horizon < last + 60 * _DAY and not _ticks_from(market, symbol, last, horizon):
            horizon += 7 * _DAY
        quotes = market.minute_quotes(symbol, 0, horizon)
        for timeframe in config.trading.timeframes:
            rates = market.copy_rates_range(symbol, timeframe, 0, last, st.to_utc(horizon))
            total += _emitted(symbol, timeframe, rates, quotes.time, quotes.first_msc, first, last)
    return total


def _ticks_from(market: MarketData, symbol: str, last: int, horizon: int) -> bool:
    """Whether an M1 bar of ``symbol`` opens in ``[last, horizon]`` (server seconds)."""
    times = market.minute_quotes(symbol, last, horizon).time
    return bool(times.size and times[-1] >= last)


def _emitted(
    symbol: str,
    timeframe: int,
    rates: npt.NDArray[np.void],
    minutes: npt.NDArray[np.int64],
    first_msc: npt.NDArray[np.int64],
    first: int,
    last: int,
) -> int:
    """How many of one stream's ``rates`` close in ``(first, last]`` and are accepted
    (:func:`closing_bars`); ``minutes``/``first_msc``: the symbol's M1 bars and first ticks."""
    opens = rates["time"].astype(np.int64)
    closes = opens + _lengths(opens, timeframe)
    inside = closes <= last
    rates, closes = rates[inside], closes[inside]
    j = np.searchsorted(minutes, closes, side="left")
    closed_at = np.full(closes.size, _NEVER, dtype=np.int64)
    ticked = j < minutes.size
    closed_at[ticked] = first_msc[j[ticked]]
    after = closed_at > first * 1000  # a tick at the start itself closes its bar before it
    validator = BarValidator(symbol, timeframe, timeframe_seconds=fixed_seconds(timeframe))
    before = rates["time"][~after]  # closed at the start: the data service begins after them
    validator.last_time = int(before[-1]) if before.size else None
    accepted = validator.process_closed(rates[after]).accepted
    never = rates["time"][after & (closed_at == _NEVER)]
    return int(len(accepted) - np.count_nonzero(np.isin(accepted["time"], never)))


def _lengths(opens: npt.NDArray[np.int64], timeframe: int) -> npt.NDArray[np.int64]:
    """Each bar's length in seconds (MN1: its calendar month)."""
    seconds = fixed_seconds(timeframe)
    if seconds is not None:
        return np.full(opens.size, seconds, dtype=np.int64)
    months = opens.astype("datetime64[s]").astype("datetime64[M]") + 1
    return months.astype("datetime64[s]").astype(np.int64) - opens


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
