"""The fast engine's journal: an in-memory one (one transaction for the run, no event log) and a
kept one (each write committed, the events journaled) give the same run, and the kept journal
holds what recovery and the report read: every order, position and deal, and the events."""

from __future__ import annotations

from pathlib import Path

from tests.integration.conftest import make_config

from trading_engine.backtest.engine import BacktestEngine
from trading_engine.journal import Journal


def test_a_kept_journal_and_an_in_memory_one_give_the_same_run(tmp_path: Path) -> None:
    params = {"regime_filter": False, "sl_atr": 0, "tp_atr": 0, "volume": 0.1}
    cfg = make_config(
        tmp_path / "unused.db",
        [{"name": "ema_cross", "class_path": "ema_cross", "params": params}],
        **{"services.indicator_calculation.warmup_bars": 300, "logging.level": "ERROR"},
    )
    kept = tmp_path / "kept.db"
    in_memory = BacktestEngine(cfg, bars=900).run()
    on_file = BacktestEngine(cfg, bars=900, journal=kept).run()
    assert in_memory.counts["orders"] >= 20
    assert on_file.fingerprint == in_memory.fingerprint
    with Journal.open(kept) as journal:
        orders = journal.orders()
        assert len(orders) == on_file.counts["orders"]
        assert all(row.state == "filled" for row in orders)
        closed = journal.closed_positions()
        assert len(closed) == len(on_file.trades)
        assert len(journal.deals_for()) == 2 * len(closed) + on_file.open_positions
        assert journal.current_sequence("client_id") == len(orders)
        placed = journal.events(type="OrderPlacedEvent")
        assert len(placed) == on_file.counts["fills"]
        assert [e.payload["client_id"] for e in placed] == [row.client_id for row in orders]
        assert len(journal.events(type="PositionClosedEvent")) == len(closed)
