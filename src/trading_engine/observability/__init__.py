"""Observability: logging set-up now; metrics and HTTP endpoints as they arrive.

Importing it sets nothing up: the application calls ``configure_logging()``.
"""

from __future__ import annotations

from trading_engine.observability.logging import (
    configure_logging,
    correlation_context,
    current_correlation_id,
    reset_logging,
)

__all__ = ["configure_logging", "correlation_context", "current_correlation_id", "reset_logging"]
