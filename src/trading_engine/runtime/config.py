"""Settings of the runtime: the supervisors' restart budget (``supervisor``) and the event fan-out
(``event_bus``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from trading_engine.sections import Section

__all__ = ["EventBusConfig", "SupervisorConfig"]


class SupervisorConfig(Section):
    """Restart budget and backoff of the supervisors."""

    intensity: int = Field(5, ge=0, le=1000, description="restarts allowed per period")
    period: float = Field(60.0, gt=0, description="seconds of the restart budget window")
    backoff_base: float = Field(0.5, gt=0, description="first backoff ceiling, seconds")
    backoff_cap: float = Field(30.0, gt=0, description="largest backoff, seconds")
    stable_window: float = Field(60.0, gt=0, description="seconds up before backoff resets")
    max_stalled_crashes: int = Field(
        10,
        ge=1,
        le=100_000,
        description="crashes in a row of a service that made no progress in between "
        "(at most the message it crashed on) before the engine gives up",
    )

    @model_validator(mode="after")
    def _cap_above_base(self) -> SupervisorConfig:
        if self.backoff_cap < self.backoff_base:
            raise ValueError("backoff_cap must be >= backoff_base")
        return self


class EventBusConfig(Section):
    """Fan-out of pipeline events to the journal, metrics and observers."""

    mode: Literal["synchronous", "asynchronous"] = Field(
        "synchronous",
        description="accepted and ignored (check-config says so); events use asyncio channels",
    )
    event_history_limit: int = Field(
        1000, ge=0, le=1_000_000, description="recent events kept in memory for inspection"
    )
    log_all_events: bool = Field(False, description="log every event at DEBUG")

    def ignored(self) -> list[str]:
        """Keys set here that the engine accepts (for the earlier design's files) and ignores."""
        if "mode" in self.model_fields_set:
            return [
                f"event_bus.mode: {self.mode!r} is accepted and ignored "
                "(events always travel on asyncio channels)"
            ]
        return []
