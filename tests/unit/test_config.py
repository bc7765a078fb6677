"""The earlier design's configuration scenarios: loading, validation, defaults, edge cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from trading_engine.config import (
    SERVICE_NAMES,
    ConfigLoader,
    DataFetchingConfig,
    SystemConfig,
    default_config,
)
from trading_engine.errors import ConfigError
from trading_engine.init_config import write_default_config
from trading_engine.timeframes import H1, M1, M5, M15

SEED_SERVICES_YAML = """\
services:
  data_fetching:
    enabled: true
    fetch_interval: 5
    retry_attempts: 3
    candle_index: 1
    nbr_bars: 3
  indicator_calculation:
    enabled: true
    recent_rows_limit: 6
    track_regime_changes: true
  strategy_evaluation:
    enabled: true
    evaluation_mode: "on_new_candle"
    min_rows_required: 3
  trade_execution:
    enabled: true
    execution_mode: "immediate"
    batch_size: 1
event_bus:
  mode: synchronous
  event_history_limit: 1000
  log_all_events: false
orchestrator:
  enable_auto_restart: true
  health_check_interval: 60
  status_log_interval: 10
logging:
  level: INFO
  format: json
  correlation_ids: true
  file_output: false
  log_file: "logs/trading_system.log"
trading:
  symbol: "EURUSD"
  timeframes: ["1", "5", "15"]
risk:
  daily_loss_limit: 1000.0
  max_positions: 10
  max_position_size: 1.0
"""

MINIMAL_YAML = "trading:\n  symbol: EURUSD\n  timeframes: [M1]\n"


def write(tmp_path: Path, text: str, name: str = "services.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


class TestConfigurationLoading:
    def test_load_config_from_file(self, tmp_path: Path) -> None:
        config = ConfigLoader.load(write(tmp_path, SEED_SERVICES_YAML))

        assert config.trading.symbols == ["EURUSD"]
        assert config.trading.symbol == "EURUSD"
        assert config.trading.timeframes == [M1, M5, M15]
        assert config.services.data_fetching.fetch_interval == 5
        assert config.services.indicator_calculation.recent_rows_limit == 6
        assert config.services.strategy_evaluation.evaluation_mode == "on_new_candle"
        assert config.services.trade_execution.execution_mode == "immediate"
        assert config.event_bus.event_history_limit == 1000
        assert config.orchestrator.health_check_interval == 60
        assert config.logging.log_file == Path("logs/trading_system.log")
        assert config.risk.daily_loss_limit == 1000.0

    @pytest.mark.parametrize("fetch_interval", [0, 61, -5])
    def test_config_validation_rejects_fetch_interval_out_of_range(
        self, tmp_path: Path, fetch_interval: int
    ) -> None:
        text = SEED_SERVICES_YAML.replace("fetch_interval: 5", f"fetch_interval: {fetch_interval}")
        path = write(tmp_path, text)

        with pytest.raises(ConfigError) as caught:
            ConfigLoader.load(path)

        assert caught.value.key == "services.data_fetching.fetch_interval"
        assert caught.value.source == str(path)
        assert str(caught.value).startswith(f"{path}: services.data_fetching.fetch_interval: ")

    @pytest.mark.parametrize(
        ("line", "key"),
        [
            ('execution_mode: "immediate"', "services.trade_execution.execution_mode"),
            ("max_positions: 10", "risk.max_positions"),
            ("level: INFO", "logging.level"),
            ("daily_loss_limit: 1000.0", "risk.daily_loss_limit"),
        ],
    )
    def test_config_validation_names_the_invalid_key(
        self, tmp_path: Path, line: str, key: str
    ) -> None:
        name = line.split(":")[0]
        text = SEED_SERVICES_YAML.replace(line, f"{name}: not-valid")

        with pytest.raises(ConfigError) as caught:
            ConfigLoader.load(write(tmp_path, text))

        assert caught.value.key == key

    def test_default_values(self, tmp_path: Path) -> None:
        config = ConfigLoader.load(write(tmp_path, MINIMAL_YAML))

        assert config.services.data_fetching == DataFetchingConfig()
        assert config.services.data_fetching.fetch_interval == 5
        assert config.services.data_fetching.nbr_bars == 3
        assert config.services.trade_execution.batch_size == 1
        assert config.event_bus.mode == "synchronous"
        assert config.orchestrator.enable_auto_restart is True
        assert config.logging.level == "INFO"
        assert config.logging.format == "json"
        assert config.risk.max_positions == 10
        assert config.risk.reduce_at_pct == 0.8
        assert config.trading.magic == 20261125
        assert config.terminal.kind == "sim"
        assert config.terminal.password is None
        assert config.terminal.sim.start.isoformat() == "2024-01-08T00:00:00+00:00"
        assert config.supervisor.intensity == 5
        assert config.journal.path == Path("journal/trading.db")
        assert [(s.name, s.class_path) for s in config.strategies] == [("ema_cross", "ema_cross")]

    def test_config_to_orchestrator_config(self, tmp_path: Path) -> None:
        config = ConfigLoader.load(write(tmp_path, SEED_SERVICES_YAML))

        orchestrator = config.to_orchestrator_config()

        assert orchestrator["symbol"] == "EURUSD"
        assert orchestrator["symbols"] == ["EURUSD"]
        assert orchestrator["timeframes"] == [M1, M5, M15]
        assert orchestrator["enable_auto_restart"] is True
        assert orchestrator["health_check_interval"] == 60
        assert orchestrator["status_log_interval"] == 10
        assert orchestrator["event_bus"]["event_history_limit"] == 1000
        assert set(orchestrator["services"]) == set(SERVICE_NAMES)

    def test_service_config_extraction(self, tmp_path: Path) -> None:
        config = ConfigLoader.load(write(tmp_path, SEED_SERVICES_YAML))

        data = config.get_service_config("data_fetching")
        execution = config.get_service_config("trade_execution")

        assert data["fetch_interval"] == 5
        assert data["nbr_bars"] == 3
        assert data["symbol"] == "EURUSD"
        assert data["timeframes"] == [M1, M5, M15]
        assert execution["execution_mode"] == "immediate"
        assert config.enabled_services() == list(SERVICE_NAMES)
        with pytest.raises(ConfigError, match="unknown service"):
            config.get_service_config("risk_management")


class TestConfigurationEdgeCases:
    def test_missing_config_file(self, tmp_path: Path) -> None:
        path = tmp_path / "absent.yaml"

        with pytest.raises(ConfigError) as caught:
            ConfigLoader.load(path)

        assert str(caught.value) == f"{path}: file not found"

    def test_invalid_yaml(self, tmp_path: Path) -> None:
        path = write(tmp_path, "trading:\n  symbol: [EURUSD\n  timeframes: [M1]\n")

        with pytest.raises(ConfigError) as caught:
            ConfigLoader.load(path)

        assert caught.value.source == str(path)
        assert "invalid YAML at line" in str(caught.value)

    def test_yaml_that_is_not_a_mapping_is_rejected(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="expected a mapping"):
            ConfigLoader.load(write(tmp_path, "- a\n- b\n"))

    @pytest.mark.parametrize(
        ("text", "key"),
        [
            ("services: {}\n", "trading"),
            ("trading:\n  timeframes: [M1]\n", "trading.symbols"),
            ("trading:\n  symbol: EURUSD\n", "trading.timeframes"),
            ("trading:\n  symbol: EURUSD\n  timeframes: []\n", "trading.timeframes"),
        ],
    )
    def test_missing_required_fields(self, tmp_path: Path, text: str, key: str) -> None:
        path = write(tmp_path, text)

        with pytest.raises(ConfigError) as caught:
            ConfigLoader.load(path)

        assert caught.value.key == key
        assert caught.value.source == str(path)

    def test_create_default_config(self, tmp_path: Path) -> None:
        path = tmp_path / "nested" / "default.yaml"

        written = write_default_config(path)

        assert written == path
        text = path.read_text(encoding="utf-8")
        assert "# " in text  # commented
        assert ConfigLoader.load(path) == default_config()

    def test_create_default_config_refuses_to_overwrite(self, tmp_path: Path) -> None:
        path = write(tmp_path, "keep me\n", "existing.yaml")

        with pytest.raises(ConfigError, match="refusing to overwrite"):
            write_default_config(path)

        assert path.read_text(encoding="utf-8") == "keep me\n"
        write_default_config(path, overwrite=True)
        assert ConfigLoader.load(path) == default_config()

    def test_minimal_config(self, tmp_path: Path) -> None:
        config = ConfigLoader.load(write(tmp_path, MINIMAL_YAML))

        assert config == default_config()
        assert config.trading.timeframes == [M1]

    def test_empty_file_needs_trading_section(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError) as caught:
            ConfigLoader.load(write(tmp_path, ""))

        assert caught.value.key == "trading"

    def test_shipped_eurusd_config_is_valid(self) -> None:
        path = Path(__file__).parents[2] / "configs" / "eurusd.yaml"

        config = ConfigLoader.load(path)

        assert config.trading.symbols == ["EURUSD"]
        assert config.trading.timeframes == [M1]
        assert [s.class_path for s in config.strategies] == ["ema_cross"]
        assert config.terminal.kind == "sim"

    def test_system_config_built_directly_reads_the_environment(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TRADING_SYMBOL", "GBPUSD")

        config = SystemConfig(trading={"timeframes": ["H1"]})

        assert config.trading.symbols == ["GBPUSD"]
        assert config.trading.timeframes == [H1]


def test_load_takes_the_earlier_designs_logger_argument(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    log = logging.getLogger("seed-caller")
    with caplog.at_level(logging.INFO, logger="seed-caller"):
        config = ConfigLoader.load(Path(__file__).parents[2] / "configs" / "eurusd.yaml", log)
    assert config.trading.symbols == ["EURUSD"]
    assert "configuration loaded from" in caplog.text
