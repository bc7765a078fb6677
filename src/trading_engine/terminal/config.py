"""Settings of the terminal: the ``terminal`` section (which terminal, its account, the simulator's
market and faults) and the port's settings derived from it (timeouts, reconnects, backoff)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, field_validator

from trading_engine.sections import Section, utc_datetime

__all__ = [
    "Mt5LinuxConfig",
    "PortSettings",
    "SimFaultConfig",
    "SimTerminalConfig",
    "TerminalConfig",
]


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


class SimFaultConfig(Section):
    """One scripted fault of the simulated terminal (``mt5sim.Fault``)."""

    kind: Literal[
        "disconnect",
        "no_connection",
        "lost_reply",
        "requote",
        "throttle",
        "no_prices",
        "history_short",
        "restart",
    ] = Field(description="what goes wrong")
    calls: int | None = Field(None, ge=0, description="for this many calls (null: the window)")
    start: Annotated[datetime | None, BeforeValidator(utc_datetime)] = Field(
        None, description="from this time, UTC (null: from the start)"
    )
    end: Annotated[datetime | None, BeforeValidator(utc_datetime)] = Field(
        None, description="until this time, UTC (null: no end)"
    )
    code: int | None = Field(None, description="the error or retcode (null: the kind's usual)")
    symbol: str | None = Field(None, description="only for this symbol (no_prices)")


class SimTerminalConfig(Section):
    """The simulated terminal (``trading_engine.mt5sim``)."""

    seed: int = Field(7, description="seed of the generated prices")
    start: Annotated[datetime, BeforeValidator(utc_datetime)] = Field(
        datetime(2024, 1, 8, tzinfo=UTC),
        description="simulated start time, UTC (a time without offset is read as UTC)",
    )
    history_days: int = Field(30, ge=0, le=36_500, description="days of history before start")
    balance: float = Field(10_000.0, gt=0, description="starting balance, account currency")
    leverage: int = Field(100, ge=1, le=10_000, description="account leverage")
    account_mode: Literal["hedging", "netting"] = Field("hedging", description="position mode")
    history_file: Path | None = Field(
        None, description="replay the first symbol's prices from this file instead"
    )
    history_files: dict[str, Path] = Field(
        default_factory=dict,
        description="symbol → history file (MT5 bars of any timeframe, ticks, or Parquet)",
    )

    @field_validator("history_file")
    @classmethod
    def _history_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @field_validator("history_files")
    @classmethod
    def _histories_exist(cls, value: dict[str, Path]) -> dict[str, Path]:
        for symbol, path in value.items():
            if not path.is_file():
                raise ValueError(f"{symbol}: no such file: {path}")
        return value

    slippage_points: int = Field(
        0,
        ge=0,
        le=10_000,
        description="market execution: each fill up to this many points worse (seeded)",
    )
    requote_probability: float = Field(
        0.0, ge=0, le=1, description="instant execution: chance of a requote (10004)"
    )
    commission_per_lot: float = Field(0.0, ge=0, description="account currency per lot per deal")
    latency: float = Field(
        0.0, ge=0, le=60, description="seconds each terminal call takes (on the engine's clock)"
    )
    faults: list[SimFaultConfig] = Field(
        default_factory=list,
        description=(
            "scripted faults: disconnect (IPC errors), no_connection (10031), lost_reply "
            "(executed, reply lost), requote, throttle (10024/10028), no_prices (10021), "
            "history_short, restart; for `calls` calls and/or between start and end (UTC)"
        ),
    )
    market_mode: Literal["ticks", "m1"] = Field(
        "ticks",
        description="generate every tick, or M1 bars with four ticks each (faster backtests)",
    )
    server_utc_offset_hours: float | None = Field(
        None, ge=-12, le=14, description="fixed server offset; null = EET/EEST (UTC+2/+3)"
    )
    persist: bool = Field(
        True, description="keep the account in a file, so that the next run resumes it"
    )
    account_path: Path | None = Field(
        None, description="the account file; null = next to the journal (<journal>.account.db)"
    )
    resume: bool = Field(
        True, description="resume the stored account; false = start a new one (the file is reset)"
    )


class Mt5LinuxConfig(Section):
    """A terminal reached through the mt5linux bridge (an RPyC server next to the terminal)."""

    host: str = Field("127.0.0.1", min_length=1, description="host of the bridge's server")
    port: int = Field(18812, ge=1, le=65535, description="port of the bridge's server")
    connect_wait: float = Field(
        0.0, ge=0, le=600, description="wall seconds one connect attempt keeps retrying"
    )
    sim_clock: bool = Field(
        False,
        description="the server is `trading-engine sim-server --clock client`: the engine's "
        "clock drives its simulated time (run --speed 0 over the bridge)",
    )


class TerminalConfig(Section):
    """The MT5 terminal: the simulator, the MetaTrader5 package, or the mt5linux bridge."""

    kind: Literal["sim", "metatrader5", "mt5linux"] = Field("sim", description="which terminal")
    mt5linux: Mt5LinuxConfig = Field(default_factory=Mt5LinuxConfig)
    path: Path | None = Field(None, description="terminal64.exe to start (metatrader5)")
    login: int | None = Field(None, ge=1, description="account number")
    server: str | None = Field(None, min_length=1, description="trade server name")
    password: SecretStr | None = Field(
        None, description="account password; set TRADING_ENGINE__TERMINAL__PASSWORD"
    )
    timeout_ms: int = Field(60_000, ge=1, le=600_000, description="initialize() timeout, ms")
    call_timeout: float = Field(10.0, gt=0, le=600, description="timeout of one call, seconds")
    reconnect_attempts: int = Field(5, ge=0, le=1000, description="reconnects before giving up")
    unreachable_timeout: float = Field(
        600.0,
        gt=0,
        le=7 * 86_400,
        description="seconds the terminal may stay unreachable before the run ends (exit 5)",
    )
    sim: SimTerminalConfig = Field(default_factory=SimTerminalConfig)
