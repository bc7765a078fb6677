"""Observability: logging set-up, and Prometheus metrics (``observability.metrics``, imported on
demand: it loads prometheus_client).

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
