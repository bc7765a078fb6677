"""Settings of logging (``logging``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator

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

    @field_validator("rotation")
    @classmethod
    def _loguru_rotation(cls, value: str) -> str:
        """A size (``10 MB``), an interval (``1 week``) or a time (``00:00``), read by loguru."""
        from loguru._file_sink import FileSink  # loguru's own parser: the same rules as add()

        try:
            FileSink._make_rotation_function(value)  # type: ignore[no-untyped-call]
        except (ValueError, TypeError):
            raise ValueError(
                f"{value!r} is not a loguru rotation: a size ('10 MB'), an interval ('1 day') "
                "or a time ('00:00')"
            ) from None
        return value

    @field_validator("log_file")
    @classmethod
    def _writable_log_file(cls, value: Path, info: ValidationInfo) -> Path:
        """With ``file_output``, the file (or the directory that will hold it) is writable."""
        if info.data.get("file_output"):
            problem = _unwritable(value)
            if problem:
                raise ValueError(f"{value}: {problem}")
        return value


def _unwritable(path: Path) -> str:
    """Why a file cannot be written at ``path`` (``""`` when it can, as far as one can tell)."""
    if path.is_dir():
        return "is a directory"
    if path.exists():
        return "" if os.access(path, os.W_OK) else "not writable"
    parent = path.parent
    while not parent.exists():
        if parent == parent.parent:
            return "no existing parent directory"
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is not a directory"
    return "" if os.access(parent, os.W_OK | os.X_OK) else f"directory {parent} is not writable"
