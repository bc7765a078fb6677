"""The command line: check-config, init-config, --version, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trading_engine import __version__
from trading_engine.cli import EXIT_CODES, app, exit_code_for, main, say_if_compiling
from trading_engine.errors import (
    ConfigError,
    DataIntegrityError,
    JournalError,
    OrderError,
    StrategyError,
    SupervisorGaveUp,
    TerminalConnectionError,
)

EURUSD = Path(__file__).parents[2] / "configs" / "eurusd.yaml"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])

    assert result.exit_code == 0
    assert result.stdout.strip() == f"trading-engine {__version__}"


def test_check_config_accepts_the_shipped_config(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check-config", str(EURUSD)])

    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout
    assert result.stderr == ""


def test_check_config_says_event_bus_mode_is_ignored(runner: CliRunner, tmp_path: Path) -> None:
    base = "trading: {symbols: [EURUSD], timeframes: [M1]}\n"
    quiet = runner.invoke(app, ["check-config", str(write(tmp_path, base))])
    noted = runner.invoke(
        app, ["check-config", str(write(tmp_path, base + "event_bus: {mode: asynchronous}\n"))]
    )

    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""
    assert noted.exit_code == 0, noted.output
    assert "event_bus.mode: 'asynchronous' is accepted and ignored" in noted.stderr


def test_check_config_print_writes_effective_json_with_password_masked(
    runner: CliRunner,
) -> None:
    env = {"TRADING_ENGINE__TERMINAL__PASSWORD": "hunter2", "RISK_MAX_POSITIONS": "4"}

    result = runner.invoke(app, ["check-config", str(EURUSD), "--print"], env=env)

    assert result.exit_code == 0, result.output
    effective = json.loads(result.stdout)
    assert effective["terminal"]["password"] == "**********"
    assert effective["risk"]["max_positions"] == 4
    assert effective["trading"]["timeframes"] == ["M1"]
    assert "hunter2" not in result.output


def test_check_config_set_overrides_beat_the_environment(runner: CliRunner) -> None:
    result = runner.invoke(
        app,
        ["check-config", str(EURUSD), "--print", "--set", "risk.max_positions=2"],
        env={"RISK_MAX_POSITIONS": "4"},
    )

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["risk"]["max_positions"] == 2


def test_check_config_print_writes_periods_as_integers(runner: CliRunner, tmp_path: Path) -> None:
    """An indicator's period is an integer (it must be one): ``14``, not ``14.0``, however the
    file writes it; a real-valued parameter stays a float, and the output loads back the same."""
    text = (
        "trading: {symbols: [EURUSD], timeframes: [M1]}\n"
        "indicators:\n"
        "  indicators:\n"
        "    - {kind: ema, params: {timeperiod: 12}, name: ema_fast}\n"
        "    - {kind: ema, params: {timeperiod: 26.0}, name: ema_slow}\n"
        "    - {kind: atr, params: {timeperiod: 14}}\n"
        "    - {kind: bbands, params: {timeperiod: 20, nbdevup: 2, nbdevdn: 2.5}, name: bb}\n"
        "strategies: [{name: ema_cross, class_path: ema_cross, params: {sl_atr: 2}}]\n"
    )
    config = write(tmp_path, text)

    result = runner.invoke(app, ["check-config", str(config), "--print"])

    assert result.exit_code == 0, result.output
    assert '"timeperiod": 26\n' in result.stdout
    specs = json.loads(result.stdout)["indicators"]["indicators"]
    assert [s["params"] for s in specs] == [
        {"timeperiod": 12},
        {"timeperiod": 26},
        {"timeperiod": 14},
        {"timeperiod": 20, "nbdevup": 2.0, "nbdevdn": 2.5},
    ]
    kinds = [type(v) for spec in specs for v in spec["params"].values()]
    assert kinds == [int, int, int, int, float, float]
    assert json.loads(result.stdout)["strategies"][0]["params"] == {"sl_atr": 2}  # as written
    printed = tmp_path / "printed.json"
    printed.write_text(result.stdout)
    again = runner.invoke(app, ["check-config", str(printed), "--print"])
    assert again.exit_code == 0, again.output
    assert again.stdout == result.stdout


def test_check_config_missing_file_is_one_line_and_exit_2(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "absent.yaml"

    result = runner.invoke(app, ["check-config", str(path)])

    assert result.exit_code == 2
    assert result.stderr == f"trading-engine: error: {path}: file not found\n"
    assert result.stdout == ""


def test_check_config_invalid_key_names_file_and_key(runner: CliRunner, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "trading: {symbol: EURUSD, timeframes: [M1]}\n"
        "services:\n  data_fetching:\n    fetch_intervall: 3\n",
    )

    result = runner.invoke(app, ["check-config", str(path)])

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"trading-engine: error: {path}: services.data_fetching.fetch_intervall: unknown key"
    ]
    assert "Traceback" not in result.output


def test_check_config_invalid_value_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    path = write(
        tmp_path, "trading: {symbol: EURUSD, timeframes: [M1]}\nrisk: {max_positions: 0}\n"
    )

    result = runner.invoke(app, ["check-config", str(path)])

    assert result.exit_code == 2
    assert f"{path}: risk.max_positions:" in result.stderr


def test_check_config_invalid_environment_names_the_variable(runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["check-config", str(EURUSD)], env={"ORCHESTRATOR_ENABLE_AUTO_RESTART": "maybe"}
    )

    assert result.exit_code == 2
    assert result.stderr.startswith(
        "trading-engine: error: environment: ORCHESTRATOR_ENABLE_AUTO_RESTART: "
    )
    assert len(result.stderr.splitlines()) == 1


def test_check_config_bad_set_option_is_exit_2(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check-config", str(EURUSD), "--set", "no-equals-sign"])

    assert result.exit_code == 2
    assert "--set: no-equals-sign: expected KEY=VALUE" in result.stderr


def test_init_config_writes_a_commented_config_that_check_config_accepts(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "new" / "engine.yaml"

    written = runner.invoke(app, ["init-config", str(path)])
    checked = runner.invoke(app, ["check-config", str(path)])

    assert written.exit_code == 0, written.output
    assert path.read_text(encoding="utf-8").startswith("# trading-engine configuration")
    assert checked.exit_code == 0, checked.output
    assert "note:" not in checked.output  # no key the engine ignores is written as set
    assert "# mode: synchronous" in path.read_text(encoding="utf-8")  # shown, commented out


def test_init_config_refuses_to_overwrite_without_force(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "mine\n")

    refused = runner.invoke(app, ["init-config", str(path)])

    assert refused.exit_code == 2
    assert "pass --force" in refused.stderr
    assert path.read_text(encoding="utf-8") == "mine\n"

    forced = runner.invoke(app, ["init-config", str(path), "--force"])

    assert forced.exit_code == 0
    assert runner.invoke(app, ["check-config", str(path)]).exit_code == 0


def test_unknown_command_is_a_usage_error(runner: CliRunner) -> None:
    assert runner.invoke(app, ["frobnicate"]).exit_code == 2


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConfigError("x"), 2),
        (SupervisorGaveUp("pipeline"), 3),
        (DataIntegrityError("x"), 4),
        (TerminalConnectionError("x"), 5),
        (JournalError("x"), 6),
        (StrategyError("x"), 7),
        (OrderError("x"), 1),
        (KeyboardInterrupt(), 130),
        (RuntimeError("bug"), 1),
    ],
)
def test_exit_code_table(error: BaseException, code: int) -> None:
    assert exit_code_for(error) == code


def test_exit_code_table_lists_subclasses_before_their_bases() -> None:
    kinds = [kind for kind, _code, _meaning in EXIT_CODES]

    for index, kind in enumerate(kinds):
        assert not any(issubclass(later, kind) and later is not kind for later in kinds[index:])


def test_python_dash_m_runs_the_cli(tmp_path: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "trading_engine", "check-config", str(EURUSD)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    missing = subprocess.run(
        [sys.executable, "-m", "trading_engine", "check-config", str(tmp_path / "none.yaml")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert ok.returncode == 0, ok.stderr
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1
    assert "none.yaml: file not found" in missing.stderr


def test_set_values_are_read_as_yaml(runner: CliRunner) -> None:
    result = runner.invoke(
        app,
        [
            "check-config",
            str(EURUSD),
            "--print",
            "--set",
            "logging.levels={data_fetching: debug}",
            "--set",
            "orchestrator.enable_auto_restart=false",
            "--set",
            "trading.timeframes=M1,H1",
        ],
    )

    assert result.exit_code == 0, result.output
    effective = json.loads(result.stdout)
    assert effective["logging"]["levels"] == {"data_fetching": "DEBUG"}
    assert effective["orchestrator"]["enable_auto_restart"] is False
    assert effective["trading"]["timeframes"] == ["M1", "H1"]


@pytest.mark.parametrize("cached", [False, True])
def test_run_says_when_it_compiles_the_kernels(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], cached: bool
) -> None:
    monkeypatch.setattr("trading_engine.cli.kernels_cached", lambda: cached)
    say_if_compiling()
    said = capsys.readouterr().err == "compiling indicator kernels (first run only)\n"
    assert said is not cached


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["backtest", "--config", str(EURUSD), "--bars", "-5"], "--bars"),
        (["backtest", "--config", str(EURUSD), "--bars", "abc"], "--bars"),
        (["backtest", "--config", str(EURUSD), "--no-such-option"], "--no-such-option"),
        (["frobnicate"], "frobnicate"),
    ],
)
def test_a_usage_error_is_one_line_naming_the_option_and_exit_2(
    argv: list[str], named: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["trading-engine", *argv])

    with pytest.raises(SystemExit) as exited:
        main()

    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.count("\n") == 1, err
    assert err.startswith("trading-engine: error: ")
    assert named in err


def test_main_exits_with_the_command_s_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "argv", ["trading-engine", "--version"])
    with pytest.raises(SystemExit) as ok:
        main()
    assert ok.value.code in (0, None)
    assert __version__ in capsys.readouterr().out

    monkeypatch.setattr(sys, "argv", ["trading-engine", "check-config", str(tmp_path / "x.yaml")])
    with pytest.raises(SystemExit) as missing:
        main()
    assert missing.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_risk_status_prints_figures_without_float_noise(runner: CliRunner, tmp_path: Path) -> None:
    from trading_engine.execution.risk import RiskLimits, RiskRules
    from trading_engine.execution.risk_store import save_risk
    from trading_engine.journal.store import Journal

    journal = tmp_path / "j.db"
    rules = RiskRules(RiskLimits(daily_loss_limit=100_000.0))
    rules.on_account(10_000.0, 10_000.0, 1_704_844_800.0)
    rules.on_account(9_650.0, 9_650.0, 1_704_844_860.0)  # 1 - 9650/10000: 3.5000000000000004 %
    with Journal.open(journal) as j:
        save_risk(j, rules, 1_704_844_860.0)
    config = write(
        tmp_path, f"trading: {{symbol: EURUSD, timeframes: [M1]}}\njournal: {{path: {journal}}}\n"
    )

    status = runner.invoke(app, ["risk", "status", "--config", str(config)])

    assert status.exit_code == 0, status.output
    assert '"drawdown_pct": 3.5,' in status.output
    assert json.loads(status.output)["equity"] == 9_650.0
