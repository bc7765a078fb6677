"""The packed numpy record types of ``copy_rates_*`` and ``copy_ticks_*`` (60 bytes each)."""

from __future__ import annotations

from typing import Final

import numpy as np

RATES_DTYPE: Final = np.dtype(
    [
        ("time", "<i8"),
        ("open", "<f8"),
        ("high", "<f8"),
        ("low", "<f8"),
        ("close", "<f8"),
        ("tick_volume", "<u8"),
        ("spread", "<i4"),
        ("real_volume", "<u8"),
    ]
)
"""Bar record: ``time`` open time (server seconds), ``spread`` in points, volumes as counts."""

TICKS_DTYPE: Final = np.dtype(
    [
        ("time", "<i8"),
        ("bid", "<f8"),
        ("ask", "<f8"),
        ("last", "<f8"),
        ("volume", "<u8"),
        ("time_msc", "<i8"),
        ("flags", "<u4"),
        ("volume_real", "<f8"),
    ]
)
"""Tick record: ``time`` server seconds, ``time_msc`` server milliseconds, ``flags`` TICK_FLAG_*."""

__all__ = ["RATES_DTYPE", "TICKS_DTYPE"]
