"""Indicators: numba batch kernels (TA-Lib conventions), the streaming ``IndicatorSet`` and the
market regime classifier."""

from __future__ import annotations

__all__: list[str] = []
