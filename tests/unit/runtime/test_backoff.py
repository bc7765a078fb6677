from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading_engine.runtime import Backoff, BackoffTracker, RestartBudget

bases = st.floats(min_value=0.0, max_value=100.0, allow_nan=False)
caps = st.floats(min_value=0.0, max_value=1e6, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(base=bases, cap=caps, attempt=st.integers(0, 5_000), seed=st.integers(0, 2**32))
def test_delay_stays_within_zero_and_the_ceiling(
    base: float, cap: float, attempt: int, seed: int
) -> None:
    backoff = Backoff(base, cap)
    ceiling = backoff.ceiling(attempt)
    assert ceiling == min(cap, base * 2.0**attempt) if attempt < 1000 else ceiling <= cap
    assert 0.0 <= backoff.delay(attempt, random.Random(seed)) <= ceiling <= cap


@settings(max_examples=40, deadline=None)
@given(base=st.floats(0.001, 10.0), cap=st.floats(0.001, 1e4), attempt=st.integers(0, 60))
def test_ceiling_doubles_until_the_cap(base: float, cap: float, attempt: int) -> None:
    backoff = Backoff(base, cap)
    assert backoff.ceiling(attempt + 1) == min(cap, 2 * backoff.ceiling(attempt)) or math.isclose(
        backoff.ceiling(attempt + 1), min(cap, 2 * backoff.ceiling(attempt))
    )


def test_huge_attempt_returns_the_cap_instead_of_overflowing() -> None:
    assert Backoff(0.5, 30.0).ceiling(10**6) == 30.0


def test_backoff_rejects_negative_or_nan_parameters_and_attempts() -> None:
    with pytest.raises(ValueError, match="base and cap"):
        Backoff(-1.0, 1.0)
    with pytest.raises(ValueError, match="base and cap"):
        Backoff(1.0, math.nan)
    with pytest.raises(ValueError, match="attempt"):
        Backoff(1.0, 2.0).ceiling(-1)


def test_delay_is_reproducible_with_a_seeded_rng() -> None:
    backoff = Backoff(0.5, 30.0)
    first = [backoff.delay(k, random.Random(7)) for k in range(8)]
    again = [backoff.delay(k, random.Random(7)) for k in range(8)]
    assert first == again


@settings(max_examples=60, deadline=None)
@given(
    uptimes=st.lists(st.floats(0.0, 200.0, allow_nan=False), min_size=1, max_size=30),
    seed=st.integers(0, 2**32),
)
def test_tracker_grows_the_attempt_and_resets_it_after_a_stable_run(
    uptimes: list[float], seed: int
) -> None:
    backoff = Backoff(0.5, 30.0)
    tracker = BackoffTracker(backoff, stable_window=60.0)
    rng = random.Random(seed)
    expected_attempt = 0
    for uptime in uptimes:
        if uptime >= 60.0:
            expected_attempt = 0
        delay = tracker.failed(uptime, rng)
        assert 0.0 <= delay <= backoff.ceiling(expected_attempt)
        assert tracker.current == delay
        expected_attempt += 1
        assert tracker.attempt == expected_attempt


def test_tracker_reset_forgets_failures() -> None:
    tracker = BackoffTracker(Backoff(1.0, 8.0), stable_window=10.0)
    for _ in range(5):
        tracker.failed(0.0, random.Random(1))
    tracker.reset()
    assert (tracker.attempt, tracker.current) == (0, 0.0)


def test_budget_allows_intensity_restarts_in_a_period_then_refuses() -> None:
    budget = RestartBudget(intensity=3, period=10.0)
    assert [budget.record(t) for t in (0.0, 1.0, 2.0)] == [True, True, True]
    assert budget.record(3.0) is False


def test_budget_forgets_restarts_older_than_the_period() -> None:
    budget = RestartBudget(intensity=2, period=10.0)
    assert budget.record(0.0)
    assert budget.record(5.0)
    assert budget.record(10.0)  # the restart at 0.0 left the window (now - period, now]
    assert budget.used(10.0) == 2
    assert budget.used(100.0) == 0


def test_budget_of_zero_allows_no_restart() -> None:
    assert RestartBudget(intensity=0, period=1.0).record(0.0) is False


@settings(max_examples=40, deadline=None)
@given(gaps=st.lists(st.floats(0.0, 20.0, allow_nan=False), min_size=1, max_size=40))
def test_budget_matches_a_sliding_window_count(gaps: list[float]) -> None:
    budget = RestartBudget(intensity=4, period=15.0)
    times: list[float] = []
    now = 0.0
    for gap in gaps:
        now += gap
        times.append(now)
        in_window = [t for t in times if t > now - 15.0]
        assert budget.record(now) is (len(in_window) <= 4)
