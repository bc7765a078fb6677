"""The pure execution planner: what an entry signal becomes, given everything it depends on.

``plan_entry`` takes the signal's side, stops and volume, the symbol's rules, the current tick,
the account's equity and balance, the risk rules and the number of open positions, and returns
either an :class:`EntryPlan` (the volume to send) or a :class:`Refusal` (the rule and a human
reason). ``entry_request`` / ``close_request`` build the normalised MT5 request. Nothing here does
I/O or reads a clock: the async ``Trader`` (live, pipeline) and the synchronous backtest drive the
same functions, so the two cannot decide differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trading_engine.events import Side
from trading_engine.execution.risk import RiskRules
from trading_engine.execution.sizing import round_volume_down, size_from_risk
from trading_engine.terminal.normalize import build_market_request
from trading_engine.terminal.symbols import SymbolRules

__all__ = ["EntryPlan", "Refusal", "close_request", "entry_request", "plan_entry", "size_entry"]


@dataclass(frozen=True, slots=True)
class EntryPlan:
    """An entry the rules allow: ``volume`` lots (reduced when risk is REDUCING)."""

    volume: float


@dataclass(frozen=True, slots=True)
class Refusal:
    """An entry refused before any order exists: the deciding ``rule`` and a ``reason``."""

    rule: str
    reason: str


def size_entry(
    side: Side,
    sl: float | None,
    volume: float | None,
    rules: SymbolRules,
    equity: float,
    tick: Any,
    risk: RiskRules,
) -> float:
    """The signal's volume, else risk per trade over the stop distance, else the minimum."""
    cap = min(rules.volume_max, risk.limits.max_position_size)
    if volume is not None:
        return round_volume_down(volume, rules.volume_step, rules.volume_min, cap)
    if sl is None:
        return rules.volume_min
    entry = float(tick.ask if side is Side.BUY else tick.bid)
    distance = abs(entry - sl)
    if distance <= 0:
        return 0.0
    return size_from_risk(
        equity,
        risk.limits.risk_per_trade_pct,
        distance,
        rules.tick_size,
        rules.tick_value,
        rules.volume_min,
        cap,
        rules.volume_step,
    )


def plan_entry(
    *,
    symbol: str,
    side: Side,
    sl: float | None,
    volume: float | None,
    rules: SymbolRules,
    tick: Any,
    equity: float,
    balance: float,
    risk: RiskRules,
    open_positions: int,
) -> EntryPlan | Refusal:
    """Decide an entry (the risk rules see the account update first); see the module docstring."""
    if tick is None or not tick.bid or not tick.ask:
        return Refusal("no_prices", f"{symbol}: the terminal has no prices")
    risk.on_account(equity, balance, float(tick.time))
    lots = size_entry(side, sl, volume, rules, equity, tick, risk)
    if lots <= 0:
        return Refusal("sizing", f"{symbol}: the risk budget buys less than one lot")
    decision = risk.check_entry(
        symbol,
        lots,
        open_positions,
        float(tick.time),
        volume_step=rules.volume_step,
        volume_min=rules.volume_min,
    )
    if not decision.allowed:
        return Refusal(str(decision.rule), decision.reason)
    return EntryPlan(decision.volume)


def entry_request(
    rules: SymbolRules,
    side: Side,
    volume: float,
    tick: Any,
    *,
    sl: float | None,
    tp: float | None,
    deviation: int,
    magic: int,
    comment: str,
) -> dict[str, Any]:
    """The normalised market request of an entry (stops moved out to the stops level);
    ``OrderError`` when it cannot be built."""
    return build_market_request(
        rules,
        side,
        volume,
        tick,
        sl=sl,
        tp=tp,
        deviation=deviation,
        magic=magic,
        comment=comment,
        adjust_stops=True,
    )


def close_request(
    rules: SymbolRules,
    side: Side,
    volume: float,
    tick: Any,
    *,
    position: int,
    deviation: int,
    magic: int,
    comment: str,
) -> dict[str, Any]:
    """The normalised market request closing ``position`` (``side`` is the closing side)."""
    return build_market_request(
        rules,
        side,
        volume,
        tick,
        deviation=deviation,
        magic=magic,
        comment=comment,
        position=position,
    )
