"""``EventHub``: where services publish events for observers, history and logs.

Publishing is synchronous and cheap: the event goes into a bounded history (a deque) and to the
observers subscribed to its type (or to every type). A failing observer is counted and logged; it
never stops the others or the publisher. A coroutine observer runs as a task that the hub tracks
and cancels on ``close()``.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from typing import Any

from loguru import logger

__all__ = ["EventHub", "Observer"]

Observer = Callable[[Any], Awaitable[None] | None]


class EventHub:
    """Fan events out to observers; keep the last ``history_limit`` of them.

    ``subscribe(observer, SomeEvent)`` observes one type, ``subscribe(observer)`` all of them;
    both return a function that unsubscribes. ``log_events`` logs each event at DEBUG.
    """

    def __init__(self, *, history_limit: int = 1000, log_events: bool = False) -> None:
        self._history: deque[Any] = deque(maxlen=history_limit)
        self._by_type: dict[type, list[Observer]] = {}
        self._any: list[Observer] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._log_events = log_events
        self.published: Counter[str] = Counter()
        self.observer_errors = 0

    def subscribe(self, observer: Observer, event_type: type | None = None) -> Callable[[], None]:
        """Call ``observer(event)`` for each event of ``event_type`` (every event if None)."""
        bucket = self._any if event_type is None else self._by_type.setdefault(event_type, [])
        bucket.append(observer)

        def unsubscribe() -> None:
            if observer in bucket:
                bucket.remove(observer)

        return unsubscribe

    def unsubscribe(self, observer: Observer, event_type: type | None = None) -> None:
        """Stop calling ``observer`` for ``event_type`` (every type it observes if None)."""
        buckets = (
            [self._any, *self._by_type.values()]
            if event_type is None
            else [self._by_type.get(event_type, [])]
        )
        for bucket in buckets:
            while observer in bucket:
                bucket.remove(observer)

    def publish(self, event: Any) -> None:
        """Record ``event`` and hand it to its observers."""
        self._history.append(event)
        kind = type(event)
        self.published[kind.__name__] += 1
        if self._log_events:
            logger.debug("event {}: {}", kind.__name__, event)
        observers = self._by_type.get(kind)
        if observers:
            self._notify(observers, event)
        if self._any:
            self._notify(self._any, event)

    def _notify(self, observers: list[Observer], event: Any) -> None:
        for observer in tuple(observers):
            try:
                result = observer(event)
                if result is not None and inspect.isawaitable(result):
                    task = asyncio.ensure_future(result)
                    self._tasks.add(task)
                    task.add_done_callback(self._observer_task_done)
            except Exception as exc:
                self._observer_failed(observer, exc)

    def _observer_task_done(self, task: asyncio.Future[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._observer_failed(None, task.exception())

    def _observer_failed(self, observer: Observer | None, exc: BaseException | None) -> None:
        self.observer_errors += 1
        logger.opt(exception=exc).error("event observer {!r} failed: {!r}", observer, exc)

    def history(self, event_type: type | None = None, limit: int | None = None) -> list[Any]:
        """The recorded events, oldest first, optionally of one type and only the last ``limit``."""
        events = [e for e in self._history if event_type is None or isinstance(e, event_type)]
        return events[-limit:] if limit is not None else events

    def clear_history(self) -> None:
        """Forget the recorded events."""
        self._history.clear()

    async def close(self) -> None:
        """Cancel the observer tasks still running and wait for them."""
        tasks = tuple(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    def metrics(self) -> dict[str, Any]:
        """Counts of published events by type, observer errors and the history size."""
        return {
            "published": dict(self.published),
            "observer_errors": self.observer_errors,
            "history": len(self._history),
            "history_limit": self._history.maxlen,
        }
