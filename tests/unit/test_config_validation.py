"""Validation beyond the seed: unknown keys with their path, secrets, strategies, symbols, times."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from trading_engine.config import ConfigLoader, StrategyConfig, SupervisorConfig, TradingConfig
from trading_engine.errors import ConfigError
from trading_engine.timeframes import H1, M1

TRADING = "trading:\n  symbol: EURUSD\n  timeframes: [M1, H1]\n"


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return ConfigLoader.load(path)


def error_of(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    return caught.value


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        (
            "services:\n  data_fetching:\n    fetch_intervall: 3\n",
            "services.data_fetching.fetch_intervall",
        ),
        ("risk:\n  max_position: 3\n", "risk.max_position"),
        ("terminal:\n  sim:\n    sead: 1\n", "terminal.sim.sead"),
        ("indicatorz: {}\n", "indicatorz"),
        ("strategies:\n  - name: a\n    clas_path: ema_cross\n", "strategies[0].clas_path"),
    ],
)
def test_unknown_key_is_rejected_with_its_dotted_path(tmp_path: Path, extra: str, key: str) -> None:
    error = error_of(tmp_path, TRADING + extra)

    assert error.key == key
    assert str(error).startswith(f"{tmp_path / 'config.yaml'}: {key}: unknown key")


def test_several_failures_become_one_error_listing_the_others(tmp_path: Path) -> None:
    error = error_of(tmp_path, TRADING + "risk:\n  max_positions: 0\n  max_position_size: -1\n")

    assert error.key == "risk.max_positions"
    assert "also invalid: risk.max_position_size" in str(error)


def test_password_never_appears_in_a_validation_error(tmp_path: Path) -> None:
    text = TRADING + "terminal:\n  password: hunter2\n  login: -5\n"

    error = error_of(tmp_path, text)

    assert error.key == "terminal.login"
    assert "hunter2" not in str(error)


def test_password_from_file_is_masked_in_repr_and_dumps(tmp_path: Path) -> None:
    config = load(tmp_path, TRADING + "terminal:\n  password: hunter2\n")

    assert "hunter2" not in repr(config)
    assert "hunter2" not in config.model_dump_json()  # type: ignore[attr-defined]


def test_symbol_and_symbols_together_are_rejected(tmp_path: Path) -> None:
    error = error_of(tmp_path, "trading:\n  symbol: A\n  symbols: [B]\n  timeframes: [M1]\n")

    assert "either 'symbol' or 'symbols'" in str(error)


def test_duplicate_timeframes_are_rejected(tmp_path: Path) -> None:
    error = error_of(tmp_path, "trading:\n  symbol: A\n  timeframes: [M1, '1']\n")

    assert error.key == "trading.timeframes"
    assert "listed twice" in str(error)


def test_symbols_list_and_timeframe_forms() -> None:
    trading = TradingConfig.model_validate(
        {"symbols": ["EURUSD", "XAUUSD.m"], "timeframes": ["60", "m1", 16408]}
    )

    assert trading.symbols == ["EURUSD", "XAUUSD.m"]
    assert trading.timeframes == [H1, M1, 16408]
    assert trading.model_dump(mode="json")["timeframes"] == ["H1", "M1", "D1"]


@pytest.mark.parametrize(
    "class_path",
    ["ema_cross", "my_pkg.strategies:Breakout", "strategies/breakout.py:Breakout"],
)
def test_strategy_class_path_forms_are_accepted(class_path: str) -> None:
    assert StrategyConfig(name="s", class_path=class_path).class_path == class_path


@pytest.mark.parametrize("class_path", ["", "my_pkg.strategies", "a:b:c", "x.py:"])
def test_malformed_strategy_class_path_is_rejected(tmp_path: Path, class_path: str) -> None:
    text = TRADING + f"strategies:\n  - name: s\n    class_path: '{class_path}'\n"

    assert error_of(tmp_path, text).key == "strategies[0].class_path"


def test_strategy_names_must_be_unique(tmp_path: Path) -> None:
    text = TRADING + (
        "strategies:\n  - {name: a, class_path: ema_cross}\n  - {name: a, class_path: ema_cross}\n"
    )

    assert "strategy name 'a' is listed twice" in str(error_of(tmp_path, text))


def test_strategy_must_trade_configured_symbols_and_timeframes(tmp_path: Path) -> None:
    good = TRADING + (
        "strategies:\n  - {name: a, class_path: ema_cross, symbols: EURUSD, timeframes: [H1]}\n"
    )
    bad = TRADING + "strategies:\n  - {name: a, class_path: ema_cross, timeframes: [D1]}\n"

    strategy = load(tmp_path, good).strategies[0]  # type: ignore[attr-defined]

    assert (strategy.symbols, strategy.timeframes) == (["EURUSD"], [H1])
    assert "strategies[0].timeframes" in str(error_of(tmp_path, bad))


def test_sim_start_is_utc_and_naive_times_are_read_as_utc(tmp_path: Path) -> None:
    naive = load(tmp_path, TRADING + "terminal:\n  sim:\n    start: 2024-02-01 09:30:00\n")
    offset = load(tmp_path, TRADING + "terminal:\n  sim:\n    start: 2024-02-01T09:30:00+01:00\n")

    assert naive.terminal.sim.start == datetime(2024, 2, 1, 9, 30, tzinfo=UTC)  # type: ignore[attr-defined]
    assert offset.terminal.sim.start == datetime(2024, 2, 1, 8, 30, tzinfo=UTC)  # type: ignore[attr-defined]


def test_supervisor_backoff_cap_must_not_be_below_base() -> None:
    with pytest.raises(ValueError, match="backoff_cap must be >= backoff_base"):
        SupervisorConfig(backoff_base=5.0, backoff_cap=1.0)


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("risk:\n  max_drawdown_pct: 101\n", "risk.max_drawdown_pct"),
        ("risk:\n  reduce_at_pct: 1.5\n", "risk.reduce_at_pct"),
        ("trading:\n  symbol: A\n  timeframes: [M1]\n  magic: 0\n", "trading.magic"),
        ("terminal:\n  kind: mt4\n", "terminal.kind"),
        ("terminal:\n  sim:\n    account_mode: both\n", "terminal.sim.account_mode"),
        (
            "terminal:\n  sim:\n    server_utc_offset_hours: 20\n",
            "terminal.sim.server_utc_offset_hours",
        ),
        ("logging:\n  levels: {data_fetching: LOUD}\n", "logging.levels.data_fetching"),
    ],
)
def test_out_of_range_values_name_their_key(tmp_path: Path, line: str, key: str) -> None:
    text = line if line.startswith("trading") else TRADING + line

    assert error_of(tmp_path, text).key == key


def test_empty_section_takes_the_defaults(tmp_path: Path) -> None:
    config = load(tmp_path, TRADING + "services:\nterminal:\n  sim:\n")

    assert config.services.data_fetching.fetch_interval == 5  # type: ignore[attr-defined]
    assert config.terminal.sim.seed == 7  # type: ignore[attr-defined]


def test_non_string_yaml_key_is_an_unknown_key(tmp_path: Path) -> None:
    assert error_of(tmp_path, TRADING + "123: x\n").key == "123"


# -- F11, F12: bounded files, logging settings checked before anything runs -----------------------


def test_a_bad_log_rotation_is_refused_by_check_config(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from trading_engine.cli import app

    path = tmp_path / "c.yaml"
    path.write_text(
        "trading: {symbol: EURUSD, timeframes: [M1]}\nlogging: {rotation: every full moon}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["check-config", str(path)])
    assert result.exit_code == 2
    assert "logging.rotation" in result.output
    assert "Traceback" not in result.output
    for good in ("10 MB", "1 week", "00:00"):
        loaded = ConfigLoader.load(path, overrides={"logging.rotation": good}, environ={})
        assert loaded.logging.rotation == good


def test_an_unwritable_log_file_is_refused_when_file_output_is_on(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    base = {"trading.symbols": ["EURUSD"], "trading.timeframes": ["M1"]}
    for target in (blocker / "logs" / "run.log", tmp_path):
        with pytest.raises(ConfigError, match=r"logging\.log_file"):
            ConfigLoader.load(
                None,
                overrides={**base, "logging.file_output": True, "logging.log_file": str(target)},
                environ={},
            )
    # The same path is fine while file output is off, and a creatable directory is fine.
    ConfigLoader.load(None, overrides={**base, "logging.log_file": str(tmp_path)}, environ={})
    fine = tmp_path / "new" / "run.log"
    loaded = ConfigLoader.load(
        None, overrides={**base, "logging.file_output": True, "logging.log_file": str(fine)},
        environ={},
    )  # fmt: skip
    assert loaded.logging.log_file == fine


def test_a_huge_config_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    from trading_engine.config import MAX_CONFIG_BYTES

    path = tmp_path / "big.yaml"
    path.write_text("# padding\n" * (MAX_CONFIG_BYTES // 10 + 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="bytes; a configuration file is at most"):
        ConfigLoader.load(path, environ={})


def test_an_overlong_list_is_refused_naming_its_key(tmp_path: Path) -> None:
    from trading_engine.config import MAX_CONFIG_LIST

    path = tmp_path / "long.yaml"
    entries = ",".join(["M1"] * (MAX_CONFIG_LIST + 1))
    path.write_text(f"trading: {{symbol: EURUSD, timeframes: [{entries}]}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"trading\.timeframes: a list of 10,001 entries"):
        ConfigLoader.load(path, environ={})


def test_a_yaml_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert path.stat().st_size < 2_000
    with pytest.raises(ConfigError, match="more than 200,000 values"):
        ConfigLoader.load(path, environ={})


EURUSD_YAML = Path(__file__).parents[2] / "configs" / "eurusd.yaml"


def test_an_override_reaches_into_a_list_entry_by_its_index() -> None:
    loaded = ConfigLoader.load(
        EURUSD_YAML, overrides={"strategies.0.params.sl_atr": 3.5}, environ={}
    )
    (strategy,) = loaded.strategies
    assert strategy.name == "ema_cross"  # the rest of the entry is the file's
    assert strategy.params == {"sl_atr": 3.5}


def test_an_error_under_an_overridden_list_entry_names_the_override_not_the_file() -> None:
    with pytest.raises(ConfigError) as bad:
        ConfigLoader.load(EURUSD_YAML, overrides={"strategies.0.enabled": "perhaps"}, environ={})
    assert str(bad.value).startswith("overrides: strategies[0].enabled: ")
    with pytest.raises(ConfigError, match=r"^overrides: strategies\.3: no entry 3 \(strategies "):
        ConfigLoader.load(EURUSD_YAML, overrides={"strategies.3.enabled": False}, environ={})
