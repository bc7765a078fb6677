"""Bars and ticks: the ``copy_rates_*`` and ``copy_ticks_*`` calls."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from trading_engine.mt5sim.api.core import TerminalCore, int_arg
from trading_engine.mt5sim.market.bars import TIMEFRAME_NAMES
from trading_engine.mt5sim.spec import constants as c
from trading_engine.mt5sim.spec.errors import SUCCESS
from trading_engine.mt5sim.spec.symbols import SymbolSpec

__all__ = ["RatesApi"]


class RatesApi(TerminalCore):
    """Bars and ticks: the ``copy_rates_*`` and ``copy_ticks_*`` calls."""

    # -- bars and ticks -----------------------------------------------------------------------

    def _rates_args(self, symbol: Any, timeframe: Any) -> SymbolSpec | None:
        spec = self._spec(symbol)
        if spec is None:
            return None
        try:
            tf = int_arg(timeframe)
        except (TypeError, ValueError):
            self._error.argument("timeframe")
            return None
        if tf not in TIMEFRAME_NAMES:
            self._error.argument("timeframe")
            return None
        return spec

    def _count_arg(self, count: Any) -> int | None:
        """A non-negative ``count``, or None with the argument error set."""
        try:
            n = int_arg(count)
            if n < 0:
                raise ValueError
        except (TypeError, ValueError):
            self._error.argument("count")
            return None
        return n

    def _finish_rates(
        self, symbol: str, timeframe: int, rates: npt.NDArray[np.void]
    ) -> npt.NDArray[np.void]:
        if self.config.history_sync_short and (symbol, timeframe) not in self._short_done:
            self._short_done.add((symbol, timeframe))
            rates = rates[len(rates) - len(rates) // 4 :].copy() if len(rates) > 1 else rates
        elif self.faults and self.faults.take("history_short", self._now.now_utc, symbol):
            rates = rates[len(rates) - len(rates) // 4 :].copy() if len(rates) > 1 else rates
        self._error.ok()
        return rates

    def _maxbars_floor(self, symbol: str, timeframe: int) -> int | None:
        """Open time of the oldest servable bar when more than ``maxbars`` exist, else None."""
        mb = self.config.maxbars
        now = self._now.now_utc
        if self.market.bars_count(symbol, timeframe, now) <= mb:
            return None
        oldest = self.market.copy_rates_from_pos(symbol, timeframe, mb - 1, 1, now)
        return int(oldest["time"][0]) if len(oldest) else None

    def copy_rates_from_pos(
        self, symbol: str, timeframe: int, start_pos: int, count: int, /
    ) -> npt.NDArray[np.void] | None:
        """``count`` bars ending ``start_pos`` bars back (0 = the forming bar), oldest first."""
        with self._lock:
            if not self._begin():
                return None
            if (  # the backtest's poll: plain arguments, no fault or short-history rule armed
                timeframe == c.TIMEFRAME_M1
                and type(timeframe) is int
                and type(start_pos) is int
                and type(count) is int
                and type(symbol) is str
                and not self.config.history_sync_short
                and not self.faults
            ):
                tail = self._cursors.get(symbol)
                if tail is None and symbol in self.specs:
                    tail = self._cursors[symbol] = self.market.cursor(symbol)
                mb = self.config.maxbars
                if tail is not None and 0 <= start_pos < mb and count >= 0:
                    n = count if count <= mb - start_pos else mb - start_pos
                    rates = tail.copy_rates_from_pos(start_pos, n, self._now.now_utc)
                    self._error.value = SUCCESS
                    return rates
            spec = self._rates_args(symbol, timeframe)
            if spec is None:
                return None
            try:
                pos = int_arg(start_pos)
                n = int_arg(count)
                if pos < 0 or n < 0:
                    raise ValueError
            except (TypeError, ValueError):
                self._error.argument("count" if isinstance(start_pos, int) else "start_pos")
                return None
            mb = self.config.maxbars
            n = max(0, min(n, mb - pos))
            rates = self.market.copy_rates_from_pos(spec.name, timeframe, pos, n, self._now.now_utc)
            return self._finish_rates(spec.name, timeframe, rates)

    def copy_rates_from(
        self, symbol: str, timeframe: int, date_from: datetime | int, count: int, /
    ) -> npt.NDArray[np.void] | None:
        """``count`` bars opening at or before ``date_from``, oldest first."""
        with self._lock:
            if not self._begin():
                return None
            spec = self._rates_args(symbol, timeframe)
            if spec is None:
                return None
            t = self._date_arg("date_from", date_from)
            n = None if t is None else self._count_arg(count)
            if t is None or n is None:
                return None
            now = self._now.now_utc
            rates = self.market.copy_rates_from(spec.name, timeframe, t, n, now)
            floor = self._maxbars_floor(spec.name, timeframe) if len(rates) else None
            if floor is not None:
                rates = rates[rates["time"] >= floor]
            return self._finish_rates(spec.name, timeframe, rates)

    def copy_rates_range(
        self, symbol: str, timeframe: int, date_from: datetime | int, date_to: datetime | int, /
    ) -> npt.NDArray[np.void] | None:
        """Bars opening within ``[date_from, date_to]``, oldest first."""
        with self._lock:
            if not self._begin():
                return None
            spec = self._rates_args(symbol, timeframe)
            if spec is None:
                return None
            dates = self._dates(date_from, date_to)
            if dates is None:
                return None
            start, end = dates
            now = self._now.now_utc
            rates = self.market.copy_rates_range(spec.name, timeframe, start, end, now)
            floor = self._maxbars_floor(spec.name, timeframe) if len(rates) else None
            if floor is not None:
                rates = rates[rates["time"] >= floor]
            return self._finish_rates(spec.name, timeframe, rates)

    def _tick_args(self, symbol: Any, flags: Any) -> tuple[SymbolSpec, int] | None:
        spec = self._spec(symbol)
        if spec is None:
            return None
        try:
            fl = int_arg(flags)
        except (TypeError, ValueError):
            self._error.argument("flags")
            return None
        if fl not in (c.COPY_TICKS_ALL, c.COPY_TICKS_INFO, c.COPY_TICKS_TRADE):
            self._error.argument("flags")
            return None
        return spec, fl

    def copy_ticks_from(
        self, symbol: str, date_from: datetime | int, count: int, flags: int, /
    ) -> npt.NDArray[np.void] | None:
        """Up to ``count`` ticks from ``date_from`` on, oldest first."""
        with self._lock:
            if not self._begin():
                return None
            args = self._tick_args(symbol, flags)
            if args is None:
                return None
            t = self._date_arg("date_from", date_from)
            n = None if t is None else self._count_arg(count)
            if t is None or n is None:
                return None
            ticks = self.market.copy_ticks_from(
                args[0].name, t * 1000, n, args[1], self._now.now_utc
            )
            self._error.ok()
            return ticks

    def copy_ticks_range(
        self, symbol: str, date_from: datetime | int, date_to: datetime | int, flags: int, /
    ) -> npt.NDArray[np.void] | None:
        """Ticks within ``[date_from, date_to]`` (seconds), oldest first."""
        with self._lock:
            if not self._begin():
                return None
            args = self._tick_args(symbol, flags)
            if args is None:
                return None
            dates = self._dates(date_from, date_to)
            if dates is None:
                return None
            start, end = dates
            ticks = self.market.copy_ticks_range(
                args[0].name, start * 1000, end * 1000 + 999, args[1], self._now.now_utc
            )
            self._error.ok()
            return ticks
