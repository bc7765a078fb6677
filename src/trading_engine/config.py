"""Configuration: ``SystemConfig`` composed of the packages' sections, and ``ConfigLoader``.

Each package keeps its section beside its code (``data/config.py``, ``indicators/config.py``,
``strategy/config.py``, ``execution/config.py``, ``terminal/config.py``, ``runtime/config.py``,
``journal/config.py``, ``observability/config.py``; the shared base is ``sections.py``). This
module composes them, reads the sources and reports errors; the commented default file is written
by ``init_config`` beside the CLI.

Sources, highest precedence first: ``overrides`` given to ``ConfigLoader.load`` (the command
line), the environment, the YAML file, the models' defaults. The environment speaks two forms:

- the seed's variables: ``TRADING_SYMBOL`` (one symbol or a comma-separated list),
  ``TRADING_TIMEFRAMES`` (comma-separated), ``RISK_DAILY_LOSS_LIMIT``, ``RISK_MAX_POSITIONS``,
  ``ORCHESTRATOR_ENABLE_AUTO_RESTART``, ``SERVICES_<NAME>_ENABLED``, ``LOGGING_LEVEL``;
- the nested form ``TRADING_ENGINE__SECTION__KEY`` for any key
  (``TRADING_ENGINE__TERMINAL__PASSWORD``, ``TRADING_ENGINE__SERVICES__DATA_FETCHING__NBR_BARS``);
  it wins over a seed variable for the same key. Lists are comma-separated or JSON, mappings
  JSON or ``k=v,k2=v2``.

Every model forbids unknown keys. Every failure (missing file, bad YAML, a value out of range, an
unknown key, a bad environment value) is one ``ConfigError`` naming the file (or the variable) and
the dotted key, e.g. ``services.yaml: services.data_fetching.fetch_intervall: unknown key``. The
account password is a ``SecretStr``: masked in repr, dumps and errors.

Adding a section: define its model beside its package (a ``Section`` with
``Field(description=...)``), add it as a field of ``SystemConfig`` with a default factory.
Environment variables, error paths and the commented default file follow from the model.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, ClassVar, Union, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from trading_engine.data.config import DataFetchingConfig
from trading_engine.errors import ConfigError
from trading_engine.execution.config import RiskConfig, TradeExecutionConfig, TradingConfig
from trading_engine.indicators.config import IndicatorCalculationConfig, IndicatorSetConfig
from trading_engine.journal.config import JournalConfig
from trading_engine.observability.config import LoggingConfig, LogLevel
from trading_engine.optimize_config import OptimizeConfig
from trading_engine.runtime.config import EventBusConfig, SupervisorConfig
from trading_engine.sections import Section, Timeframe, no_duplicates, split_list
from trading_engine.strategy.config import (
    StrategyConfig,
    StrategyEvaluationConfig,
    default_strategies,
)
from trading_engine.terminal.config import SimFaultConfig, SimTerminalConfig, TerminalConfig
from trading_engine.terminal.factory import fit_terminal_to_history
from trading_engine.timeframes import timeframe_name

__all__ = [
    "ENV_PREFIX",
    "SECRET_MASK",
    "SERVICE_NAMES",
    "ConfigLoader",
    "DataFetchingConfig",
    "EventBusConfig",
    "IndicatorCalculationConfig",
    "JournalConfig",
    "LogLevel",
    "LoggingConfig",
    "OrchestratorConfig",
    "RiskConfig",
    "ServicesConfig",
    "SimFaultConfig",
    "SimTerminalConfig",
    "StrategyConfig",
    "StrategyEvaluationConfig",
    "SupervisorConfig",
    "SystemConfig",
    "TerminalConfig",
    "Timeframe",
    "TradeExecutionConfig",
    "TradingConfig",
    "default_config",
    "fit_start_to_history",
    "unwrap_annotation",
]

ENV_PREFIX = "TRADING_ENGINE__"
SECRET_MASK = "**********"


# --- services -------------------------------------------------------------------------------


class ServicesConfig(Section):
    """The four pipeline services, in pipeline order."""

    data_fetching: DataFetchingConfig = Field(default_factory=DataFetchingConfig)
    indicator_calculation: IndicatorCalculationConfig = Field(
        default_factory=IndicatorCalculationConfig
    )
    strategy_evaluation: StrategyEvaluationConfig = Field(default_factory=StrategyEvaluationConfig)
    trade_execution: TradeExecutionConfig = Field(default_factory=TradeExecutionConfig)


SERVICE_NAMES: tuple[str, ...] = tuple(ServicesConfig.model_fields)


class OrchestratorConfig(Section):
    """TradingOrchestrator: health checks, status log, restarts."""

    enable_auto_restart: bool = Field(True, description="restart crashed services")
    health_check_interval: int = Field(
        60, ge=1, le=86_400, description="seconds between health checks"
    )
    status_log_interval: int = Field(
        10, ge=1, le=1_000_000, description="log a status line every N health checks"
    )


# --- the whole ------------------------------------------------------------------------------


class SystemConfig(BaseSettings):
    """The complete configuration; ``trading`` (symbols, timeframes) is the one required section.

    Built directly (``SystemConfig(trading={...})``) it reads the environment too, below the
    arguments; ``ConfigLoader.load`` adds the YAML file and precise error messages.
    """

    model_config = SettingsConfigDict(extra="forbid", validate_default=True)

    services: ServicesConfig = Field(default_factory=ServicesConfig)
    event_bus: EventBusConfig = Field(default_factory=EventBusConfig)
    orchestrator: OrchestratorConfig = Field(default_factory=OrchestratorConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    trading: TradingConfig
    risk: RiskConfig = Field(default_factory=RiskConfig)
    terminal: TerminalConfig = Field(default_factory=TerminalConfig)
    supervisor: SupervisorConfig = Field(default_factory=SupervisorConfig)
    journal: JournalConfig = Field(default_factory=JournalConfig)
    indicators: IndicatorSetConfig = Field(default_factory=IndicatorSetConfig)
    strategies: list[StrategyConfig] = Field(
        default_factory=default_strategies,
        description="strategy instances (the keys of one entry are below); ema_cross is built in",
    )
    optimize: OptimizeConfig = Field(
        default_factory=OptimizeConfig,
        description="search space, objectives, sampler and walk-forward windows of optimize",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _EnvironmentSource(settings_cls)

    @field_validator("strategies")
    @classmethod
    def _strategies_fit_trading(
        cls, strategies: list[StrategyConfig], info: ValidationInfo
    ) -> list[StrategyConfig]:
        no_duplicates([s.name for s in strategies], "strategy name")
        trading = info.data.get("trading")
        if not isinstance(trading, TradingConfig):
            return strategies  # trading itself is invalid; that error is reported
        for index, strategy in enumerate(strategies):
            unknown_symbols = [s for s in strategy.symbols or () if s not in trading.symbols]
            unknown_timeframes = [
                timeframe_name(t) for t in strategy.timeframes or () if t not in trading.timeframes
            ]
            for field, unknown in (
                ("symbols", unknown_symbols),
                ("timeframes", unknown_timeframes),
            ):
                if unknown:
                    raise ValueError(f"[{index}].{field}: {unknown} not in trading.{field}")
        return strategies

    # --- the seed's extraction helpers ---

    def to_orchestrator_config(self) -> dict[str, Any]:
        """The flat dict the earlier orchestrator took (timeframes as MT5 ints)."""
        return {
            "symbol": self.trading.symbol,
            "symbols": list(self.trading.symbols),
            "timeframes": list(self.trading.timeframes),
            "enable_auto_restart": self.orchestrator.enable_auto_restart,
            "health_check_interval": self.orchestrator.health_check_interval,
            "status_log_interval": self.orchestrator.status_log_interval,
            "event_bus": self.event_bus.model_dump(),
            "services": {name: self.get_service_config(name) for name in SERVICE_NAMES},
        }

    def get_service_config(self, service_name: str) -> dict[str, Any]:
        """One service's settings plus the symbols and timeframes it works on."""
        if service_name not in SERVICE_NAMES:
            raise ConfigError(
                f"unknown service; expected one of {', '.join(SERVICE_NAMES)}", key=service_name
            )
        section: BaseModel = getattr(self.services, service_name)
        return {
            **section.model_dump(),
            "symbol": self.trading.symbol,
            "symbols": list(self.trading.symbols),
            "timeframes": list(self.trading.timeframes),
        }

    def enabled_services(self) -> list[str]:
        """Names of the enabled services, in pipeline order."""
        return [name for name in SERVICE_NAMES if getattr(self.services, name).enabled]

    def ignored(self) -> list[str]:
        """Keys the configuration sets that have no effect, one line each (``check-config``)."""
        return self.event_bus.ignored()

    def masked_dict(self) -> dict[str, Any]:
        """The effective configuration as JSON-ready data, secrets masked."""
        return self.model_dump(mode="json")


# --- the environment ------------------------------------------------------------------------

_SEED_VARIABLES: dict[str, tuple[str, ...]] = {
    "TRADING_SYMBOL": ("trading", "symbols"),
    "TRADING_TIMEFRAMES": ("trading", "timeframes"),
    "RISK_DAILY_LOSS_LIMIT": ("risk", "daily_loss_limit"),
    "RISK_MAX_POSITIONS": ("risk", "max_positions"),
    "ORCHESTRATOR_ENABLE_AUTO_RESTART": ("orchestrator", "enable_auto_restart"),
    "LOGGING_LEVEL": ("logging", "level"),
}
_KEY_ALIASES: dict[tuple[str, ...], tuple[str, ...]] = {
    ("trading", "symbol"): ("trading", "symbols")
}
_SERVICE_ENABLED = re.compile(r"^SERVICES_(?P<name>\w+?)_ENABLED$", re.IGNORECASE)


def unwrap_annotation(annotation: Any) -> Any:
    """The model, list or dict type under Optional[...] / Annotated[...]."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is Union or origin is UnionType:
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _field_kind(model: type[BaseModel], path: tuple[str, ...]) -> str:
    """``scalar``, ``list`` or ``dict`` for the key at ``path``; ValueError when unknown."""
    annotation: Any = model
    for depth, part in enumerate(path):
        annotation = unwrap_annotation(annotation)
        if _is_model(annotation):
            fields: dict[str, FieldInfo] = annotation.model_fields
            if part not in fields:
                known = ", ".join(fields)
                raise ValueError(f"unknown key {'.'.join(path[: depth + 1])} (known: {known})")
            annotation = fields[part].annotation
        elif get_origin(annotation) is dict and depth == len(path) - 1:
            annotation = get_args(annotation)[1]
        else:
            raise ValueError(f"{'.'.join(path[:depth])} can only be set as a whole")
    annotation = unwrap_annotation(annotation)
    if _is_model(annotation):
        return "dict"
    origin = get_origin(annotation)
    if origin is list:
        return "list"
    if origin is dict:
        return "dict"
    return "scalar"


def _env_value(raw: str, kind: str) -> Any:
    text = raw.strip()
    if kind == "scalar":
        return raw
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    if kind == "list":
        return split_list(text)
    pairs: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError("expected JSON or key=value pairs separated by commas")
        pairs[key.strip()] = value.strip()
    return pairs


def _is_secret_path(path: tuple[str | int, ...]) -> bool:
    return bool(path) and path[-1] == "password"


def _read_environment(
    environ: Mapping[str, str],
) -> list[tuple[tuple[str, ...], Any, str]]:
    """Every recognised variable as (key path, value, variable name), seed form first."""
    seed: list[tuple[tuple[str, ...], Any, str]] = []
    nested: list[tuple[tuple[str, ...], Any, str]] = []
    for name in sorted(environ):
        raw = environ[name]
        upper = name.upper()
        if upper.startswith(ENV_PREFIX):
            path = tuple(part.lower() for part in upper[len(ENV_PREFIX) :].split("__"))
            path = _KEY_ALIASES.get(path, path)
            target = nested
        elif upper in _SEED_VARIABLES:
            path = _SEED_VARIABLES[upper]
            target = seed
        elif match := _SERVICE_ENABLED.match(upper):
            service = match["name"].lower()
            if service not in SERVICE_NAMES:
                raise ConfigError(
                    f"unknown service {service!r}; expected one of {', '.join(SERVICE_NAMES)}",
                    key=name,
                    source="environment",
                )
            path = ("services", service, "enabled")
            target = seed
        else:
            continue
        try:
            if not all(path):
                raise ValueError("empty key part (check the double underscores)")
            value = _env_value(raw, _field_kind(SystemConfig, path))
        except ValueError as exc:
            raise ConfigError(str(exc), key=name, source="environment") from None
        target.append((path, value, name))
    return seed + nested


_READ_ENVIRONMENT: ContextVar[bool] = ContextVar("read_environment", default=True)


def _validate_without_environment(data: Mapping[str, Any]) -> SystemConfig:
    """Validate ``data`` alone: BaseSettings would otherwise re-read ``os.environ`` beneath it."""
    token = _READ_ENVIRONMENT.set(False)
    try:
        return SystemConfig.model_validate(data)
    finally:
        _READ_ENVIRONMENT.reset(token)


class _EnvironmentSource(PydanticBaseSettingsSource):
    """The environment, for ``SystemConfig(...)`` built directly."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # pragma: no cover - __call__ does the work

    def __call__(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if not _READ_ENVIRONMENT.get():
            return data
        for path, value, _name in _read_environment(os.environ):
            _set_path(data, path, value)
        return data


# --- loading --------------------------------------------------------------------------------


def _set_path(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = data
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = value


def _leaves(
    data: Mapping[Any, Any], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(key path, value) of every leaf; keys become strings (YAML allows ``1: x``)."""
    for key, value in data.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and value:
            yield from _leaves(value, path)
        else:
            yield path, value


def _normalise_layer(data: dict[str, Any]) -> dict[str, Any]:
    """``trading.symbol`` → ``trading.symbols``: a higher layer's symbol replaces a lower one's."""
    trading = data.get("trading")
    if isinstance(trading, dict) and "symbol" in trading and "symbols" not in trading:
        trading = dict(trading)
        trading["symbols"] = trading.pop("symbol")
        data = {**data, "trading": trading}
    return data


def _format_loc(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class _Layers:
    """Deep-merged configuration layers that remember which source set each key."""

    def __init__(self, default_source: str) -> None:
        self.data: dict[str, Any] = {}
        self.origin: dict[tuple[str, ...], tuple[str, str | None]] = {}
        self.default_source = default_source

    def add(self, layer: Mapping[str, Any], source: str, key: str | None = None) -> None:
        """Merge ``layer`` over what is there; ``key`` names a variable that set it.

        A number in a path indexes a list set below (``strategies.0.params.fast``).
        """
        for path, value in _leaves(layer):
            self._set(path, value, source, key)
            self.origin = {p: o for p, o in self.origin.items() if p[: len(path)] != path}
            self.origin[path] = (source, key)

    def _set(self, path: tuple[str, ...], value: Any, source: str, key: str | None) -> None:
        node: Any = self.data
        for depth, part in enumerate(path[:-1]):
            if isinstance(node, list) and part.isdigit():
                if int(part) >= len(node):
                    raise ConfigError(
                        f"no entry {part} ({'.'.join(path[:depth])} has {len(node)})",
                        key=key or ".".join(path[: depth + 1]),
                        source=source,
                    )
                if not isinstance(node[int(part)], dict):
                    node[int(part)] = {}
                node = node[int(part)]
                continue
            child = node.get(part)
            if not isinstance(child, dict | list) or (
                isinstance(child, list) and not path[depth + 1].isdigit()
            ):
                child = {}
                node[part] = child
            node = child
        if isinstance(node, list) and path[-1].isdigit() and int(path[-1]) < len(node):
            node[int(path[-1])] = value
        elif isinstance(node, list):
            raise ConfigError(
                f"no entry {path[-1]} ({'.'.join(path[:-1])} has {len(node)})",
                key=key or ".".join(path),
                source=source,
            )
        else:
            node[path[-1]] = value

    def locate(self, loc: tuple[str | int, ...]) -> tuple[str, str | None]:
        """(source, key) for an error at ``loc``: the layer that set the longest prefix."""
        if not loc:
            return self.default_source, None
        dotted = _format_loc(loc)
        for end in range(len(loc), 0, -1):
            prefix = tuple(str(p) for p in loc[:end])
            if prefix in self.origin:
                source, variable = self.origin[prefix]
                return source, variable or dotted
        for path, (source, variable) in self.origin.items():  # a key under loc was set
            if tuple(str(p) for p in loc) == path[: len(loc)]:
                return source, variable or dotted
        return self.default_source, dotted


_SUBKEY = re.compile(r"^((?:\[\d+\]|\.\w+)+): ")
"""A validator message may start with a key below its field (``[0].timeframes: ...``)."""


def _refine(error: Mapping[str, Any]) -> tuple[tuple[str | int, ...], str]:
    """The error's location and message, with a sub-key from the message moved into the loc."""
    loc = tuple(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "value_error" and (match := _SUBKEY.match(message)):
        parts = re.findall(r"\[(\d+)\]|\.(\w+)", match[1])
        loc += tuple(int(index) if index else name for index, name in parts)
        message = message[match.end() :]
    return loc, message


def _describe(error: Mapping[str, Any], message: str, secret: bool) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "required key is missing"
    value = error.get("input")
    if not secret and (value is None or isinstance(value, str | int | float)):
        shown = repr(value)
        message += f" (got {shown[:60]}{'...' if len(shown) > 60 else ''})"
    return message


def _config_error(exc: ValidationError, layers: _Layers) -> ConfigError:
    # An unknown key first: a misspelt key also makes the real key look missing.
    errors = sorted(exc.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
    loc, text = _refine(errors[0])
    source, key = layers.locate(loc)
    dotted = _format_loc(loc)
    message = _describe(errors[0], text, _is_secret_path(loc))
    if key is not None and key != dotted:
        message = f"{dotted}: {message}"
    if len(errors) > 1:
        others = ", ".join(_format_loc(_refine(e)[0]) or "(top level)" for e in errors[1:4])
        more = f" and {len(errors) - 4} more" if len(errors) > 4 else ""
        message += f" (also invalid: {others}{more})"
    return ConfigError(message, key=key, source=source)


MAX_CONFIG_BYTES = 1_048_576
"""Largest configuration file read (1 MiB; a real one is a few KB)."""
MAX_CONFIG_LIST = 10_000
"""Longest list anywhere in a configuration file."""
MAX_CONFIG_NODES = 200_000
"""Most values (scalars, lists, mappings; aliases counted each time they are used) in a file."""


def _check_size(data: Any, source: str) -> None:
    """Bound the lists and the number of values of a parsed file (YAML aliases included, so that
    a few KB of nested aliases cannot expand into millions of values)."""
    nodes = 0
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, key = stack.pop()
        nodes += 1
        if nodes > MAX_CONFIG_NODES:
            raise ConfigError(
                f"more than {MAX_CONFIG_NODES:,} values; a configuration is far smaller",
                source=source,
            )
        if isinstance(value, list):
            if len(value) > MAX_CONFIG_LIST:
                raise ConfigError(
                    f"a list of {len(value):,} entries; at most {MAX_CONFIG_LIST:,} are allowed",
                    key=key or None,
                    source=source,
                )
            stack.extend((item, f"{key}[{i}]") for i, item in enumerate(value))
        elif isinstance(value, dict):
            stack.extend(
                (item, f"{key}.{name}" if key else str(name)) for name, item in value.items()
            )


def _read_yaml(path: Path) -> dict[str, Any]:
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES and path.is_file():
            raise ConfigError(
                f"{size:,} bytes; a configuration file is at most {MAX_CONFIG_BYTES:,}",
                source=source,
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", source=source) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a file", source=source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", source=source) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError(f"invalid YAML{where}: {problem}", source=source) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"expected a mapping of sections at the top, got {type(data).__name__}", source=source
        )
    _check_size(data, source)
    return data


def _expand_overrides(overrides: Mapping[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in overrides.items():
        path = tuple(str(key).split("."))
        if isinstance(value, Mapping) and value:
            for leaf, leaf_value in _leaves(value):
                _set_path(data, path + leaf, leaf_value)
        else:
            _set_path(data, path, value)
    return data


class ConfigLoader:
    """Loads ``SystemConfig`` from YAML, the environment and command-line overrides."""

    DEFAULT_PATH: ClassVar[Path] = Path("configs/trading-engine.yaml")
    """Where ``init-config`` writes the commented default file (``init_config``)."""

    @classmethod
    def load(
        cls,
        config_path: str | Path | None = None,
        logger: logging.Logger | None = None,
        *,
        overrides: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> SystemConfig:
        """Overrides > environment > file > defaults; any failure is one ``ConfigError``.

        ``overrides`` takes nested dicts or dotted keys (``{"risk.max_positions": 3}``);
        ``environ`` defaults to ``os.environ``; ``config_path=None`` reads no file. ``logger``
        (the earlier design's second argument) is told which file was loaded.
        """
        source = str(config_path) if config_path is not None else "configuration"
        layers = _Layers(default_source=source)
        if config_path is not None:
            layers.add(_normalise_layer(_read_yaml(Path(config_path))), source)
        for path, value, variable in _read_environment(os.environ if environ is None else environ):
            layer: dict[str, Any] = {}
            _set_path(layer, path, value)
            layers.add(_normalise_layer(layer), "environment", variable)
        if overrides:
            layers.add(_normalise_layer(_expand_overrides(overrides)), "overrides")
        try:
            config = _validate_without_environment(layers.data)
        except ValidationError as exc:
            raise _config_error(exc, layers) from None
        if logger is not None:
            logger.info("configuration loaded from %s", source)
        return config


def fit_start_to_history(config: SystemConfig) -> SystemConfig:
    """``config`` with the simulated start moved where its history file can feed the engine
    (``terminal.factory.fit_terminal_to_history``); unchanged without a history file."""
    warmup = config.services.indicator_calculation.warmup_bars
    trading = config.trading
    terminal = fit_terminal_to_history(config.terminal, warmup, trading.symbols, trading.timeframes)
    if terminal is config.terminal:
        return config
    return config.model_copy(update={"terminal": terminal})


def default_config() -> SystemConfig:
    """The defaults, trading EURUSD on M1 (ignores the environment)."""
    return _validate_without_environment({"trading": {"symbols": ["EURUSD"], "timeframes": ["M1"]}})
