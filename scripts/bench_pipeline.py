"""Measure a 4-stage asyncio pipeline built on each queue kind, ``Channel`` included.

Method of docs/performance.md: every implementation runs once per round, in an order rotated each
round, for N rounds (N >= 7); the figures are min / median / max over rounds and the median of the
per-round ratios. Each run is checked (the sink's total must be exact) before its time counts.

Pipeline: a source task sends ``--messages`` ints into queue 1; stages 1-3 each receive, add 1 and
send on; stage 4 (the sink) adds 1 and sums. Four queues of ``--maxsize`` items, four stages.

- ``plain calls``: the same four steps as nested function calls, no queue (the floor).
- ``asyncio.Queue await``: ``await put`` / ``await get``.
- ``asyncio.Queue nowait``: ``put_nowait`` / ``get_nowait``, awaiting only when full or empty.
- ``anyio nowait``: memory object streams, ``send_nowait`` / ``receive_nowait`` likewise.
- ``Channel``: ``trading_engine.runtime.Channel`` as services use it (``await send``,
  ``async for``).
- ``Channel nowait``: ``send_nowait`` / ``receive_nowait``, awaiting only when full or empty.
- ``Channel supervised``: the same stage loops as ``Service.run`` under a ``Supervisor``.
- ``Channel delivery once``: the stages as the engine's run them, ``runtime.relay`` over
  ``channel.consumer()`` (each message acknowledged when its output is sent; what it costs to
  lose nothing when a stage restarts).

Throughput is saturated (the source never waits for the sink). Latency is unloaded: one message
in flight, the sink measures source-to-sink time, then lets the source send the next. Both are
measured with the default GC and with ``gc.freeze()`` before the timed part, on the default event
loop and on uvloop when it is installed.

    python scripts/bench_pipeline.py [--messages 1000000] [--rounds 7] [--latency-samples 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import statistics
import subprocess
import time
from array import array
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from trading_engine.clock import LiveClock
from trading_engine.errors import ChannelClosed
from trading_engine.runtime import (
    Channel,
    ChildSpec,
    Consumer,
    Receiver,
    Sender,
    Service,
    Supervisor,
    relay,
)

STAGES = 4
perf_counter = time.perf_counter

# A runner builds its pipeline, waits for ``go``, and returns (elapsed seconds, sink result).
# Throughput sinks return the sum; latency sinks return the samples.
Runner = Callable[[int, bool], Awaitable[tuple[float, Any]]]


def expected_total(n: int) -> int:
    return n * (n - 1) // 2 + STAGES * n


# -- plain calls ------------------------------------------------------------------------------


def step(x: Any) -> Any:
    return x + 1


async def run_plain(n: int, latency: bool) -> tuple[float, Any]:
    if latency:
        samples = array("d")
        started = perf_counter()
        for _ in range(n):
            t0 = perf_counter()
            x = step(step(step(step(t0))))
            samples.append(perf_counter() - (x - STAGES))
        return perf_counter() - started, samples
    total = 0
    started = perf_counter()
    for i in range(n):
        total += step(step(step(step(i))))
    return perf_counter() - started, total


# -- shared source and sink shapes ------------------------------------------------------------


class Ack:
    """The sink tells the latency source that the message arrived (same for every kind)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()


def signals(latency: bool) -> tuple[asyncio.Future[None], asyncio.Future[Any], Ack | None]:
    """``go`` (the source starts), ``done`` (the sink's result) and, for latency, the ``Ack``."""
    loop = asyncio.get_running_loop()
    return loop.create_future(), loop.create_future(), Ack() if latency else None


async def timed(
    go: asyncio.Future[None], done: asyncio.Future[Any], finish: Callable[[], Awaitable[Any]]
) -> tuple[float, Any]:
    await asyncio.sleep(0)  # let every stage reach its first wait
    started = perf_counter()
    go.set_result(None)
    result = await done
    elapsed = perf_counter() - started
    await finish()
    return elapsed, result


# (the end a stage sends on, the end the next stage receives from), one per queue
Links = list[tuple[Any, Any]]


def pipeline_runner(
    links: Callable[[int], Links],
    source: Callable[..., Coroutine[Any, Any, None]],
    stage: Callable[..., Coroutine[Any, Any, None]],
    sink: Callable[..., Coroutine[Any, Any, None]],
    close: Callable[[Links], None] | None = None,
) -> Runner:
    """A runner of ``source``, ``STAGES - 1`` stages and ``sink`` as tasks over ``links(maxsize)``
    (``close`` runs on them at the end)."""

    async def run(n: int, latency: bool, maxsize: int = 256) -> tuple[float, Any]:
        go, done, ack = signals(latency)
        ends = links(maxsize)
        tasks = [asyncio.create_task(source(ends[0][0], n, go, ack))]
        tasks += [asyncio.create_task(stage(ends[i][1], ends[i + 1][0])) for i in range(STAGES - 1)]
        tasks.append(asyncio.create_task(sink(ends[-1][1], done, ack)))
        try:
            return await timed(go, done, lambda: asyncio.gather(*tasks))
        finally:
            if close is not None:
                close(ends)

    return run


# -- asyncio.Queue, await ---------------------------------------------------------------------


async def q_source_await(
    out: asyncio.Queue[Any], n: int, go: asyncio.Future[None], ack: Ack | None
) -> None:
    await go
    if ack is None:
        for i in range(n):
            await out.put(i)
    else:
        for _ in range(n):
            ack.event.clear()
            await out.put(perf_counter())
            await ack.event.wait()
    await out.put(None)


async def q_stage_await(inbox: asyncio.Queue[Any], out: asyncio.Queue[Any]) -> None:
    while True:
        x = await inbox.get()
        if x is None:
            await out.put(None)
            return
        await out.put(x + 1)


async def q_sink_await(
    inbox: asyncio.Queue[Any], done: asyncio.Future[Any], ack: Ack | None
) -> None:
    if ack is None:
        total = 0
        while (x := await inbox.get()) is not None:
            total += x + 1
        done.set_result(total)
        return
    samples = array("d")
    while (x := await inbox.get()) is not None:
        samples.append(perf_counter() - (x + 1 - STAGES))
        ack.event.set()
    done.set_result(samples)


# -- asyncio.Queue, nowait fast path ----------------------------------------------------------


async def q_source_nowait(
    out: asyncio.Queue[Any], n: int, go: asyncio.Future[None], ack: Ack | None
) -> None:
    await go
    if ack is None:
        for i in range(n):
            try:
                out.put_nowait(i)
            except asyncio.QueueFull:
                await out.put(i)
    else:
        for _ in range(n):
            ack.event.clear()
            out.put_nowait(perf_counter())
            await ack.event.wait()
    await out.put(None)


async def q_stage_nowait(inbox: asyncio.Queue[Any], out: asyncio.Queue[Any]) -> None:
    while True:
        try:
            x = inbox.get_nowait()
        except asyncio.QueueEmpty:
            x = await inbox.get()
        if x is None:
            await out.put(None)
            return
        try:
            out.put_nowait(x + 1)
        except asyncio.QueueFull:
            await out.put(x + 1)


async def q_sink_nowait(
    inbox: asyncio.Queue[Any], done: asyncio.Future[Any], ack: Ack | None
) -> None:
    total = 0
    samples = array("d")
    while True:
        try:
            x = inbox.get_nowait()
        except asyncio.QueueEmpty:
            x = await inbox.get()
        if x is None:
            break
        if ack is None:
            total += x + 1
        else:
            samples.append(perf_counter() - (x + 1 - STAGES))
            ack.event.set()
    done.set_result(total if ack is None else samples)


def queue_links(maxsize: int) -> Links:
    queues: list[asyncio.Queue[Any]] = [asyncio.Queue(maxsize) for _ in range(STAGES)]
    return [(q, q) for q in queues]


# -- anyio memory object streams, nowait fast path --------------------------------------------


async def a_source(
    out: MemoryObjectSendStream[Any], n: int, go: asyncio.Future[None], ack: Ack | None
) -> None:
    await go
    if ack is None:
        for i in range(n):
            try:
                out.send_nowait(i)
            except anyio.WouldBlock:
                await out.send(i)
    else:
        for _ in range(n):
            ack.event.clear()
            out.send_nowait(perf_counter())
            await ack.event.wait()
    await out.aclose()


async def a_stage(inbox: MemoryObjectReceiveStream[Any], out: MemoryObjectSendStream[Any]) -> None:
    while True:
        try:
            x = inbox.receive_nowait()
        except anyio.WouldBlock:
            try:
                x = await inbox.receive()
            except anyio.EndOfStream:
                break
        except anyio.EndOfStream:
            break
        try:
            out.send_nowait(x + 1)
        except anyio.WouldBlock:
            await out.send(x + 1)
    await out.aclose()


async def a_sink(
    inbox: MemoryObjectReceiveStream[Any], done: asyncio.Future[Any], ack: Ack | None
) -> None:
    total = 0
    samples = array("d")
    while True:
        try:
            x = inbox.receive_nowait()
        except anyio.WouldBlock:
            try:
                x = await inbox.receive()
            except anyio.EndOfStream:
                break
        except anyio.EndOfStream:
            break
        if ack is None:
            total += x + 1
        else:
            samples.append(perf_counter() - (x + 1 - STAGES))
            ack.event.set()
    done.set_result(total if ack is None else samples)


def anyio_links(maxsize: int) -> Links:
    return [anyio.create_memory_object_stream[Any](maxsize) for _ in range(STAGES)]


def anyio_close(streams: Links) -> None:
    for send, receive in streams:
        send.close()
        receive.close()


# -- Channel ----------------------------------------------------------------------------------


async def c_source(out: Sender[Any], n: int, go: asyncio.Future[None], ack: Ack | None) -> None:
    await go
    if ack is None:
        for i in range(n):
            await out.send(i)
    else:
        for _ in range(n):
            ack.event.clear()
            await out.send(perf_counter())
            await ack.event.wait()
    out.close()


async def c_stage(inbox: Receiver[Any], out: Sender[Any]) -> None:
    async for x in inbox:
        await out.send(x + 1)
    out.close()


async def c_sink(inbox: Receiver[Any], done: asyncio.Future[Any], ack: Ack | None) -> None:
    if ack is None:
        total = 0
        async for x in inbox:
            total += x + 1
        done.set_result(total)
        return
    samples = array("d")
    async for x in inbox:
        samples.append(perf_counter() - (x + 1 - STAGES))
        ack.event.set()
    done.set_result(samples)


async def cn_source(out: Sender[Any], n: int, go: asyncio.Future[None], ack: Ack | None) -> None:
    await go
    if ack is None:
        for i in range(n):
            if not out.send_nowait(i):
                await out.send(i)
    else:
        for _ in range(n):
            ack.event.clear()
            out.send_nowait(perf_counter())
            await ack.event.wait()
    out.close()


async def cn_stage(inbox: Receiver[Any], out: Sender[Any]) -> None:
    while True:
        try:
            x = inbox.receive_nowait()
        except asyncio.QueueEmpty:
            try:
                x = await inbox.receive()
            except ChannelClosed:
                break
        except ChannelClosed:
            break
        if not out.send_nowait(x + 1):
            await out.send(x + 1)
    out.close()


async def cn_sink(inbox: Receiver[Any], done: asyncio.Future[Any], ack: Ack | None) -> None:
    total = 0
    samples = array("d")
    while True:
        try:
            x = inbox.receive_nowait()
        except asyncio.QueueEmpty:
            try:
                x = await inbox.receive()
            except ChannelClosed:
                break
        except ChannelClosed:
            break
        if ack is None:
            total += x + 1
        else:
            samples.append(perf_counter() - (x + 1 - STAGES))
            ack.event.set()
    done.set_result(total if ack is None else samples)


def _plus_one(x: int) -> tuple[int]:
    return (x + 1,)


async def d_stage(inbox: Consumer[Any], out: Sender[Any]) -> None:
    await relay(inbox, out.send, _plus_one)
    out.close()


async def d_sink(inbox: Consumer[Any], done: asyncio.Future[Any], ack: Ack | None) -> None:
    total = 0
    samples = array("d")
    async for delivery in inbox:
        if ack is None:
            total += delivery.message + 1
        else:
            samples.append(perf_counter() - (delivery.message + 1 - STAGES))
            ack.event.set()
    done.set_result(total if ack is None else samples)


def delivery_links(maxsize: int) -> Links:
    channels = [Channel[Any](f"q{i}", maxsize) for i in range(STAGES)]
    return [(ch.sender, ch.consumer()) for ch in channels]


def channel_links(maxsize: int) -> Links:
    channels = [Channel[Any](f"q{i}", maxsize) for i in range(STAGES)]
    return [(ch.sender, ch.receiver) for ch in channels]


class Loop(Service):
    """A supervised service whose ``run()`` is one of the stage loops above."""

    def __init__(self, name: str, body: Callable[[], Awaitable[None]]) -> None:
        super().__init__(name)
        self._body = body

    async def run(self) -> None:
        await self._body()


async def run_supervised(n: int, latency: bool, maxsize: int = 256) -> tuple[float, Any]:
    go, done, ack = signals(latency)
    ch = [Channel[Any](f"q{i}", maxsize) for i in range(STAGES)]

    def spec(name: str, body: Callable[[], Awaitable[None]]) -> ChildSpec:
        return ChildSpec(name, lambda: Loop(name, body), restart="transient")

    specs = [spec("source", lambda: c_source(ch[0].sender, n, go, ack))]
    specs += [
        spec(f"stage{i + 1}", lambda i=i: c_stage(ch[i].receiver, ch[i + 1].sender))
        for i in range(STAGES - 1)
    ]
    specs.append(spec("sink", lambda: c_sink(ch[-1].receiver, done, ack)))
    supervisor = Supervisor("pipeline", specs, strategy="rest_for_one", clock=LiveClock())
    await supervisor.start()
    try:
        return await timed(go, done, supervisor.wait)
    finally:
        await supervisor.stop()


RUNNERS: dict[str, Runner] = {
    "plain calls": run_plain,
    "asyncio.Queue await": pipeline_runner(
        queue_links, q_source_await, q_stage_await, q_sink_await
    ),
    "asyncio.Queue nowait": pipeline_runner(
        queue_links, q_source_nowait, q_stage_nowait, q_sink_nowait
    ),
    "anyio nowait": pipeline_runner(anyio_links, a_source, a_stage, a_sink, anyio_close),
    "Channel": pipeline_runner(channel_links, c_source, c_stage, c_sink),
    "Channel nowait": pipeline_runner(channel_links, cn_source, cn_stage, cn_sink),
    "Channel supervised": run_supervised,
    "Channel delivery once": pipeline_runner(delivery_links, c_source, d_stage, d_sink),
}


# -- rounds -----------------------------------------------------------------------------------


@dataclass
class Figures:
    throughput: list[float]  # messages per second, one per round
    p50: list[float]  # microseconds
    p99: list[float]


def percentile(samples: array[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def one_run(runner: Runner, n: int, latency: bool, freeze: bool) -> tuple[float, Any]:
    gc.collect()
    if freeze:
        gc.freeze()
    try:
        return await runner(n, latency)
    finally:
        if freeze:
            gc.unfreeze()


async def measure(args: argparse.Namespace) -> dict[tuple[str, bool], Figures]:
    figures = {(name, freeze): Figures([], [], []) for freeze in (False, True) for name in RUNNERS}
    names = list(RUNNERS)
    for name in names:  # warm-up, and a check of every implementation on a small input
        elapsed, total = await RUNNERS[name](10_000, False)
        assert total == expected_total(10_000), (name, total)
    for round_no in range(args.rounds):
        order = names[round_no % len(names) :] + names[: round_no % len(names)]
        for freeze in (False, True):
            for name in order:
                elapsed, total = await one_run(RUNNERS[name], args.messages, False, freeze)
                assert total == expected_total(args.messages), (name, total)
                _, samples = await one_run(RUNNERS[name], args.latency_samples, True, freeze)
                assert len(samples) == args.latency_samples, name
                fig = figures[(name, freeze)]
                fig.throughput.append(args.messages / elapsed)
                fig.p50.append(percentile(samples, 0.50) * 1e6)
                fig.p99.append(percentile(samples, 0.99) * 1e6)
    return figures


def ratio(
    figures: dict[tuple[str, bool], Figures], a: str, b: str, freeze: bool, what: str
) -> tuple[float, float, float]:
    xs: list[float] = getattr(figures[(a, freeze)], what)
    ys: list[float] = getattr(figures[(b, freeze)], what)
    ratios = [x / y for x, y in zip(xs, ys, strict=True)]
    return min(ratios), statistics.median(ratios), max(ratios)


def report(
    figures: dict[tuple[str, bool], Figures], loop_name: str, args: argparse.Namespace
) -> None:
    for freeze in (False, True):
        gc_name = "gc.freeze()" if freeze else "default GC"
        print(f"\n== {loop_name}, {gc_name}: {args.messages:,} messages, {args.rounds} rounds")
        print(
            f"{'implementation':22} {'throughput msg/s min / median / max':>38}"
            f"   {'latency µs p50':>14} {'p99':>7}"
        )
        for name in RUNNERS:
            fig = figures[(name, freeze)]
            tp = fig.throughput
            print(
                f"{name:22} {min(tp):>12,.0f} {statistics.median(tp):>12,.0f} {max(tp):>12,.0f}"
                f"   {statistics.median(fig.p50):>14.2f} {statistics.median(fig.p99):>7.2f}"
            )
        await_, nowait, anyio_ = "asyncio.Queue await", "asyncio.Queue nowait", "anyio nowait"
        sup = "Channel supervised"
        checks = [
            ("Channel / asyncio.Queue nowait, msg/s", "Channel", nowait, "throughput", ">= 0.90"),
            ("Channel / asyncio.Queue await, msg/s", "Channel", await_, "throughput", ">= 1.40"),
            ("Channel / anyio nowait, msg/s", "Channel", anyio_, "throughput", ""),
            ("Channel nowait / anyio nowait, msg/s", "Channel nowait", anyio_, "throughput", ""),
            ("supervised / Channel, msg/s", sup, "Channel", "throughput", ">= 0.95"),
            ("delivery once / Channel, msg/s", "Channel delivery once", "Channel", "throughput",
             ""),
            ("Channel / asyncio.Queue await, p99", "Channel", await_, "p99", "<= 1.20"),
            ("Channel / asyncio.Queue await, p50", "Channel", await_, "p50", ""),
            ("supervised / asyncio.Queue await, p99", sup, await_, "p99", ""),
        ]  # fmt: skip
        print("median ratio of each round's pair (min - max):")
        for label, a, b, what, goal in checks:
            lo, mid, hi = ratio(figures, a, b, freeze, what)
            goal = f"goal {goal}x" if goal else ""
            print(f"  {label:40} {mid:5.2f}x  ({lo:.2f} - {hi:.2f})  {goal}")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    try:
        cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    except OSError:
        cores = "?"
    return f"{cores} cores, {cpu}, {platform.system()} {platform.machine()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--latency-samples", type=int, default=20_000)
    parser.add_argument("--no-uvloop", action="store_true", help="only the default event loop")
    args = parser.parse_args()

    loops: list[tuple[str, Callable[[], asyncio.AbstractEventLoop] | None]] = [
        ("default asyncio loop", None)
    ]
    uvloop_version = "not installed"
    if not args.no_uvloop:
        try:
            import uvloop

            loops.append(("uvloop", uvloop.new_event_loop))
            uvloop_version = version("uvloop")
        except ImportError:
            pass
    for loop_name, factory in loops:
        with asyncio.Runner(loop_factory=factory) as runner:
            figures = runner.run(measure(args))
        report(figures, loop_name, args)
    print(
        f"\nmachine: {machine()}; python {platform.python_version()},"
        f" anyio {version('anyio')}, uvloop {uvloop_version},"
        f" trading-engine {version('trading-engine')}"
    )


if __name__ == "__main__":
    main()
