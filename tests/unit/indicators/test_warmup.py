"""Start-up: warm_up compiles or loads every kernel; an unwritable numba cache directory falls
back to compiling in memory with a warning, never a crash or a hang."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from trading_engine.indicators import IndicatorSet, IndicatorSetConfig, IndicatorSpec, warm_up
from trading_engine.indicators._nb import cache_dir_writable


def test_warm_up_prepares_the_default_set_and_every_batch_kernel() -> None:
    warm_up()
    warm_up(IndicatorSetConfig(indicators=(IndicatorSpec(kind="cci"),)), batch_kernels=True)
    iset = IndicatorSet()
    values = iset.update(1.1, 1.0, 1.05)
    assert values.shape == (len(iset.names),)


def test_cache_dir_probe_rejects_a_path_that_cannot_be_a_directory(tmp_path: Path) -> None:
    assert not cache_dir_writable(Path("/dev/null/numba-cache"))
    assert cache_dir_writable(tmp_path / "cache")


def test_unwritable_cache_dir_compiles_in_memory_with_a_warning() -> None:
    code = textwrap.dedent(
        """
        import sys
        from loguru import logger
        import trading_engine
        logger.enable("trading_engine")
        logger.remove()
        logger.add(sys.stderr, level="WARNING", format="{level}|{name}|{message}")
        import numpy as np
        from trading_engine.indicators import IndicatorSetConfig, IndicatorSpec, kernels, warm_up
        from trading_engine.indicators import _nb
        spec = IndicatorSpec(kind="ema", params={"timeperiod": 3})
        warm_up(IndicatorSetConfig(indicators=(spec,), regime=None))
        print(_nb.CACHE_ENABLED, kernels.sma(np.arange(10.0), 3)[-1])
        """
    )
    env = dict(os.environ, NUMBA_CACHE_DIR="/dev/null/numba-cache")
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=110
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "8.0"]
    warning = [ln for ln in proc.stderr.splitlines() if ln.startswith("WARNING|")]
    assert len(warning) == 1
    assert "trading_engine.indicators" in warning[0]
    assert "not writable" in warning[0]
