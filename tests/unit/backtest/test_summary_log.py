"""The warning line of a rejected order names the symbol once."""

from __future__ import annotations

from loguru import logger

from trading_engine.backtest.summary import RunProbe
from trading_engine.events import OrderRejectedEvent


def test_a_rejection_line_names_the_symbol_once() -> None:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(m.record["message"]), level="WARNING")
    logger.enable("trading_engine")
    try:
        reason = "EURUSD: sell stop loss 1.03155 must be above the reference price 1.03158"
        RunProbe().rejected(OrderRejectedEvent("c", 1_705_449_311.0, "te:1", "EURUSD", 0, reason))
        RunProbe().rejected(OrderRejectedEvent("c", 1_705_449_311.0, "te:2", "EURUSD", 10016, "x"))
    finally:
        logger.remove(sink)
    assert lines[0] == (
        "order rejected at 2024-01-16 23:55:11 (server): EURUSD: sell stop loss 1.03155 "
        "must be above the reference price 1.03158"
    )
    assert lines[1] == "order rejected at 2024-01-16 23:55:11 (server): EURUSD (retcode 10016): x"
