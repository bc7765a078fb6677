"""The ``last_error()`` model: one ``(code, description)`` pair per terminal, set by every call.

Failures return ``None`` (or ``False``) and leave their reason here; every successful call resets
it to ``(1, 'Success')``. Codes and strings are those of the 5.0.6231 module
(``docs/mt5-api.md`` §3.4).
"""

from __future__ import annotations

from typing import Final

from trading_engine.mt5sim.spec.constants import (
    RES_E_AUTH_FAILED,
    RES_E_AUTO_TRADING_DISABLED,
    RES_E_FAIL,
    RES_E_INTERNAL_FAIL,
    RES_E_INTERNAL_FAIL_CONNECT,
    RES_E_INTERNAL_FAIL_INIT,
    RES_E_INTERNAL_FAIL_RECEIVE,
    RES_E_INTERNAL_FAIL_SEND,
    RES_E_INTERNAL_FAIL_TIMEOUT,
    RES_E_INVALID_PARAMS,
    RES_E_INVALID_VERSION,
    RES_E_NO_MEMORY,
    RES_E_NOT_FOUND,
    RES_E_UNSUPPORTED,
    RES_S_OK,
)

__all__ = [
    "DESCRIPTIONS",
    "SUCCESS",
    "ErrorState",
    "invalid_argument",
]

DESCRIPTIONS: Final[dict[int, str]] = {
    RES_S_OK: "Success",
    RES_E_FAIL: "Terminal: Call failed",
    RES_E_INVALID_PARAMS: "Terminal: Invalid params",
    RES_E_NO_MEMORY: "Terminal: Out of memory",
    RES_E_NOT_FOUND: "Terminal: Not found",
    RES_E_INVALID_VERSION: (
        "Terminal: Incompatible versions, please install the latest version of Terminal and "
        "Python module"
    ),
    RES_E_AUTH_FAILED: "Terminal: Authorization failed",
    RES_E_UNSUPPORTED: "Terminal: Unsupported function",
    RES_E_AUTO_TRADING_DISABLED: "Auto-Trading using Python API disabled in Terminal",
    RES_E_INTERNAL_FAIL: "IPC call failed",
    RES_E_INTERNAL_FAIL_SEND: "IPC send failed",
    RES_E_INTERNAL_FAIL_RECEIVE: "IPC recv failed",
    RES_E_INTERNAL_FAIL_INIT: "IPC initialize failed, MetaTrader 5 x64 not found",
    RES_E_INTERNAL_FAIL_CONNECT: "No IPC connection",
    RES_E_INTERNAL_FAIL_TIMEOUT: "IPC timeout",
}
"""The description each code carries when no more specific text applies."""

SUCCESS: Final = (RES_S_OK, "Success")


def invalid_argument(field: str) -> tuple[int, str]:
    """The error of a bad argument or request field: ``(-2, 'Invalid "<field>" argument')``."""
    return (RES_E_INVALID_PARAMS, f'Invalid "{field}" argument')


class ErrorState:
    """The terminal's last error, read by ``last_error()``."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: tuple[int, str] = SUCCESS

    def ok(self) -> None:
        """Record a successful call."""
        self.value = SUCCESS

    def set(self, code: int, description: str | None = None) -> None:
        """Record a failure with ``code`` and its standard (or the given) description."""
        self.value = (code, description if description is not None else DESCRIPTIONS[code])

    def argument(self, field: str) -> None:
        """Record a bad argument ``field``."""
        self.value = invalid_argument(field)
