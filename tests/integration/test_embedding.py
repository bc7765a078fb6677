"""Embedding: engines run inside the caller's event loop, several at once, without side effects."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest

from trading_engine.events import NewCandleEvent, OrderFilledEvent, PositionClosedEvent
from trading_engine.orchestrator import OrchestratorStatus, TradingOrchestrator

from .conftest import check_books, engine, make_config, strategy, strategy_of

pytestmark = pytest.mark.timeout(60)


def build(tmp_path: Path, name: str, symbol: str, seed: int) -> TradingOrchestrator:
    cfg = make_config(
        tmp_path / f"{name}.db",
        [strategy("script", "Scripted", enter_at=[5, 25], exit_at=[15, 35])],
        **{
            "trading.symbols": [symbol],
            "terminal.sim.seed": seed,
            "trading.magic": 20261125,
        },
    )
    return engine(cfg, max_bars=40)


async def run_one(eng: TradingOrchestrator) -> tuple[list[int], list[tuple[str, float]], Any]:
    trades: list[tuple[str, float]] = []
    eng.subscribe(OrderFilledEvent, lambda e: trades.append(("fill", e.price)))
    eng.subscribe(PositionClosedEvent, lambda e: trades.append(("close", e.profit)))
    async with eng:
        summary = await eng.run()
    times = list(strategy_of(eng, "script").times)  # type: ignore[attr-defined]
    return times, trades, summary


async def test_two_engines_run_side_by_side_in_one_event_loop(tmp_path: Path) -> None:
    alone_eur = await run_one(build(tmp_path / "alone", "eur", "EURUSD", 7))
    alone_gbp = await run_one(build(tmp_path / "alone", "gbp", "GBPUSD", 11))
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    eur = build(tmp_path, "eur", "EURUSD", 7)
    gbp = build(tmp_path, "gbp", "GBPUSD", 11)
    together_eur, together_gbp = await asyncio.gather(run_one(eur), run_one(gbp))

    # each engine did exactly what it does alone: same bars, same trades, same result
    assert together_eur[:2] == alone_eur[:2]
    assert together_gbp[:2] == alone_gbp[:2]
    assert together_eur[2].realized_pnl == alone_eur[2].realized_pnl
    assert together_gbp[2].realized_pnl == alone_gbp[2].realized_pnl
    for times, trades, summary in (together_eur, together_gbp):
        assert len(times) == 40
        assert summary.fills == 4
        assert summary.closed_positions == 2
        assert [kind for kind, _ in trades] == ["fill", "close"] * 2
    assert together_eur[0] != together_gbp[0] or together_eur[1] != together_gbp[1]
    assert eur.status is gbp.status is OrchestratorStatus.STOPPED
    # nothing global was touched: no signal handlers installed, the loop still runs
    assert {sig: signal.getsignal(sig) for sig in handlers} == handlers
    check_books(tmp_path / "eur.db", eur.terminal)
    check_books(tmp_path / "gbp.db", gbp.terminal)


async def test_engine_embeds_in_a_running_application_and_stops_on_request(
    tmp_path: Path,
) -> None:
    cfg = make_config(tmp_path / "j.db", [strategy("script", "Scripted", enter_at=[3])])
    eng = engine(cfg, max_bars=None)  # runs until asked to stop
    twelve_bars = asyncio.Event()
    seen: list[int] = []

    def on_candle(event: NewCandleEvent) -> None:
        seen.append(event.time)
        if len(seen) == 12:
            twelve_bars.set()

    async def application() -> str:
        # the host's own task, on the same loop, waiting on what the engine publishes
        await twelve_bars.wait()
        eng.request_stop()
        return "host done"

    eng.subscribe(NewCandleEvent, on_candle)
    async with eng:
        summary, host = await asyncio.gather(eng.run(), application())

    assert host == "host done"
    assert summary.bars == 12  # run() returned at the host's request, on that bar
    assert summary.fills == 1
    assert eng.status is OrchestratorStatus.STOPPED
