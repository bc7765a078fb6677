"""``cents(x)``: ``round(x, 2)``, bit for bit, about five times cheaper for ordinary amounts.

``round(x, 2)`` rounds the exact binary value of ``x`` to two decimals (ties to even) through a
decimal conversion (~0.3 us). When ``y = x * 100`` is far from a half-integer the correctly rounded
integer ``n`` is just ``round(y)``: the product's error is at most ``|y|·2⁻⁵³`` (< 1e-5 below
1e11), and ``n / 100`` is the double nearest to ``n/100``, which is what ``round`` returns. Ties,
near-ties, zero (signed), huge and non-finite amounts take ``round(x, 2)`` itself.
"""

from __future__ import annotations

__all__ = ["cents"]


def cents(x: float) -> float:
    """``round(x, 2)``, exactly."""
    y = x * 100.0
    if -1e11 < y < 1e11:
        n = round(y)
        if n and -0.4999 < y - n < 0.4999:
            return n / 100.0
        if y == 0.0:
            return x  # ±0.0 rounds to itself
    return round(x, 2)
