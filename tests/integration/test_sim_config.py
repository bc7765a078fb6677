"""The simulated terminal's execution model and faults, scripted from the engine's config."""

from __future__ import annotations

from pathlib import Path

import pytest

from trading_engine.events import OrderFilledEvent

from .conftest import collect, engine, make_config, strategy


async def test_config_scripted_disconnect_and_slippage_reach_the_engine(tmp_path: Path) -> None:
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
    assert eng.terminal.config.slippage_points == 20
    assert sum(d.commission for d in deals) == pytest.approx(-7.0 * 0.1 * 2)  # in and out, 0.1 lot
