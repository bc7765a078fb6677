"""The pure entry planner: the same decision for the live trader and the backtest."""

from __future__ import annotations

from types import SimpleNamespace

from tests.unit.terminal.test_normalize import rules

from trading_engine.events import Side
from trading_engine.execution.planner import EntryPlan, Refusal, plan_entry
from trading_engine.execution.risk import RiskLimits, RiskRules

TICK = SimpleNamespace(bid=1.1000, ask=1.1002, time=1_700_000_000)


def plan(risk: RiskRules, **changes: object) -> EntryPlan | Refusal:
    args: dict[str, object] = {
        "symbol": "EURUSD",
        "side": Side.BUY,
        "sl": None,
        "volume": 0.3,
        "rules": rules(),
        "tick": TICK,
        "equity": 10_000.0,
        "balance": 10_000.0,
        "risk": risk,
        "open_positions": 0,
    }
    args.update(changes)
    return plan_entry(**args)  # type: ignore[arg-type]


def test_an_allowed_entry_is_planned_at_the_signal_volume() -> None:
    assert plan(RiskRules(RiskLimits())) == EntryPlan(0.3)


def test_an_entry_without_prices_is_refused_before_risk_sees_the_account() -> None:
    risk = RiskRules(RiskLimits())
    refusal = plan(risk, tick=SimpleNamespace(bid=0.0, ask=0.0, time=0))
    assert isinstance(refusal, Refusal)
    assert refusal.rule == "no_prices"


def test_too_many_positions_is_refused_with_the_rule_name() -> None:
    refusal = plan(RiskRules(RiskLimits(max_positions=2)), open_positions=2)
    assert isinstance(refusal, Refusal)
    assert refusal.rule == "max_positions"


def test_a_stop_too_close_for_the_risk_budget_sizes_from_the_stop_distance() -> None:
    risk = RiskRules(RiskLimits(risk_per_trade_pct=1.0, max_position_size=5.0))
    planned = plan(risk, volume=None, sl=1.0902)  # 100 pips: 1 % of 10,000 buys 0.1 lot
    assert isinstance(planned, EntryPlan)
    assert abs(planned.volume - 0.1) < 1e-9
