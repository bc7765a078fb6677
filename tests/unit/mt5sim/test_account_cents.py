"""``cents`` is ``round(x, 2)`` bit for bit (the figures of every account answer go through it)."""

from __future__ import annotations

import math
import random
import struct

from hypothesis import given
from hypothesis import strategies as st

from trading_engine.mt5sim.server.cents import cents


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_cents_is_round_2_for_any_float(x: float) -> None:
    assert _bits(cents(x)) == _bits(round(x, 2))


@given(st.integers(-(10**12), 10**12), st.sampled_from([0.0, 0.5, 0.4999, 0.49999999, 0.5000001]))
def test_cents_near_ties(k: int, frac: float) -> None:
    for x in ((k + frac) / 100.0, -(k + frac) / 100.0, math.nextafter((k + frac) / 100.0, 0.0)):
        assert _bits(cents(x)) == _bits(round(x, 2))


def test_cents_on_money_like_amounts() -> None:
    rng = random.Random(1)
    for _ in range(200_000):
        x = (rng.uniform(0.5, 2.0) - rng.uniform(0.5, 2.0)) * rng.choice([1e3, 1e4, 1e5, 1e7])
        assert _bits(cents(x)) == _bits(round(x, 2))
    for x in (0.0, -0.0, 0.005, -0.005, 1.005, 2.675, 0.125, 1e11, -1e11, 5e-324):
        assert _bits(cents(x)) == _bits(round(x, 2))
