"""The risk rules' latches in the journal, so that a restart does not lift a halt.

The state (the server day with its starting equity and daily-loss latch, the equity peak and the
drawdown halt) is stored as JSON under the journal's ``state`` key ``risk`` after every account
update, and restored when the engine starts. A stored state that cannot be read is a
``JournalError`` naming the key: trading on guessed limits is worse than not starting.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from trading_engine.errors import DataIntegrityError, JournalError
from trading_engine.execution.risk import RiskRules
from trading_engine.journal.store import Journal

__all__ = ["RISK_STATE_KEY", "load_risk", "save_risk", "stored_risk"]

RISK_STATE_KEY = "risk"

_ENCODER = json.JSONEncoder(sort_keys=True)
"""``json.dumps(..., sort_keys=True)`` without building an encoder per call (one per entry)."""


class StateWriter(Protocol):
    """What ``save_risk`` needs: the journal, or its writer thread (``JournalWriter``)."""

    def put_state(self, key: str, value: bytes, *, updated_at: float | None = None) -> None: ...


def save_risk(journal: StateWriter, rules: RiskRules, now: float) -> None:
    """Write ``rules``' state to ``journal`` (one committed row)."""
    payload = _ENCODER.encode(rules.snapshot()).encode()
    journal.put_state(RISK_STATE_KEY, payload, updated_at=now)


def stored_risk(journal: Journal) -> dict[str, Any] | None:
    """The stored state as a dict, or None when the journal has none."""
    raw = journal.get_state(RISK_STATE_KEY)
    if raw is None:
        return None
    try:
        value = json.loads(raw.decode())
    except (UnicodeDecodeError, ValueError) as exc:
        raise JournalError(
            f"{journal.path}: state '{RISK_STATE_KEY}' is not valid JSON: {exc}"
        ) from None
    if not isinstance(value, dict):
        raise JournalError(f"{journal.path}: state '{RISK_STATE_KEY}' is not a JSON object")
    return value


def load_risk(journal: Journal, rules: RiskRules) -> bool:
    """Restore ``rules`` from ``journal``; False (rules untouched) when nothing is stored."""
    value = stored_risk(journal)
    if value is None:
        return False
    try:
        rules.restore(value)
    except DataIntegrityError as exc:
        raise JournalError(f"{journal.path}: state '{RISK_STATE_KEY}': {exc}") from None
    return True
