"""Crash soak: kill ``trading-engine run`` with SIGKILL at random instants, restart, audit.

Each round starts ``trading-engine run --speed 0`` on the same journal and simulated account,
kills it with SIGKILL after a random delay (or lets it finish when the delay outlasts it), then
runs it again briefly to completion (start-up reconciliation included) and audits the journal
against the account file (``trading_engine.backtest.audit``): journal = terminal, no order sent
twice, no fill lost, nothing left unfinished. Prints one line per round and the totals; exits 1
when any audit found a problem.

Usage: ``python scripts/soak_crash.py [--rounds 20] [--bars 3000] [--max-delay 15] [--seed 1]
[--dir DIR] [--config configs/eurusd.yaml]``
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from trading_engine.backtest.audit import audit
from trading_engine.config import ConfigLoader

ROOT = Path(__file__).resolve().parents[1]


def _command(config: Path, journal: Path, bars: int) -> list[str]:
    return [sys.executable, "-m", "trading_engine", "run", "--config", str(config),
            "--speed", "0", "--max-bars", str(bars), "--set", f"journal.path={journal}",
            "--set", "logging.level=ERROR"]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--bars", type=int, default=3000, help="bars of each killed run")
    parser.add_argument("--after-bars", type=int, default=50, help="bars of each audited rerun")
    parser.add_argument("--max-delay", type=float, default=15.0, help="seconds before the kill")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=None, help="where the files go (temp dir)")
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "eurusd.yaml")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = args.dir or Path(tempfile.mkdtemp(prefix="soak-crash-"))
    work.mkdir(parents=True, exist_ok=True)
    journal = work / "soak.db"
    account = journal.with_suffix(".account.db")
    magic = ConfigLoader.load(args.config).trading.magic
    env = {k: v for k, v in os.environ.items() if k != "TRADING_ENGINE_CRASH_AT"}
    counts = {"rounds": 0, "killed": 0, "finished": 0, "failed_runs": 0, "bad_audits": 0}
    fills = orders = 0
    print(f"soak: {args.rounds} rounds in {work}", flush=True)
    for round_no in range(1, args.rounds + 1):
        counts["rounds"] += 1
        delay = rng.uniform(0.2, args.max_delay)
        process = subprocess.Popen(
            _command(args.config, journal, args.bars),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        try:
            process.wait(timeout=delay)
            outcome = "finished" if process.returncode == 0 else f"exit {process.returncode}"
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            outcome = f"killed after {delay:.2f} s"
        stderr = process.stderr.read() if process.stderr else ""
        if process.stderr:
            process.stderr.close()
        if outcome.startswith("killed"):
            counts["killed"] += 1
        elif outcome == "finished":
            counts["finished"] += 1
        else:
            counts["failed_runs"] += 1
            print(f"round {round_no}: run failed: {stderr.strip()[-300:]}", flush=True)
        started = time.perf_counter()
        rerun = subprocess.run(
            _command(args.config, journal, args.after_bars),
            capture_output=True, text=True, env=env, timeout=600, check=False,
        )  # fmt: skip
        if rerun.returncode != 0:
            counts["failed_runs"] += 1
            print(f"round {round_no}: rerun failed: {rerun.stderr.strip()[-300:]}", flush=True)
            continue
        report = audit(journal, account, magic)
        fills, orders = report.fills, report.orders
        if not report.ok:
            counts["bad_audits"] += 1
        verdict = "journal = terminal" if report.ok else f"PROBLEMS {report.problems}"
        print(
            f"round {round_no}: {outcome}; rerun {time.perf_counter() - started:.1f} s; "
            f"orders {report.orders}, fills {report.fills}, deals {report.deals}, "
            f"open {report.open_positions}: {verdict}",
            flush=True,
        )
    totals = ", ".join(f"{k} {v}" for k, v in counts.items())
    print(f"totals: {totals}; journal orders {orders}, fills {fills}")
    return 1 if counts["bad_audits"] or counts["failed_runs"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
