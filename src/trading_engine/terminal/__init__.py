"""The port to an MT5 terminal: async calls through one lane, return-code classification,
reconnects, symbol specifications and request normalisation.
"""

from trading_engine.model.mt5 import (
    Outcome,
    classify_check_retcode,
    classify_error,
    classify_retcode,
    classify_send_error,
    classify_send_retcode,
    describe_error,
    describe_retcode,
    is_connection_error,
)
from trading_engine.terminal.config import PortSettings
from trading_engine.terminal.normalize import (
    OrderKind,
    as_side,
    build_market_request,
    check_comment,
    check_stops,
    normalize_price,
    normalize_volume,
    order_type_of,
    pick_filling,
)
from trading_engine.terminal.port import (
    CheckResult,
    PortMetrics,
    PortState,
    SendResult,
    TerminalPort,
)
from trading_engine.terminal.symbols import SymbolRules

__all__ = [
    "CheckResult",
    "OrderKind",
    "Outcome",
    "PortMetrics",
    "PortSettings",
    "PortState",
    "SendResult",
    "SymbolRules",
    "TerminalPort",
    "as_side",
    "build_market_request",
    "check_comment",
    "check_stops",
    "classify_check_retcode",
    "classify_error",
    "classify_retcode",
    "classify_send_error",
    "classify_send_retcode",
    "describe_error",
    "describe_retcode",
    "is_connection_error",
    "normalize_price",
    "normalize_volume",
    "order_type_of",
    "pick_filling",
]
