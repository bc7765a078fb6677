"""Execution: risk rules, position sizing, the order state machine, client ids and the pure part
of reconciliation; later the TradeExecutionService that drives orders through the terminal."""

from __future__ import annotations

from trading_engine.execution.client_ids import ClientId, ClientIdFactory, parse_tag
from trading_engine.execution.orders import Order, OrderState, state_from_retcode
from trading_engine.execution.reconcile import BookPosition, Reconciliation, reconcile
from trading_engine.execution.risk import Decision, RiskLimits, RiskRules, RiskState
from trading_engine.execution.sizing import size_from_risk

__all__ = [
    "BookPosition",
    "ClientId",
    "ClientIdFactory",
    "Decision",
    "Order",
    "OrderState",
    "Reconciliation",
    "RiskLimits",
    "RiskRules",
    "RiskState",
    "parse_tag",
    "reconcile",
    "size_from_risk",
    "state_from_retcode",
]
