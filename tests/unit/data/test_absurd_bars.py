"""F10: absurd bars (a range of many times the recent ATR, 1e308) are rejected and counted."""

from __future__ import annotations

import numpy as np

from trading_engine.data.validation import BarReject, BarValidator, validate_ohlc
from trading_engine.mt5sim.spec.dtypes import RATES_DTYPE


def bars(
    n: int, start: int = 1_704_067_200, spike_at: int | None = None, high: float = 0.0
) -> np.ndarray:
    rows = np.zeros(n, dtype=RATES_DTYPE)
    rng = np.random.default_rng(1)
    close = 1.1 + np.cumsum(rng.normal(0, 0.0002, n))
    rows["time"] = start + 60 * np.arange(n)
    rows["open"] = close
    rows["close"] = close
    rows["high"] = close + 0.0003
    rows["low"] = close - 0.0003
    rows["tick_volume"] = 30
    if spike_at is not None:
        rows["high"][spike_at] = high
    return rows


def test_a_bar_with_a_high_of_1e308_is_rejected_whatever_came_before() -> None:
    assert validate_ohlc(60, 1.1, 1e308, 1.0, 1.1) is BarReject.ABSURD_RANGE
    fresh = BarValidator("EURUSD", 1, timeframe_seconds=60)
    batch = fresh.process_closed(bars(5, spike_at=2, high=1e308))
    assert len(batch.accepted) == 4
    assert batch.rejected == [(int(bars(5)["time"][2]), BarReject.ABSURD_RANGE)]
    assert fresh.rejections[BarReject.ABSURD_RANGE] == 1


def test_a_range_of_a_hundred_recent_atrs_is_rejected_in_a_poll_and_in_a_batch() -> None:
    history = bars(300)
    validator = BarValidator("EURUSD", 1, timeframe_seconds=60)
    assert len(validator.process_closed(history[:200]).accepted) == 200
    # a poll of three bars whose last closed one spans 100 times the recent range (0.0006)
    poll = history[200:203].copy()
    poll["high"][1] = poll["close"][1] + 0.06
    batch = validator.process(poll, candle_index=1)
    assert [reason for _, reason in batch.rejected] == [BarReject.ABSURD_RANGE]
    assert len(batch.accepted) == 1
    # a normal wide bar (five times the usual range) passes
    wide = history[203:206].copy()
    wide["high"][0] = wide["close"][0] + 0.003
    assert len(validator.process(wide, candle_index=1).accepted) == 2
    # in one large batch, with no history yet, the batch's own median range is the reference
    cold = BarValidator("EURUSD", 1, timeframe_seconds=60)
    spiked = bars(300, spike_at=150, high=float(history["close"][150]) + 0.05)
    batch = cold.process_closed(spiked)
    assert len(batch.accepted) == 299
    assert cold.stats()["rejected_by_reason"] == {"absurd_range": 1}
