"""Market data: bar validation and detection of newly closed bars (pure), and later the
DataFetchingService that polls the terminal."""

from __future__ import annotations

from trading_engine.data.validation import (
    BarBatch,
    BarReject,
    BarValidator,
    Gap,
    detect_gap,
    new_closed_bars,
    validate_bar,
    validate_rates,
)

__all__ = [
    "BarBatch",
    "BarReject",
    "BarValidator",
    "Gap",
    "detect_gap",
    "new_closed_bars",
    "validate_bar",
    "validate_rates",
]
