"""Position sizing from the risk per trade and the stop distance (pure).

The money lost if the stop is hit with one lot is ``stop_distance / tick_size × tick_value``
(MT5's ``trade_tick_size`` and ``trade_tick_value``, the value of one tick for one lot in the
account currency; ``trade_tick_value_loss``, where the broker fills it, is the exact figure for
a losing move). The volume risking ``equity × risk_pct / 100`` is that money divided by the
loss per lot, capped at ``volume_max`` and rounded **down** to ``volume_step``, so the risk taken
never exceeds the budget; below ``volume_min`` the answer is ``0.0`` and the caller refuses the
trade with a reason (rounding up to the minimum would exceed the budget).
"""

from __future__ import annotations

import functools
import math
from decimal import Decimal

from trading_engine.errors import OrderError

__all__ = ["loss_per_lot", "round_volume_down", "size_from_risk", "step_decimals"]


@functools.lru_cache(maxsize=256)  # a few steps per symbol, asked for every entry
def step_decimals(step: float) -> int:
    """Decimals needed to write multiples of ``step`` exactly (0.01 → 2, 0.5 → 1, 1 → 0)."""
    exponent = Decimal(repr(step)).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def round_volume_down(volume: float, step: float, volume_min: float, volume_max: float) -> float:
    """``volume`` capped at ``volume_max``, rounded down to a multiple of ``step``; ``0.0`` when
    that is below ``volume_min``."""
    if not (step > 0 and math.isfinite(step)):
        raise OrderError(f"volume step must be > 0, got {step}")
    if volume_max < volume_min:
        raise OrderError(f"volume_max {volume_max} < volume_min {volume_min}")
    if not math.isfinite(volume) or volume <= 0:
        return 0.0
    capped = min(volume, volume_max)
    # The 1e-9 absorbs binary noise (0.3 / 0.1 = 2.9999999999999996) without rounding up for real.
    steps = math.floor(capped / step + 1e-9)
    rounded = round(steps * step, step_decimals(step))
    if rounded > capped * (1 + 1e-9):  # the epsilon must never buy more than the cap
        rounded = round((steps - 1) * step, step_decimals(step))
    return rounded if rounded >= volume_min - 1e-12 and rounded > 0 else 0.0


def loss_per_lot(stop_distance_price: float, tick_size: float, tick_value: float) -> float:
    """Account-currency loss of one lot moving ``stop_distance_price`` against the position."""
    if not (tick_size > 0 and tick_value > 0):
        raise OrderError(f"tick size and tick value must be > 0, got {tick_size}, {tick_value}")
    if not (stop_distance_price > 0 and math.isfinite(stop_distance_price)):
        raise OrderError(f"stop distance must be > 0, got {stop_distance_price}")
    return stop_distance_price / tick_size * tick_value


def size_from_risk(
    equity: float,
    risk_pct: float,
    stop_distance_price: float,
    tick_size: float,
    tick_value: float,
    volume_min: float,
    volume_max: float,
    volume_step: float,
) -> float:
    """Lots risking ``risk_pct`` % of ``equity`` on a stop ``stop_distance_price`` away.

    Rounded down to ``volume_step`` and capped at ``volume_max`` (pass the smaller of the symbol's
    maximum and the risk rules' ``max_position_size``); ``0.0`` when the result is below
    ``volume_min`` or the equity is not positive. Raises ``OrderError`` for a non-positive stop
    distance, tick size, tick value or step, or a ``risk_pct`` outside (0, 100].
    """
    if not (0 < risk_pct <= 100):
        raise OrderError(f"risk per trade must be in (0, 100] %, got {risk_pct}")
    per_lot = loss_per_lot(stop_distance_price, tick_size, tick_value)
    if not (equity > 0 and math.isfinite(equity)):
        return 0.0
    budget = equity * risk_pct / 100.0
    return round_volume_down(budget / per_lot, volume_step, volume_min, volume_max)
