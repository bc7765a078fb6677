"""The one exception tree of trading-engine.

::

    TradingEngineError
    ├── ConfigError                  invalid or missing configuration (CLI exit 2)
    ├── ServiceStateError            a lifecycle call out of order (start twice, start after stop)
    ├── ChannelClosed                send on a closed channel (or receive from a drained one)
    ├── TransientError               retried inside the service with backoff; never a crash
    │   └── TerminalConnectionError  the terminal is unreachable (IPC errors, no connection)
    │       └── TerminalUnreachable  ... and stayed so for good: the engine stops (exit 5)
    ├── FatalError                   a broken invariant; not restarted, stops the tree
    │   └── DataIntegrityError       corrupt state or data that must never be traded on
    ├── SupervisorGaveUp             restart budget exhausted; the tree was stopped
    ├── TerminalError                a terminal call failed for a reason retrying will not fix
    ├── OrderError                   an order could not be built or resolved
    ├── StrategyError                a user strategy raised or could not be loaded
    └── JournalError                 the SQLite journal could not be read or written
"""

from __future__ import annotations

__all__ = [
    "ChannelClosed",
    "ConfigError",
    "DataIntegrityError",
    "FatalError",
    "JournalError",
    "OrderError",
    "ServiceStateError",
    "StrategyError",
    "SupervisorGaveUp",
    "TerminalConnectionError",
    "TerminalError",
    "TerminalUnreachable",
    "TradingEngineError",
    "TransientError",
]


class TradingEngineError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(TradingEngineError):
    """Raised when a configuration file, value or environment variable is invalid or missing.

    ``key`` is the dotted path of the offending key (or the variable's name), ``source`` the file
    or ``"environment"``; ``str(err)`` is one line naming both.
    """

    def __init__(self, message: str, *, key: str | None = None, source: str | None = None) -> None:
        self.key = key
        self.source = source
        where = ": ".join(part for part in (source, key) if part)
        super().__init__(f"{where}: {message}" if where else message)


class ServiceStateError(TradingEngineError):
    """Raised when a lifecycle call comes in the wrong state (start twice, start after stop)."""


class ChannelClosed(TradingEngineError):
    """Raised when sending on a closed channel, or receiving from one closed and drained."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        super().__init__(f"channel {channel!r} is closed")


class TransientError(TradingEngineError):
    """Raised for a failure its service retries with backoff; never counted as a crash."""


class TerminalConnectionError(TransientError):
    """Raised when the terminal cannot be reached (IPC error codes -10000…-10005, retcode 10031)."""


class TerminalUnreachable(TerminalConnectionError):
    """Raised when the terminal stayed unreachable for good (``terminal.unreachable_timeout``
    after ``reconnect_attempts`` failed reconnects): the engine stops (exit 5) rather than retry
    forever."""


class FatalError(TradingEngineError):
    """Raised for a broken invariant: the supervisor does not restart, it stops the tree."""


class DataIntegrityError(FatalError):
    """Raised when state or data is corrupt in a way that must never be traded on."""


class SupervisorGaveUp(TradingEngineError):
    """Raised by a supervisor whose restart budget is exhausted, after it stopped its children."""

    def __init__(self, supervisor: str, cause: BaseException | None = None) -> None:
        self.supervisor = supervisor
        self.cause = cause
        detail = f": {cause!r}" if cause is not None else ""
        super().__init__(f"supervisor {supervisor!r} gave up{detail}")


class TerminalError(TradingEngineError):
    """Raised when a terminal call fails for a reason that retrying will not fix."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        self.code = code
        super().__init__(message if code is None else f"{message} (code {code})")


class OrderError(TradingEngineError):
    """Raised when an order cannot be built, normalised or resolved."""


class StrategyError(TradingEngineError):
    """Raised when a user strategy cannot be loaded, or raises while evaluating a bar."""


class JournalError(TradingEngineError):
    """Raised when the SQLite journal cannot be opened, migrated, read or written."""
