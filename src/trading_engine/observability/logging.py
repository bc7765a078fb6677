"""Logging setup (loguru), called by the CLI or by the host application, never on import.

- ``configure_logging(config)``: JSON lines or human text to stderr (or ``sink``), optionally to a
  rotated file; per-service levels; stdlib ``logging`` records routed into loguru.
- ``correlation_context(cid)``: every record logged inside it (in this task and in tasks it
  creates) carries ``correlation_id``.
- Services name themselves with ``logger.bind(service="data_fetching")``; records without a bound
  service are attributed to their package (``trading_engine.data.feed`` → ``data``).
  ``LoggingConfig.levels`` keys match a service name or a logger-name prefix (a module of ours,
  or a stdlib logger such as ``asyncio``).
- Secrets are masked: extra fields named like ``password``/``secret``/``token``/``api_key`` and
  every literal passed in ``secrets`` (the account password) are written as ``**********``.

A JSON line holds ``timestamp`` (UTC, ISO 8601, wall clock), ``level``, ``service``,
``correlation_id``, ``message``, ``logger`` (module), ``function``, ``line``, then every extra field
bound to the record, and ``exception`` (the formatted traceback) when there is one.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from datetime import UTC
from pathlib import Path
from traceback import format_exception
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from loguru import logger

from trading_engine.errors import ConfigError
from trading_engine.events import new_correlation_id

if TYPE_CHECKING:
    from loguru import Message, Record

    from trading_engine.observability.config import LoggingConfig

__all__ = [
    "InterceptHandler",
    "configure_logging",
    "correlation_context",
    "current_correlation_id",
    "reset_logging",
]

MASK = "**********"
_SECRET_KEY = re.compile(r"pass(word|wd)?|secret|token|api_?key|credential", re.IGNORECASE)
_RESERVED = ("service", "correlation_id")

_correlation_id: ContextVar[str | None] = ContextVar("trading_engine_correlation_id", default=None)
_handler_ids: list[int] = []


def current_correlation_id() -> str | None:
    """The correlation id of the current context, or None."""
    return _correlation_id.get()


@contextmanager
def correlation_context(correlation_id: str | None = None) -> Iterator[str]:
    """Tag every record logged inside with ``correlation_id`` (a new id when None); yields it."""
    cid = correlation_id or new_correlation_id()
    token = _correlation_id.set(cid)
    try:
        yield cid
    finally:
        _correlation_id.reset(token)


def _patch(record: Record) -> None:
    extra = record["extra"]
    if extra.get("correlation_id") is None:
        extra["correlation_id"] = _correlation_id.get()
    if extra.get("service") is None:
        parts = (record["name"] or "").split(".")
        extra["service"] = parts[1] if len(parts) > 1 and parts[0] == "trading_engine" else None


class InterceptHandler(logging.Handler):
    """Routes stdlib ``logging`` records into loguru, keeping level, caller and logger name."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        frame: FrameType | None = logging.currentframe()
        depth = 0
        while frame is not None and (depth == 0 or frame.f_code.co_filename == logging.__file__):
            frame = frame.f_back
            depth += 1
        logger.opt(depth=depth, exception=record.exc_info).bind(stdlib_logger=record.name).log(
            level, record.getMessage()
        )


class _Redactor:
    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            value = value.replace(secret, MASK)
        return value

    def value(self, key: str, value: Any) -> Any:
        if _SECRET_KEY.search(key):
            return MASK
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self.text(str(value))


def _level_filter(config: LoggingConfig) -> Callable[[Record], bool]:
    default = logger.level(config.level).no
    levels = {key: logger.level(name).no for key, name in config.levels.items()}
    prefixes = sorted(levels, key=len, reverse=True)

    def accept(record: Record) -> bool:
        service = record["extra"].get("service")
        if service in levels:
            return record["level"].no >= levels[service]
        name = record["extra"].get("stdlib_logger") or record["name"] or ""
        for prefix in prefixes:
            if name == prefix or name.startswith(prefix + "."):
                return record["level"].no >= levels[prefix]
        return record["level"].no >= default

    return accept


def _json_formatter(config: LoggingConfig, redact: _Redactor) -> Callable[[Record], str]:
    def formatter(record: Record) -> str:
        extra = record["extra"]
        line: dict[str, Any] = {
            "timestamp": record["time"].astimezone(UTC).isoformat(timespec="microseconds"),
            "level": record["level"].name,
            "service": extra.get("service"),
        }
        if config.correlation_ids:
            line["correlation_id"] = extra.get("correlation_id")
        line["message"] = redact.text(record["message"])
        line["logger"] = record["name"]
        line["function"] = record["function"]
        line["line"] = record["line"]
        for key, value in extra.items():
            if key not in _RESERVED and not key.startswith("_"):
                line[key] = redact.value(key, value)
        exception = record["exception"]
        if exception is not None and exception.type is not None:
            text = "".join(format_exception(exception.type, exception.value, exception.traceback))
            line["exception"] = redact.text(text)
        extra["_line"] = json.dumps(line, default=str, ensure_ascii=False)
        return "{extra[_line]}\n"

    return formatter


def _text_formatter(config: LoggingConfig, redact: _Redactor) -> Callable[[Record], str]:
    def formatter(record: Record) -> str:
        extra = record["extra"]
        fields = [
            f"{key}={redact.value(key, value)}"
            for key, value in extra.items()
            if key not in _RESERVED and not key.startswith("_")
        ]
        cid = extra.get("correlation_id") if config.correlation_ids else None
        extra["_text"] = " | ".join(
            part
            for part in (
                extra.get("service") or record["name"],
                cid,
                redact.text(record["message"]) + (f"  {' '.join(fields)}" if fields else ""),
            )
            if part
        )
        tail = "\n{extra[_exception]}" if record["exception"] is not None else ""
        if tail:
            exception = record["exception"]
            assert exception is not None
            assert exception.type is not None
            text = "".join(format_exception(exception.type, exception.value, exception.traceback))
            extra["_exception"] = redact.text(text).rstrip("\n")
        return "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {extra[_text]}" + tail + "\n"

    return formatter


def _install_intercept(level: int) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, InterceptHandler):
            root.removeHandler(handler)
    root.addHandler(InterceptHandler())
    root.setLevel(level)


def reset_logging() -> None:
    """Undo ``configure_logging``: remove its handlers and the stdlib route, disable the package."""
    for handler_id in _handler_ids:
        with suppress(ValueError):  # already removed by the host
            logger.remove(handler_id)
    _handler_ids.clear()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, InterceptHandler):
            root.removeHandler(handler)
    logger.configure(patcher=None)
    logger.disable("trading_engine")


def configure_logging(
    config: LoggingConfig,
    *,
    sink: TextIO | Callable[[Message], None] | None = None,
    secrets: Iterable[str] = (),
) -> list[int]:
    """Set up loguru from ``config``; returns the ids of the handlers it added.

    ``sink`` replaces stderr (tests pass a ``StringIO``); ``secrets`` are literal values masked in
    every record. Calling it again replaces what an earlier call set up. It removes loguru's
    default stderr handler, installs a global patcher (correlation id, service) and routes the
    root stdlib logger into loguru: it is meant for the application, not for library code.
    """
    reset_logging()
    with suppress(ValueError):
        logger.remove(0)  # loguru's default stderr handler, if still there
    redact = _Redactor(secrets)
    formatter = (_json_formatter if config.format == "json" else _text_formatter)(config, redact)
    accept = _level_filter(config)
    floor = min(
        [logger.level(config.level).no, *(logger.level(n).no for n in config.levels.values())]
    )
    logger.configure(patcher=_patch)
    _handler_ids.append(
        logger.add(
            sink if sink is not None else sys.stderr,
            level=floor,
            format=formatter,
            filter=accept,
            colorize=False,
            backtrace=False,
            diagnose=False,
        )
    )
    if config.file_output:
        path = Path(config.log_file)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _handler_ids.append(
                logger.add(
                    path,
                    level=floor,
                    format=formatter,
                    filter=accept,
                    rotation=config.rotation,
                    retention=config.retention,
                    encoding="utf-8",
                    backtrace=False,
                    diagnose=False,
                )
            )
        except OSError as exc:
            raise ConfigError(
                f"{path}: cannot write the log file: {exc.strerror or exc}", key="logging.log_file"
            ) from None
        except ValueError as exc:  # loguru's rotation/retention parsers
            raise ConfigError(str(exc), key="logging.rotation") from None
    _install_intercept(floor)
    logger.enable("trading_engine")
    return list(_handler_ids)
