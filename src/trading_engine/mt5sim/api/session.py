"""The terminal's view of "now": the injected clock turned into server time and quotes.

``Now`` implements the trade server's ``MarketView`` for the current call: the UTC instant from
the clock, the same instant in server milliseconds, a per-instant cache of quotes, market hours,
and the no-prices rules (a ``no_prices`` fault, or the first ``no_prices_after_open`` seconds of
a session). The catch-up moves it to intermediate instants (``at_server_msc``).
"""

from __future__ import annotations

import math

import numpy as np

from trading_engine.mt5sim.config import SimConfig
from trading_engine.mt5sim.faults import Faults
from trading_engine.mt5sim.market.cursor import TickRow
from trading_engine.mt5sim.market.data import MarketData

__all__ = ["Now"]

_EPS_S = 0.0004  # keeps a server-ms → UTC → server-ms round trip on the same millisecond


class Now:
    """The current instant of one terminal, with cached quotes."""

    __slots__ = (
        "_cache",
        "_config",
        "_faults",
        "_md",
        "_off",
        "_off_hi",
        "_off_lo",
        "_quotes",
        "_rows",
        "_span",
        "_to_server",
        "_to_utc",
        "now_msc",
        "now_utc",
    )

    def __init__(self, md: MarketData, faults: Faults, config: SimConfig) -> None:
        self._md = md
        self._faults = faults
        self._config = config
        self._to_server = md.server_time.to_server
        self._to_utc = md.server_time.to_utc
        self._span = md.server_time.offset_span
        self._off, self._off_lo, self._off_hi = 0, math.inf, -math.inf
        self._cache: dict[str, np.void | None] = {}
        self._quotes: dict[str, tuple[float, float] | None] = {}
        self._rows: dict[str, TickRow | None] = {}
        self.now_utc = -math.inf
        self.now_msc = -(1 << 62)

    def server_msc(self, utc: float) -> int:
        """Server milliseconds of a UTC instant (floored, as the market data does)."""
        return math.floor(self._to_server(utc) * 1000.0)

    def at_utc(self, utc: float) -> None:
        """Move to the UTC instant ``utc``."""
        if utc != self.now_utc:
            self.now_utc = utc
            if not self._off_lo <= utc < self._off_hi:  # the server offset's span, cached
                self._off, self._off_lo, self._off_hi = self._span(utc)
            self.now_msc = math.floor((utc + self._off) * 1000.0)
            if self._quotes or self._rows or self._cache:
                self._forget()

    def at_server_msc(self, msc: int) -> None:
        """Move to the server instant ``msc`` (used while catching up)."""
        if msc != self.now_msc:
            self.now_msc = msc
            self.now_utc = self._to_utc(msc / 1000.0) + _EPS_S
            if self._quotes or self._rows or self._cache:
                self._forget()

    def _forget(self) -> None:
        self._cache.clear()
        self._rows.clear()
        self._quotes.clear()

    def row(self, symbol: str) -> TickRow | None:
        """The last tick at or before now as Python scalars (cached per instant)."""
        try:
            return self._rows[symbol]
        except KeyError:
            r = self._rows[symbol] = self._md.cursor(symbol).last_tick(self.now_utc)
            return r

    def tick(self, symbol: str) -> np.void | None:
        """The last tick at or before now (cached per instant)."""
        try:
            return self._cache[symbol]
        except KeyError:
            t = self._md.last_tick(symbol, self.now_utc)
            self._cache[symbol] = t
            return t

    def quote(self, symbol: str) -> tuple[float, float] | None:
        """(bid, ask) now, or None (cached per instant)."""
        try:
            return self._quotes[symbol]
        except KeyError:
            q = self._quotes[symbol] = self._md.cursor(symbol).last_quote(self.now_utc)
            return q

    def is_open(self, symbol: str) -> bool:
        """Whether ``symbol`` trades now."""
        return self._md.is_trading_time(symbol, self.now_utc)

    def no_prices(self, symbol: str) -> bool:
        """Whether trade requests for ``symbol`` get 'No prices' now."""
        if self._faults and self._faults.take("no_prices", self.now_utc, symbol) is not None:
            return True
        gap = self._config.no_prices_after_open
        return gap > 0 and not self._md.is_trading_time(symbol, self.now_utc - gap)
