"""Small studies on the fast engine: EURUSD M1 generated from a Wednesday, 100 warm-up bars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trading_engine import mt5sim
from trading_engine.config import ConfigLoader, SystemConfig
from trading_engine.mt5sim.market.history import write_parquet
from trading_engine.optimize.space import parse_space
from trading_engine.optimize.study import SearchSettings
from trading_engine.optimize.targets import resolve_targets
from trading_engine.optimize.workers import Job

START = "2024-01-10T00:00:00Z"
BARS = 400


def make_config(**overrides: Any) -> SystemConfig:
    base: dict[str, Any] = {
        "trading.symbols": ["EURUSD"],
        "trading.timeframes": ["M1"],
        "terminal.sim.start": START,
        "terminal.sim.history_days": 2,
        "terminal.sim.seed": 7,
        "services.indicator_calculation.warmup_bars": 100,
        "logging.level": "WARNING",
        "strategies": [
            {"name": "ema_cross", "class_path": "ema_cross", "params": {"regime_filter": False}}
        ],
    }
    base.update(overrides)
    return ConfigLoader.load(None, overrides=base, environ={})


@pytest.fixture
def config() -> SystemConfig:
    return make_config()


def make_job(config: SystemConfig, settings: SearchSettings, **kwargs: Any) -> Job:
    targets = resolve_targets(config, list(settings.space))
    return Job(config, targets, kwargs.get("history"), kwargs.get("bars_file"), BARS)


def grid(space: dict[str, str], **kwargs: Any) -> SearchSettings:
    from trading_engine.optimize.objectives import parse_objective

    return SearchSettings(
        space=parse_space(space),
        objectives=(parse_objective(kwargs.pop("objective", "return")),),
        sampler="grid",
        **kwargs,
    )


@pytest.fixture(scope="session")
def history_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three days of generated EURUSD M1 bars (Wed-Fri), as Parquet."""
    start = datetime(2024, 1, 13, tzinfo=UTC)
    terminal = mt5sim.Terminal(
        mt5sim.SimConfig(seed=5, start=start, history_days=4), clock=lambda: start.timestamp()
    )
    assert terminal.initialize()
    rates = terminal.copy_rates_range(
        "EURUSD", mt5sim.TIMEFRAME_M1, start - timedelta(days=4), start
    )
    path = tmp_path_factory.mktemp("history") / "eurusd_m1.parquet"
    write_parquet(path, np.asarray(rates))
    return path
