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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from trading_engine import __version__
from trading_engine.backtest.console import kernels_cached
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
from trading_engine.terminal.factory import account_path, resumed_start, server_time_of

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
    context_settings={"help_option_names": ["-h", "--help"]},
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
    file: Annotated[
        Path | None, typer.Argument(help="The YAML configuration file (or --config FILE).")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="The YAML configuration file, as run takes it."),
    ] = None,
    print_: Annotated[
        bool, typer.Option("--print", help="Write the effective configuration as JSON.")
    ] = False,
    set_: SetOption = None,
) -> None:
    """Validate FILE (with the environment applied, strategies loaded); exit 0 when it is valid."""
    with cli_errors():
        if (file is None) == (config is None):
            raise ConfigError("give the configuration file once: FILE or --config FILE")
        path = file if file is not None else config
        assert path is not None
        cfg = load_config(path, set_)
        bind_strategies(cfg.strategies, cfg.indicators.value_names, base_dir=path.parent)
        for note in cfg.ignored():
            typer.echo(f"{path}: note: {note}", err=True)
        if print_:
            sys.stdout.write(json.dumps(cfg.masked_dict(), indent=2) + "\n")
        else:
            names = ", ".join(cfg.trading.symbols)
            typer.echo(
                f"{path}: valid ({names}; {len(cfg.trading.timeframes)} timeframe(s); "
                f"{len(cfg.strategies)} strateg{'y' if len(cfg.strategies) == 1 else 'ies'})"
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


def say_if_compiling() -> None:
    """Say so when numba has yet to compile the kernels (a minute or two of silence otherwise)."""
    if not kernels_cached():
        typer.echo("compiling indicator kernels (first run only)", err=True)


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
        say_if_compiling()
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
        stats = {  # money and percentages: 6 decimals say it all, without float noise
            key: round(value, 6) if isinstance(value, float) else value
            for key, value in rules.stats().items()
        }
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
    account: Annotated[
        Path | None,
        typer.Option(
            "--account",
            help="The account file, resumed at start and written at each change (default: "
            "terminal.sim.account_path, else <journal>.sim-server.db; none with "
            "terminal.sim.persist: false).",
        ),
    ] = None,
    fresh: Annotated[
        bool,
        typer.Option("--fresh", help="Start a new account (the account file is reset)."),
    ] = False,
    set_: SetOption = None,
) -> None:
    """Serve the simulated terminal (terminal.sim, trading.symbols) as the MetaTrader5 module
    over RPyC, the way mt5linux's server serves the real one."""
    with cli_errors():
        if clock not in ("wall", "client"):
            raise ConfigError("expected wall or client", key="--clock")
        cfg = load_config(config, set_)
        setup_logging(cfg)
        try:
            import rpyc  # noqa: F401

            from trading_engine.terminal.sim_server import (
                SimServer,
                default_account,
                open_served_terminal,
                served_module,
            )
        except ImportError:
            raise ConfigError(
                "rpyc is not installed: pip install 'trading-engine[bridge]'", key="sim-server"
            ) from None
        if account is None:
            account = default_account(cfg.terminal, cfg.journal.path)
        served = open_served_terminal(
            cfg.terminal.sim,
            cfg.trading.symbols,
            account,
            follow_wall=clock == "wall",
            fresh=fresh,
        )
        try:
            server = SimServer(served_module(served.terminal, served.clock), host, port)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc}", key="--port") from None
        signal.signal(signal.SIGTERM, lambda *_: server.close())
        if account is None:
            kept = "account not kept"
        else:
            kept = f"account {account} {'resumed' if served.resumed else 'new'}"
        typer.echo(
            f"sim-server: serving the simulated terminal as MetaTrader5 on "
            f"{server.host}:{server.port} (clock {clock}; {kept})"
        )
        sys.stdout.flush()
        try:
            server.serve()
        except KeyboardInterrupt:
            server.close()
        finally:
            if served.store is not None:
                served.store.close()


def _date(value: str | None, key: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"expected a date YYYY-MM-DD, got {value!r}", key=key) from None


@app.command("backtest")
def backtest(
    config: Annotated[Path, typer.Option("--config", "-c", help="The YAML configuration file.")],
    history: Annotated[
        list[str] | None,
        typer.Option(
            "--history",
            metavar="[SYMBOL=]FILE",
            help="MT5 export (bars of any timeframe, ticks) or Parquet to replay; once per "
            "symbol (a bare FILE is the first symbol's).",
        ),
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option("--from", metavar="YYYY-MM-DD", help="First day (server time)."),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option("--to", metavar="YYYY-MM-DD", help="Last day, inclusive (server time)."),
    ] = None,
    bars: Annotated[
        int | None,
        typer.Option(
            "--bars",
            min=1,
            help="Bars to replay, every symbol and timeframe counted (default: to the end of "
            "the history; 10,000 on generated prices).",
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            metavar="fast|pipeline",
            help="fast: the services' cores in one synchronous loop; pipeline: the asyncio "
            "services on simulated time (slower, the same fingerprint).",
        ),
    ] = "fast",
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the HTML report to this file.")
    ] = None,
    trades_csv: Annotated[
        Path | None, typer.Option("--trades-csv", help="Write the trades to this CSV file.")
    ] = None,
    trades_parquet: Annotated[
        Path | None,
        typer.Option("--trades-parquet", help="Write the trades to this Parquet file."),
    ] = None,
    journal: Annotated[
        Path | None,
        typer.Option(
            "--journal",
            help="Keep the run's journal in this new SQLite file (default: in memory, discarded).",
        ),
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="Print the run's summary only (counts, P&L, fingerprint), no statistics; "
            "no progress bar; errors only in the log.",
        ),
    ] = False,
    log_level: Annotated[
        str | None,
        typer.Option("--log-level", help="DEBUG, INFO, WARNING, ERROR (default: the config's)."),
    ] = None,
    log_format: Annotated[
        str,
        typer.Option(
            "--log-format",
            metavar="auto|json|text",
            help="auto: text on a terminal, else JSON.",
        ),
    ] = "auto",
    set_: SetOption = None,
) -> None:
    """Backtest on history or generated prices; print the statistics, write the report and
    the trades when asked."""
    from trading_engine.backtest.command import BacktestOptions, run_command

    with cli_errors():
        cfg = load_config(config, set_)
        if engine not in ("fast", "pipeline"):
            raise ConfigError(f"unknown engine {engine!r} (fast or pipeline)", key="--engine")
        if log_format not in ("auto", "json", "text"):
            raise ConfigError(
                f"expected auto, json or text, got {log_format!r}", key="--log-format"
            )
        levels = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
        if log_level is not None and log_level.upper() not in levels:
            raise ConfigError(f"unknown level {log_level!r}", key="--log-level")
        options = BacktestOptions(
            config_dir=config.parent,
            history=history or (),
            start=_date(from_, "--from"),
            end=_date(to, "--to"),
            bars=bars,
            engine="pipeline" if engine == "pipeline" else "fast",
            journal=journal,
            report=report,
            trades_csv=trades_csv,
            trades_parquet=trades_parquet,
            quiet=quiet,
            log_level=log_level,
            log_format="json"
            if log_format == "json"
            else "text"
            if log_format == "text"
            else "auto",
        )
        run_command(cfg, options, setup_logging=setup_logging)


# --- optimisation -----------------------------------------------------------------------------

ParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        metavar="NAME=SPEC",
        help="A parameter to search: NAME=lo:hi[:step] or NAME=a,b,c (adds to optimize.space).",
    ),
]
ConstraintOption = Annotated[
    list[str] | None,
    typer.Option("--constraint", metavar="'A < B'", help="A constraint between parameters."),
]
ObjectiveOption = Annotated[
    list[str] | None,
    typer.Option(
        "--objective",
        metavar="[max:|min:]STAT",
        help="sharpe, sortino, calmar, sqn, return, profit_dd or a statistic's name; "
        "several: multi-objective (nsga2).",
    ),
]
FromOption = Annotated[
    str | None,
    typer.Option(
        "--from", metavar="DATE[ HH:MM]", help="First bar: a server date, or date and time."
    ),
]
ToOption = Annotated[
    str | None,
    typer.Option(
        "--to",
        metavar="DATE[ HH:MM]",
        help="End of the bars: a server date (inclusive), or date and time (exclusive).",
    ),
]


MinTradesOption = Annotated[
    int | None,
    typer.Option(
        "--min-trades",
        min=0,
        help="A trial with fewer trades is pruned (default: optimize.min_trades).",
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        min=1, help="Worker processes (default: optimize.workers; 0 there: one per core)."
    ),
]


def _progress_printer(prefix: str = "") -> Callable[[Any], None]:
    """Print a search's progress line to stderr, at most twice a second (and the last one)."""
    last = 0.0

    def show(progress: Any) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= 0.5 or progress.done >= progress.total:
            last = now
            typer.echo(prefix + progress.line(), err=True)

    return show


def _server_moment(
    value: str | None, key: str, cfg: SystemConfig, *, end: bool = False
) -> datetime | None:
    """A ``--from``/``--to`` of the search commands, read as ``backtest`` reads them (server
    time; a ``--to`` date alone includes its day), as a UTC instant."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(
            f"expected YYYY-MM-DD or YYYY-MM-DD HH:MM, got {value!r}", key=key
        ) from None
    if end and len(value.strip()) == len("YYYY-MM-DD"):
        moment += timedelta(days=1)
    server = moment.replace(tzinfo=UTC).timestamp()
    return datetime.fromtimestamp(server_time_of(cfg.terminal).to_utc(server), UTC)


def _search_request(
    cfg: SystemConfig,
    config: Path,
    out: Path,
    *,
    history: Path | None,
    bars: int,
    from_: str | None,
    to: str | None,
    **search: Any,
) -> Any:
    """The ``OptimizeRequest`` of both search commands (``search``: its other fields)."""
    from trading_engine.optimize.runner import OptimizeRequest

    if history is not None and not history.is_file():
        raise ConfigError("no such file", key=f"--history {history}")
    return OptimizeRequest(
        cfg,
        config.parent,
        out,
        history=history,
        bars=bars,
        start=_server_moment(from_, "--from", cfg),
        end=_server_moment(to, "--to", cfg, end=True),
        **search,
    )


@app.command("optimize")
def optimize_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="The YAML configuration file.")],
    history: Annotated[
        Path | None,
        typer.Option(
            "--history",
            help="MT5 bars export or Parquet to replay, the first symbol's "
            "(default: generated prices).",
        ),
    ] = None,
    from_: FromOption = None,
    to: ToOption = None,
    bars: Annotated[
        int,
        typer.Option(
            "--bars",
            min=2,
            help="Bars of the base timeframe per trial (with --to: the bars up to it).",
        ),
    ] = 5000,
    param: ParamOption = None,
    constraint: ConstraintOption = None,
    objective: ObjectiveOption = None,
    sampler: Annotated[
        str | None, typer.Option(help="grid, random, tpe, cmaes or nsga2 (default: the config's).")
    ] = None,
    trials: Annotated[int | None, typer.Option(min=1, help="Trials to run.")] = None,
    timeout: Annotated[float | None, typer.Option(min=0.0, help="Seconds for the search.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the sampler.")] = None,
    min_trades: MinTradesOption = None,
    workers: WorkersOption = None,
    ray: Annotated[
        str | None, typer.Option("--ray", help="Run trials on Ray: auto, local or ADDRESS.")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Directory of the study (study.db) and its results.")
    ] = Path("optimize-results"),
    study: Annotated[str, typer.Option("--study", help="Study name (resumed if it exists).")] = (
        "optimize"
    ),
    top: Annotated[int, typer.Option(min=1, help="Rows of the best-trials table.")] = 10,
    set_: SetOption = None,
) -> None:
    """Search strategy and indicator parameters with Optuna; the study is saved and resumable."""
    with cli_errors():
        from trading_engine.optimize.results import best_dsr, best_table
        from trading_engine.optimize.runner import optimize

        cfg = load_config(config, set_)
        request = _search_request(
            cfg,
            config,
            out,
            history=history,
            bars=bars,
            from_=from_,
            to=to,
            params=param or [],
            constraints=constraint or [],
            objectives=objective or [],
            sampler=sampler,
            trials=trials,
            timeout=timeout,
            seed=seed,
            min_trades=min_trades,
            workers=workers,
            ray=ray,
            study=study,
            top=top,
        )
        try:
            outcome = optimize(request, on_progress=_progress_printer())
        except KeyboardInterrupt:
            typer.echo(f"study saved in {out / 'study.db'}; run again to resume", err=True)
            raise
        typer.echo("\n".join(["best trials:", *(f"  {r}" for r in best_table(outcome.study, top))]))
        dsr, count = best_dsr(outcome.study)
        shown = f"{dsr:.3f}" if dsr == dsr else "undefined (under 2 days of returns)"
        typer.echo(f"deflated Sharpe ratio of the best: {shown} ({count} runs)")
        for what, path in outcome.files.items():
            typer.echo(f"{what}: {path}")
        typer.echo(f"study: {outcome.storage} (optuna-dashboard sqlite:///{outcome.storage})")


@app.command("walk-forward")
def walk_forward_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="The YAML configuration file.")],
    history: Annotated[
        Path,
        typer.Option(
            "--history", help="MT5 bars export or Parquet to cut into folds, the first symbol's."
        ),
    ],
    from_: FromOption = None,
    to: ToOption = None,
    in_sample: Annotated[
        int | None,
        typer.Option(
            "--in-sample",
            min=1,
            help="Bars each search sees (default: optimize.walk_forward.in_sample).",
        ),
    ] = None,
    out_of_sample: Annotated[
        int | None,
        typer.Option(
            "--out-of-sample",
            min=1,
            help="Bars traded after each search (default: optimize.walk_forward.out_of_sample).",
        ),
    ] = None,
    step: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Bars between folds (default: optimize.walk_forward.step, or --out-of-sample).",
        ),
    ] = None,
    anchored: Annotated[
        bool | None,
        typer.Option(
            "--anchored/--rolling",
            help="Every in-sample window starts at the first bar, or slides by --step "
            "(default: optimize.walk_forward.anchored).",
        ),
    ] = None,
    holdout: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Last bars no search sees, run once at the end "
            "(default: optimize.walk_forward.holdout).",
        ),
    ] = None,
    param: ParamOption = None,
    constraint: ConstraintOption = None,
    objective: ObjectiveOption = None,
    sampler: Annotated[
        str | None, typer.Option(help="grid, random, tpe, cmaes or nsga2 (default: the config's).")
    ] = None,
    trials: Annotated[int | None, typer.Option(min=1, help="Trials per fold.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the sampler.")] = None,
    min_trades: MinTradesOption = None,
    workers: WorkersOption = None,
    ray: Annotated[
        str | None, typer.Option("--ray", help="Run trials on Ray: auto, local or ADDRESS.")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Directory of the studies and report.")] = (
        Path("walk-forward-results")
    ),
    study: Annotated[str, typer.Option("--study", help="Prefix of the fold studies.")] = (
        "walk-forward"
    ),
    set_: SetOption = None,
) -> None:
    """Walk-forward analysis: optimise in-sample, trade the best out-of-sample, fold by fold."""
    with cli_errors():
        from trading_engine.optimize.walkforward import walk_forward
        from trading_engine.optimize.wf_report import (
            report_json,
            report_lines,
            write_report_html,
        )

        cfg = load_config(config, set_)
        given = {
            "in_sample": in_sample,
            "out_of_sample": out_of_sample,
            "step": step,
            "anchored": anchored,
            "holdout": holdout,
        }
        wf = cfg.optimize.walk_forward.model_copy(
            update={k: v for k, v in given.items() if v is not None}
        )
        request = _search_request(
            cfg,
            config,
            out,
            history=history,
            bars=10**9,
            from_=from_,
            to=to,
            params=param or [],
            constraints=constraint or [],
            objectives=objective or [],
            sampler=sampler,
            trials=trials,
            seed=seed,
            min_trades=min_trades,
            workers=workers,
            ray=ray,
            study=study,
        )
        printers: dict[int, Callable[[Any], None]] = {}

        def progress(fold: int, p: Any) -> None:
            printers.setdefault(fold, _progress_printer(f"fold {fold}: "))(p)

        out.mkdir(parents=True, exist_ok=True)
        try:
            report = walk_forward(request, wf, on_progress=progress)
        except KeyboardInterrupt:
            typer.echo(f"studies saved in {out / 'study.db'}; run again to resume", err=True)
            raise
        typer.echo("\n".join(report_lines(report)))
        (out / "walk_forward.json").write_text(report_json(report))
        page = write_report_html(report, out / "walk_forward.html")
        typer.echo(f"report: {page}\nfolds: {out / 'walk_forward.json'}")


def main() -> None:
    """Console entry point (``trading-engine`` and ``python -m trading_engine``).

    A usage error (an unknown option or command, a value of the wrong type or out of range) is
    one line on stderr naming the option, exit 2, like every other error: not a boxed message.
    """
    try:
        code = app(prog_name=PROG, standalone_mode=False)
    except typer.Abort:
        typer.echo(f"{PROG}: error: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        # click's exceptions (typer vendors click from 0.24 on: matched by what they offer)
        message = getattr(exc, "format_message", None)
        if message is None:
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # the bare command: its help
            exc.show()  # type: ignore[attr-defined]
        else:
            ctx = getattr(exc, "ctx", None)
            hint = f" (try '{ctx.command_path} -h')" if ctx is not None else ""
            typer.echo(f"{PROG}: error: {message()}{hint}", err=True)
        sys.exit(int(getattr(exc, "exit_code", 2)))
    sys.exit(code if isinstance(code, int) else 0)
