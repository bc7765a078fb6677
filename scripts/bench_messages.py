"""Measure the cost of building one pipeline message in each candidate type.

``docs/performance.md``, rule 7, and its method: the candidates run round-robin, N rounds, median
per candidate, ratios to the slotted dataclass (the type chosen for ``trading_engine.events``).
"""

from __future__ import annotations

import platform
import statistics
import timeit
from collections import namedtuple
from dataclasses import dataclass
from typing import NamedTuple


@dataclass(slots=True)
class Slotted:
    correlation_id: str
    timestamp: float
    symbol: str
    timeframe: int
    close: float


@dataclass(frozen=True, slots=True)
class FrozenSlotted:
    correlation_id: str
    timestamp: float
    symbol: str
    timeframe: int
    close: float


@dataclass
class Plain:
    correlation_id: str
    timestamp: float
    symbol: str
    timeframe: int
    close: float


class Typed(NamedTuple):
    correlation_id: str
    timestamp: float
    symbol: str
    timeframe: int
    close: float


Untyped = namedtuple("Untyped", "correlation_id timestamp symbol timeframe close")

CANDIDATES = {
    "slotted dataclass (chosen)": lambda: Slotted("c", 1.0, "EURUSD", 1, 1.1),
    "slotted, built with keywords": lambda: Slotted(
        correlation_id="c", timestamp=1.0, symbol="EURUSD", timeframe=1, close=1.1
    ),
    "frozen slotted dataclass": lambda: FrozenSlotted("c", 1.0, "EURUSD", 1, 1.1),
    "plain dataclass": lambda: Plain("c", 1.0, "EURUSD", 1, 1.1),
    "typing.NamedTuple": lambda: Typed("c", 1.0, "EURUSD", 1, 1.1),
    "collections.namedtuple": lambda: Untyped("c", 1.0, "EURUSD", 1, 1.1),
    "tuple": lambda: ("c", 1.0, "EURUSD", 1, 1.1),
}


def main(rounds: int = 9, number: int = 200_000) -> None:
    per_round: dict[str, list[float]] = {name: [] for name in CANDIDATES}
    for _ in range(rounds):
        for name, build in CANDIDATES.items():
            per_round[name].append(timeit.timeit(build, number=number) / number * 1e9)
    base = per_round["slotted dataclass (chosen)"]
    print(f"{'type':30} {'min':>7} {'median':>7} {'max':>7}  ratio to chosen (ns per message)")
    for name, times in per_round.items():
        ratios = [t / b for t, b in zip(times, base, strict=True)]
        print(
            f"{name:30} {min(times):7.0f} {statistics.median(times):7.0f} {max(times):7.0f}"
            f"  {statistics.median(ratios):.2f}x"
        )
    print(f"python {platform.python_version()} on {platform.machine()}, {rounds} rounds x {number}")


if __name__ == "__main__":
    main()
