"""The bar-timed poll schedule (pure arithmetic)."""

from __future__ import annotations

from trading_engine.data.schedule import boundary_step, due, next_wake


def test_boundaries_fall_on_the_smallest_timeframe_at_most_an_hour() -> None:
    assert boundary_step([60, 300, 3600]) == 60
    assert boundary_step([14_400, 86_400]) == 3600
    assert boundary_step([None]) == 3600


def test_the_next_wake_is_the_next_boundary_plus_the_delay_strictly_after_now() -> None:
    assert next_wake(120.0, 60, 1.0) == 121.0  # 121 > 120: the boundary at 120 plus 1 s
    assert next_wake(121.0, 60, 1.0) == 181.0
    assert next_wake(119.5, 60, 0.0) == 120.0


def test_a_stream_is_due_at_the_boundaries_of_its_timeframe_up_to_an_hour() -> None:
    assert due(3601.0, 1.0, 300)
    assert not due(3661.0, 1.0, 300)
    assert due(3661.0, 1.0, 60)
    assert not due(14_401.0, 1.0, 14_400)  # above H1: never due (taken by any poll)
