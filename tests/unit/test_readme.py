"""The README's quick start, in the order written, each line that ends run twice."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def quick_start_lines() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [line.split("  #", 1)[0].strip() for line in block.strip().splitlines()]


@pytest.mark.timeout(900)  # six subprocess runs
def test_quick_start_lines_run_in_order_and_again(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    lines = quick_start_lines()
    assert lines
    assert all(line.startswith(".venv/bin/trading-engine ") for line in lines)
    ran = 0
    for line in lines:
        args = shlex.split(line)[1:]
        if args[0] == "run" and "--max-bars" not in args:
            continue  # real time: runs until Ctrl-C
        # Keep the test short: the same command over fewer bars.
        args = [re.sub(r"^\d{4,}$", "1500", a) for a in args]
        for attempt in (1, 2):
            result = subprocess.run(
                [sys.executable, "-m", "trading_engine", *args,
                 "--set", "logging.level=ERROR"],
                cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
            )  # fmt: skip
            assert result.returncode == 0, (line, attempt, result.stderr)
        ran += 1
    assert ran == 3
    assert (tmp_path / "report.html").stat().st_size > 1_000_000
    assert (tmp_path / "trades.csv").read_text().startswith("symbol,strategy,side")
    # The second run resumed the first one's paper account: one account file, one journal.
    assert (tmp_path / "journal" / "trading.db").exists()
    assert (tmp_path / "journal" / "trading.account.db").exists()
