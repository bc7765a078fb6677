"""What the trader asks the terminal per order, against the simulator: nothing it already knows
(a hedging fill's position ticket), and everything it does not (a netting fill's position, a
close booked elsewhere meanwhile)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from trading_engine import mt5sim
from trading_engine.clock import SimClock
from trading_engine.config import ConfigLoader, SystemConfig
from trading_engine.events import EntrySignalEvent, PositionClosedEvent, Side
from trading_engine.execution import trader as trader_module
from trading_engine.execution.risk import RiskLimits, RiskRules
from trading_engine.execution.trader import ExecutionStats, Trader
from trading_engine.journal import Journal, JournalWriter
from trading_engine.model.position import Portfolio
from trading_engine.runtime.hub import EventHub
from trading_engine.terminal.factory import open_terminal
from trading_engine.terminal.port import TerminalPort

MAGIC = 20261203


def config(account_mode: str) -> SystemConfig:
    return ConfigLoader.load(
        None,
        overrides={
            "trading.symbols": ["EURUSD"],
            "trading.timeframes": ["M1"],
            "trading.magic": MAGIC,
            "terminal.sim.start": "2024-01-10T10:00:00Z",
            "terminal.sim.history_days": 2,
            "terminal.sim.seed": 7,
            "terminal.sim.account_mode": account_mode,
        },
        environ={},
    )


@dataclass
class Rig:
    terminal: Any
    port: TerminalPort
    journal: Journal
    writer: JournalWriter
    portfolio: Portfolio
    hub: EventHub
    stats: ExecutionStats
    clock: SimClock
    cfg: SystemConfig

    def trader(self) -> Trader:
        """A trader over the rig's shared port, journal, portfolio and counters (as the engine
        builds one per start of its execution service)."""
        return Trader(
            port=self.port,
            journal=self.writer,
            portfolio=self.portfolio,
            risk=RiskRules(RiskLimits.model_validate(self.cfg.risk, from_attributes=True)),
            trading=self.cfg.trading,
            hub=self.hub,
            stats=self.stats,
            clock=self.clock,
        )

    def calls(self, name: str) -> int:
        return int(self.port.metrics()["calls_by_function"].get(name, 0))


async def rig(account_mode: str) -> Rig:
    cfg = config(account_mode)
    clock = SimClock(cfg.terminal.sim.start.timestamp())
    terminal, _ = open_terminal(cfg.terminal, clock, cfg.trading.symbols)
    port = TerminalPort(terminal, clock=clock, in_process=True)
    await port.connect()
    journal = Journal.open(":memory:", durable_orders=False)
    writer = JournalWriter(journal, thread=False)
    return Rig(
        terminal, port, journal, writer, Portfolio(), EventHub(), ExecutionStats(), clock, cfg
    )


@pytest.fixture
async def hedging() -> AsyncIterator[Rig]:
    r = await rig("hedging")
    yield r
    r.writer.close()
    r.journal.close()


@pytest.fixture
async def netting() -> AsyncIterator[Rig]:
    r = await rig("netting")
    yield r
    r.writer.close()
    r.journal.close()


def buy(correlation_id: str) -> EntrySignalEvent:
    return EntrySignalEvent(
        correlation_id, 0.0, "EURUSD", 1, "s", Side.BUY, 1.1, None, None, 0.1, "test"
    )


async def test_a_hedging_fill_is_booked_under_the_order_ticket_without_asking_for_positions(
    hedging: Rig,
) -> None:
    trader = hedging.trader()
    await trader.enter(buy("c1"))
    (ticket,) = hedging.portfolio.positions
    (position,) = hedging.terminal.positions_get()
    assert ticket == int(position.ticket)  # the order's ticket is the position's, as MT5 gives
    assert hedging.calls("order_send") == 1
    assert hedging.calls("positions_get") == 0
    assert hedging.journal.get_position(ticket) is not None


async def test_a_netting_fill_asks_the_terminal_which_position_it_changed(netting: Rig) -> None:
    trader = netting.trader()
    await trader.enter(buy("c1"))
    await trader.enter(buy("c2"))  # netting: the same one position, now 0.2 lots
    (position,) = netting.terminal.positions_get()
    assert list(netting.portfolio.positions) == [int(position.ticket)]
    assert netting.calls("positions_get") >= 2
    assert netting.portfolio.positions[int(position.ticket)].volume == pytest.approx(0.2)


async def test_a_close_is_booked_once_when_another_trader_booked_it_meanwhile(
    hedging: Rig,
) -> None:
    first, second = hedging.trader(), hedging.trader()
    closed: list[PositionClosedEvent] = []
    hedging.hub.subscribe(closed.append, PositionClosedEvent)
    await first.enter(buy("c1"))
    (position,) = hedging.portfolio.positions.values()
    assert await first.close(position, "signal", "c2")
    assert hedging.terminal.positions_get() == ()
    # the second trader books the same close from the deals: the journal says it is booked
    await second._book_close(position, "closed", "c3")
    assert hedging.stats.positions_closed == 1
    assert [e.position_ticket for e in closed] == [position.ticket]
    row = hedging.journal.get_position(position.ticket)
    assert row is not None
    assert (row.state, row.close_reason) == ("closed", "signal")
    assert len(hedging.journal.deals_for(position_ticket=position.ticket)) == 2


def test_the_trader_knows_a_hedging_account_by_the_metatrader5_constant() -> None:
    assert trader_module._HEDGING == mt5sim.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING
