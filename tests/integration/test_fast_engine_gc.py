"""The fast engine's loop runs without automatic garbage collection (full collections scan
everything the run keeps and find next to nothing) but collects the young generations as it goes:
cyclic garbage made by a strategy is freed during the run, and the interpreter's collector is
left as the engine found it."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from tests.integration.conftest import make_config, strategy

from trading_engine.backtest.engine import BacktestEngine

BARS = 10_000


def _run(tmp_path: Path) -> list[tuple[int, int]]:
    """Run ``BARS`` bars of ``MakesCycles``; the collections (bars done, objects freed) made
    while the loop ran."""
    cfg = make_config(
        tmp_path / "unused.db",
        [strategy("cycles", "MakesCycles")],
        **{"logging.level": "ERROR", "terminal.sim.history_days": 3},
    )
    done = [0]
    freed: list[tuple[int, int]] = []

    def progress(bars: int, total: int, now: float) -> None:
        done[0] = bars if bars < total else -1  # -1: the loop is over

    def watch(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and done[0] > 0:
            freed.append((done[0], info["collected"]))

    gc.callbacks.append(watch)
    try:
        BacktestEngine(cfg, bars=BARS, progress=progress).run()
    finally:
        gc.callbacks.remove(watch)
    return freed


def test_cyclic_garbage_is_freed_during_the_loop(tmp_path: Path) -> None:
    freed = _run(tmp_path)
    # a cycle (2 objects) a bar: those of the bars before the last chunk's start, at least
    assert sum(n for _, n in freed) >= 2 * (BARS - 4096 - 100)
    assert max(at for at, _ in freed) < BARS


def test_the_collector_is_left_as_it_was(tmp_path: Path) -> None:
    assert gc.isenabled()
    _run(tmp_path)
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    gc.disable()
    try:
        _run(tmp_path)
        assert not gc.isenabled()
        assert gc.get_freeze_count() == 0
    finally:
        gc.enable()
