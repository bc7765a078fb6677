"""Risk latches live in the journal: a restart does not lift a halt, ``risk reset-halt`` does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trading_engine.cli import app
from trading_engine.events import OrderFilledEvent, TradingBlockedEvent
from trading_engine.execution.risk import RiskLimits, RiskRules, RiskState
from trading_engine.execution.risk_store import load_risk, save_risk
from trading_engine.journal.store import Journal

from .conftest import collect, engine, make_config, sim_clock, strategy

pytestmark = pytest.mark.timeout(90)


def _halted_by_drawdown(journal_path: Path, now: float) -> None:
    """A journal whose stored risk state is a drawdown halt (peak 10,000, equity 4,000)."""
    rules = RiskRules(RiskLimits(max_drawdown_pct=50.0))
    rules.on_account(10_000.0, 10_000.0, now)
    rules.on_account(4_000.0, 4_000.0, now + 60)
    assert rules.state is RiskState.HALTED
    with Journal.open(journal_path) as journal:
        save_risk(journal, rules, now)


async def test_a_drawdown_halt_survives_a_restart(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    cfg = make_config(journal, [strategy("script", "Scripted", enter_at=[3])])
    _halted_by_drawdown(journal, sim_clock(cfg).time() - 86_400)
    eng = engine(cfg, max_bars=6)
    events = collect(eng, OrderFilledEvent, TradingBlockedEvent)
    async with eng:
        assert eng.risk.state is RiskState.HALTED
        await eng.run()
    assert [type(e).__name__ for e in events] == ["TradingBlockedEvent"]
    assert events[0].rule == "max_drawdown"


async def test_the_risk_state_is_saved_at_each_entry(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    cfg = make_config(journal, [strategy("script", "Scripted", enter_at=[3])])
    async with engine(cfg, max_bars=6) as eng:
        await eng.run()
        peak = eng.risk.stats()["peak_equity"]
    with Journal.open(journal) as j:
        rules = RiskRules(RiskLimits())
        assert load_risk(j, rules)
    assert rules.stats()["peak_equity"] == peak == 10_000.0


def test_risk_status_and_reset_halt_on_the_command_line(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    config = tmp_path / "c.yaml"
    config.write_text(
        f"trading: {{symbol: EURUSD, timeframes: [M1]}}\njournal: {{path: {journal}}}\n"
        "risk: {max_drawdown_pct: 50, daily_loss_limit: 100000}\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    missing = runner.invoke(app, ["risk", "status", "--config", str(config)])
    assert missing.exit_code == 6
    assert "no such journal" in missing.output
    _halted_by_drawdown(journal, 1_704_844_800.0)
    status = runner.invoke(app, ["risk", "status", "--config", str(config)])
    assert status.exit_code == 0, status.output
    shown = json.loads(status.output)
    assert shown["state"] == "HALTED"
    assert shown["drawdown_pct"] == pytest.approx(60.0)
    assert "drawdown" in shown["halt_reason"]
    reset = runner.invoke(app, ["risk", "reset-halt", "--config", str(config)])
    assert reset.exit_code == 0, reset.output
    assert "HALTED -> ACTIVE" in reset.output
    after = json.loads(runner.invoke(app, ["risk", "status", "--config", str(config)]).output)
    assert after["state"] == "ACTIVE"
    assert after["peak_equity"] == 4_000.0


def test_a_corrupt_stored_risk_state_is_a_journal_error(tmp_path: Path) -> None:
    from trading_engine.errors import JournalError

    with Journal.open(tmp_path / "j.db") as journal:
        journal.put_state("risk", b"{not json")
        with pytest.raises(JournalError, match="state 'risk'"):
            load_risk(journal, RiskRules(RiskLimits()))
        journal.put_state("risk", json.dumps({"version": 1}).encode())
        with pytest.raises(JournalError, match="state 'risk'"):
            load_risk(journal, RiskRules(RiskLimits()))


async def test_the_account_at_stop_is_in_the_stored_risk_state(tmp_path: Path) -> None:
    """A position left open at stop: the stored state shows the account as the run left it,
    not as the last entry saw it."""
    journal = tmp_path / "j.db"
    cfg = make_config(journal, [strategy("script", "Scripted", enter_at=[3])])
    async with engine(cfg, max_bars=40) as eng:
        await eng.run()
        at_entry = eng.risk.stats()["equity"]
    assert eng.terminal.initialize()  # the engine shut it down: the clock has not moved since
    account = eng.terminal.account_info()
    assert eng.terminal.positions_total() == 1
    with Journal.open(journal) as j:
        rules = RiskRules(RiskLimits())
        assert load_risk(j, rules)
    assert rules.stats()["equity"] == float(account.equity) != at_entry
