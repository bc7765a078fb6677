"""The ``trading-engine`` command line (typer), kept thin.

Each command parses its arguments, loads the configuration, configures logging when it runs
anything, acts, and lets ``exit_code_for`` (the one table of exit codes, ``EXIT_CODES``) turn an
error into an exit status with one line on stderr and no traceback. A new command is one small
function decorated with ``@app.command()`` whose body runs inside ``with cli_errors():``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from trading_engine import __version__
from trading_engine.backtest import run_backtest
from trading_engine.backtest.text import result_lines, write_trades_csv
from trading_engine.clock import Clock, LiveClock, ScaledClock, SimClock
from trading_engine.config import ConfigLoader, SystemConfig, fit_start_to_history
from trading_engine.errors import (
    ConfigError,
    FatalError,
    JournalError,
    StrategyError,
    SupervisorGaveUp,
    TerminalConnectionError,
    TerminalError,
    TradingEngineError,
)
from trading_engine.execution.risk import RiskLimits, RiskRules, RiskState
from trading_engine.execution.risk_store import load_risk, save_risk
from trading_engine.init_config import write_default_config
from trading_engine.journal.store import Journal
from trading_engine.observability.logging import configure_logging
from trading_engine.orchestrator import RunSummary, TradingOrchestrator
from trading_engine.strategy.service import bind_strategies
from trading_engine.terminal.factory import account_path, resumed_start

__all__ = [
    "EXIT_CODES",
    "app",
    "cli_errors",
    "exit_code_for",
    "load_config",
    "main",
    "setup_logging",
]

PROG = "trading-engine"

EXIT_CODES: tuple[tuple[type[BaseException], int, str], ...] = (
    (ConfigError, 2, "invalid or missing configuration (also: bad command-line usage)"),
    (SupervisorGaveUp, 3, "a supervisor's restart budget was exhausted; the engine halted"),
    (FatalError, 4, "a broken invariant or corrupt data; the engine halted without restarting"),
    (TerminalConnectionError, 5, "the terminal could not be reached"),
    (TerminalError, 5, "a terminal call failed for good"),
    (JournalError, 6, "the journal could not be read or written"),
    (StrategyError, 7, "a strategy could not be loaded or raised"),
    (TradingEngineError, 1, "any other engine error"),
    (KeyboardInterrupt, 130, "interrupted (Ctrl-C)"),
)
"""(error type, exit code, meaning), most specific first; 0 is success. Unexpected exceptions
(bugs) print their traceback and exit 1."""

app = typer.Typer(
    name=PROG,
    help="An asyncio trading engine for MetaTrader 5, with a simulated terminal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def exit_code_for(error: BaseException) -> int:
    """The exit code of ``error`` from ``EXIT_CODES`` (1 when it is not listed)."""
    for kind, code, _meaning in EXIT_CODES:
        if isinstance(error, kind):
            return code
    return 1


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn an engine error into one line on stderr and its exit code."""
    try:
        yield
    except (TradingEngineError, KeyboardInterrupt) as exc:
        message = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
        message = message or type(exc).__name__
        typer.echo(f"{PROG}: error: {message}", err=True)
        raise typer.Exit(exit_code_for(exc)) from None


def _parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; a value is read as YAML (``3``, ``true``, ``{a: DEBUG}``), else text."""
    overrides: dict[str, Any] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                "expected KEY=VALUE (e.g. risk.max_positions=3)", key=item, source="--set"
            )
        try:
            overrides[key.strip()] = yaml.safe_load(value) if value.strip() else value
        except yaml.YAMLError:
            overrides[key.strip()] = value
    return overrides


def load_config(path: Path, overrides: list[str] | None = None) -> SystemConfig:
    """The configuration of ``path`` with the environment and ``--set KEY=VALUE`` overrides."""
    return ConfigLoader.load(path, overrides=_parse_overrides(overrides))


def setup_logging(config: SystemConfig) -> None:
    """Configure logging from ``config``, masking the account password."""
    password = config.terminal.password
    configure_logging(config.logging, secrets=[password.get_secret_value()] if password else [])


def _version(value: bool) -> None:
    if value:
        typer.echo(f"{PROG} {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """An asyncio trading engine for MetaTrader 5, with a simulated terminal."""


SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", metavar="KEY=VALUE", help="Override a key (highest precedence)."),
]


@app.command("check-config")
def check_config(
    file: Annotated[Path, typer.Argument(help="The YAML configuration file.")],
    print_: Annotated[
        bool, typer.Option("--print", help="Write the effective configuration as JSON.")
    ] = False,
    set_: SetOption = None,
) -> None:
    """Validate FILE (with the environment applied, strategies loaded); exit 0 when it is valid."""
    with cli_errors():
        config = load_config(file, set_)
        bind_strategies(config.strategies, config.indicators.value_names, base_dir=file.parent)
        for note in config.ignored():
            typer.echo(f"{file}: note: {note}", err=True)
        if print_:
            sys.stdout.write(json.dumps(config.masked_dict(), indent=2) + "\n")
        else:
            names = ", ".join(config.trading.symbols)
            typer.echo(
                f"{file}: valid ({names}; {len(config.trading.timeframes)} timeframe(s); "
                f"{len(config.strategies)} strateg{'y' if len(config.strategies) == 1 else 'ies'})"
            )


@app.command("init-config")
def init_config(
    path: Annotated[Path, typer.Argument(help="Where to write the configuration.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented default configuration (EURUSD, M1, ema_cross, simulated terminal)."""
    with cli_errors():
        if path.exists() and not force:
            raise ConfigError("file exists; pass --force to overwrite it", source=str(path))
        written = write_default_config(path, overwrite=force)
        typer.echo(f"wrote {written}")


@app.command("run")
def run(
    config: Annotated[Path, typer.Option("--config", "-c", help="The YAML configuration file.")],
    speed: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Simulated terminal only: 1 = real time, 60 = a minute per second, "
            "0 = as fast as the data allows (simulated clock).",
        ),
    ] = 1.0,
    max_bars: Annotated[
        int | None, typer.Option("--max-bars", min=1, help="Stop after this many bars.")
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option("--duration", min=0.0, help="Stop after this many wall-clock seconds."),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            min=1,
            max=65535,
            help="Serve Prometheus metrics on 127.0.0.1:PORT/metrics, and the /healthz and "
            "/readyz probes (JSON).",
        ),
    ] = None,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh",
            help="Simulated terminal: delete the stored account and the journal, and start "
            "anew (by default a run resumes the account and the journal of the last one).",
        ),
    ] = False,
    set_: SetOption = None,
) -> None:
    """Run the engine (on the simulated terminal unless the configuration names MetaTrader5)."""
    with cli_errors():
        cfg = load_config(config, set_)
        if not _simulated(cfg) and speed != 1.0:
            raise ConfigError(
                "--speed applies to the simulated terminal only (in process, or served by "
                "sim-server with terminal.mt5linux.sim_clock)",
                key="--speed",
            )
        if fresh:
            _start_afresh(cfg)
        setup_logging(cfg)
        try:
            summary = asyncio.run(_run(cfg, config.parent, speed, max_bars, duration, metrics_port))
        except asyncio.CancelledError:  # a second Ctrl-C / SIGTERM cut the stop short
            raise KeyboardInterrupt from None
        typer.echo("\n".join(["summary:", *(f"  {line}" for line in summary.lines())]))


def _start_afresh(cfg: SystemConfig) -> None:
    """``run --fresh``: remove the simulated account and the journal (with their WAL files)."""
    if cfg.terminal.kind != "sim":
        raise ConfigError("--fresh applies to the simulated terminal only", key="--fresh")
    files = [Path(cfg.journal.path)]
    account = account_path(cfg.terminal, cfg.journal.path)
    if account is not None:
        files.append(account)
    for base in files:
        for path in (base, Path(f"{base}-wal"), Path(f"{base}-shm")):
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                raise JournalError(f"{path}: cannot remove it for --fresh: {exc}") from None


async def _run(
    cfg: SystemConfig,
    config_dir: Path,
    speed: float,
    max_bars: int | None,
    duration: float | None,
    metrics_port: int | None,
) -> RunSummary:
    """Start the engine, run it until done, Ctrl-C / SIGTERM or ``duration``, stop it cleanly."""
    cfg = fit_start_to_history(cfg)
    resumed = resumed_start(cfg.terminal, cfg.journal.path, follow_wall_clock=speed == 1.0)
    start = resumed if resumed is not None else cfg.terminal.sim.start.timestamp()
    clock: Clock
    if not _simulated(cfg):
        clock = LiveClock()
    elif speed == 0:
        clock = SimClock(start)
    else:
        clock = ScaledClock(start, speed=speed)
    engine = TradingOrchestrator.from_config(
        cfg, clock=clock, max_bars=max_bars, config_dir=config_dir
    )
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    signals = 0

    def on_signal() -> None:  # first: a graceful stop; second: interrupt the stop itself
        nonlocal signals
        signals += 1
        if signals == 1:
            engine.request_stop()
        elif main is not None:
            main.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows: no handlers
            loop.add_signal_handler(signum, on_signal)
    if duration is not None:
        loop.call_later(duration, engine.request_stop)
    if metrics_port is not None:
        from trading_engine.observability.health import HealthProbes
        from trading_engine.observability.metrics import serve_metrics

        probes = HealthProbes(loop, engine.readiness)
        try:
            serve_metrics(
                engine.get_all_metrics,
                metrics_port,
                probes={"/healthz": probes.healthz, "/readyz": probes.readyz},
            )
        except OSError as exc:
            raise ConfigError(f"cannot serve metrics: {exc}", key="--metrics-port") from None
    async with engine:
        gc.freeze()  # the objects built at start-up never change: keep them out of GC passes
        return await engine.run()


risk_app = typer.Typer(
    name="risk",
    help="Show or reset the risk state stored in the journal.",
    no_args_is_help=True,
)
app.add_typer(risk_app)

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="The YAML configuration file.")]


def _risk_rules(cfg: SystemConfig, journal: Journal) -> RiskRules:
    rules = RiskRules(RiskLimits.model_validate(cfg.risk, from_attributes=True))
    if not load_risk(journal, rules):
        raise JournalError(f"{journal.path}: no risk state stored yet (the engine never traded)")
    return rules


def _open_journal(cfg: SystemConfig) -> Journal:
    path = Path(cfg.journal.path)
    if not path.exists():
        raise JournalError(f"{path}: no such journal (journal.path)")
    return Journal.open(path)


@risk_app.command("status")
def risk_status(config: ConfigOption, set_: SetOption = None) -> None:
    """Print the risk state stored in the journal (state, day, loss, drawdown, latches)."""
    with cli_errors():
        cfg = load_config(config, set_)
        with _open_journal(cfg) as journal:
            rules = _risk_rules(cfg, journal)
        stats = rules.stats()
        stats["halt_reason"] = rules.halt_reason
        typer.echo(json.dumps(stats, indent=2))


@risk_app.command("reset-halt")
def risk_reset_halt(config: ConfigOption, set_: SetOption = None) -> None:
    """Lift a drawdown halt stored in the journal (the equity peak restarts from the last
    equity). A daily-loss halt lifts by itself on the next server day. Stop the engine first."""
    with cli_errors():
        cfg = load_config(config, set_)
        with _open_journal(cfg) as journal:
            rules = _risk_rules(cfg, journal)
            before = rules.state
            rules.reset_drawdown_halt()
            save_risk(journal, rules, time.time())
        typer.echo(f"risk state: {before} -> {rules.state}")
        if rules.state == RiskState.HALTED:
            typer.echo(f"still halted: {rules.halt_reason}")


def _simulated(cfg: SystemConfig) -> bool:
    """The terminal's time is simulated: in process, or a sim-server following the engine."""
    terminal = cfg.terminal
    return terminal.kind == "sim" or (terminal.kind == "mt5linux" and terminal.mt5linux.sim_clock)


@app.command("sim-server")
def sim_server(
    config: Annotated[Path, typer.Option("--config", "-c", help="The YAML configuration file.")],
    port: Annotated[
        int, typer.Option("--port", "-p", min=0, max=65535, help="TCP port (0: any free one).")
    ] = 18812,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    clock: Annotated[
        str,
        typer.Option(
            "--clock",
            help="wall: the market follows the wall clock from now on; client: simulated time "
            "from terminal.sim.start, moved by the engine (terminal.mt5linux.sim_clock).",
        ),
    ] = "wall",
    state: Annotated[
        Path | None,
        typer.Option(
            "--state", help="Account log: replayed at start, appended with each order sent."
        ),
    ] = None,
    set_: SetOption = None,
) -> None:
    """Serve the simulated terminal (terminal.sim, trading.symbols) as the MetaTrader5 module
    over RPyC, the way mt5linux's server serves the real one."""
    from trading_engine.terminal.factory import build_sim_terminal

    with cli_errors():
        if clock not in ("wall", "client"):
            raise ConfigError("expected wall or client", key="--clock")
        cfg = load_config(config, set_)
        setup_logging(cfg)
        try:
            import rpyc  # noqa: F401

            from trading_engine.terminal.sim_server import (
                AccountLog,
                ServerClock,
                SimServer,
                served_module,
            )
        except ImportError:
            raise ConfigError(
                "rpyc is not installed: pip install 'trading-engine[bridge]'", key="sim-server"
            ) from None
        follow_wall = clock == "wall"
        start = time.time() if follow_wall else cfg.terminal.sim.start.timestamp()
        server_clock = ServerClock(start, follow_wall=follow_wall)
        terminal = build_sim_terminal(
            cfg.terminal.sim,
            cfg.trading.symbols,
            server_clock.time,
            None,
            start=datetime.fromtimestamp(start, tz=UTC),
        )
        log = AccountLog(state) if state is not None else None
        replayed = log.replay(terminal, server_clock) if log is not None else 0
        try:
            server = SimServer(served_module(terminal, server_clock, log), host, port)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc}", key="--port") from None
        signal.signal(signal.SIGTERM, lambda *_: server.close())
        typer.echo(
            f"sim-server: serving the simulated terminal as MetaTrader5 on "
            f"{server.host}:{server.port} (clock {clock}; {replayed} logged calls replayed)"
        )
        sys.stdout.flush()
        try:
            server.serve()
        except KeyboardInterrupt:
            server.close()


@app.command("backtest")
def backtest(
    config: Annotated[Path, typer.Option("--config", "-c", help="The YAML configuration file.")],
    bars: Annotated[int, typer.Option("--bars", min=1, help="Bars to replay.")] = 10_000,
    history: Annotated[
        Path | None, typer.Option("--history", help="MT5-exported bars (CSV) or Parquet to replay.")
    ] = None,
    journal: Annotated[
        Path | None,
        typer.Option("--journal", help="Journal file (default: none for fast, a temporary one)."),
    ] = None,
    trades_csv: Annotated[
        Path | None, typer.Option("--trades-csv", help="Write the trades to this CSV file.")
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine", help="fast: one synchronous loop; pipeline: the asyncio services."
        ),
    ] = "fast",
    set_: SetOption = None,
) -> None:
    """Replay bars through the engine on simulated time, as fast as possible, and report."""
    with cli_errors():
        cfg = load_config(config, set_)
        if engine not in ("fast", "pipeline"):
            raise ConfigError(f"unknown engine {engine!r} (fast or pipeline)", key="--engine")
        if trades_csv is not None and not trades_csv.parent.is_dir():
            raise ConfigError(f"no such directory: {trades_csv.parent}", key="--trades-csv")
        if journal is not None and journal.exists():
            raise ConfigError(
                "journal exists; a backtest starts from an empty one", key="--journal"
            )
        setup_logging(cfg)
        result = run_backtest(
            cfg,
            bars=bars,
            history={cfg.trading.symbols[0]: history} if history is not None else None,
            engine="pipeline" if engine == "pipeline" else "fast",
            journal=journal,
            config_dir=config.parent,
        )
        if trades_csv is not None:
            write_trades_csv(result, trades_csv)
        typer.echo("\n".join(["backtest:", *(f"  {line}" for line in result_lines(result))]))


def main() -> None:
    """Console entry point (``trading-engine`` and ``python -m trading_engine``)."""
    app(prog_name=PROG)
