"""The search space: one ``ParamSpec`` per parameter, parsed from ``lo:hi[:step]`` or ``a,b,c``.

``5:50:1`` is an integer range (every bound and step an integer), ``0.5:3:0.5`` a float range on
a grid of that step, ``0.5:3`` a continuous float range (no grid), ``a,b,c`` a choice (each item
read as YAML: ``true``, ``3``, ``2.5`` or text). Ranges include both ends, as Optuna's do.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any, Literal

import yaml

from trading_engine.errors import ConfigError

__all__ = ["ParamSpec", "grid_points", "grid_size", "parse_param", "parse_space"]

Scalar = bool | int | float | str


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One parameter: an int or float range (``step`` None = continuous float) or a choice."""

    name: str
    kind: Literal["int", "float", "choice"]
    low: float = 0.0
    high: float = 0.0
    step: float | None = None
    choices: tuple[Scalar, ...] = ()
    log: bool = False

    def values(self) -> list[Scalar]:
        """Every value of the grid (raises for a continuous range)."""
        if self.kind == "choice":
            return list(self.choices)
        if self.step is None:
            raise ConfigError(
                "a continuous range has no grid; give a step (lo:hi:step)", key=self.name
            )
        count = math.floor((self.high - self.low) / self.step + 1e-9) + 1
        if self.kind == "int":
            return [int(self.low) + i * int(self.step) for i in range(count)]
        return [round(self.low + i * self.step, 12) for i in range(count)]

    def contains(self, value: Any) -> bool:
        """Whether ``value`` lies within the bounds (or among the choices)."""
        if self.kind == "choice":
            return value in self.choices
        return bool(self.low - 1e-9 <= float(value) <= self.high + 1e-9)


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"not a number: {text!r} (expected lo:hi[:step])", key=name) from None
    if not math.isfinite(value):
        raise ConfigError(f"not a finite number: {text!r}", key=name)
    return value


def _is_int(text: str) -> bool:
    return text.strip().lstrip("+-").isdigit()


def _scalar(text: str) -> Scalar:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text.strip()
    return value if isinstance(value, bool | int | float | str) else text.strip()


def parse_param(name: str, text: str | Sequence[Any] | Mapping[str, Any]) -> ParamSpec:
    """The ``ParamSpec`` of ``name`` from ``lo:hi[:step]``, ``a,b,c``, a list or a mapping.

    A mapping takes ``low``, ``high`` and optional ``step`` / ``log`` (the form of the config's
    ``optimize.space``), or ``choices``.
    """
    if not name or any(c.isspace() for c in name):
        raise ConfigError("a parameter name without spaces is required", key=name or "--param")
    if isinstance(text, Mapping):
        if "choices" in text:
            return _choice(name, list(text["choices"]))
        unknown = set(text) - {"low", "high", "step", "log"}
        if unknown or not {"low", "high"} <= set(text):
            raise ConfigError("expected {low, high, step?, log?} or {choices: [...]}", key=name)
        parts = [str(text["low"]), str(text["high"])]
        if text.get("step") is not None:
            parts.append(str(text["step"]))
        return _range(name, parts, log=bool(text.get("log", False)))
    if not isinstance(text, str):
        return _choice(name, list(text))
    if ":" in text:
        return _range(name, text.split(":"), log=False)
    return _choice(name, [_scalar(item) for item in text.split(",")])


def _choice(name: str, items: list[Any]) -> ParamSpec:
    if not items or any(isinstance(item, str) and not item for item in items):
        raise ConfigError("a choice needs at least one non-empty value (a,b,c)", key=name)
    if len(set(map(repr, items))) != len(items):
        raise ConfigError("a choice lists the same value twice", key=name)
    if not all(isinstance(item, bool | int | float | str) for item in items):
        raise ConfigError("choices must be numbers, booleans or text", key=name)
    return ParamSpec(name, "choice", choices=tuple(items))


def _range(name: str, parts: list[str], *, log: bool) -> ParamSpec:
    if len(parts) not in (2, 3) or not all(p.strip() for p in parts):
        raise ConfigError(f"expected lo:hi or lo:hi:step, got {':'.join(parts)!r}", key=name)
    low, high = _number(parts[0], name), _number(parts[1], name)
    step = _number(parts[2], name) if len(parts) == 3 else None
    if high < low:
        raise ConfigError(f"the range is empty: {low:g} > {high:g}", key=name)
    if step is not None and step <= 0:
        raise ConfigError(f"the step must be positive, got {step:g}", key=name)
    if log and (low <= 0 or step is not None):
        raise ConfigError("a log range needs a positive low and no step", key=name)
    is_int = step is not None and all(_is_int(p) for p in parts)
    return ParamSpec(name, "int" if is_int else "float", low=low, high=high, step=step, log=log)


def parse_space(items: Mapping[str, Any]) -> dict[str, ParamSpec]:
    """Name → spec for each item of ``items`` (name → text, list or mapping)."""
    return {name: parse_param(name, value) for name, value in items.items()}


def grid_size(space: Mapping[str, ParamSpec]) -> int:
    """The number of points of the full grid of ``space``."""
    return math.prod(len(spec.values()) for spec in space.values())


def grid_points(space: Mapping[str, ParamSpec]) -> Iterator[dict[str, Scalar]]:
    """Every point of the grid, in order (the last parameter varies fastest)."""
    names = list(space)
    for combo in product(*(space[n].values() for n in names)):
        yield dict(zip(names, combo, strict=True))
