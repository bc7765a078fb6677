"""The ``optimize`` and ``walk-forward`` commands end to end, and their one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from trading_engine.cli import app

CONFIG = {
    "trading": {"symbol": "EURUSD", "timeframes": ["M1"]},
    "logging": {"level": "WARNING"},
    "services": {"indicator_calculation": {"warmup_bars": 100}},
    "terminal": {"sim": {"start": "2024-01-10T00:00:00Z", "history_days": 2, "seed": 7}},
    "strategies": [
        {"name": "ema_cross", "class_path": "ema_cross", "params": {"regime_filter": False}}
    ],
    "optimize": {
        "space": {"ema_cross.slow": "20:30:10"},
        "constraints": ["ema_cross.fast < ema_cross.slow"],
        "sampler": "grid",
        "objectives": ["return"],
        "walk_forward": {"in_sample": 300, "out_of_sample": 150},
    },
}


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "opt.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    return path


def test_optimize(config_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "optimize",
            "--config",
            str(config_file),
            "--bars",
            "300",
            "--param",
            "ema_cross.fast=5:25:20",
            "--workers",
            "1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "trials 4/4 (failed 0, pruned 1)" in result.output  # fast 25 < slow 20 is pruned
    assert "best trials:" in result.output
    best = json.loads((out / "best_trials.json").read_text())
    assert len(best) == 3
    assert all(b["params"]["ema_cross.fast"] < b["params"]["ema_cross.slow"] for b in best)
    assert (out / "heatmap.html").stat().st_size > 100_000  # plotly.js inlined
    assert "Heatmap" in (out / "heatmap.html").read_text()
    assert (out / "importance.html").exists()
    assert f"optuna-dashboard sqlite:///{out / 'study.db'}" in result.output


def test_walk_forward(config_file: Path, history_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "wf"
    result = CliRunner().invoke(
        app,
        [
            "walk-forward",
            "--config",
            str(config_file),
            "--history",
            str(history_file),
            "--from",
            "2024-01-11 06:00",
            "--to",
            "2024-01-11 16:00",
            "--param",
            "ema_cross.fast=5",
            "--workers",
            "1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "out-of-sample, joined (2 folds)" in result.output
    assert "trials: 4;" in result.output
    assert (out / "walk_forward.html").exists()
    assert len(json.loads((out / "walk_forward.json").read_text())["folds"]) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--param", "ema_cross.fst=1:2:1"],
            "ema_cross.fst: strategy 'ema_cross' has no parameter",
        ),
        (["--param", "ema_cross.fast=9:2:1"], "ema_cross.fast: the range is empty"),
        (["--param", "ema_cross.fast"], "expected NAME=lo:hi[:step]"),
        (["--objective", "max:"], "objective: an objective is required"),
        (["--constraint", "a < b"], "'a' is not a parameter of the search space"),
        (["--sampler", "bogus"], "unknown sampler 'bogus'"),
        (["--history", "missing.csv"], "--history missing.csv: no such file"),
    ],
)
def test_errors_are_one_line(
    config_file: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    base = [
        "optimize",
        "--config",
        str(config_file),
        "--out",
        str(tmp_path / "o"),
        "--workers",
        "1",
    ]
    result = CliRunner().invoke(app, [*base, "--param", "ema_cross.fast=5:6:1", *args])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert message in lines[0]
