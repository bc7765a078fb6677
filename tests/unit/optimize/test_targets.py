"""Parameter names resolved to what they set: strategy, indicator, strategy choice, config key."""

from __future__ import annotations

import pytest

from trading_engine.config import ConfigLoader, SystemConfig
from trading_engine.errors import ConfigError
from trading_engine.optimize.targets import Target, apply_params, resolve_targets


@pytest.fixture
def config() -> SystemConfig:
    return ConfigLoader.load(
        None,
        overrides={
            "trading.symbols": ["EURUSD"],
            "trading.timeframes": ["M1"],
            "strategies": [
                {"name": "ema_cross", "class_path": "ema_cross", "params": {"sl_atr": 1.5}},
                {"name": "rsi", "class_path": "rsi_reversion"},
            ],
        },
        environ={},
    )


def test_resolution(config: SystemConfig) -> None:
    targets = resolve_targets(
        config,
        [
            "ema_cross.fast",
            "ema_cross.sl_atr",
            "bb.nbdevup",
            "ema_cross.slow.timeperiod",
            "strategy",
            "risk.risk_per_trade_pct",
        ],
    )
    assert targets == {
        "ema_cross.fast": Target("indicator", "ema_fast", "timeperiod"),
        "ema_cross.sl_atr": Target("strategy", "ema_cross", "sl_atr"),
        "bb.nbdevup": Target("indicator", "bb", "nbdevup"),
        "ema_cross.slow.timeperiod": Target("indicator", "ema_slow", "timeperiod"),
        "strategy": Target("choice", "", "enabled"),
        "risk.risk_per_trade_pct": Target("config", "risk", "risk_per_trade_pct"),
    }


def test_apply(config: SystemConfig) -> None:
    targets = resolve_targets(
        config, ["ema_cross.fast", "ema_cross.tp_atr", "strategy", "risk.max_positions"]
    )
    out = apply_params(
        config,
        targets,
        {
            "ema_cross.fast": 7,
            "ema_cross.tp_atr": 4.0,
            "strategy": "ema_cross",
            "risk.max_positions": 2,
        },
    )
    specs = {s.name: s for s in out.indicators.indicators}
    assert specs["ema_fast"].params["timeperiod"] == 7
    assert specs["ema_slow"].params["timeperiod"] == 26  # untouched
    ema = next(s for s in out.strategies if s.name == "ema_cross")
    assert ema.params == {"sl_atr": 1.5, "tp_atr": 4.0}
    assert [s.enabled for s in out.strategies] == [True, False]
    assert out.risk.max_positions == 2
    assert config.indicators.indicators[0].params["timeperiod"] == 12  # the base is unchanged


def test_values_the_target_refuses(config: SystemConfig) -> None:
    targets = resolve_targets(config, ["ema_cross.fast", "risk.max_positions", "strategy"])
    with pytest.raises(ValueError, match="ema_fast"):
        apply_params(config, targets, {"ema_cross.fast": 0})
    with pytest.raises(ValueError, match=r"risk\.max_positions=0"):
        apply_params(config, targets, {"risk.max_positions": 0})
    with pytest.raises(ValueError, match="no strategy of that name"):
        apply_params(config, targets, {"strategy": "nope"})


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("ema_cross.fst", "strategy 'ema_cross' has no parameter 'fst'"),
        ("ema_fast.nbdevup", "ema has no parameter 'nbdevup'"),
        ("nothing.here", "not a strategy parameter"),
        ("risk.nope", "not a strategy parameter"),
    ],
)
def test_unknown_names(config: SystemConfig, name: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name}: {message}"):
        resolve_targets(config, [name])


def test_two_names_for_one_value(config: SystemConfig) -> None:
    with pytest.raises(ConfigError, match=r"sets the same value as .ema_cross\.fast."):
        resolve_targets(config, ["ema_cross.fast", "ema_fast.timeperiod"])
