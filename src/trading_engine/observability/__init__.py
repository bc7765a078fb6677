"""Observability: logging set-up (and, as they arrive, metrics and HTTP endpoints).

Importing this package sets nothing up; the application calls ``configure_logging()``.
"""

from __future__ import annotations

from trading_engine.observability.logging import (
    configure_logging,
    correlation_context,
    current_correlation_id,
    reset_logging,
)

__all__ = ["configure_logging", "correlation_context", "current_correlation_id", "reset_logging"]
