"""The terminal section reaches the simulator and the port without a key lost on the way."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from trading_engine import mt5sim
from trading_engine.terminal.config import PortSettings, SimTerminalConfig, TerminalConfig
from trading_engine.terminal.factory import (
    _SIM_ACCOUNT_KEYS,
    _SIM_CONVERTED,
    port_settings,
    sim_config_of,
)


def test_every_sim_key_is_passed_through_or_converted() -> None:
    sim_fields = {f.name for f in dataclasses.fields(mt5sim.SimConfig)}

    for name in SimTerminalConfig.model_fields:
        assert name in sim_fields or name in _SIM_CONVERTED | _SIM_ACCOUNT_KEYS, name


def test_sim_config_carries_the_section_values() -> None:
    section = SimTerminalConfig(
        seed=11,
        balance=5_000.0,
        leverage=50,
        account_mode="netting",
        latency=0.5,
        slippage_points=3,
        requote_probability=0.25,
        commission_per_lot=7.0,
        market_mode="m1",
        server_utc_offset_hours=1,
        faults=[{"kind": "requote", "calls": 2, "start": "2024-01-08T01:00:00Z"}],
    )

    sim = sim_config_of(section, ["GBPUSD"])

    assert (sim.seed, sim.balance, sim.leverage, sim.latency) == (11, 5_000.0, 50, 0.5)
    assert (sim.slippage_points, sim.requote_probability, sim.commission_per_lot) == (3, 0.25, 7.0)
    assert sim.market_mode == "m1"
    assert sim.margin_mode == mt5sim.ACCOUNT_MARGIN_MODE_RETAIL_NETTING
    assert sim.market_watch == ["GBPUSD"]
    assert sim.start == section.start
    assert sim.server_time is not None
    assert sim.server_time.offset_at(0) == 3600
    start = datetime(2024, 1, 8, 1, tzinfo=UTC).timestamp()
    assert sim.faults == (mt5sim.Fault("requote", calls=2, start=start, end=None),)


def test_port_settings_take_the_shared_keys_and_the_supervisor_backoff() -> None:
    terminal = TerminalConfig(
        path="C:/mt5/terminal64.exe",
        login=42,
        server="Demo",
        password="pw",
        timeout_ms=5_000,
        call_timeout=3.0,
        reconnect_attempts=0,
    )

    settings = port_settings(terminal, 0.25, 8.0)

    assert settings == PortSettings(
        call_timeout=3.0,
        reconnect_attempts=1,  # at least one
        backoff_base=0.25,
        backoff_cap=8.0,
        path="C:/mt5/terminal64.exe",
        login=42,
        server="Demo",
        password=terminal.password,
        timeout_ms=5_000,
    )
    assert set(TerminalConfig.model_fields) - set(PortSettings.model_fields) == {
        "kind",
        "sim",
        "mt5linux",
    }
