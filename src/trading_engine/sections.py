"""The base of every configuration section and the field types the sections share.

Each package keeps its own section beside its code (``data/config.py``, ``terminal/config.py`` …);
``trading_engine.config`` composes them into ``SystemConfig``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, model_validator

from trading_engine.timeframes import parse_timeframe, timeframe_name

__all__ = ["Section", "Timeframe", "no_duplicates", "split_list", "utc_datetime"]


class Section(BaseModel):
    """A configuration section: unknown keys refused, defaults validated."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_means_defaults(cls, data: Any) -> Any:
        """An empty YAML section (``services:`` with nothing under it) takes the defaults."""
        return {} if data is None else data


def _parse_timeframe(value: object) -> int:
    if isinstance(value, str | int) and not isinstance(value, bool):
        return parse_timeframe(value)
    raise ValueError(f"a timeframe is a name such as 'M1' or a minute count, got {value!r}")


Timeframe = Annotated[
    int,
    BeforeValidator(_parse_timeframe),
    PlainSerializer(timeframe_name, return_type=str, when_used="json"),
]
"""An MT5 timeframe constant; accepts "M1"/"h1", the seed's minute strings and the constant."""


def split_list(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def no_duplicates(values: list[Any], what: str) -> None:
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value!r} is listed twice")
        seen.add(value)


def utc_datetime(value: object) -> object:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return value
