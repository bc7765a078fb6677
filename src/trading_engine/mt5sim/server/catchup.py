"""Catching the trade server up with the market: everything that happens between two API calls.

On every API call the terminal moves the server from the last processed instant to ``now``
(server milliseconds). With nothing open this is O(1). Otherwise the ticks of the symbols that
have positions or orders are examined with numpy, one vector pass per position/order, and the
earliest event is applied, then the search resumes after it; a search also looks ahead, so that
calls within a quiet span (no event possible while the books are unchanged) are O(1) too
(``horizon.py``); and a search first asks the bounds of each symbol's quotes over its window
(``market/bounds.py``), reading the ticks only of the symbols where an order or a stop may fire
(or everywhere, when a stop-out may happen). Events:

- the rest of a partially filled RETURN market order fills on the next ticks, up to the
  configured liquidity per tick;
- pending orders trigger on the tick where the market crosses them (buy limit: ask ≤ price, sell
  limit: bid ≥ price, buy stop: ask ≥ price, sell stop: bid ≤ price; stop-limits turn into limit
  orders at their ``stoplimit`` price); limits fill at their price, stops at the tick's price;
  a triggered order without enough free margin is rejected;
- SL/TP on bid for longs and ask for shorts (reasons SL/TP), filled at the tick's price;
- expiration (``time_expiration``), and asynchronous rejection of orders placed while closed;
- swaps at each server midnight that ends a trading day (Mon–Fri), triple on
  ``swap_rollover3days``;
- stop-out: the first tick where the margin level (or equity, in money mode) falls below
  ``margin_so_so`` closes the most losing position, then the next, until the level recovers.
  Equity is ``balance + swaps + Σ profit(tick)``, with each symbol's profit linear in its bid/ask
  (and the same-symbol conversion rate, e.g. USDJPY's JPY profit at 1/ask).

After an event at millisecond ``t`` the search resumes with the ticks stamped ``t`` included, so
events of other symbols (or of the order a stop-limit just became) at that very millisecond are
not lost (after a stop-out the search resumes after its millisecond); each event removes or
changes its own cause (a closed position, a filled, converted or archived order), each midnight
rolls over once, and a search that keeps finding the same event raises RuntimeError rather than
spinning.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np
import numpy.typing as npt

from trading_engine.mt5sim.market.bounds import UNBOUNDED, Bounds
from trading_engine.mt5sim.market.servertime import day_of_week
from trading_engine.mt5sim.server.horizon import (
    LOOK_MAX_MS,
    LOOK_MIN_MS,
    StateKey,
    eligible,
    state_key,
)
from trading_engine.mt5sim.server.ledger import OrderRecord, PositionRecord
from trading_engine.mt5sim.server.money import is_buy
from trading_engine.mt5sim.server.trade_server import TradeServer
from trading_engine.mt5sim.server.trade_types import DealPlan
from trading_engine.mt5sim.server.triggers import extremes as slice_extremes
from trading_engine.mt5sim.server.triggers import (
    first,
    may_stop,
    may_trigger,
    stop_mask,
    trigger_mask,
)
from trading_engine.mt5sim.spec import constants as c
from trading_engine.mt5sim.spec.structs import TradeRequest

__all__ = ["Catchup"]

_DAY_MS: Final = 86_400_000
_TRIAL: Final = 64  # searches between reviews of the bounds' use (``_bounds_useful``)
_PAUSE: Final = 512  # searches without the bounds after a review where they rarely helped
TicksBetween = Callable[[str, int, int], npt.NDArray[np.void]]
TickBounds = Callable[[str, int, int], Bounds | None]

# event kinds, in the order they apply at the same instant
_REJECT, _EXPIRE, _ROLLOVER, _ORDER, _STOP, _STOPOUT = range(6)

_Event = tuple[int, int, object, tuple[float, float] | None]
"""(server time in ms, kind, payload, the (bid, ask) of the tick that caused it)."""


def _when(event: _Event) -> tuple[int, int]:
    return event[0], event[1]


class Catchup:
    """Moves one ``TradeServer`` through the ticks up to ``now``."""

    def __init__(
        self,
        server: TradeServer,
        ticks_between: TicksBetween,
        set_instant: Callable[[int], None],
        start_msc: int,
        tick_bounds: TickBounds | None = None,
    ) -> None:
        self.server = server
        self.ticks_between = ticks_between
        self.tick_bounds: TickBounds = tick_bounds or (lambda s, a, b: UNBOUNDED)
        self.set_instant = set_instant
        self.synced_msc = start_msc
        self.rolled_msc = start_msc // _DAY_MS * _DAY_MS
        self._rescan_from = start_msc
        self.events = 0
        self._quiet_until = start_msc  # nothing happens before this instant while ...
        self._quiet_key: StateKey | None = None  # ... the books are in this state
        self._look = LOOK_MIN_MS
        self.quiet_spans = True
        """Use quiet spans (``horizon.py``); False searches on every call (the reference)."""
        self.bounds = tick_bounds is not None
        """Read a window's ticks only where its quotes' bounds (``tick_bounds``) show that an
        order, a stop or a stop-out may fire; False reads every window (the reference)."""
        self._tries = 0  # searches that tried the bounds since the last review ...
        self._spared = 0  # ... and those of them that read no tick (``_bounds_useful``)
        self._pause = 0  # searches left without the bounds

    def resync(self, synced_msc: int, rolled_msc: int) -> None:
        """Continue from ``synced_msc`` (an account restored from its file): nothing before it
        is processed again, everything after it on the next ``advance``."""
        self.synced_msc = synced_msc
        self.rolled_msc = rolled_msc
        self._rescan_from = synced_msc
        self._quiet_until = synced_msc
        self._quiet_key = None
        self._look = LOOK_MIN_MS

    def advance(self, target_msc: int) -> None:
        """Process everything in ``(synced_msc, target_msc]``."""
        if target_msc <= self.synced_msc:
            return
        ledger = self.server.ledger
        if not ledger.positions and not ledger.orders:
            self.synced_msc = target_msc
            self.rolled_msc = max(self.rolled_msc, target_msc // _DAY_MS * _DAY_MS)
            return
        key = state_key(self.server)
        if key == self._quiet_key:
            if target_msc < self._quiet_until:
                self._quiet_to(target_msc)
                return
            self._look = min(self._look * 4, LOOK_MAX_MS)
        else:
            self._look = LOOK_MIN_MS
        self._quiet_key = None
        # one search from the last instant on, past the target: nothing up to the target?
        if (
            self.quiet_spans
            and eligible(self.server)
            and self._look_ahead(self.synced_msc, target_msc, key)
        ):
            self._quiet_to(target_msc)
            return
        self._process(target_msc)
        if self.quiet_spans and (ledger.positions or ledger.orders) and eligible(self.server):
            self._look_ahead(target_msc, target_msc)

    def _quiet_to(self, target_msc: int) -> None:
        self.synced_msc = target_msc
        self.rolled_msc = max(self.rolled_msc, target_msc // _DAY_MS * _DAY_MS)
        self.set_instant(target_msc)

    def _look_ahead(self, from_msc: int, now_msc: int, key: StateKey | None = None) -> bool:
        """Search ``(from_msc, now_msc + look-ahead]``; True (and a quiet span set) when no event
        falls within ``(from_msc, now_msc]`` (see ``horizon.py``). ``key``: the books' current
        ``state_key`` when the caller has it."""
        end = min(now_msc + self._look, (now_msc // _DAY_MS + 1) * _DAY_MS - 1)
        self._rescan_from = from_msc
        ev = self._earliest(end)
        if ev is not None and ev[0] <= now_msc:
            return False
        self._quiet_until = end + 1 if ev is None else ev[0]
        self._quiet_key = key if key is not None else state_key(self.server)
        return True

    def _process(self, target_msc: int) -> None:
        self._rescan_from = self.synced_msc
        previous: tuple[int, int, int] | None = None
        repeats = 0
        try:
            while True:
                ev = self._earliest(target_msc)
                if ev is None:
                    break
                key = (ev[0], ev[1], id(ev[2]))
                repeats = repeats + 1 if key == previous else 0
                if repeats > 2:  # every event removes or changes its cause; this is a bug
                    raise RuntimeError(f"mt5sim catch-up made no progress at {ev[:2]}")
                previous = key
                self._apply(ev)
                self.events += 1
        finally:
            self.synced_msc = target_msc
            self.rolled_msc = max(self.rolled_msc, target_msc // _DAY_MS * _DAY_MS)
            self.set_instant(target_msc)

    # -- search -----------------------------------------------------------------------------

    def _earliest(self, target: int) -> _Event | None:
        """The first thing the trade server must do before ``target``: (time, kind, payload,
        quote), the earliest by (time, kind), the first found among equals; None when idle."""
        ledger = self.server.ledger
        if not ledger.positions and not ledger.orders:
            return None
        cur = self._rescan_from
        found = self._timed_events(cur, target)
        symbols = {p.symbol for p in ledger.positions.values()}
        symbols.update(o.symbol for o in ledger.orders.values())
        ordered = sorted(symbols)
        if self.bounds and self._bounds_useful():
            events = self._bounded_tick_events(ordered, cur, target)
            if events is not None:
                found.extend(events)
                return min(found, key=_when) if found else None
        series: dict[str, npt.NDArray[np.void]] = {}
        extremes: dict[str, tuple[float, float, float, float]] = {}
        for sym in ordered:
            ticks = self.ticks_between(sym, cur, target)
            if len(ticks):
                series[sym] = ticks
                extremes[sym] = slice_extremes(ticks["bid"], ticks["ask"])
                found.extend(self._tick_events(sym, ticks, extremes[sym]))
        if ledger.positions and series and self._stopout_possible(extremes):
            hit = self._stopout_time(series)
            if hit is not None:
                found.append((hit, _STOPOUT, None, None))
        return min(found, key=_when) if found else None

    def _bounded_tick_events(
        self, symbols: list[str], cur: int, target: int
    ) -> list[_Event] | None:
        """The events ``_earliest`` finds in the ticks, read only for the symbols whose quotes'
        bounds over the window (``tick_bounds``) let an order or a stop fire; None when the
        bounds cannot tell (a stop-out may be possible, or a window too long to summarise)."""
        self._tries += 1
        bounds: dict[str, Bounds] = {}
        for sym in symbols:
            b = self.tick_bounds(sym, cur, target)
            if b is UNBOUNDED:
                return None
            if b is not None:
                bounds[sym] = b
        if self.server.ledger.positions and bounds and self._stopout_possible(bounds):
            return None
        found: list[_Event] = []
        spared = True
        for sym, b in bounds.items():
            if self._may_fire(sym, b):
                spared = False
                ticks = self.ticks_between(sym, cur, target)
                if len(ticks):
                    ext = slice_extremes(ticks["bid"], ticks["ask"])
                    found.extend(self._tick_events(sym, ticks, ext))
        self._spared += spared
        return found

    def _bounds_useful(self) -> bool:
        """Whether to try the bounds on this search. They cost a little on every search and
        spare the reads only where the quotes stay clear of every order and stop (a strategy
        without stops; stops far from the price): after every ``_TRIAL`` tries, a run where
        fewer than half of them spared the reads goes without bounds for ``_PAUSE`` searches.
        Either way the events are the same."""
        if self._pause:
            self._pause -= 1
            return False
        if self._tries >= _TRIAL:
            if 2 * self._spared < self._tries:
                self._pause = _PAUSE
            self._tries = self._spared = 0
            return not self._pause
        return True

    def _may_fire(self, sym: str, ext: Bounds) -> bool:
        """Whether an order or a stop on ``sym`` may fire within the quotes ``ext``."""
        ledger = self.server.ledger
        for o in ledger.orders.values():
            if o.symbol == sym and may_trigger(o, ext):
                return True
        for p in ledger.positions.values():
            if p.symbol == sym and (p.sl or p.tp) and may_stop(p, ext):
                return True
        return False

    def _timed_events(self, cur: int, target: int) -> list[_Event]:
        """Events fixed in time: asynchronous rejects, expirations, the rollover at midnight."""
        server = self.server
        ledger = server.ledger
        found: list[_Event] = [
            (cur, _REJECT, ledger.orders.get(ticket) or ticket, None)
            for ticket in sorted(server.async_rejects)
        ]
        for o in ledger.orders.values():
            if o.time_expiration and o.time_expiration * 1000 <= target:
                found.append((max(cur, o.time_expiration * 1000), _EXPIRE, o, None))
        if ledger.positions:
            midnight = self.rolled_msc + _DAY_MS
            if midnight <= target:
                found.append((midnight, _ROLLOVER, midnight, None))
        return found

    def _tick_events(
        self,
        sym: str,
        ticks: npt.NDArray[np.void],
        ext: tuple[float, float, float, float],
    ) -> list[_Event]:
        """The first tick of the slice that triggers each pending order or hits each stop."""
        server = self.server
        bid = ticks["bid"]
        ask = ticks["ask"]
        tm = ticks["time_msc"]
        found: list[_Event] = []
        for o in server.ledger.orders.values():
            if o.symbol != sym or not may_trigger(o, ext):
                continue
            mask = trigger_mask(o, bid, ask)
            after = server.last_fill_msc.get(o.ticket)
            if after is not None:
                mask = mask & (tm > after)
            i = first(mask)
            if i >= 0:
                found.append((int(tm[i]), _ORDER, o, (float(bid[i]), float(ask[i]))))
        for p in server.ledger.positions.values():
            if p.symbol != sym or not (p.sl or p.tp) or not may_stop(p, ext):
                continue
            i = first(stop_mask(p, bid, ask))
            if i >= 0:
                found.append((int(tm[i]), _STOP, p, (float(bid[i]), float(ask[i]))))
        return found

    def _stopout_possible(self, extremes: dict[str, tuple[float, float, float, float]]) -> bool:
        """A cheap, conservative test: could equity reach the stop-out level in this slice?

        Each symbol's profit is bounded below using the slice's bid/ask extremes (longs at the
        lowest bid, shorts at the highest ask, conversion at its least favourable rate); the
        test is monotone in them, so that bounds of the extremes (``tick_bounds``) answer False
        only where the extremes do.
        """
        server = self.server
        positions = server.ledger.positions.values()
        margin = server.account_margin()
        if margin <= 0:
            return False
        money = server.money
        floor = server.ledger.balance + sum(p.swap for p in positions)
        for p in positions:
            ext = extremes.get(p.symbol)
            if ext is None:
                floor += server.position_profit(p)[1]
                continue
            spec = server.specs[p.symbol]
            price = ext[0] if p.buy else ext[3]
            raw = money.profit_in_ccy(spec, p.buy, p.volume, p.price_open, price)
            if spec.currency_profit == money.currency:
                floor += raw
                continue
            pair = money.conversion_symbol(spec.currency_profit)
            if pair is not None and pair[0] == p.symbol:
                rates = (1.0 / ext[3], 1.0 / ext[2]) if pair[1] else (ext[0], ext[1])
                floor += min(raw * rates[0], raw * rates[1])
            else:
                r = money.rate(spec.currency_profit, server.market.quote)
                floor += raw * (0.0 if r is None else r)
        return self._below(floor, margin)

    def _stopout_time(self, series: dict[str, npt.NDArray[np.void]]) -> int | None:
        server = self.server
        cfg = server.config
        positions = list(server.ledger.positions.values())
        margin = server.account_margin()
        if margin <= 0:
            return None
        # equity(t) = balance + swaps + Σ_s profit_s(t); a symbol without ticks keeps its profit
        base = server.ledger.balance + sum(p.swap for p in positions)
        by_symbol: dict[str, list[PositionRecord]] = {}
        for p in positions:
            by_symbol.setdefault(p.symbol, []).append(p)
        curves: dict[str, npt.NDArray[np.float64]] = {}
        floor = base
        for sym, mine in by_symbol.items():
            ticks = series.get(sym)
            if ticks is None:
                const = sum(server.position_profit(p)[1] for p in mine)
                base += const
                floor += const
                continue
            curve = self._profit_curve(sym, mine, ticks)
            curves[sym] = curve
            floor += float(curve.min())
        if not curves or not self._below(floor, margin):
            return None
        times = np.concatenate([series[s]["time_msc"] for s in curves])
        merged_t = times[np.argsort(times, kind="stable")]
        equity = np.full(len(merged_t), base)
        for sym, curve in curves.items():
            before = sum(server.position_profit(p)[1] for p in by_symbol[sym])
            idx = np.searchsorted(series[sym]["time_msc"], merged_t, side="right") - 1
            equity += np.where(idx >= 0, curve[np.maximum(idx, 0)], before)
        if cfg.margin_so_mode == c.ACCOUNT_STOPOUT_MODE_PERCENT:
            bad = equity / margin * 100.0 < cfg.margin_so_so
        else:
            bad = equity < cfg.margin_so_so
        i = first(bad)
        return None if i < 0 else int(merged_t[i])

    def _below(self, equity: float, margin: float) -> bool:
        cfg = self.server.config
        if cfg.margin_so_mode == c.ACCOUNT_STOPOUT_MODE_PERCENT:
            return equity / margin * 100.0 < cfg.margin_so_so
        return equity < cfg.margin_so_so

    def _profit_curve(
        self, sym: str, positions: list[PositionRecord], ticks: npt.NDArray[np.void]
    ) -> npt.NDArray[np.float64]:
        server = self.server
        spec = server.specs[sym]
        bid = ticks["bid"]
        ask = ticks["ask"]
        lb = sum(p.volume for p in positions if p.buy)
        sb = sum(p.volume * p.price_open for p in positions if p.buy)
        ls = sum(p.volume for p in positions if not p.buy)
        ss = sum(p.volume * p.price_open for p in positions if not p.buy)
        unit = server.money.profit_in_ccy(spec, True, 1.0, 0.0, 1.0)  # per lot per price unit
        raw = unit * (lb * bid - sb) + unit * (ss - ls * ask)
        pair = server.money.conversion_symbol(spec.currency_profit)
        if spec.currency_profit == server.money.currency:
            return np.asarray(raw, dtype=np.float64)
        if pair is not None and pair[0] == sym:
            rate = 1.0 / ask if pair[1] else bid
            return np.asarray(raw * rate, dtype=np.float64)
        r = server.money.rate(spec.currency_profit, server.market.quote)
        return np.asarray(raw * (0.0 if r is None else r), dtype=np.float64)

    # -- application ------------------------------------------------------------------------

    def _apply(self, ev: tuple[int, int, object, tuple[float, float] | None]) -> None:
        t, kind, payload, q = ev
        server = self.server
        ledger = server.ledger
        self.synced_msc = t
        self._rescan_from = t - 1
        self.set_instant(t)
        if kind == _REJECT:
            if isinstance(payload, OrderRecord):
                ledger.archive(payload, c.ORDER_STATE_REJECTED, t)
                server.async_rejects.discard(payload.ticket)
            else:
                server.async_rejects.discard(int(str(payload)))
        elif kind == _EXPIRE:
            assert isinstance(payload, OrderRecord)
            ledger.archive(payload, c.ORDER_STATE_EXPIRED, t)
        elif kind == _ROLLOVER:
            self.rolled_msc = t
            self._rollover(t)
        elif kind == _ORDER:
            assert isinstance(payload, OrderRecord)
            assert q is not None
            self._trigger(payload, q)
        elif kind == _STOP:
            assert isinstance(payload, PositionRecord)
            assert q is not None
            self._stop(payload, q)
        else:
            self._stop_out()

    def _rollover(self, midnight_msc: int) -> None:
        server = self.server
        ended = day_of_week(midnight_msc // 1000 - 1)
        if not 1 <= ended <= 5:
            return
        for p in server.ledger.positions.values():
            spec = server.specs[p.symbol]
            mult = 3.0 if ended == spec.swap_rollover3days else 1.0
            p.swap += mult * server.money.swap(
                spec, p.buy, p.volume, p.price_open, server.market.quote
            )

    def _stop(self, p: PositionRecord, q: tuple[float, float]) -> None:
        bid, ask = q
        price = bid if p.buy else ask
        is_sl = bool(p.sl) and (bid <= p.sl if p.buy else ask >= p.sl)
        spec = self.server.specs[p.symbol]
        level = p.sl if is_sl else p.tp
        tag = "sl" if is_sl else "tp"
        comment = f"[{tag} {level:.{spec.digits}f}]"
        reason = c.ORDER_REASON_SL if is_sl else c.ORDER_REASON_TP
        self.server.close_position(p, price, reason, comment)

    def _stop_out(self) -> None:
        server = self.server
        # whatever the cent-rounded figures say, the search resumes after this millisecond
        self._rescan_from = server.market.now_msc
        while server.ledger.positions:
            fig = server.figures()
            if fig.margin <= 0 or not self._below(fig.equity, fig.margin):
                return
            worst = min(
                server.ledger.positions.values(), key=lambda p: server.position_profit(p)[1]
            )
            price = server.position_profit(worst)[0]
            comment = f"[so {fig.margin_level:.2f}%, {fig.equity:.2f}/{fig.margin:.2f}]"
            server.close_position(worst, price, c.ORDER_REASON_SO, comment)

    def _trigger(self, o: OrderRecord, q: tuple[float, float]) -> None:
        server = self.server
        bid, ask = q
        if o.type in (c.ORDER_TYPE_BUY_STOP_LIMIT, c.ORDER_TYPE_SELL_STOP_LIMIT):
            buy = o.type == c.ORDER_TYPE_BUY_STOP_LIMIT
            o.type = c.ORDER_TYPE_BUY_LIMIT if buy else c.ORDER_TYPE_SELL_LIMIT
            o.price_open = o.price_stoplimit
            o.price_stoplimit = 0.0
            return
        buy = is_buy(o.type)
        limit = o.type in (c.ORDER_TYPE_BUY_LIMIT, c.ORDER_TYPE_SELL_LIMIT)
        price = o.price_open if limit else (ask if buy else bid)
        spec = server.specs[o.symbol]
        rest_of_market = o.type in (c.ORDER_TYPE_BUY, c.ORDER_TYPE_SELL)
        volume = server.fillable(spec, o.volume_current) if rest_of_market else o.volume_current
        close = None
        close_volume = 0.0
        if server.netting:
            net = server.net_position(o.symbol)
            if net is not None and net.buy != buy:
                close = net
                close_volume = min(volume, net.volume)
        open_volume = round(volume - close_volume, 8)
        plan = DealPlan(spec, buy, volume, price, close, close_volume, open_volume)
        fig = server.figures()
        after = server.margin_after(plan)
        if open_volume > 0 and after > fig.margin + 1e-9 and fig.equity - after < 0:
            server.ledger.archive(o, c.ORDER_STATE_REJECTED, server.market.now_msc)
            return
        req = TradeRequest._make(
            (
                c.TRADE_ACTION_PENDING,
                o.magic,
                o.ticket,
                o.symbol,
                volume,
                price,
                0.0,
                o.sl,
                o.tp,
                0,
                c.ORDER_TYPE_BUY if buy else c.ORDER_TYPE_SELL,
                o.type_filling,
                o.type_time,
                0,
                o.comment,
                0,
                0,
            )
        )
        rest = round(o.volume_current - volume, 8)
        o.volume_current = 0.0
        server.execute_deal(
            plan, req, o.reason, c.DEAL_REASON_EXPERT, o.comment, order=o, remainder=rest
        )
