"""What the engine books for a fill is what the terminal filled: price, volume and stops."""

from __future__ import annotations

from pathlib import Path

from trading_engine.events import OrderFilledEvent
from trading_engine.journal import Journal

from .conftest import collect, engine, make_config, sim_clock, sim_terminal, strategy


async def test_fills_are_booked_at_the_deal_price_with_slippage(tmp_path: Path) -> None:
    config = make_config(
        tmp_path / "j.db",
        [strategy("s", "Scripted", enter_at=[2, 12, 22], exit_at=[8, 18, 28], sl_points=300)],
    )
    clock = sim_clock(config)
    terminal = sim_terminal(config, clock, slippage_points=7)
    eng = engine(config, clock=clock, terminal=terminal, max_bars=40)
    fills = collect(eng, OrderFilledEvent)
    async with eng:
        await eng.run()
    terminal.initialize()  # the engine shut its connection down on stop

    assert len(fills) == 3  # the entries (a close is a PositionClosedEvent)
    for fill in fills:
        deals = terminal.history_deals_get(position=fill.position_ticket)
        by_order = {int(d.order): d for d in deals}
        with Journal.open(tmp_path / "j.db") as journal:
            row = journal.get_order(fill.client_id)
        assert row is not None
        deal = by_order[row.order_ticket]
        assert fill.price == deal.price
        assert row.fill_price == deal.price
    with Journal.open(tmp_path / "j.db") as journal:
        for position in journal.closed_positions():
            opening = terminal.history_deals_get(position=position.ticket)[0]
            assert position.price_open == opening.price
            order = terminal.history_orders_get(ticket=int(opening.order))[0]
            assert position.sl == (order.sl or None)
