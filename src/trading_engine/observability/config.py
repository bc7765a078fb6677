"""Settings of logging (``logging``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from trading_engine.sections import Section

__all__ = ["LogLevel", "LoggingConfig"]


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


LogLevel = Annotated[
    Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"],
    BeforeValidator(_upper),
]
"""A loguru level name, case-insensitive."""


class LoggingConfig(Section):
    """Logging (loguru): format, levels, optional file."""

    level: LogLevel = Field("INFO", description="default level")
    format: Literal["json", "text"] = Field("json", description="JSON lines or human text")
    correlation_ids: bool = Field(True, description="put the correlation id in every record")
    file_output: bool = Field(False, description="also write to log_file")
    log_file: Path = Field(Path("logs/trading_system.log"), description="log file path")
    rotation: str = Field("10 MB", min_length=1, description="rotate the file at this size/age")
    retention: int = Field(5, ge=1, le=1000, description="rotated files kept")
    levels: dict[str, LogLevel] = Field(
        default_factory=dict, description="per-service levels, e.g. {data_fetching: DEBUG}"
    )
