"""Risk rules: daily loss on the server day, drawdown, positions, size, REDUCING, persistence."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading_engine.errors import DataIntegrityError
from trading_engine.execution.risk import RiskLimits, RiskRule, RiskRules, RiskState, server_day

DAY = 86_400
MONDAY = 1_704_672_000  # 2024-01-08 00:00 server time
NOON = MONDAY + 12 * 3600


def rules(**limits: float | int | None) -> RiskRules:
    defaults: dict[str, float | int | None] = {"daily_loss_limit": 1000.0, "max_positions": 3,
                                               "max_position_size": 1.0}  # fmt: skip
    r = RiskRules(RiskLimits.model_validate({**defaults, **limits}))
    r.on_account(10_000.0, 10_000.0, MONDAY + 60)
    return r


def test_an_entry_is_allowed_when_every_limit_is_far() -> None:
    d = rules().check_entry("EURUSD", 0.5, 0, NOON)
    assert (d.allowed, d.rule, d.volume) == (True, "", 0.5)


def test_risk_blocks_entry_when_daily_loss_limit_reached() -> None:
    r = rules()
    assert r.on_account(9_000.0, 9_500.0, NOON) is RiskState.HALTED
    d = r.check_entry("EURUSD", 0.1, 0, NOON + 60)
    assert not d.allowed
    assert d.rule == RiskRule.DAILY_LOSS_LIMIT
    assert "daily loss 1000.00 reached the limit 1000.00" in d.reason
    assert "2024-01-08" in d.reason
    assert d.volume == 0.0


def test_the_daily_halt_is_latched_for_the_rest_of_the_day() -> None:
    r = rules()
    r.on_account(8_900.0, 9_000.0, NOON)
    r.on_account(9_800.0, 9_800.0, NOON + 3600)  # equity recovers
    assert r.state is RiskState.HALTED
    assert not r.check_entry("EURUSD", 0.1, 0, NOON + 7200).allowed


def test_trading_resumes_on_the_next_server_day_after_a_daily_loss_halt() -> None:
    r = rules()
    r.on_account(8_900.0, 8_900.0, NOON)
    assert not r.check_entry("EURUSD", 0.1, 0, MONDAY + DAY - 1).allowed
    d = r.check_entry("EURUSD", 0.1, 0, MONDAY + DAY)  # 00:00 next server day
    assert d.allowed
    assert r.state is RiskState.ACTIVE
    # The new day's loss is measured from the new day's starting equity.
    assert r.on_account(8_000.0, 8_000.0, MONDAY + DAY + 60) is RiskState.REDUCING
    assert r.daily_loss == pytest.approx(900.0)


def test_the_day_starts_at_the_configured_offset() -> None:
    r = RiskRules(RiskLimits(daily_loss_limit=100), day_offset_seconds=22 * 3600)
    r.on_account(1000, 1000, MONDAY + 21 * 3600)
    r.on_account(850, 850, MONDAY + 21 * 3600 + 60)
    assert r.state is RiskState.HALTED
    assert r.check_entry("EURUSD", 0.1, 0, MONDAY + 22 * 3600).allowed
    assert server_day(MONDAY + 22 * 3600, 22 * 3600) == server_day(MONDAY)


def test_exits_are_allowed_while_halted() -> None:
    r = rules()
    r.on_account(8_000.0, 8_000.0, NOON)
    assert r.state is RiskState.HALTED
    d = r.check_exit("EURUSD", 0.3)
    assert (d.allowed, d.volume) == (True, 0.3)


def test_max_positions_blocks_a_new_entry() -> None:
    d = rules().check_entry("EURUSD", 0.1, 3, NOON)
    assert (d.allowed, d.rule) == (False, RiskRule.MAX_POSITIONS)
    assert "3 positions open, the limit is 3" in d.reason
    assert rules().check_entry("EURUSD", 0.1, 2, NOON).allowed


def test_max_position_size_refuses_a_larger_order() -> None:
    d = rules().check_entry("EURUSD", 1.5, 0, NOON)
    assert (d.allowed, d.rule) == (False, RiskRule.MAX_POSITION_SIZE)
    assert rules().check_entry("EURUSD", 1.0, 0, NOON).allowed


def test_invalid_volume_is_refused() -> None:
    assert rules().check_entry("EURUSD", 0.0, 0, NOON).rule == RiskRule.INVALID_VOLUME


def test_entries_wait_for_the_first_account_update() -> None:
    r = RiskRules(RiskLimits())
    d = r.check_entry("EURUSD", 0.1, 0, NOON)
    assert (d.allowed, d.rule) == (False, RiskRule.NO_ACCOUNT_DATA)


def test_drawdown_halt_needs_an_explicit_reset() -> None:
    r = rules(daily_loss_limit=None, max_drawdown_pct=10.0)
    r.on_account(12_000.0, 12_000.0, NOON)  # new peak
    assert r.on_account(10_800.0, 10_800.0, NOON + 60) is RiskState.HALTED  # -10%
    d = r.check_entry("EURUSD", 0.1, 0, NOON + 120)
    assert (d.allowed, d.rule) == (False, RiskRule.MAX_DRAWDOWN)
    assert "drawdown 10.00%" in d.reason
    # A new day does not lift it.
    assert not r.check_entry("EURUSD", 0.1, 0, NOON + 3 * DAY).allowed
    assert r.on_account(11_000.0, 11_000.0, NOON + 3 * DAY) is RiskState.HALTED
    r.reset_drawdown_halt()
    assert r.state is RiskState.ACTIVE
    assert r.check_entry("EURUSD", 0.1, 0, NOON + 3 * DAY + 60).allowed


def test_reducing_halves_entries_near_the_daily_limit() -> None:
    r = rules(reduce_at_pct=0.8)
    assert r.on_account(9_250.0, 9_250.0, NOON) is RiskState.ACTIVE  # 750 < 800
    assert r.on_account(9_150.0, 9_150.0, NOON + 60) is RiskState.REDUCING  # 850 >= 800
    d = r.check_entry("EURUSD", 0.5, 0, NOON + 120)
    assert (d.allowed, d.rule, d.volume) == (True, RiskRule.REDUCING, 0.25)
    assert "reduced from 0.5 to 0.25" in d.reason
    assert "at 80% or more of the limit 1000.00" in d.reason


def test_reducing_rounds_down_to_the_step_and_refuses_below_the_minimum() -> None:
    r = rules()
    r.on_account(9_150.0, 9_150.0, NOON)
    assert r.check_entry("EURUSD", 0.15, 0, NOON, volume_step=0.01).volume == 0.07
    d = r.check_entry("EURUSD", 0.01, 0, NOON, volume_step=0.01, volume_min=0.01)
    assert (d.allowed, d.rule) == (False, RiskRule.REDUCING)


def test_reducing_with_a_zero_factor_blocks_entries() -> None:
    r = rules(reduce_factor=0.0)
    r.on_account(9_150.0, 9_150.0, NOON)
    assert not r.check_entry("EURUSD", 0.5, 0, NOON).allowed


def test_reducing_near_the_drawdown_limit() -> None:
    r = rules(daily_loss_limit=None, max_drawdown_pct=10.0, reduce_at_pct=0.5)
    assert r.on_account(9_400.0, 9_400.0, NOON) is RiskState.REDUCING  # 6% >= 5%
    assert r.drawdown_pct == pytest.approx(6.0)


def test_cash_flows_are_not_counted_as_loss() -> None:
    r = rules()
    r.adjust_for_cash_flow(-2_000.0)  # a withdrawal
    assert r.on_account(8_000.0, 8_000.0, NOON) is RiskState.ACTIVE
    assert r.daily_loss == 0.0


def test_a_non_finite_account_value_is_a_data_integrity_error() -> None:
    with pytest.raises(DataIntegrityError):
        rules().on_account(float("nan"), 1.0, NOON)


def test_snapshot_and_restore_keep_a_halt_across_a_restart() -> None:
    r = rules(max_drawdown_pct=50.0)
    r.on_account(8_900.0, 8_900.0, NOON)
    again = RiskRules(r.limits)
    again.restore(r.snapshot())
    assert again.state is RiskState.HALTED
    assert again.snapshot() == r.snapshot()
    assert not again.check_entry("EURUSD", 0.1, 0, NOON + 60).allowed
    assert again.check_entry("EURUSD", 0.1, 0, MONDAY + DAY).allowed


def test_a_corrupt_snapshot_is_refused() -> None:
    with pytest.raises(DataIntegrityError, match="corrupt risk snapshot"):
        RiskRules(RiskLimits()).restore({"version": 1, "day": "monday"})


def test_limits_build_from_the_system_risk_config() -> None:
    from trading_engine.config import RiskConfig

    limits = RiskLimits.model_validate(RiskConfig(), from_attributes=True)
    assert limits.reduce_at_pct == RiskConfig().reduce_at_pct
    r = RiskRules(limits)
    r.on_account(10_000.0, 10_000.0, NOON)
    assert r.state is RiskState.ACTIVE


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="max_positions"):
        RiskLimits(max_positions=0)
    with pytest.raises(ValueError, match="max_drawdown_pct"):
        RiskLimits(max_drawdown_pct=150)
    with pytest.raises(ValueError, match="reduce_at_pct"):
        RiskLimits(reduce_at_pct=80)


@settings(max_examples=100)
@given(
    st.lists(
        st.tuples(st.floats(min_value=5_000, max_value=15_000), st.integers(0, 3 * DAY)),
        min_size=1,
        max_size=30,
    )
)
def test_entries_are_refused_exactly_when_the_days_loss_reached_the_limit(
    updates: list[tuple[float, int]],
) -> None:
    r = rules()
    start: dict[int, float] = {server_day(MONDAY): 10_000.0}
    halted_days: set[int] = set()
    last = 10_000.0
    for equity, offset in sorted(updates, key=lambda u: u[1]):
        t = MONDAY + 60 + offset
        day = server_day(t)
        start.setdefault(day, equity)
        r.on_account(equity, equity, t)
        last = equity
        if start[day] - equity >= 1000.0:
            halted_days.add(day)
        d = r.check_entry("EURUSD", 0.1, 0, t)
        assert d.allowed == (day not in halted_days), (day, start[day], last)
