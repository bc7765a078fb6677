"""What a trader sees in the terminal around a backtest: logs, the kernels note, the verdict.

- Logs: human text on a TTY, JSON otherwise (``--log-format auto``); ``--log-format json|text``
  forces one. ``--quiet`` keeps errors only in the log (and no progress bar; the command prints
  the run's summary without the statistics); ``--log-level`` sets the level.
  Without ``--log-level`` the execution package logs warnings only (no line per fill, close or
  refused entry: the statistics count them); each rejection and risk state change is one
  warning line of the backtest itself. No periodic status lines: the statistics end the run.
- The first run compiles the numba kernels (tens of seconds); it says so once, before.
- ``every_strategy_died``: the ``StrategyError`` (exit 7) of a run whose strategies were all
  disabled for raising, naming each with its simulated time and reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from trading_engine.config import SystemConfig
from trading_engine.errors import StrategyError

__all__ = [
    "LogFormat",
    "backtest_logging",
    "every_strategy_died",
    "kernels_cached",
]

LogFormat = Literal["auto", "json", "text"]


def backtest_logging(
    config: SystemConfig,
    *,
    log_format: LogFormat,
    tty: bool,
    quiet: bool,
    level: str | None,
) -> SystemConfig:
    """``config`` with its logging section set for a backtest (module docstring)."""
    update: dict[str, object] = {}
    if log_format == "auto":
        if tty:
            update["format"] = "text"
    else:
        update["format"] = log_format
    if level is not None:
        update["level"] = level.upper()
    else:
        update["levels"] = {"execution": "WARNING", **config.logging.levels}
    if quiet:
        update["level"] = "ERROR"
    logging = config.logging.model_copy(update=update)
    quiet_status = config.orchestrator.model_copy(update={"status_log_interval": 1_000_000})
    return config.model_copy(update={"logging": logging, "orchestrator": quiet_status})


def kernels_cached() -> bool:
    """Whether numba has the streaming indicator kernels cached on disk already."""
    from trading_engine.indicators import _nb

    here = Path(_nb.__file__).parent / "__pycache__"
    places = [here] if _nb.CACHE_DIR is None else [_nb.CACHE_DIR]
    return any(place.is_dir() and any(place.rglob("streaming*.nbi")) for place in places)


def every_strategy_died(
    configured: Iterable[str], disabled: Iterable[tuple[str, int, str]]
) -> StrategyError | None:
    """The error to exit with when every configured strategy was disabled, else None."""
    names = set(configured)
    dead = [(name, when, reason) for name, when, reason in disabled if name in names]
    if not names or {name for name, _, _ in dead} != names:
        return None
    parts = [
        f"{name} at {datetime.fromtimestamp(when, tz=UTC):%Y-%m-%d %H:%M:%S} (server): {reason}"
        for name, when, reason in dead
    ]
    return StrategyError("every strategy was disabled for raising: " + "; ".join(parts))
