"""Open the terminal a configuration names: the simulator (default) or the MetaTrader5 package."""

from __future__ import annotations

import importlib
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trading_engine.clock import Clock, SimClock
from trading_engine.config import (
    SimTerminalConfig,
    SupervisorConfig,
    SystemConfig,
    TerminalConfig,
)
from trading_engine.errors import ConfigError
from trading_engine.terminal.config import PortSettings

if TYPE_CHECKING:
    from trading_engine.mt5sim.market.servertime import ServerTime

__all__ = [
    "account_path",
    "fit_start_to_history",
    "open_terminal",
    "port_settings",
    "resumed_start",
]


def account_path(config: SystemConfig) -> Path | None:
    """The simulated account's file (None: a terminal that is not simulated, or not persisted).

    ``terminal.sim.account_path``, else the journal's path with ``.account.db`` for its suffix.
    """
    sim = config.terminal.sim
    journal = str(config.journal.path)
    if config.terminal.kind != "sim" or not sim.persist or journal == ":memory:":
        return None
    if sim.account_path is not None:
        return sim.account_path
    return Path(journal).with_suffix(".account.db")


def resumed_start(config: SystemConfig, *, follow_wall_clock: bool) -> float | None:
    """Where a resumed simulated account's clock stopped (UTC epoch seconds), plus the wall time
    since then when ``follow_wall_clock`` (paper trading at ``--speed 1``: the simulated server
    ran on meanwhile); None when a new account starts."""
    from trading_engine.mt5sim.store import AccountMismatch, saved_clock

    path = account_path(config)
    if path is None or not config.terminal.sim.resume:
        return None
    try:
        saved = saved_clock(path)
    except AccountMismatch as exc:
        raise ConfigError(f"{exc}; run --fresh to start anew", key=_ACCOUNT_KEY) from None
    if saved is None:
        return None
    utc, wall = saved
    return utc + max(0.0, time.time() - wall) if follow_wall_clock else utc


def open_terminal(
    config: TerminalConfig, clock: Clock, symbols: list[str], account: Path | None = None
) -> tuple[Any, bool]:
    """The terminal API object and whether it runs in process (no worker thread needed).

    ``kind: sim`` builds an isolated ``mt5sim.Terminal`` driven by ``clock`` (its latency fault
    advances a ``SimClock`` instead of blocking), keeping its account in the file ``account``
    when given (resumed unless ``terminal.sim.resume`` is false); ``kind: metatrader5`` imports
    the MetaTrader5 package (Windows, next to a running terminal).
    """
    if config.kind == "metatrader5":
        try:
            return importlib.import_module("MetaTrader5"), False
        except ImportError as exc:
            raise ConfigError(
                "the MetaTrader5 package is not installed (it exists for Windows only); "
                "use terminal.kind: sim elsewhere",
                key="terminal.kind",
            ) from exc
    from trading_engine import mt5sim

    sim = config.sim
    server_time = _server_time(sim)
    sim_config = mt5sim.SimConfig(
        seed=sim.seed,
        start=sim.start,
        history_days=sim.history_days,
        market_mode=sim.market_mode,
        history_files={symbols[0]: sim.history_file} if sim.history_file is not None else None,
        server_time=server_time,
        balance=sim.balance,
        leverage=sim.leverage,
        margin_mode=(
            mt5sim.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING
            if sim.account_mode == "hedging"
            else mt5sim.ACCOUNT_MARGIN_MODE_RETAIL_NETTING
        ),
        market_watch=symbols,
        slippage_points=sim.slippage_points,
        requote_probability=sim.requote_probability,
        commission_per_lot=sim.commission_per_lot,
        latency=sim.latency,
        faults=tuple(
            mt5sim.Fault(
                fault.kind,
                calls=fault.calls,
                start=fault.start.timestamp() if fault.start is not None else None,
                end=fault.end.timestamp() if fault.end is not None else None,
                code=fault.code,
                symbol=fault.symbol,
            )
            for fault in sim.faults
        ),
    )
    sleep = clock.advance if isinstance(clock, SimClock) else None
    store = None
    if account is not None:
        from trading_engine.mt5sim.store import AccountMismatch, AccountStore, saved_clock

        try:
            saved = saved_clock(account) if sim.resume else None
            if saved is not None and clock.time() < saved[0] - 1.0:
                raise AccountMismatch(
                    f"{account}: the simulated account stopped at "
                    f"{datetime.fromtimestamp(saved[0], tz=UTC):%Y-%m-%d %H:%M:%S} UTC and the "
                    f"engine's clock starts before it, at "
                    f"{datetime.fromtimestamp(clock.time(), tz=UTC):%Y-%m-%d %H:%M:%S} UTC; "
                    "start the clock at the account's time, or start a fresh account (run --fresh)"
                )
            store = AccountStore(account, resume=sim.resume)
        except (AccountMismatch, OSError) as exc:
            raise ConfigError(str(exc), key=_ACCOUNT_KEY) from None
    try:
        return mt5sim.Terminal(sim_config, clock=clock.time, sleep=sleep, store=store), True
    except AccountMismatch as exc:
        raise ConfigError(str(exc), key=_ACCOUNT_KEY) from None
    except (OSError, ValueError) as exc:
        if sim.history_file is None:
            raise
        raise ConfigError(f"cannot read the history file: {exc}", key=_HISTORY_KEY) from None


_HISTORY_KEY = "terminal.sim.history_file"
_ACCOUNT_KEY = "terminal.sim.account_path"


def fit_start_to_history(config: SystemConfig) -> SystemConfig:
    """With a history file, start the simulated clock where the file can feed the engine.

    A start outside the file's bars would leave the engine stepping through time without data
    (or with nothing to warm up from): the start moves to the close of the bar that ends the
    indicators' warm-up (``services.indicator_calculation.warmup_bars``), or of the file's last
    bar but one when the file is shorter. Unchanged without a history file, or when the
    configured start already lies after the warm-up and before the file's last bar.
    """
    from trading_engine.mt5sim.market.history import read_history

    sim = config.terminal.sim
    if config.terminal.kind != "sim" or sim.history_file is None:
        return config
    try:
        kind, data = read_history(sim.history_file)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the history file: {exc}", key=_HISTORY_KEY) from None
    if kind != "bars" or len(data) < 2:
        raise ConfigError("expected M1 bars, at least two", key=_HISTORY_KEY)
    server_time = _server_time(sim)
    times = data["time"]
    warm = min(config.services.indicator_calculation.warmup_bars, len(times) - 2)
    earliest = server_time.to_utc(int(times[warm]) + 60)
    latest = server_time.to_utc(int(times[-1]))
    start = sim.start.timestamp()
    if earliest <= start < latest:
        return config
    fitted = sim.model_copy(update={"start": datetime.fromtimestamp(earliest, tz=UTC)})
    terminal = config.terminal.model_copy(update={"sim": fitted})
    return config.model_copy(update={"terminal": terminal})


def port_settings(config: TerminalConfig, supervisor: SupervisorConfig) -> PortSettings:
    """The port's settings from the terminal section (backoff shared with the supervisor's)."""
    return PortSettings(
        call_timeout=config.call_timeout,
        reconnect_attempts=max(1, config.reconnect_attempts),
        unreachable_timeout=config.unreachable_timeout,
        backoff_base=supervisor.backoff_base,
        backoff_cap=supervisor.backoff_cap,
        path=str(config.path) if config.path is not None else None,
        login=config.login,
        server=config.server,
        password=config.password,
        timeout_ms=config.timeout_ms,
    )


def _server_time(sim: SimTerminalConfig) -> ServerTime:
    """The broker's clock the configuration names: a fixed offset, else EET/EEST."""
    from trading_engine.mt5sim.market.servertime import ServerTime

    if sim.server_utc_offset_hours is None:
        return ServerTime.eet()
    return ServerTime.fixed(round(sim.server_utc_offset_hours * 3600))
