"""The runner's checks: the window of --from/--to after the warm-up, the research extra."""

from __future__ import annotations

import numpy as np
import pytest

from trading_engine.errors import ConfigError
from trading_engine.optimize.engine import Window
from trading_engine.optimize.runner import require, window_between

TIMES = np.arange(100, dtype=np.int64) * 60 + 6_000


def test_window_between() -> None:
    assert window_between(TIMES, None, None) == Window(6_000, 100)
    assert window_between(TIMES, 6_000 + 60 * 10, 6_000 + 60 * 30) == Window(6_600, 20)
    assert window_between(TIMES, 6_001, None) == Window(6_060, 99)  # the first bar at or after


def test_window_starts_after_the_warm_up() -> None:
    assert window_between(TIMES, None, None, first=25) == Window(6_000 + 25 * 60, 75)
    assert window_between(TIMES, 6_000 + 60 * 50, None, first=25) == Window(9_000, 50)


def test_empty_window() -> None:
    with pytest.raises(ConfigError, match="no bar of the history lies between --from and --to"):
        window_between(TIMES, 6_000 + 60 * 10, 6_000 + 60 * 10)
    with pytest.raises(ConfigError, match="no bar"):
        window_between(TIMES, None, 6_000 + 60 * 30, first=40)


def test_missing_extra_is_one_line() -> None:
    with pytest.raises(ConfigError, match=r"--ray: needs no_such_module_x: pip install"):
        require("no_such_module_x", "--ray")
    require("numpy", "--ray")
