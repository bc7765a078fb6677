"""trading-engine, an asyncio trading engine for MetaTrader 5: the curated public API (``__all__``).

Light to import (no numba, no polars); the package logger stays disabled until configure_logging().
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

from loguru import logger as _logger

from trading_engine.clock import Clock, LiveClock, ScaledClock, SimClock
from trading_engine.config import (
    ConfigLoader,
    DataFetchingConfig,
    EventBusConfig,
    IndicatorCalculationConfig,
    JournalConfig,
    LoggingConfig,
    OrchestratorConfig,
    RiskConfig,
    ServicesConfig,
    SimTerminalConfig,
    StrategyConfig,
    StrategyEvaluationConfig,
    SupervisorConfig,
    SystemConfig,
    TerminalConfig,
    TradeExecutionConfig,
    TradingConfig,
)
from trading_engine.errors import (
    ChannelClosed,
    ConfigError,
    DataIntegrityError,
    FatalError,
    JournalError,
    OrderError,
    ServiceStateError,
    StrategyError,
    SupervisorGaveUp,
    TerminalConnectionError,
    TerminalError,
    TradingEngineError,
    TransientError,
)
from trading_engine.events import (
    DataFetchedEvent,
    EntrySignalEvent,
    Event,
    ExitSignalEvent,
    IndicatorsCalculatedEvent,
    NewCandleEvent,
    OrderFilledEvent,
    OrderPlacedEvent,
    OrderRejectedEvent,
    PositionClosedEvent,
    RegimeChangedEvent,
    Side,
    TradingBlockedEvent,
    new_correlation_id,
)
from trading_engine.observability.logging import configure_logging, correlation_context

try:
    __version__ = _version("trading-engine")
except _PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0.0.0+unknown"

_logger.disable("trading_engine")

__all__ = [
    "ChannelClosed",
    "Clock",
    "ConfigError",
    "ConfigLoader",
    "DataFetchedEvent",
    "DataFetchingConfig",
    "DataIntegrityError",
    "EntrySignalEvent",
    "Event",
    "EventBusConfig",
    "ExitSignalEvent",
    "FatalError",
    "IndicatorCalculationConfig",
    "IndicatorsCalculatedEvent",
    "JournalConfig",
    "JournalError",
    "LiveClock",
    "LoggingConfig",
    "NewCandleEvent",
    "OrchestratorConfig",
    "OrderError",
    "OrderFilledEvent",
    "OrderPlacedEvent",
    "OrderRejectedEvent",
    "PositionClosedEvent",
    "RegimeChangedEvent",
    "RiskConfig",
    "ScaledClock",
    "ServiceStateError",
    "ServicesConfig",
    "Side",
    "SimClock",
    "SimTerminalConfig",
    "StrategyConfig",
    "StrategyError",
    "StrategyEvaluationConfig",
    "SupervisorConfig",
    "SupervisorGaveUp",
    "SystemConfig",
    "TerminalConfig",
    "TerminalConnectionError",
    "TerminalError",
    "TradeExecutionConfig",
    "TradingBlockedEvent",
    "TradingConfig",
    "TradingEngineError",
    "TransientError",
    "configure_logging",
    "correlation_context",
    "new_correlation_id",
]
