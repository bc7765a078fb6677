"""Delivery once: how a stage handles each message of its channel once, across restarts.

The channel keeps every message a stage took until the stage acknowledges it, and hands the
unacknowledged ones to the stage that replaces a crashed or stopped one (``Channel.consumer``).
That alone gives *at least once*. *Once* needs the stage's part, the rule every stage follows:

1. **Handling is atomic.** The handler (``handle`` below) either raises before it changed
   anything that outlives the instance, or changes it and returns: nothing that can raise runs
   after its first lasting change (the indicator set's update, the trader's journal row).
2. **Outputs are recorded with the delivery.** What the handler returns is stored on the
   ``Delivery`` before the first output is sent, and each output counts as passed on once the next
   channel has accepted it. A redelivered message whose outputs are recorded is not handled again:
   only the outputs not yet sent are sent (``relay``).
3. **Side effects outside the pipeline are idempotent by key.** A stage that acts on the world
   (the execution stage sends orders) cannot record "sent" atomically with the act; it journals
   the act under a key (the order's client id, with the signal's correlation id and strategy)
   *before* acting, and a redelivered message whose key is in the journal is settled from the
   journal and the terminal (reconciliation), never acted on again.

A message is acknowledged only after all of this: when ``relay`` asks for the next message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from trading_engine.runtime.channel import Consumer

__all__ = ["relay"]

T = TypeVar("T")
U = TypeVar("U")


async def relay(
    inbox: Consumer[T],
    send: Callable[[U], Awaitable[None]],
    handle: Callable[[T], Sequence[U]],
) -> None:
    """Handle each message of ``inbox`` once and ``send`` its outputs; return at the inbox's end.

    ``handle`` must be atomic (rule 1 of the module docstring): its outputs are recorded on the
    delivery before the first is sent, so a redelivered message is never handled twice; only the
    outputs the previous stage instance did not pass on are sent.
    """
    async for delivery in inbox:
        outputs: tuple[Any, ...] | None = delivery.outputs
        if outputs is None:
            outputs = delivery.outputs = tuple(handle(delivery.message))
        while delivery.sent < len(outputs):
            await send(outputs[delivery.sent])
            delivery.sent += 1
