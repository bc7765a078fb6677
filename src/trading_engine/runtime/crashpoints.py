"""Named crash points for the crash-recovery tests: SIGKILL the process at an exact instant.

Set ``TRADING_ENGINE_CRASH_AT=<point>`` (or ``<point>:<n>``, the n-th time the point is reached;
several separated by commas) in the environment of a test's ``trading-engine run`` subprocess, and
the process kills itself with SIGKILL when it gets there: no ``finally``, no flush, no atexit, as
a power cut or the OOM killer would. Unset (always, outside those tests), a point costs one dict
lookup. The points, in an order's life:

- ``journaled_before_send``: the order row is committed, ``order_send`` not called;
- ``sent_before_reply``: the terminal executed the request, its reply is not looked at;
- ``filled_before_booking``: the reply says filled, nothing of the fill is journaled;
- ``mid_close``: a close's deals are journaled, the position is not marked closed;
- ``reconciling``: at start, unfinished orders are resolved, positions not yet adopted.
"""

from __future__ import annotations

import os
import signal

__all__ = ["CRASH_ENV", "POINTS", "crash_point"]

CRASH_ENV = "TRADING_ENGINE_CRASH_AT"
POINTS = (
    "journaled_before_send",
    "sent_before_reply",
    "filled_before_booking",
    "mid_close",
    "reconciling",
)


def _armed(value: str) -> dict[str, int]:
    armed: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, _, count = item.partition(":")
        if name not in POINTS:
            raise ValueError(f"{CRASH_ENV}: unknown crash point {name!r} (one of {POINTS})")
        armed[name] = int(count) if count else 1
    return armed


_ARMED = _armed(os.environ.get(CRASH_ENV, ""))


def crash_point(name: str) -> None:
    """SIGKILL this process if ``name`` is armed and reached for the armed time."""
    remaining = _ARMED.get(name)
    if remaining is None:
        return
    if remaining > 1:
        _ARMED[name] = remaining - 1
        return
    os.kill(os.getpid(), signal.SIGKILL)
