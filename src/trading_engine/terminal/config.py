"""Settings of the terminal port: timeouts, reconnect policy and the ``initialize`` arguments."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["PortSettings"]


class PortSettings(BaseModel):
    """How the port talks to a terminal.

    ``password`` is a ``SecretStr``: it is passed to ``login`` and nowhere else (its repr is
    masked, the port never logs it). Supply it from the environment, not from a file.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    call_timeout: float = Field(10.0, gt=0, description="wall seconds one threaded call may take")
    reconnect_attempts: int = Field(5, ge=1, description="re-initialize attempts before giving up")
    unreachable_timeout: float = Field(
        600.0,
        gt=0,
        description="seconds (engine clock) the terminal may stay unreachable; once a reconnect "
        "cycle fails after that, the port gives up for good (TerminalUnreachable)",
    )
    backoff_base: float = Field(0.5, ge=0, description="seconds; ceiling of the first retry delay")
    backoff_cap: float = Field(30.0, ge=0, description="seconds; largest retry delay")
    read_attempts: int = Field(3, ge=1, description="tries of a read-only call (retry, reconnect)")
    path: str | None = Field(None, description="terminal64.exe path for initialize()")
    login: int | None = Field(None, description="account number; login() after initialize()")
    server: str | None = Field(None, description="trade server name for login()")
    password: SecretStr | None = Field(None, description="account password (secret)")
    timeout_ms: int = Field(60_000, gt=0, description="initialize()/login() timeout in ms")
    portable: bool = Field(False, description="start the terminal in portable mode")
