"""The order state machine: the states of an engine order and the table of legal transitions.

::

    NEW ──► SUBMITTED ──► PLACED ──► PARTIALLY_FILLED ──► FILLED
     │          │            │              │
     │          ├──► FILLED / PARTIALLY_FILLED / REJECTED / CANCELED / EXPIRED
     │          └──► UNKNOWN ──► (resolved from the terminal) PLACED / PARTIALLY_FILLED /
     │                            FILLED / REJECTED / CANCELED / EXPIRED
     └──► REJECTED (refused before sending: risk, normalisation) / CANCELED

``SUBMITTED`` is entered only from ``NEW``: an order is sent once. A retry after a requote or a
"no prices" answer is a *new* order with a new client id; the first one ends ``REJECTED``.
``UNKNOWN`` (timeout, lost connection, a reply that never came) is left only by reading the
terminal's orders, positions and deals (``execution.reconcile``), never by sending again.
``FILLED``, ``REJECTED``, ``CANCELED`` and ``EXPIRED`` are final.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["FINAL_STATES", "TRANSITIONS", "OrderState"]


class OrderState(StrEnum):
    """Where an order stands."""

    NEW = "new"
    SUBMITTED = "submitted"
    PLACED = "placed"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    REJECTED = "rejected"
    CANCELED = "canceled"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


_S = OrderState
TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    _S.NEW: frozenset({_S.SUBMITTED, _S.REJECTED, _S.CANCELED}),
    _S.SUBMITTED: frozenset(
        {_S.PLACED, _S.PARTIALLY_FILLED, _S.FILLED, _S.REJECTED, _S.CANCELED, _S.EXPIRED}
        | {_S.UNKNOWN}
    ),
    _S.PLACED: frozenset(
        {_S.PARTIALLY_FILLED, _S.FILLED, _S.REJECTED, _S.CANCELED, _S.EXPIRED, _S.UNKNOWN}
    ),
    _S.PARTIALLY_FILLED: frozenset(
        {_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.EXPIRED, _S.UNKNOWN}
    ),
    _S.UNKNOWN: frozenset(
        {_S.PLACED, _S.PARTIALLY_FILLED, _S.FILLED, _S.REJECTED, _S.CANCELED, _S.EXPIRED}
    ),
    _S.FILLED: frozenset(),
    _S.REJECTED: frozenset(),
    _S.CANCELED: frozenset(),
    _S.EXPIRED: frozenset(),
}
"""Every legal transition; anything else raises ``OrderError``."""

FINAL_STATES = frozenset(state for state, nexts in TRANSITIONS.items() if not nexts)
