"""Environment overrides (the seed's variables and TRADING_ENGINE__*), and precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from trading_engine.config import SERVICE_NAMES, ConfigLoader
from trading_engine.errors import ConfigError
from trading_engine.timeframes import D1, H1, H4, M1, M5, M15

BASE_YAML = """\
trading:
  symbol: EURUSD
  timeframes: ["1"]
risk:
  daily_loss_limit: 1000.0
  max_positions: 10
services:
  data_fetching:
    nbr_bars: 3
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "services.yaml"
    path.write_text(BASE_YAML, encoding="utf-8")
    return path


def environment_error(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> ConfigError:
    """The error of loading ``config_file`` with ``variable=value`` in the environment; it names
    the variable and the environment as its source."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        ConfigLoader.load(config_file)
    assert caught.value.key == variable
    assert caught.value.source == "environment"
    return caught.value


class TestEnvironmentVariableOverrides:
    def test_trading_symbol_override(
        self, config_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TRADING_SYMBOL", "GBPUSD")

        assert ConfigLoader.load(config_file).trading.symbols == ["GBPUSD"]

    def test_trading_symbol_override_accepts_a_list(
        self, config_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TRADING_SYMBOL", "GBPUSD, USDJPY")

        assert ConfigLoader.load(config_file).trading.symbols == ["GBPUSD", "USDJPY"]

    def test_trading_timeframes_override(
        self, config_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TRADING_TIMEFRAMES", "1,5,15")

        assert ConfigLoader.load(config_file).trading.timeframes == [M1, M5, M15]

    def test_trading_timeframes_override_accepts_mt5_names(
        self, config_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TRADING_TIMEFRAMES", "h1,H4,d1")

        assert ConfigLoader.load(config_file).trading.timeframes == [H1, H4, D1]

    def test_risk_daily_loss_limit_override(
        self, config_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("RISK_DAILY_LOSS_LIMIT", "2000.5")

        assert ConfigLoader.load(config_file).risk.daily_loss_limit == 2000.5

    def test_risk_max_positions_override(
        self, config_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("RISK_MAX_POSITIONS", "3")

        assert ConfigLoader.load(config_file).risk.max_positions == 3

    def test_orchestrator_auto_restart_override(
        self, config_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ORCHESTRATOR_ENABLE_AUTO_RESTART", "false")

        assert ConfigLoader.load(config_file).orchestrator.enable_auto_restart is False

    @pytest.mark.parametrize("service", SERVICE_NAMES)
    def test_service_enable_override(
        self, config_file: Path, monkeypatch: pytest.MonkeyPatch, service: str
    ) -> None:
        monkeypatch.setenv(f"SERVICES_{service.upper()}_ENABLED", "false")

        config = ConfigLoader.load(config_file)

        assert getattr(config.services, service).enabled is False
        assert service not in config.enabled_services()
        assert len(config.enabled_services()) == len(SERVICE_NAMES) - 1

    def test_logging_level_override(
        self, config_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("LOGGING_LEVEL", "debug")

        assert ConfigLoader.load(config_file).logging.level == "DEBUG"

    def test_multiple_overrides(self, config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TRADING_SYMBOL", "GBPUSD")
        monkeypatch.setenv("RISK_DAILY_LOSS_LIMIT", "2000.0")
        monkeypatch.setenv("ORCHESTRATOR_ENABLE_AUTO_RESTART", "false")
        monkeypatch.setenv("SERVICES_TRADE_EXECUTION_ENABLED", "0")
        monkeypatch.setenv("LOGGING_LEVEL", "WARNING")

        config = ConfigLoader.load(config_file)

        assert config.trading.symbols == ["GBPUSD"]
        assert config.risk.daily_loss_limit == 2000.0
        assert config.orchestrator.enable_auto_restart is False
        assert config.services.trade_execution.enabled is False
        assert config.logging.level == "WARNING"
        assert config.risk.max_positions == 10  # untouched keys keep the file's value

    @pytest.mark.parametrize(
        ("variable", "value", "mentions"),
        [
            ("RISK_MAX_POSITIONS", "abc", "risk.max_positions"),
            ("RISK_MAX_POSITIONS", "0", "greater than or equal to 1"),
            ("RISK_DAILY_LOSS_LIMIT", "lots", "risk.daily_loss_limit"),
            ("ORCHESTRATOR_ENABLE_AUTO_RESTART", "maybe", "valid boolean"),
            ("TRADING_TIMEFRAMES", "1,7", "unknown timeframe '7'"),
            ("LOGGING_LEVEL", "LOUD", "logging.level"),
            ("SERVICES_RISK_ENGINE_ENABLED", "true", "unknown service 'risk_engine'"),
            ("SERVICES_DATA_FETCHING_ENABLED", "perhaps", "valid boolean"),
            ("TRADING_ENGINE__TERMINAL__PASWORD", "x", "unknown key terminal.pasword"),
        ],
    )
    def test_invalid_environment_variable_is_an_error_naming_it(
        self,
        config_file: Path,
        monkeypatch: pytest.MonkeyPatch,
        variable: str,
        value: str,
        mentions: str,
    ) -> None:
        error = environment_error(config_file, monkeypatch, variable, value)

        assert str(error).startswith(f"environment: {variable}: ")
        assert mentions in str(error)


class TestNestedEnvironmentForm:
    def test_nested_variable_sets_a_deep_key(
        self, config_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TRADING_ENGINE__SERVICES__DATA_FETCHING__NBR_BARS", "50")
        monkeypatch.setenv("TRADING_ENGINE__TERMINAL__SIM__ACCOUNT_MODE", "netting")
        monkeypatch.setenv("TRADING_ENGINE__TERMINAL__SIM__START", "2024-03-01T12:00:00+02:00")

        config = ConfigLoader.load(config_file)

        assert config.services.data_fetching.nbr_bars == 50
        assert config.terminal.sim.account_mode == "netting"
        assert config.terminal.sim.start.isoformat() == "2024-03-01T10:00:00+00:00"

    def test_nested_variable_is_case_insensitive(
        self, config_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("trading_engine__risk__max_positions", "4")

        assert ConfigLoader.load(config_file).risk.max_positions == 4

    def test_nested_password_is_a_secret(
        self, config_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TRADING_ENGINE__TERMINAL__PASSWORD", "hunter2")

        config = ConfigLoader.load(config_file)

        assert config.terminal.password is not None
        assert config.terminal.password.get_secret_value() == "hunter2"
        assert "hunter2" not in repr(config)
        assert "hunter2" not in str(config)
        assert "hunter2" not in config.model_dump_json()
        assert config.masked_dict()["terminal"]["password"] == "**********"

    def test_nested_lists_and_mappings(
        self, config_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TRADING_ENGINE__TRADING__SYMBOLS", '["EURUSD", "GBPUSD"]')
        monkeypatch.setenv("TRADING_ENGINE__LOGGING__LEVELS", "data_fetching=DEBUG,execution=error")
        monkeypatch.setenv(
            "TRADING_ENGINE__STRATEGIES",
            '[{"name": "fast", "class_path": "ema_cross", "params": {"fast": 5}}]',
        )

        config = ConfigLoader.load(config_file)

        assert config.trading.symbols == ["EURUSD", "GBPUSD"]
        assert config.logging.levels == {"data_fetching": "DEBUG", "execution": "ERROR"}
        assert [(s.name, s.params) for s in config.strategies] == [("fast", {"fast": 5})]

    def test_nested_mapping_key(self, config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TRADING_ENGINE__LOGGING__LEVELS__DATA_FETCHING", "debug")

        assert ConfigLoader.load(config_file).logging.levels == {"data_fetching": "DEBUG"}

    @pytest.mark.parametrize(
        ("variable", "value", "mentions"),
        [
            ("TRADING_ENGINE__NOPE", "1", "unknown key nope"),
            ("TRADING_ENGINE__RISK__MAX_POSITION", "1", "unknown key risk.max_position"),
            ("TRADING_ENGINE__STRATEGIES__0__NAME", "x", "strategies can only be set as a whole"),
            ("TRADING_ENGINE__TRADING__SYMBOLS", "[EURUSD", "invalid JSON"),
            ("TRADING_ENGINE__LOGGING__LEVELS", "DEBUG", "key=value"),
            ("TRADING_ENGINE__RISK____MAX_POSITIONS", "1", "empty key part"),
        ],
    )
    def test_bad_nested_variable_is_an_error_naming_it(
        self,
        config_file: Path,
        monkeypatch: pytest.MonkeyPatch,
        variable: str,
        value: str,
        mentions: str,
    ) -> None:
        assert mentions in str(environment_error(config_file, monkeypatch, variable, value))

    def test_nested_form_wins_over_the_seed_variable(
        self, config_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("RISK_MAX_POSITIONS", "3")
        monkeypatch.setenv("TRADING_ENGINE__RISK__MAX_POSITIONS", "4")

        assert ConfigLoader.load(config_file).risk.max_positions == 4


class TestPrecedence:
    def test_overrides_beat_environment_beat_file_beat_defaults(
        self, config_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("RISK_MAX_POSITIONS", "3")
        monkeypatch.setenv("RISK_DAILY_LOSS_LIMIT", "500")
        monkeypatch.setenv("TRADING_SYMBOL", "GBPUSD")

        config = ConfigLoader.load(
            config_file,
            overrides={"risk.max_positions": 2, "trading": {"symbol": "USDJPY"}},
        )

        assert config.risk.max_positions == 2  # overrides > environment
        assert config.trading.symbols == ["USDJPY"]  # overrides > environment (via the alias)
        assert config.risk.daily_loss_limit == 500.0  # environment > file
        assert config.services.data_fetching.nbr_bars == 3  # file
        assert config.risk.max_position_size == 1.0  # defaults

    def test_environment_symbol_replaces_the_file_symbols_list(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "multi.yaml"
        path.write_text("trading:\n  symbols: [EURUSD, GBPUSD]\n  timeframes: [M1]\n")
        monkeypatch.setenv("TRADING_SYMBOL", "USDJPY")

        assert ConfigLoader.load(path).trading.symbols == ["USDJPY"]

    def test_invalid_override_names_its_source(self, config_file: Path) -> None:
        with pytest.raises(ConfigError) as caught:
            ConfigLoader.load(config_file, overrides={"risk.max_positions": "many"})

        assert caught.value.source == "overrides"
        assert caught.value.key == "risk.max_positions"

    def test_explicit_environ_mapping_replaces_os_environ(
        self, config_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("RISK_MAX_POSITIONS", "3")

        config = ConfigLoader.load(config_file, environ={"RISK_MAX_POSITIONS": "7"})

        assert config.risk.max_positions == 7

    def test_load_without_file_uses_environment_and_defaults(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TRADING_SYMBOL", "EURUSD")
        monkeypatch.setenv("TRADING_TIMEFRAMES", "M5")

        config = ConfigLoader.load()

        assert config.trading.symbols == ["EURUSD"]
        assert config.trading.timeframes == [M5]
        assert config.risk.max_positions == 10
