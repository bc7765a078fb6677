"""Market data: its settings (``config``), bar validation and detection of newly closed bars
(``validation``, pure), and the ``DataFetchingService`` that polls the terminal (``service``).

Light to import: the validation names (numpy) load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from trading_engine.data.config import DataFetchingConfig

if TYPE_CHECKING:
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
    "DataFetchingConfig",
    "Gap",
    "detect_gap",
    "new_closed_bars",
    "validate_bar",
    "validate_rates",
]

_VALIDATION = frozenset(__all__) - {"DataFetchingConfig"}


def __getattr__(name: str) -> object:
    if name not in _VALIDATION:
        raise AttributeError(f"module 'trading_engine.data' has no attribute {name!r}")
    value = getattr(importlib.import_module("trading_engine.data.validation"), name)
    globals()[name] = value
    return value
