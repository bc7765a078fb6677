"""Constraints between parameters: ``ema_cross.fast < ema_cross.slow``, ``a + 5 <= b``.

A constraint is two operands joined by one of ``< <= > >= == !=``; an operand is a parameter name
or a number, optionally plus or minus a number. Parsed once, no ``eval``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from trading_engine.errors import ConfigError

__all__ = ["Constraint", "parse_constraint"]

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_SPLIT = re.compile(r"\s*(<=|>=|==|!=|<|>)\s*")
_OPERAND = re.compile(
    r"^\s*([A-Za-z_][\w.]*|[-+]?\d+(?:\.\d*)?)\s*(?:([-+])\s*(\d+(?:\.\d*)?))?\s*$"
)


@dataclass(frozen=True, slots=True)
class _Operand:
    name: str | None
    value: float
    offset: float

    def of(self, params: Mapping[str, Any]) -> float:
        base = float(params[self.name]) if self.name is not None else self.value
        return base + self.offset

    def __str__(self) -> str:
        base = self.name if self.name is not None else f"{self.value:g}"
        if self.offset:
            return f"{base} {'+' if self.offset > 0 else '-'} {abs(self.offset):g}"
        return base


@dataclass(frozen=True, slots=True)
class Constraint:
    """``left op right`` over the parameters of a trial."""

    left: _Operand
    op: str
    right: _Operand

    def holds(self, params: Mapping[str, Any]) -> bool:
        """Whether the point ``params`` satisfies the constraint."""
        return _OPS[self.op](self.left.of(params), self.right.of(params))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(o.name for o in (self.left, self.right) if o.name is not None)

    def __str__(self) -> str:
        return f"{self.left} {self.op} {self.right}"


def _operand(text: str, source: str) -> _Operand:
    match = _OPERAND.match(text)
    if match is None:
        raise ConfigError(
            f"cannot read {text.strip()!r} (a name or a number ± a number)", key=source
        )
    head, sign, number = match.groups()
    offset = float(number) * (-1 if sign == "-" else 1) if number else 0.0
    if head[0].isalpha() or head[0] == "_":
        return _Operand(head, 0.0, offset)
    return _Operand(None, float(head), offset)


def parse_constraint(text: str, names: Collection[str]) -> Constraint:
    """Parse ``text``; every name it uses must be one of the search space's ``names``."""
    parts = _SPLIT.split(text.strip())
    if len(parts) != 3:
        raise ConfigError(
            f"expected 'a < b' (one of < <= > >= == !=), got {text!r}", key="constraint"
        )
    left, op, right = _operand(parts[0], text), parts[1], _operand(parts[2], text)
    constraint = Constraint(left, op, right)
    for name in constraint.names:
        if name not in names:
            raise ConfigError(
                f"{name!r} is not a parameter of the search space ({', '.join(sorted(names))})",
                key=f"constraint {text!r}",
            )
    if not constraint.names:
        raise ConfigError("a constraint must name a parameter", key=f"constraint {text!r}")
    if isinstance(names, Mapping):  # a search space: compared values must be numbers
        for name in constraint.names:
            choices = getattr(names[name], "choices", ())
            if any(isinstance(c, bool) or not isinstance(c, int | float) for c in choices):
                raise ConfigError(
                    f"{name!r} takes values that are not numbers", key=f"constraint {text!r}"
                )
    return constraint
