"""F7: a corrupt journal is refused when opened; a journal that cannot be written halts trading."""

from __future__ import annotations

from pathlib import Path

import pytest

from trading_engine.errors import JournalError
from trading_engine.events import OrderFilledEvent
from trading_engine.journal.store import Journal
from trading_engine.orchestrator import OrchestratorStatus

from .conftest import check_books, collect, engine, make_config, sim_clock, strategy

pytestmark = pytest.mark.timeout(90)


def test_a_journal_with_garbage_in_any_page_is_refused_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with Journal.open(path) as journal:
        for i in range(3_000):
            journal.record_event("Filler", None, {"i": i, "text": "x" * 40}, float(i))
    pristine = path.read_bytes()
    pages = len(pristine) // 4096
    assert pages > 50
    for page in range(1, pages, 5):
        damaged = bytearray(pristine)
        damaged[page * 4096 : (page + 1) * 4096] = bytes(range(256)) * 16  # 4 KB of garbage
        path.write_bytes(bytes(damaged))
        with pytest.raises(JournalError, match="corrupt journal"):
            Journal.open(path)
    path.write_bytes(pristine)
    with Journal.open(path) as journal:
        assert journal.event_count == 3_000


async def test_a_full_disk_halts_trading_with_a_journal_error(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    cfg = make_config(
        journal, [strategy("script", "Scripted", enter_at=[3, 8, 13, 18], exit_at=[6, 11, 16])]
    )
    clock = sim_clock(cfg)
    eng = engine(cfg, max_bars=30, clock=clock)
    fills = collect(eng, OrderFilledEvent)

    def fill_the_disk(event: OrderFilledEvent) -> None:
        if len(fills) == 2:  # from the second fill on, no page can be added to the file
            assert eng.journal is not None
            conn = eng.journal._conn
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {pages}")

    eng.subscribe(OrderFilledEvent, fill_the_disk)
    async with eng:
        with pytest.raises(JournalError, match="full"):
            await eng.run()
    assert eng.status is OrchestratorStatus.ERROR
    assert eng.data_state.emitted < 30  # it stopped, instead of trading on without its journal
    # Whatever reached the terminal is in the journal, or is found by the next start's
    # reconciliation: the engine sent nothing once a write had failed.
    restarted = engine(cfg, max_bars=1, clock=clock, terminal=eng.terminal)
    async with restarted:
        await restarted.run()
    check_books(journal, restarted.terminal)


async def test_a_close_booked_twice_is_booked_once(tmp_path: Path) -> None:
    """F1: a reconnect inside ``Trader.close()`` let the reconciliation book an SL close, then
    ``close()`` booked it again (two PositionClosedEvents, the P&L counted twice). Booking a
    position that is closed in the journal already does nothing."""
    from trading_engine.events import PositionClosedEvent
    from trading_engine.execution.books import open_position_from_row

    journal = tmp_path / "j.db"
    cfg = make_config(journal, [strategy("script", "Scripted", enter_at=[3], exit_at=[6])])
    eng = engine(cfg, max_bars=10)
    closed = collect(eng, PositionClosedEvent)
    async with eng:
        await eng.run()
        assert eng.journal is not None
        (row,) = eng.journal.closed_positions()
        stats = (eng.execution_stats.positions_closed, eng.execution_stats.realized_pnl)
        again = open_position_from_row(row)
        trader = eng._trader()
        await trader._book_close(again, "sl", "")  # what the reconciliation path does again
        assert (eng.execution_stats.positions_closed, eng.execution_stats.realized_pnl) == stats
    assert len(closed) == 1
    with Journal.open(journal) as j:
        assert len(j.closed_positions()) == 1
    check_books(journal, eng.terminal)
