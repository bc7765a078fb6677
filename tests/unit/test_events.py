"""The pipeline messages: exact fields, slots, the Event union, correlation ids."""

from __future__ import annotations

import dataclasses
from typing import get_args

import pytest

from trading_engine import events as ev
from trading_engine.events import Event, NewCandleEvent, new_correlation_id

FIELDS: dict[type, list[str]] = {
    ev.DataFetchedEvent: ["symbol", "timeframe", "bars", "last_bar_time"],
    ev.NewCandleEvent: [
        "symbol",
        "timeframe",
        "time",
        "open",
        "high",
        "low",
        "close",
        "tick_volume",
        "spread",
        "real_volume",
    ],
    ev.IndicatorsCalculatedEvent: ["candle", "values", "regime", "ready", "bars"],
    ev.RegimeChangedEvent: ["symbol", "timeframe", "time", "previous", "current"],
    ev.EntrySignalEvent: [
        "symbol",
        "timeframe",
        "strategy",
        "side",
        "price",
        "sl",
        "tp",
        "volume",
        "reason",
        "bar_time",
    ],
    ev.ExitSignalEvent: [
        "symbol",
        "timeframe",
        "strategy",
        "side",
        "reason",
        "position_ticket",
    ],
    ev.OrderPlacedEvent: ["client_id", "symbol", "side", "volume", "price", "order_ticket"],
    ev.OrderFilledEvent: [
        "client_id",
        "symbol",
        "side",
        "volume",
        "price",
        "deal_ticket",
        "position_ticket",
    ],
    ev.OrderRejectedEvent: ["client_id", "symbol", "retcode", "reason"],
    ev.TradingBlockedEvent: ["symbol", "rule", "reason", "state"],
    ev.PositionClosedEvent: [
        "symbol",
        "position_ticket",
        "side",
        "volume",
        "price_open",
        "price_close",
        "profit",
        "reason",
    ],
}


def candle() -> NewCandleEvent:
    return NewCandleEvent("c-1", 1.5, "EURUSD", 1, 1704672000, 1.1, 1.2, 1.0, 1.15, 42, 3, 0)


@pytest.mark.parametrize("event_type", list(FIELDS), ids=lambda t: t.__name__)
def test_event_fields_are_exactly_the_agreed_ones(event_type: type) -> None:
    names = [f.name for f in dataclasses.fields(event_type)]

    assert names == ["correlation_id", "timestamp", *FIELDS[event_type]]


@pytest.mark.parametrize("event_type", list(FIELDS), ids=lambda t: t.__name__)
def test_events_are_slotted_mutable_dataclasses(event_type: type) -> None:
    params = event_type.__dataclass_params__  # type: ignore[attr-defined]

    assert "__slots__" in vars(event_type)
    assert not params.frozen


def test_event_rejects_unknown_attributes() -> None:
    event = candle()

    with pytest.raises(AttributeError):
        event.volume = 1  # type: ignore[attr-defined]
    assert not hasattr(event, "__dict__")


def test_event_union_holds_every_event_type() -> None:
    assert set(get_args(Event)) == set(FIELDS)


def test_correlation_ids_are_short_and_unique() -> None:
    ids = [new_correlation_id() for _ in range(10_000)]

    assert len(set(ids)) == len(ids)
    assert all(len(i) <= 16 for i in ids)
    assert len({i.split("-")[0] for i in ids}) == 1  # one random prefix per process
