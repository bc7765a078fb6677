"""Shared fixtures: a clean configuration environment and loguru reset after every test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from trading_engine.observability.logging import reset_logging

CONFIG_ENV_PREFIXES = ("TRADING_", "RISK_", "SERVICES_", "ORCHESTRATOR_", "LOGGING_")
"""TRADING_ covers TRADING_ENGINE__* too."""


@pytest.fixture(autouse=True)
def _clean_config_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees a configuration variable that it did not set itself."""
    for name in list(os.environ):
        if name.upper().startswith(CONFIG_ENV_PREFIXES):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    """Undo ``configure_logging`` (handlers, stdlib route, patcher) after each test."""
    yield
    reset_logging()
