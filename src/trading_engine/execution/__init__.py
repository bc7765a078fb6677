"""Execution: risk rules, position sizing, client ids, reconciliation, the ``Trader`` that drives
orders through the terminal and the ``TradeExecutionService`` around it. The orders and positions
themselves are the model's (``trading_engine.model``)."""

from __future__ import annotations

from trading_engine.execution.client_ids import ClientId, ClientIdFactory, parse_tag
from trading_engine.execution.reconcile import BookPosition, Reconciliation, reconcile
from trading_engine.execution.risk import Decision, RiskLimits, RiskRules, RiskState
from trading_engine.execution.sizing import size_from_risk

__all__ = [
    "BookPosition",
    "ClientId",
    "ClientIdFactory",
    "Decision",
    "Reconciliation",
    "RiskLimits",
    "RiskRules",
    "RiskState",
    "parse_tag",
    "reconcile",
    "size_from_risk",
]
