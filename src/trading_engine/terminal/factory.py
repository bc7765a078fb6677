"""Open the terminal a configuration names: the simulator (default), the MetaTrader5 package, or
a terminal behind the mt5linux bridge."""

from __future__ import annotations

import dataclasses
import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from trading_engine.clock import Clock, SimClock
from trading_engine.errors import ConfigError
from trading_engine.terminal.config import (
    PortSettings,
    SimFaultConfig,
    SimTerminalConfig,
    TerminalConfig,
)
from trading_engine.timeframes import M1, MN1, W1, fixed_seconds, timeframe_name

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from trading_engine import mt5sim
    from trading_engine.mt5sim.market.servertime import ServerTime
    from trading_engine.mt5sim.store import AccountStore

__all__ = [
    "HistorySpan",
    "account_path",
    "build_sim_terminal",
    "fit_terminal_to_history",
    "history_files",
    "modelling",
    "open_account",
    "open_bridge",
    "open_terminal",
    "port_settings",
    "read_spans",
    "resumed_start",
    "server_time_of",
    "sim_config_of",
]


def account_path(terminal: TerminalConfig, journal_path: str | Path) -> Path | None:
    """The simulated account's file (None: a terminal that is not simulated, or not persisted).

    ``terminal.sim.account_path``, else the journal's path with ``.account.db`` for its suffix.
    """
    sim = terminal.sim
    journal = str(journal_path)
    if terminal.kind != "sim" or not sim.persist or journal == ":memory:":
        return None
    if sim.account_path is not None:
        return sim.account_path
    return Path(journal).with_suffix(".account.db")


def resumed_start(
    terminal: TerminalConfig, journal_path: str | Path, *, follow_wall_clock: bool
) -> float | None:
    """Where a resumed simulated account's clock stopped (UTC epoch seconds), plus the wall time
    since then when ``follow_wall_clock`` (paper trading at ``--speed 1``: the simulated server
    ran on meanwhile); None when a new account starts."""
    from trading_engine.mt5sim.store import AccountMismatch, saved_clock

    path = account_path(terminal, journal_path)
    if path is None or not terminal.sim.resume:
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
    if config.kind == "mt5linux":
        return open_bridge(config, clock)
    sleep = clock.advance if isinstance(clock, SimClock) else None
    store = open_account(config.sim, account, clock.time()) if account is not None else None
    return build_sim_terminal(config.sim, symbols, clock.time, sleep, store=store), True


def open_bridge(config: TerminalConfig, clock: Clock) -> tuple[Any, bool]:
    """The mt5linux client for ``terminal.mt5linux``; in process when it drives a sim clock.

    With ``sim_clock`` the server's simulated time follows ``clock``; the calls are then made on
    the event loop thread (``in_process``) so that a ``SimClock`` driver cannot move time while a
    call is on the wire; rpyc's request timeout (``call_timeout``) bounds each call.
    """
    from trading_engine.terminal.bridge import BridgeTerminal

    bridge = config.mt5linux
    try:
        terminal = BridgeTerminal(
            bridge.host,
            bridge.port,
            timeout=config.call_timeout,
            connect_wait=bridge.connect_wait,
            clock=clock.time if bridge.sim_clock else None,
        )
    except ImportError as exc:
        raise ConfigError(str(exc), key="terminal.kind") from None
    return terminal, bridge.sim_clock


def open_account(sim: SimTerminalConfig, account: Path, now: float) -> AccountStore:
    """The account file for a terminal whose clock starts at ``now`` (resumed unless
    ``terminal.sim.resume`` is false); one ``ConfigError`` line naming the file when it cannot
    be used."""
    from trading_engine.mt5sim.store import AccountMismatch, AccountStore, saved_clock

    try:
        saved = saved_clock(account) if sim.resume else None
        if saved is not None and now < saved[0] - 1.0:
            raise AccountMismatch(
                f"{account}: the simulated account stopped at "
                f"{datetime.fromtimestamp(saved[0], tz=UTC):%Y-%m-%d %H:%M:%S} UTC and the "
                f"engine's clock starts before it, at "
                f"{datetime.fromtimestamp(now, tz=UTC):%Y-%m-%d %H:%M:%S} UTC; "
                "start the clock at the account's time, or start a fresh account (run --fresh)"
            )
        return AccountStore(account, resume=sim.resume)
    except (AccountMismatch, OSError) as exc:
        raise ConfigError(str(exc), key=_ACCOUNT_KEY) from None


def build_sim_terminal(
    sim: SimTerminalConfig,
    symbols: list[str],
    clock: Callable[[], float],
    sleep: Callable[[float], None] | None,
    start: datetime | None = None,
    store: AccountStore | None = None,
) -> mt5sim.Terminal:
    """An ``mt5sim.Terminal`` for ``terminal.sim`` on ``clock`` (``start`` replaces its start),
    keeping its account in ``store`` when given."""
    from trading_engine import mt5sim
    from trading_engine.mt5sim.spec.symbols import DEFAULT_SYMBOLS
    from trading_engine.mt5sim.store import AccountMismatch

    unknown = [symbol for symbol in symbols if symbol not in DEFAULT_SYMBOLS]
    if unknown:
        raise ConfigError(
            f"unknown symbol {unknown[0]!r}: the simulated terminal has "
            f"{', '.join(sorted(DEFAULT_SYMBOLS))}",
            key="trading.symbols",
        )
    if start is not None:
        sim = sim.model_copy(update={"start": start})
    try:
        terminal = mt5sim.Terminal(
            sim_config_of(sim, symbols), clock=clock, sleep=sleep, store=store
        )
    except AccountMismatch as exc:
        raise ConfigError(str(exc), key=_ACCOUNT_KEY) from None
    except (OSError, ValueError) as exc:
        if not _files(sim, symbols):
            raise
        raise ConfigError(f"cannot read the history file: {exc}") from None
    files = _files(sim, symbols)
    for symbol, rows in terminal.market.rejected_rows.items():
        shown = "; ".join(rows[:5]) + ("; …" if len(rows) > 5 else "")
        logger.warning(
            "{}: {} bad {} rejected, never traded on: {}",
            files.get(symbol, symbol),
            len(rows),
            "row" if len(rows) == 1 else "rows",
            shown,
        )
    return terminal


_HISTORY_KEY = "terminal.sim.history_files"
_ACCOUNT_KEY = "terminal.sim.account_path"


def _files(sim: SimTerminalConfig, symbols: list[str]) -> dict[str, Path]:
    files = dict(sim.history_files)
    if sim.history_file is not None:
        files.setdefault(symbols[0], sim.history_file)
    return files


def history_files(terminal: TerminalConfig, symbols: list[str]) -> dict[str, Path]:
    """Symbol → history file of a simulated terminal (``history_file`` is the first symbol's);
    a file for a symbol outside ``symbols`` is a ``ConfigError`` naming it."""
    if terminal.kind != "sim":
        return {}
    files = _files(terminal.sim, symbols)
    for symbol in files:
        if symbol not in symbols:
            raise ConfigError(
                f"history for unknown symbol {symbol!r} (trading.symbols: {', '.join(symbols)})",
                key=_HISTORY_KEY,
            )
    return files


@dataclass(frozen=True, slots=True)
class HistorySpan:
    """What one history file covers: its base timeframe and bar open times (server seconds)."""

    symbol: str
    path: Path
    kind: str  # "bars" | "ticks"
    timeframe: int  # the bars' timeframe (M1 for ticks)
    times: npt.NDArray[np.int64]  # open times of the base bars


def read_spans(
    terminal: TerminalConfig, symbols: list[str], timeframes: list[int]
) -> list[HistorySpan]:
    """The history files read, their timeframes checked against ``timeframes`` (each must be
    the file's or one MT5 builds from it: ``trading.timeframes``)."""
    import numpy as np

    from trading_engine.mt5sim.market.history import load_history

    spans: list[HistorySpan] = []
    for symbol, path in history_files(terminal, symbols).items():
        try:
            history = load_history(path)
        except OSError as exc:
            raise ConfigError(f"cannot read the history file: {exc}", key=_HISTORY_KEY) from None
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if history.kind == "ticks":
            times = np.unique(history.data["time"] // 60 * 60).astype(np.int64)
            span = HistorySpan(symbol, path, "ticks", M1, times)
        else:
            times = np.ascontiguousarray(history.data["time"], dtype=np.int64)
            base = history.timeframe or min(timeframes, key=_sort_key)
            span = HistorySpan(symbol, path, "bars", base, times)
        _check_timeframes(span, timeframes)
        spans.append(span)
    return spans


def _sort_key(timeframe: int) -> int:
    seconds = fixed_seconds(timeframe)
    return seconds if seconds is not None else 31 * 86_400


def _buildable(timeframe: int, base: int) -> bool:
    """Whether MT5 builds ``timeframe`` bars from ``base`` bars."""
    if timeframe == base or base == M1:
        return True
    tf_s, base_s = fixed_seconds(timeframe), fixed_seconds(base)
    if base_s is None or base == W1:
        return False
    if timeframe in (W1, MN1):
        return base_s <= 86_400
    return tf_s is not None and tf_s > base_s and tf_s % base_s == 0


def _check_timeframes(span: HistorySpan, configured: list[int]) -> None:
    for timeframe in configured:
        if not _buildable(timeframe, span.timeframe):
            raise ConfigError(
                f"{span.path} holds {timeframe_name(span.timeframe)} bars; "
                f"{timeframe_name(timeframe)} cannot be built from them (use "
                f"{timeframe_name(span.timeframe)} or a multiple of it)",
                key="trading.timeframes",
            )


def modelling(terminal: TerminalConfig, symbols: list[str], timeframes: list[int]) -> str:
    """How prices move inside a bar in this run (MT5 tester terms), for reports."""
    spans = read_spans(terminal, symbols, timeframes)
    if not spans:
        mode = terminal.sim.market_mode
        return "every tick (generated)" if mode == "ticks" else "1 minute OHLC (generated M1)"
    kinds = []
    for span in spans:
        if span.kind == "ticks":
            kinds.append(f"{span.symbol}: every tick (recorded)")
        elif span.timeframe == M1:
            kinds.append(f"{span.symbol}: 1 minute OHLC")
        else:
            name = timeframe_name(span.timeframe)
            kinds.append(f"{span.symbol}: open prices only ({name} bars, OHLC path inside)")
    return "; ".join(kinds)


def fit_terminal_to_history(
    terminal: TerminalConfig,
    warmup_bars: int,
    symbols: list[str],
    timeframes: list[int],
) -> TerminalConfig:
    """With history files, start the simulated clock where the files can feed the engine.

    A start outside the files' bars would leave the engine stepping through time without data
    (or with nothing to warm up from): the start moves to the close of the bar that ends the
    indicators' warm-up (``warmup_bars``, ``services.indicator_calculation.warmup_bars``), or of
    a file's last bar but one when the file is shorter; with several files, the latest of those.
    Unchanged without history files, or when the configured start already lies after the
    warm-up and before the files' last bar.
    """
    spans = read_spans(terminal, symbols, timeframes)
    if not spans:
        return terminal
    sim = terminal.sim
    server_time = _server_time(sim)
    earliest, latest = -float("inf"), float("inf")
    for span in spans:
        times = span.times
        if times.size < 2:
            raise ConfigError(f"{span.path}: at least two bars needed, found {times.size}")
        warm = min(warmup_bars, len(times) - 2)
        step = fixed_seconds(span.timeframe) or int(times[warm + 1] - times[warm])
        earliest = max(earliest, server_time.to_utc(int(times[warm]) + step))
        latest = min(latest, server_time.to_utc(int(times[-1])))
    start = sim.start.timestamp()
    if earliest <= start < latest:
        return terminal
    fitted = sim.model_copy(update={"start": datetime.fromtimestamp(earliest, tz=UTC)})
    return terminal.model_copy(update={"sim": fitted})


_PORT_SHARED = frozenset(PortSettings.model_fields) & frozenset(TerminalConfig.model_fields)


def port_settings(config: TerminalConfig, backoff_base: float, backoff_cap: float) -> PortSettings:
    """The port's settings: the keys it shares with the terminal section by name, the path as a
    string, at least one reconnect attempt, and the backoff shared with the supervisors."""
    shared = config.model_dump(include=set(_PORT_SHARED))
    shared["path"] = str(config.path) if config.path is not None else None
    shared["reconnect_attempts"] = max(1, config.reconnect_attempts)
    return PortSettings(**shared, backoff_base=backoff_base, backoff_cap=backoff_cap)


# terminal.sim keys of the account file (read by account_path / open_terminal, not SimConfig).
_SIM_ACCOUNT_KEYS = frozenset({"persist", "account_path", "resume"})

# SimConfig fields that take a terminal.sim key of the same name and type unchanged.
_SIM_CONVERTED = frozenset(
    {"start", "history_file", "history_files", "account_mode", "faults", "server_utc_offset_hours"}
)


def sim_config_of(sim: SimTerminalConfig, symbols: list[str]) -> mt5sim.SimConfig:
    """The simulator's ``SimConfig`` for ``terminal.sim``: keys named alike pass through as they
    are; the history file, the account mode, the server offset and the faults are converted."""
    from trading_engine import mt5sim

    names = {f.name for f in dataclasses.fields(mt5sim.SimConfig)}
    same = sim.model_dump(include=(names & set(SimTerminalConfig.model_fields)) - _SIM_CONVERTED)
    return mt5sim.SimConfig(
        **same,
        start=sim.start,
        history_files=_files(sim, symbols) or None,
        server_time=_server_time(sim),
        margin_mode=(
            mt5sim.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING
            if sim.account_mode == "hedging"
            else mt5sim.ACCOUNT_MARGIN_MODE_RETAIL_NETTING
        ),
        market_watch=symbols,
        faults=tuple(_fault(fault) for fault in sim.faults),
    )


def _fault(fault: SimFaultConfig) -> mt5sim.Fault:
    """One scripted fault: the same keys, the window's times as epoch seconds."""
    from trading_engine import mt5sim

    window: dict[str, Any] = {
        "start": fault.start.timestamp() if fault.start is not None else None,
        "end": fault.end.timestamp() if fault.end is not None else None,
    }
    return mt5sim.Fault(**fault.model_dump(exclude=set(window)), **window)


def server_time_of(terminal: TerminalConfig) -> ServerTime:
    """The simulated broker's clock (server ↔ UTC) of a terminal section."""
    return _server_time(terminal.sim)


def _server_time(sim: SimTerminalConfig) -> ServerTime:
    """The broker's clock the configuration names: a fixed offset, else EET/EEST."""
    from trading_engine.mt5sim.market.servertime import ServerTime

    if sim.server_utc_offset_hours is None:
        return ServerTime.eet()
    return ServerTime.fixed(round(sim.server_utc_offset_hours * 3600))
