"""Crash recovery across processes: a real ``trading-engine run`` killed with SIGKILL at each
named crash point (``runtime.crashpoints``) with positions open, started again on the same
journal and simulated account: journal = terminal, no order sent twice, no fill lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from trading_engine.backtest.audit import audit
from trading_engine.journal.store import Journal
from trading_engine.runtime.crashpoints import CRASH_ENV, POINTS

CONFIG = Path(__file__).parents[2] / "configs" / "eurusd.yaml"
MAGIC = 20261125
SCRIPT = (
    f'[{{"name": "script", "class_path": "{Path(__file__).with_name("strategies.py")}:Scripted",'
    ' "params": {"enter_at": [5, 10, 20], "exit_at": [15, 25]}}]'
)
"""Two positions open from bar 10 on; the first close at bar 15 (the third order)."""

pytestmark = pytest.mark.timeout(300)


def run(
    journal: Path, bars: int, crash_at: str | None = None, *extra: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    if crash_at is not None:
        env[CRASH_ENV] = crash_at
    args = [sys.executable, "-m", "trading_engine", "run", "--config", str(CONFIG),
            "--speed", "0", "--max-bars", str(bars), "--set", f"journal.path={journal}",
            "--set", "logging.level=ERROR",
            "--set", "services.indicator_calculation.warmup_bars=200",
            "--set", f"strategies={SCRIPT}", *extra]  # fmt: skip
    return subprocess.run(args, capture_output=True, text=True, timeout=240, env=env, check=False)


def _open_in_journal(journal: Path) -> int:
    with Journal.open(journal) as j:
        return len(j.open_positions())


def _check(journal: Path) -> None:
    report = audit(journal, journal.with_suffix(".account.db"), MAGIC)
    assert report.ok, report.problems
    assert report.fills >= 3


@pytest.mark.parametrize("point", [p for p in POINTS if p != "reconciling"])
def test_killed_at_a_crash_point_then_restarted_books_agree(tmp_path: Path, point: str) -> None:
    journal = tmp_path / "j.db"
    killed = run(journal, 100, f"{point}:{1 if point == 'mid_close' else 2}")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _open_in_journal(journal) >= 1  # killed with a position open
    again = run(journal, 40)
    assert again.returncode == 0, again.stderr
    _check(journal)


def test_killed_during_the_reconciliation_of_a_restart_then_restarted_again(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "j.db"
    first = run(journal, 100, "filled_before_booking:2")
    assert first.returncode == -signal.SIGKILL, first.stderr
    second = run(journal, 40, "reconciling")
    assert second.returncode == -signal.SIGKILL, second.stderr
    third = run(journal, 40)
    assert third.returncode == 0, third.stderr
    _check(journal)


def test_a_journal_and_an_account_that_do_not_belong_together_are_refused(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "j.db"
    assert run(journal, 40).returncode == 0
    other = run(journal, 10, None, "--set", f"terminal.sim.account_path={tmp_path / 'b.db'}")
    assert other.returncode == 6
    lines = other.stderr.strip().splitlines()
    assert len(lines) == 1, other.stderr
    assert "--fresh" in lines[0]
    assert "Traceback" not in other.stderr
    fresh = run(journal, 10, None, "--fresh")
    assert fresh.returncode == 0, fresh.stderr
