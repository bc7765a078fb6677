"""The ``run`` and ``backtest`` commands, as a user runs them: a subprocess on the simulator."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

CONFIG = Path(__file__).parents[2] / "configs" / "eurusd.yaml"


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "trading_engine", *args]


def _summary(text: str) -> dict[str, str]:
    pairs = (line.strip().partition(": ") for line in text.splitlines() if ": " in line)
    return {key: value for key, _, value in pairs}


def test_run_at_speed_zero_trades_the_bar_budget_and_prints_a_summary(tmp_path: Path) -> None:
    journal = tmp_path / "run.db"
    result = subprocess.run(
        _cli("run", "--config", str(CONFIG), "--speed", "0", "--max-bars", "400",
             "--set", f"journal.path={journal}", "--set", "logging.level=ERROR"),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = _summary(result.stdout)
    assert summary["bars"] == "400"
    assert summary["journal"] == str(journal)
    assert journal.exists()


def test_run_stops_gracefully_on_sigint_with_a_summary(tmp_path: Path) -> None:
    process = subprocess.Popen(
        _cli("run", "--config", str(CONFIG), "--speed", "600",
             "--set", f"journal.path={tmp_path / 'live.db'}", "--set", "logging.format=text"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stderr is not None
    for line in process.stderr:  # wait for readiness, not for a fixed time
        if "engine running" in line:
            break
    process.send_signal(signal.SIGINT)
    stdout, _ = process.communicate(timeout=120)
    assert process.returncode == 0
    assert "summary:" in stdout
    assert _summary(stdout)["open_positions"] == "0"


def test_backtest_reports_and_writes_the_trades(tmp_path: Path) -> None:
    trades = tmp_path / "trades.csv"
    result = subprocess.run(
        _cli("backtest", "--config", str(CONFIG), "--bars", "3000", "--journal",
             str(tmp_path / "bt.db"), "--trades-csv", str(trades), "--set", "logging.level=ERROR"),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = _summary(result.stdout)
    assert report["bars"] == "3000"
    rows = trades.read_text().splitlines()
    assert rows[0].startswith("symbol,strategy,side")
    assert len(rows) - 1 == int(report["trades"])


def test_run_with_an_unknown_key_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(CONFIG.read_text() + "\nsurprise: 1\n")
    result = subprocess.run(
        _cli("run", "--config", str(bad), "--speed", "0", "--max-bars", "10"),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "surprise" in result.stderr
    assert "Traceback" not in result.stderr


def test_backtest_on_a_history_file_starts_where_the_file_can_feed_it(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from trading_engine.mt5sim import SimConfig, Terminal
    from trading_engine.mt5sim.market.history import write_bars_csv

    later = datetime(2026, 11, 20, tzinfo=UTC)  # long after the configuration's start (2024)
    terminal = Terminal(
        SimConfig(seed=3, start=later, history_days=10, market_mode="m1"), clock=later.timestamp
    )
    terminal.initialize()
    history = tmp_path / "EURUSD_M1.csv"
    write_bars_csv(history, terminal.copy_rates_from_pos("EURUSD", 1, 1, 3000))
    result = subprocess.run(
        _cli("backtest", "--config", str(CONFIG), "--bars", "500", "--history", str(history),
             "--journal", str(tmp_path / "h.db"), "--set", "logging.level=ERROR"),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert _summary(result.stdout)["bars"] == "500"


def test_backtest_with_a_missing_history_file_is_exit_2(tmp_path: Path) -> None:
    result = subprocess.run(
        _cli("backtest", "--config", str(CONFIG), "--bars", "10", "--history",
             str(tmp_path / "none.csv")),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "none.csv: no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_loads_the_strategies_and_refuses_bad_parameters() -> None:
    result = subprocess.run(
        _cli("check-config", str(CONFIG), "--set",
             "strategies=[{name: x, class_path: ema_cross, params: {bogus: 1}}]"),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 7
    assert "bogus" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_second_run_on_the_same_journal_resumes_the_simulated_account(tmp_path: Path) -> None:
    import sqlite3

    from trading_engine.backtest.audit import audit

    journal = tmp_path / "once.db"
    args = _cli("run", "--config", str(CONFIG), "--speed", "0", "--max-bars", "2000",
                "--set", f"journal.path={journal}", "--set", "logging.level=ERROR")  # fmt: skip
    first = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert first.returncode == 0, first.stderr
    with sqlite3.connect(journal) as conn:
        kinds = dict(conn.execute("SELECT type, COUNT(*) FROM events GROUP BY type").fetchall())
    assert kinds["OrderFilledEvent"] == int(_summary(first.stdout)["closed_positions"]) + int(
        _summary(first.stdout)["open_positions"]
    )
    second = subprocess.run(
        [*args[:-4], "--max-bars", "300", *args[-4:]],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    before, after = _summary(first.stdout), _summary(second.stdout)
    # the account went on from where the first run left it
    realized = float(after["realized_pnl"])
    assert float(after["balance"]) == pytest.approx(float(before["balance"]) + realized)
    report = audit(journal, tmp_path / "once.account.db", 20261125)
    assert report.ok, report.problems
    # without the account file, the simulator starts afresh and the journal is refused
    third = subprocess.run(
        [*args, "--set", "terminal.sim.persist=false"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert third.returncode == 6
    assert "--fresh" in third.stderr
