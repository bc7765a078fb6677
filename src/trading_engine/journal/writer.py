"""``JournalWriter``: the journal's writes off the event loop, in one thread, batched.

The engine's services run on one event loop; a SQLite commit there (tens of microseconds, a
millisecond or more with an ``fsync``) stalls every stage. The writer takes the writes instead:

- **One writer, in call order.** Each write is queued as it is called and returns at once; one
  thread applies the queue in order, everything queued at that moment in *one* transaction (a
  batch of up to ``max_batch`` writes: one commit where there were as many commits as writes).
- **Durability, where it allows.** A batch commits with ``synchronous=NORMAL`` (WAL): once
  committed, a write survives a crash of the process. Written but not yet committed, it does not;
  that is allowed for what reconciliation rebuilds from the terminal after a crash (order
  updates, deals, positions) and for the event log. An order row before its send is not:
  ``await insert_order(row)`` returns once the batch holding it is committed, with
  ``synchronous=FULL`` (the WAL is fsynced) when the journal has ``durable_orders``, so the row
  exists before the request leaves whatever happens next. The caller's task waits; the loop
  does not.
- **Reads see every write made before them**: a read waits (blocking, briefly) until the queue
  is applied, then reads. Reads are rare in the engine (reconciliation, an unknown outcome,
  a redelivered entry).
- **A failure halts, never vanishes.** A write that fails rolls its batch back; the error
  (a ``JournalError``) is raised to a caller awaiting that batch, to every later call of the
  writer, and handed to ``on_error`` on the event loop (the engine stops: exit 6).
- **Sequences** (``next_sequence``) are counted here and their new values queued (one statement,
  ``Journal.advance_sequence``, no read-back), so a new client id costs no round trip: the durable
  order row that follows commits the increment with it.
- **One write needs no transaction of its own**: each of the journal's writes is atomic by itself
  (one statement in autocommit, or its own transaction), so a batch of one write, and every write
  of ``thread=False``, is applied without a BEGIN/COMMIT around it; an order row with
  ``durable_orders`` is still committed with ``synchronous=FULL``.

Under a ``SimClock`` a task waiting on a thread looks idle to the driver, which would move time
meanwhile: ``hold`` (``SimClock.hold``) keeps time still while a task awaits the writer.

``thread=False`` applies each write at once on the caller's thread, one commit per write (the
engine's behaviour before the writer; ``scripts/bench_journal.py`` compares the two). The
``Journal`` itself stays synchronous and usable without any writer (tools, tests, a synchronous
backtest).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import queue
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from loguru import logger

from trading_engine.errors import JournalError
from trading_engine.journal.store import DealRow, Journal, OrderRow, PositionRow

__all__ = ["JournalWriter", "WriterStats"]


@dataclass
class WriterStats:
    """What the writer did: writes applied, commits (batches), the fsynced ones, the largest
    batch, and ``caller_seconds``, the time callers spent inside the writer's synchronous calls
    (queueing; with ``thread=False`` the whole write; waiting for the queue before a read): the
    journal's cost on the event loop. An awaited ``insert_order`` waits without blocking it."""

    writes: int = 0
    commits: int = 0
    durable_commits: int = 0
    largest_batch: int = 0
    caller_seconds: float = 0.0


class _Op:
    __slots__ = ("call", "durable", "future")

    def __init__(
        self,
        call: Callable[[], Any],
        durable: bool,
        future: concurrent.futures.Future[Any] | None,
    ) -> None:
        self.call = call
        self.durable = durable
        self.future = future


class JournalWriter:
    """Applies ``journal``'s writes in a thread, in order and in batches (module docstring).

    Create it on the event loop that uses it (``on_error`` is called there); ``close()`` applies
    what is queued and ends the thread (the journal stays open).
    """

    def __init__(
        self,
        journal: Journal,
        *,
        on_error: Callable[[JournalError], object] | None = None,
        hold: Callable[[], AbstractContextManager[object]] | None = None,
        max_batch: int = 1_000,
        thread: bool = True,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.journal = journal
        self.stats = WriterStats()
        self._on_error = on_error
        self._hold = hold
        self._max_batch = max_batch
        # The caller's side takes no lock: ``SimpleQueue.put`` is atomic; the counters say when
        # everything submitted has been applied (``drain``).
        self._queue: queue.SimpleQueue[_Op | None] = queue.SimpleQueue()
        self._submitted = 0  # written by the submitting thread (the event loop's)
        self._applied = 0  # written by the writer thread, under _cond
        self._cond = threading.Condition()
        self._closing = False
        self._error: JournalError | None = None
        self._sequences: dict[str, int] = {}
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self._thread: threading.Thread | None = None
        if thread:
            self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
            self._thread.start()

    # -- writes (queued) ---------------------------------------------------------------------

    async def insert_order(self, row: OrderRow) -> None:
        """Journal a new order; returns once it is committed (fsynced with ``durable_orders``)."""
        if self._thread is None:  # inline: committed (and fsynced) before ``_submit`` returns
            self._submit(functools.partial(self.journal.insert_order, row), True)
            return
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._submit(functools.partial(self.journal.insert_order, row), True, future)
        if future.done():  # inline: already committed (no event loop needed, e.g. ``drive``)
            future.result()
            return
        hold = self._hold() if self._hold is not None else nullcontext()
        with hold:
            await asyncio.wrap_future(future)

    def insert_order_nowait(self, row: OrderRow) -> None:
        """Journal an order that is not sent (refused before sending); queued."""
        self._write(self.journal.insert_order, row)

    def update_order(self, client_id: str, *, updated_at: float, **fields: Any) -> None:
        """Queue ``Journal.update_order``."""
        self._write(self.journal.update_order, client_id, updated_at=updated_at, **fields)

    def upsert_position(self, row: PositionRow) -> None:
        """Queue ``Journal.upsert_position``."""
        self._write(self.journal.upsert_position, row)

    def close_position(self, ticket: int, **outcome: Any) -> None:
        """Queue ``Journal.close_position`` (keyword arguments as there)."""
        self._write(self.journal.close_position, ticket, **outcome)

    def rekey_position(self, old_ticket: int, new_ticket: int) -> None:
        """Queue ``Journal.rekey_position``."""
        self._write(self.journal.rekey_position, old_ticket, new_ticket)

    def record_deal(self, row: DealRow) -> None:
        """Queue ``Journal.record_deal`` (a deal already journaled is ignored)."""
        self._write(self.journal.record_deal, row)

    def record_event(
        self, type: str, correlation_id: str | None, payload: dict[str, Any] | None, time: float
    ) -> None:
        """Queue ``Journal.record_event``; a payload that is not JSON raises here, at once."""
        text = Journal.encode_payload(type, payload)
        self._write(self.journal.record_event_text, type, correlation_id, text, time)

    def put_state(self, key: str, value: bytes, *, updated_at: float | None = None) -> None:
        """Queue ``Journal.put_state``."""
        self._write(self.journal.put_state, key, bytes(value), updated_at=updated_at)

    def next_sequence(self, name: str) -> int:
        """The next value of a persistent counter (as ``Journal.next_sequence``); the increment
        is queued, and committed at the latest with the next durable order row."""
        current = self._sequences.get(name)
        if current is None:
            self.drain()
            current = self.journal.current_sequence(name)
        self._sequences[name] = current + 1
        self._write(self.journal.advance_sequence, name, current + 1)
        return current + 1

    # -- reads (after the queue) -------------------------------------------------------------

    def orders(self, states: Iterable[str] | None = None) -> list[OrderRow]:
        """``Journal.orders``, after every queued write."""
        self.drain()
        return self.journal.orders(states)

    def get_order(self, client_id: str) -> OrderRow | None:
        """``Journal.get_order``, after every queued write."""
        self.drain()
        return self.journal.get_order(client_id)

    def open_positions(self, symbol: str | None = None) -> list[PositionRow]:
        """``Journal.open_positions``, after every queued write."""
        self.drain()
        return self.journal.open_positions(symbol)

    def get_position(self, ticket: int) -> PositionRow | None:
        """``Journal.get_position``, after every queued write."""
        self.drain()
        return self.journal.get_position(ticket)

    # -- flushing and closing ----------------------------------------------------------------

    def drain(self) -> None:
        """Block until every queued write is committed; raise the writer's error if it failed."""
        started = time.perf_counter()
        target = self._submitted
        with self._cond:
            while self._applied < target and self._error is None:
                self._cond.wait()
            self.stats.caller_seconds += time.perf_counter() - started
            if self._error is not None:
                raise self._error

    async def flush(self) -> None:
        """Wait (without blocking the loop) until every write queued so far is committed."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._submit(lambda: None, False, future)
        if future.done():
            return
        hold = self._hold() if self._hold is not None else nullcontext()
        with hold:
            await asyncio.wrap_future(future)

    def close(self) -> None:
        """Apply what is queued and end the thread; idempotent. Raises the writer's error."""
        if self._thread is not None and not self._closing:
            self._closing = True
            self._queue.put(None)  # after everything queued: the thread applies it, then ends
        self._closing = True
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called."""
        return self._closing

    @property
    def error(self) -> JournalError | None:
        """The failure that stopped the writer, if any."""
        return self._error

    def pending(self) -> int:
        """Writes queued and not committed yet."""
        return self._submitted - self._applied

    # -- the thread --------------------------------------------------------------------------

    def _write(self, function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """A write nobody awaits: ``_submit`` of ``function(*args, **kwargs)``; inline (no
        thread), applied at once without wrapping it first (the backtest's every write)."""
        if self._thread is not None or self._error is not None or self._closing:
            self._submit(functools.partial(function, *args, **kwargs))
            return
        started = time.perf_counter()
        self._submitted += 1
        try:
            function(*args, **kwargs)
            self._applied_one(False)
        except BaseException as exc:
            self._failed([_Op(functools.partial(function, *args, **kwargs), False, None)], exc)
            raise self._error or exc from None
        finally:
            self.stats.caller_seconds += time.perf_counter() - started

    def _submit(
        self,
        call: Callable[[], Any],
        durable: bool = False,
        future: concurrent.futures.Future[Any] | None = None,
    ) -> None:
        started = time.perf_counter()
        if self._error is not None:
            raise self._error
        if self._closing:
            raise JournalError(f"{self.journal.path}: the journal writer is closed")
        self._submitted += 1
        if self._thread is None:  # inline: apply it now, on the caller's thread
            try:
                if durable and self.journal.durable_orders:
                    self._apply([_Op(call, durable, future)])
                else:  # one write, atomic on its own (see ``_apply``): the short path
                    result = call()
                    self._applied_one(durable)
                    if future is not None:
                        future.set_result(result)
            except BaseException as exc:
                self._failed([_Op(call, durable, future)], exc)
                raise self._error or exc from None
            finally:
                self.stats.caller_seconds += time.perf_counter() - started
            return
        op = _Op(call, durable, future)
        self._queue.put(op)
        if self._error is not None:  # failed meanwhile: the thread may have drained already
            self._fail_queued()
        self.stats.caller_seconds += time.perf_counter() - started

    def _run(self) -> None:
        get, get_nowait, limit = self._queue.get, self._queue.get_nowait, self._max_batch
        while True:
            first = get()
            if first is None:
                return
            batch = [first]
            closing = False
            while len(batch) < limit:
                try:
                    op = get_nowait()
                except queue.Empty:
                    break
                if op is None:
                    closing = True
                    break
                batch.append(op)
            try:
                self._apply(batch)
            except BaseException as exc:  # reported (on_error, every later call), never lost
                self._failed(batch, exc)
                return
            if closing:
                return

    def _apply(self, batch: list[_Op]) -> None:
        durable = any(op.durable for op in batch)
        journal = self.journal
        if len(batch) == 1 and not (durable and journal.durable_orders):
            # One write: each of the journal's writes is atomic on its own (one statement in
            # autocommit, or its own transaction), so it needs no BEGIN/COMMIT around it.
            results = [batch[0].call()]
        else:
            results = []
            with journal.batch(durable=durable):
                for op in batch:
                    results.append(op.call())
        stats = self.stats
        stats.writes += len(batch)
        stats.commits += 1
        stats.durable_commits += durable
        if len(batch) > stats.largest_batch:
            stats.largest_batch = len(batch)
        with self._cond:
            self._applied += len(batch)
            self._cond.notify_all()
        for op, result in zip(batch, results, strict=True):
            if op.future is not None:
                op.future.set_result(result)

    def _applied_one(self, durable: bool) -> None:
        """Count one write applied inline (no other thread waits on ``_cond``: no lock)."""
        stats = self.stats
        stats.writes += 1
        stats.commits += 1
        stats.durable_commits += durable
        if stats.largest_batch < 1:
            stats.largest_batch = 1
        self._applied += 1

    def _failed(self, batch: list[_Op], exc: BaseException) -> None:
        error = (
            exc
            if isinstance(exc, JournalError)
            else JournalError(f"{self.journal.path}: journal write failed: {exc!r}")
        )
        if error is not exc:
            error.__cause__ = exc
        with self._cond:
            self._error = error
            self._cond.notify_all()
        lost = [*batch, *self._take_queued()]
        logger.error("journal writer stopped: {} ({} writes not committed)", error, len(lost))
        # on_error first: it runs on the loop before any awaiting caller resumes
        if self._on_error is not None and self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._on_error, error)
        self._fail(lost)

    def _take_queued(self) -> list[_Op]:
        """What is still queued (never to be applied)."""
        taken: list[_Op] = []
        while True:
            try:
                op = self._queue.get_nowait()
            except queue.Empty:
                return taken
            if op is not None:
                taken.append(op)

    def _fail_queued(self) -> None:
        self._fail(self._take_queued())

    def _fail(self, ops: list[_Op]) -> None:
        error = self._error or JournalError(f"{self.journal.path}: the journal writer failed")
        for op in ops:
            if op.future is not None and not op.future.done():
                op.future.set_exception(error)
