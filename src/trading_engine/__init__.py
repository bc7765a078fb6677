"""trading-engine, an asyncio trading engine for MetaTrader 5: the curated public API (``__all__``).

Light to import (no numba, no polars); the package logger stays disabled until configure_logging().
The engine itself (``TradingOrchestrator``, ``Strategy``, ``run_backtest`` …) loads on first use.
"""

from __future__ import annotations

import importlib
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
    TerminalUnreachable,
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
    SignalMessage,
    TradingBlockedEvent,
    new_correlation_id,
)
from trading_engine.observability.logging import configure_logging, correlation_context

try:
    __version__ = _version("trading-engine")
except _PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0.0.0+unknown"

_logger.disable("trading_engine")

_LAZY = {
    "BacktestResult": "trading_engine.backtest",
    "OrchestratorStatus": "trading_engine.orchestrator",
    "PositionView": "trading_engine.strategy.base",
    "RunSummary": "trading_engine.orchestrator",
    "Signal": "trading_engine.strategy.base",
    "Snapshot": "trading_engine.strategy.base",
    "Strategy": "trading_engine.strategy.base",
    "TradingOrchestrator": "trading_engine.orchestrator",
    "load_strategy": "trading_engine.strategy.loader",
    "run_backtest": "trading_engine.backtest",
}
"""Names importable from the package, loaded on first access (they import numba and polars)."""


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'trading_engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "BacktestResult",
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
    "OrchestratorStatus",
    "OrderError",
    "OrderFilledEvent",
    "OrderPlacedEvent",
    "OrderRejectedEvent",
    "PositionClosedEvent",
    "PositionView",
    "RegimeChangedEvent",
    "RiskConfig",
    "RunSummary",
    "ScaledClock",
    "ServiceStateError",
    "ServicesConfig",
    "Side",
    "Signal",
    "SignalMessage",
    "SimClock",
    "SimTerminalConfig",
    "Snapshot",
    "Strategy",
    "StrategyConfig",
    "StrategyError",
    "StrategyEvaluationConfig",
    "SupervisorConfig",
    "SupervisorGaveUp",
    "SystemConfig",
    "TerminalConfig",
    "TerminalConnectionError",
    "TerminalError",
    "TerminalUnreachable",
    "TradeExecutionConfig",
    "TradingBlockedEvent",
    "TradingConfig",
    "TradingEngineError",
    "TradingOrchestrator",
    "TransientError",
    "configure_logging",
    "correlation_context",
    "load_strategy",
    "new_correlation_id",
    "run_backtest",
]
