"""configure_logging: JSON lines, correlation ids, stdlib routing, per-service levels, secrets."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from pathlib import Path
from typing import Any

from loguru import logger

from trading_engine.config import LoggingConfig
from trading_engine.observability.logging import (
    configure_logging,
    correlation_context,
    current_correlation_id,
    reset_logging,
)


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def log_as_engine_module(module: str, message: str, level: str = "INFO") -> None:
    """Log from code whose ``__name__`` is ``module`` (loguru reads it from the caller's frame)."""
    code = compile(f"logger.log({level!r}, {message!r})", f"<{module}>", "exec")
    exec(code, {"__name__": module, "logger": logger})


def test_json_line_has_the_standard_fields_and_extras() -> None:
    buffer = io.StringIO()
    configure_logging(LoggingConfig(), sink=buffer)

    logger.bind(service="data_fetching", symbol="EURUSD", bars=3).info("fetched {} bars", 3)

    (line,) = lines(buffer)
    assert line["level"] == "INFO"
    assert line["service"] == "data_fetching"
    assert line["message"] == "fetched 3 bars"
    assert line["symbol"] == "EURUSD"
    assert line["bars"] == 3
    assert line["timestamp"].endswith("+00:00")
    assert "correlation_id" in line


def test_json_lines_carry_the_correlation_id_of_their_context() -> None:
    buffer = io.StringIO()
    configure_logging(LoggingConfig(), sink=buffer)

    with correlation_context("cid-1"):
        logger.info("outer")
        with correlation_context("cid-2") as inner:
            logger.info("inner")
        logger.info("outer again")
    logger.info("outside")

    assert inner == "cid-2"
    assert [(x["message"], x["correlation_id"]) for x in lines(buffer)] == [
        ("outer", "cid-1"),
        ("inner", "cid-2"),
        ("outer again", "cid-1"),
        ("outside", None),
    ]


async def test_correlation_id_follows_into_tasks_created_inside_the_context() -> None:
    buffer = io.StringIO()
    configure_logging(LoggingConfig(), sink=buffer)

    async def stage() -> None:
        logger.info("in task")

    with correlation_context() as cid:
        task = asyncio.create_task(stage())
    await task

    assert lines(buffer)[0]["correlation_id"] == cid
    assert current_correlation_id() is None


def test_explicitly_bound_correlation_id_wins_over_the_context() -> None:
    buffer = io.StringIO()
    configure_logging(LoggingConfig(), sink=buffer)

    with correlation_context("ctx"):
        logger.bind(correlation_id="bound").info("x")

    assert lines(buffer)[0]["correlation_id"] == "bound"


def test_stdlib_logging_records_are_routed_into_loguru() -> None:
    buffer = io.StringIO()
    configure_logging(LoggingConfig(), sink=buffer)

    with correlation_context("std"):
        logging.getLogger("some.library").warning("disk at %d%%", 91)
    logging.getLogger("some.library").debug("below the level")

    (line,) = lines(buffer)
    assert line["message"] == "disk at 91%"
    assert line["level"] == "WARNING"
    assert line["stdlib_logger"] == "some.library"
    assert line["correlation_id"] == "std"
    assert line["function"] == "test_stdlib_logging_records_are_routed_into_loguru"


def test_secrets_are_masked_in_messages_extras_and_tracebacks() -> None:
    buffer = io.StringIO()
    configure_logging(LoggingConfig(), sink=buffer, secrets=["hunter2"])

    logger.bind(password="hunter2", api_key="k-123", login=5).info("connecting with hunter2")
    try:
        raise RuntimeError("login failed for password hunter2")
    except RuntimeError:
        logger.exception("failed")

    output = buffer.getvalue()
    assert "hunter2" not in output
    assert "k-123" not in output
    first, second = lines(buffer)
    assert first["message"] == "connecting with **********"
    assert first["password"] == "**********"
    assert first["login"] == 5
    assert "RuntimeError: login failed for password **********" in second["exception"]


def test_text_format_is_one_human_line_with_service_and_correlation_id() -> None:
    buffer = io.StringIO()
    configure_logging(LoggingConfig(format="text"), sink=buffer, secrets=["hunter2"])

    with correlation_context("abc"):
        logger.bind(service="trade_execution", password="hunter2").warning("sent")

    (line,) = buffer.getvalue().splitlines()
    assert "| WARNING  | trade_execution | abc | sent  password=**********" in line
    assert "hunter2" not in line


def test_correlation_ids_can_be_left_out() -> None:
    buffer = io.StringIO()
    configure_logging(LoggingConfig(correlation_ids=False), sink=buffer)

    with correlation_context("abc"):
        logger.info("x")

    assert "correlation_id" not in lines(buffer)[0]


def test_per_service_levels() -> None:
    buffer = io.StringIO()
    config = LoggingConfig(level="INFO", levels={"data_fetching": "DEBUG", "asyncio": "ERROR"})
    configure_logging(config, sink=buffer)

    logger.bind(service="data_fetching").debug("kept: service at DEBUG")
    logger.bind(service="trade_execution").debug("dropped: default INFO")
    logging.getLogger("asyncio").warning("dropped: asyncio at ERROR")
    logging.getLogger("asyncio").error("kept: asyncio error")

    assert [x["message"] for x in lines(buffer)] == [
        "kept: service at DEBUG",
        "kept: asyncio error",
    ]


def test_engine_records_are_silent_until_logging_is_configured() -> None:
    buffer = io.StringIO()
    handler = logger.add(buffer, format="{message}")
    try:
        log_as_engine_module("trading_engine.data.service", "before configure")
        log_as_engine_module("host_app", "host record")
    finally:
        logger.remove(handler)

    assert buffer.getvalue().splitlines() == ["host record"]


def test_engine_records_get_their_package_as_service_once_configured() -> None:
    buffer = io.StringIO()
    configure_logging(LoggingConfig(), sink=buffer)

    log_as_engine_module("trading_engine.data.service", "bar")

    (line,) = lines(buffer)
    assert (line["service"], line["logger"]) == ("data", "trading_engine.data.service")


def test_reset_logging_disables_the_package_again() -> None:
    buffer = io.StringIO()
    configure_logging(LoggingConfig(), sink=buffer)
    reset_logging()

    log_as_engine_module("trading_engine.data.service", "after reset")

    assert buffer.getvalue() == ""
    assert not any(type(h).__name__ == "InterceptHandler" for h in logging.getLogger().handlers)


def test_file_output_writes_json_lines_to_the_log_file(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "engine.log"
    config = LoggingConfig(file_output=True, log_file=path, rotation="1 MB", retention=2)
    configure_logging(config, sink=io.StringIO())

    with correlation_context("file-cid"):
        logger.info("to the file")
    reset_logging()  # closes the file

    (line,) = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["correlation_id"] == "file-cid"


def test_configuring_twice_replaces_the_first_setup() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging(LoggingConfig(), sink=first)
    configure_logging(LoggingConfig(), sink=second)

    logger.info("once")
    logging.getLogger("lib").warning("std once")

    assert first.getvalue() == ""
    assert [x["message"] for x in lines(second)] == ["once", "std once"]
