"""What a parameter name sets in the configuration, resolved once per study.

- ``STRATEGY.param``: a parameter of the strategy instance named STRATEGY (``ema_cross.sl_atr``).
- ``STRATEGY.x`` where the strategy has a parameter ``x_value`` naming an indicator value: the
  period of that indicator (``ema_cross.fast`` → the ``timeperiod`` of the indicator behind
  ``fast_value``, ``ema_fast`` by default). ``STRATEGY.x.param`` picks another of its parameters.
- ``INDICATOR.param``: a parameter of the indicator set's entry named INDICATOR
  (``ema_slow.timeperiod``, ``bb.nbdevup``).
- ``strategy`` (or ``strategy.kind``): a choice among the configured strategy names; only the
  chosen one runs.
- any other dotted key of the configuration (``risk.risk_per_trade_pct``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from trading_engine.config import SystemConfig
from trading_engine.errors import ConfigError, StrategyError
from trading_engine.indicators.config import PARAMS, IndicatorSpec

__all__ = ["Target", "apply_params", "resolve_targets"]

_CHOICE_NAMES = ("strategy", "strategy.kind")


@dataclass(frozen=True, slots=True)
class Target:
    """Where one parameter goes: a strategy parameter, an indicator parameter, the strategy
    choice, or a configuration key."""

    kind: Literal["strategy", "indicator", "choice", "config"]
    owner: str  # strategy name, indicator name, "" or the dotted section path
    key: str  # parameter / field name


def _indicator_names(config: SystemConfig) -> dict[str, IndicatorSpec]:
    return {spec.name or spec.kind: spec for spec in config.indicators.indicators}


def _value_owner(config: SystemConfig, value_name: str) -> IndicatorSpec | None:
    for spec in config.indicators.indicators:
        if value_name in spec.value_names:
            return spec
    return None


def _main_period(spec: IndicatorSpec) -> str:
    for key, (_default, minimum) in PARAMS[spec.kind].items():
        if minimum is not None:
            return key
    raise ConfigError(f"indicator {spec.name or spec.kind!r} has no period", key="param")


def _strategy_fields(config: SystemConfig, name: str, base_dir: Path | None) -> dict[str, Any]:
    from trading_engine.strategy.loader import resolve_strategy_class

    entry = next(s for s in config.strategies if s.name == name)
    try:
        cls = resolve_strategy_class(entry.class_path, base_dir=base_dir)
    except StrategyError as exc:
        raise ConfigError(str(exc), key=f"strategies.{name}") from None
    params_model: type[BaseModel] = cls.Params
    defaults = {k: f.default for k, f in params_model.model_fields.items()}
    return {**defaults, **entry.params}


def _resolve(config: SystemConfig, name: str, base_dir: Path | None) -> Target:
    if name in _CHOICE_NAMES and not any(s.name == "strategy" for s in config.strategies):
        return Target("choice", "", "enabled")
    head, _, rest = name.partition(".")
    strategies = {s.name for s in config.strategies}
    indicators = _indicator_names(config)
    if head in strategies and rest:
        fields = _strategy_fields(config, head, base_dir)
        first, _, sub = rest.partition(".")
        if not sub and first in fields:
            return Target("strategy", head, first)
        value_field = f"{first}_value"
        if value_field in fields:
            spec = _value_owner(config, str(fields[value_field]))
            if spec is None:
                raise ConfigError(
                    f"{head}.{value_field} reads {fields[value_field]!r}, which no indicator of "
                    "the set computes",
                    key=name,
                )
            key = sub or _main_period(spec)
            if key not in PARAMS[spec.kind]:
                raise ConfigError(
                    f"{spec.kind} has no parameter {key!r} ({', '.join(PARAMS[spec.kind])})",
                    key=name,
                )
            return Target("indicator", spec.name or spec.kind, key)
        raise ConfigError(
            f"strategy {head!r} has no parameter {first!r} ({', '.join(sorted(fields))})",
            key=name,
        )
    if head in indicators and rest:
        spec = indicators[head]
        if rest not in PARAMS[spec.kind]:
            raise ConfigError(
                f"{spec.kind} has no parameter {rest!r} ({', '.join(PARAMS[spec.kind])})",
                key=name,
            )
        return Target("indicator", head, rest)
    section, _, field = name.rpartition(".")
    node: Any = config
    for part in section.split(".") if section else ():
        node = getattr(node, part, None)
    if section and isinstance(node, BaseModel) and field in type(node).model_fields:
        return Target("config", section, field)
    raise ConfigError(
        "not a strategy parameter (STRATEGY.param), an indicator parameter (INDICATOR.param), "
        "'strategy' or a configuration key",
        key=name,
    )


def resolve_targets(
    config: SystemConfig, names: list[str], *, base_dir: Path | None = None
) -> dict[str, Target]:
    """The target of each parameter name (a ``ConfigError`` naming the first unknown one)."""
    targets = {name: _resolve(config, name, base_dir) for name in names}
    seen: dict[Target, str] = {}
    for name, target in targets.items():
        if target in seen:
            raise ConfigError(f"sets the same value as {seen[target]!r}", key=name)
        seen[target] = name
    return targets


def _set_config_key(config: SystemConfig, section: str, field: str, value: Any) -> SystemConfig:
    parts = section.split(".")
    nodes: list[BaseModel] = [config]
    for part in parts:
        nodes.append(getattr(nodes[-1], part))
    leaf = nodes[-1]
    new: BaseModel = type(leaf).model_validate({**leaf.model_dump(), field: value})
    for parent, part in zip(reversed(nodes[:-1]), reversed(parts), strict=True):
        new = parent.model_copy(update={part: new})
    assert isinstance(new, SystemConfig)
    return new


def apply_params(
    config: SystemConfig, targets: Mapping[str, Target], params: Mapping[str, Any]
) -> SystemConfig:
    """``config`` with ``params`` set; raises ``ValueError`` for a value the target refuses."""
    strategy_params: dict[str, dict[str, Any]] = {}
    indicator_params: dict[str, dict[str, float]] = {}
    chosen: str | None = None
    for name, value in params.items():
        target = targets[name]
        if target.kind == "strategy":
            strategy_params.setdefault(target.owner, {})[target.key] = value
        elif target.kind == "indicator":
            indicator_params.setdefault(target.owner, {})[target.key] = float(value)
        elif target.kind == "choice":
            chosen = str(value)
        else:
            try:
                config = _set_config_key(config, target.owner, target.key, value)
            except ValidationError as exc:
                raise ValueError(f"{name}={value!r}: {exc.errors()[0]['msg']}") from None
    if chosen is not None and chosen not in {s.name for s in config.strategies}:
        raise ValueError(f"strategy={chosen!r}: no strategy of that name in the configuration")
    strategies = [
        s.model_copy(
            update={
                "params": {**s.params, **strategy_params.get(s.name, {})},
                "enabled": s.enabled if chosen is None else s.name == chosen,
            }
        )
        for s in config.strategies
    ]
    specs = []
    for spec in config.indicators.indicators:
        update = indicator_params.get(spec.name or spec.kind)
        if update:
            try:
                spec = IndicatorSpec(
                    kind=spec.kind, params={**spec.params, **update}, name=spec.name
                )
            except ValidationError as exc:
                raise ValueError(f"{spec.name or spec.kind}: {exc.errors()[0]['msg']}") from None
        specs.append(spec)
    indicators = config.indicators.model_copy(update={"indicators": tuple(specs)})
    return config.model_copy(update={"strategies": strategies, "indicators": indicators})
