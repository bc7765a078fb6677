"""Settings of the data stage (``services.data_fetching``)."""

from __future__ import annotations

from pydantic import Field

from trading_engine.sections import Section

__all__ = ["DataFetchingConfig"]


class DataFetchingConfig(Section):
    """DataFetchingService: polls the terminal for newly closed bars."""

    enabled: bool = Field(True, description="run the service")
    fetch_interval: int = Field(
        5, ge=1, le=60, description="seconds between polls while a due bar has not arrived"
    )
    close_delay: float = Field(
        1.0, ge=0, le=60, description="seconds after a bar's close before it is polled"
    )
    retry_attempts: int = Field(3, ge=0, le=100, description="retries of a failed fetch")
    candle_index: int = Field(
        1, ge=0, le=1000, description="position of the bar reported as closed (0 = forming bar)"
    )
    nbr_bars: int = Field(3, ge=1, le=100_000, description="bars requested per poll")
