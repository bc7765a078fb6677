"""The simulated terminal's execution model and faults, scripted from the engine's config."""

from __future__ import annotations

from pathlib import Path

import pytest

from trading_engine.events import OrderFilledEvent

from .conftest import collect, engine, make_config, strategy


async def test_config_scripted_disconnect_and_commission_reach_the_engine(tmp_path: Path) -> None:
    config = make_config(
        tmp_path / "j.db",
        [strategy("s", "Scripted", enter_at=[3], exit_at=[30])],
        **{
            "terminal.sim.slippage_points": 20,
            "terminal.sim.commission_per_lot": 7.0,
            "terminal.sim.faults": [
                {"kind": "disconnect", "calls": 3, "start": "2024-01-10T00:10:00Z"}
            ],
        },
    )
    eng = engine(config, max_bars=40)
    fills = collect(eng, OrderFilledEvent)
    async with eng:
        summary = await eng.run()
        deals = eng.terminal.history_deals_get(position=fills[0].position_ticket)

    assert eng.port.metrics()["reconnects"] >= 1  # the scripted disconnect happened, and passed
    assert summary.bars == 40
    assert sum(d.commission for d in deals) == pytest.approx(-7.0 * 0.1 * 2)  # in and out, 0.1 lot


async def _entry_fills(tmp_path: Path, slippage: int) -> list[OrderFilledEvent]:
    config = make_config(
        tmp_path / f"slip{slippage}.db",
        [strategy("s", "Scripted", enter_at=[3, 13, 23], exit_at=[10, 20, 30])],
        **{"terminal.sim.slippage_points": slippage},
    )
    eng = engine(config, max_bars=35)
    fills = collect(eng, OrderFilledEvent)
    async with eng:
        await eng.run()
    return fills


async def test_configured_slippage_moves_the_fill_prices_against_us(tmp_path: Path) -> None:
    exact = await _entry_fills(tmp_path, 0)
    slipped = await _entry_fills(tmp_path, 20)

    point = 0.00001  # EURUSD
    assert len(exact) == len(slipped) == 3
    worse = []
    for a, b in zip(exact, slipped, strict=True):
        assert a.side == b.side
        loss = (b.price - a.price) if a.side == "buy" else (a.price - b.price)
        assert -1e-9 <= loss <= 20 * point + 1e-9  # adverse, at most the configured points
        worse.append(loss > 1e-9)
    assert any(worse)  # the seeded slippage moved at least one fill
