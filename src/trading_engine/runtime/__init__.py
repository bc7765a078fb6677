"""The asyncio runtime: typed channels, the service lifecycle and an OTP-style supervisor.

Knows nothing of trading; imports only ``trading_engine.clock`` and ``trading_engine.errors``.
"""

from trading_engine.runtime.backoff import Backoff, BackoffTracker, RestartBudget
from trading_engine.runtime.channel import (
    Channel,
    ChannelStats,
    Consumer,
    Delivery,
    FullPolicy,
    Receiver,
    Sender,
)
from trading_engine.runtime.delivery import relay
from trading_engine.runtime.service import Service, ServiceState
from trading_engine.runtime.supervisor import ChildSpec, RestartPolicy, Strategy, Supervisor

__all__ = [
    "Backoff",
    "BackoffTracker",
    "Channel",
    "ChannelStats",
    "ChildSpec",
    "Consumer",
    "Delivery",
    "FullPolicy",
    "Receiver",
    "RestartBudget",
    "RestartPolicy",
    "Sender",
    "Service",
    "ServiceState",
    "Strategy",
    "Supervisor",
    "relay",
]
