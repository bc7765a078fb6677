"""The bridge client's local parts (``BridgeTerminal``) and the sim-server's clock and account log;
the network path itself is tested in ``tests/integration/test_bridge.py``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from trading_engine import mt5sim
from trading_engine.cli import app
from trading_engine.terminal.bridge import IPC_NO_CONNECTION, REMOTE_HELPERS, BridgeTerminal
from trading_engine.terminal.sim_server import AccountLog, ServerClock, served_module

START = 1_704_844_800.0  # 2024-01-10 00:00 UTC, a Wednesday


def remote_plain(value: Any) -> Any:
    """What the helper the client defines on the server makes of ``value``."""
    namespace: dict[str, Any] = {}
    exec(REMOTE_HELPERS, namespace)
    return namespace["_te_plain"](value)


@pytest.fixture
def terminal() -> mt5sim.Terminal:
    config = mt5sim.SimConfig(start=datetime.fromtimestamp(START, tz=UTC), history_days=1)
    t = mt5sim.Terminal(config, clock=lambda: START + 600)
    assert t.initialize()
    return t


def bridge() -> BridgeTerminal:
    return BridgeTerminal("127.0.0.1", 1, timeout=1.0, client_class=object)


def test_structs_arrive_as_named_tuples_with_the_same_fields_and_nested_request(
    terminal: mt5sim.Terminal,
) -> None:
    tick = terminal.symbol_info_tick("EURUSD")
    request = {"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": 0, "price": tick.ask}
    result = terminal.order_send(request | {"deviation": 20, "type_filling": 1})
    local = bridge()._rebuild(remote_plain(result))
    assert type(local).__name__ == "OrderSendResult"
    assert tuple(local._asdict()) == tuple(result._asdict())  # the fields, in order
    assert local[:-1] == tuple(result)[:-1]
    assert local.request._asdict() == result.request._asdict()
    positions = bridge()._rebuild(remote_plain(terminal.positions_get()))
    assert [p._asdict() for p in positions] == [p._asdict() for p in terminal.positions_get()]


def test_arrays_arrive_as_numpy_arrays_with_the_packed_dtype(terminal: mt5sim.Terminal) -> None:
    rates = terminal.copy_rates_from_pos("EURUSD", mt5sim.TIMEFRAME_M1, 0, 50)
    payload = remote_plain(rates)
    assert isinstance(payload[2], bytes)
    local = bridge()._rebuild(payload)
    assert type(local) is np.ndarray
    assert local.dtype == rates.dtype
    assert local.dtype.itemsize == 60
    assert np.array_equal(local, rates)
    local["close"][0] = 0.0  # a writable copy, like the package's


def test_numpy_scalars_in_a_request_become_builtins_before_the_call_is_written() -> None:
    from trading_engine.terminal.bridge import _arguments

    args, kwargs = _arguments(
        "order_send", ({"volume": np.float64(0.1), "type": np.int64(0)},), {"x": np.int32(3)}
    )
    assert args == ({"volume": 0.1, "type": 0},)
    assert type(args[0]["volume"]) is float
    assert kwargs == {"x": 3}
    assert type(kwargs["x"]) is int
    assert "np." not in repr(args)


def test_without_a_connection_calls_raise_a_connection_error_and_last_error_is_ipc() -> None:
    b = bridge()
    assert not b.connected
    assert b.last_error() == IPC_NO_CONNECTION
    with pytest.raises(ConnectionError, match="not connected to the bridge"):
        b.positions_get()
    assert b.shutdown() is None


def test_server_clock_follows_the_client_and_never_goes_back() -> None:
    clock = ServerClock(START, follow_wall=False)
    clock.set_time(START + 60)
    clock.set_time(START + 30)
    assert clock.time() == START + 60


def test_account_log_replays_orders_and_drops_a_torn_last_line(
    tmp_path: Path, terminal: mt5sim.Terminal
) -> None:
    log = AccountLog(tmp_path / "account.jsonl")
    clock = ServerClock(START + 600, follow_wall=False)
    module = served_module(terminal, clock, log)
    tick = module.symbol_info_tick("EURUSD")
    sent = module.order_send(
        {"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": 0, "price": tick.ask}
        | {"deviation": 20, "type_filling": 1}
    )
    assert sent.retcode == 10009
    with log.path.open("a") as f:
        f.write('{"time": 1, "call": "order_se')  # a kill in the middle of a write
    assert [r["call"] for r in log.records()] == ["order_send"]
    again = mt5sim.Terminal(terminal.config, clock=clock.time)
    assert log.replay(again, clock) == 1
    assert again.initialize()
    [position] = again.positions_get()
    assert position._asdict() == terminal.positions_get()[0]._asdict()


def test_served_module_has_the_package_constants_and_functions(terminal: mt5sim.Terminal) -> None:
    module = served_module(terminal, ServerClock(START, follow_wall=False), None)
    assert module.__name__ == "MetaTrader5"
    assert module.TIMEFRAME_M1 == 1
    assert module.TRADE_RETCODE_DONE == 10009
    assert module.last_error() == (1, "Success")


def test_sim_server_rejects_an_unknown_clock_with_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("trading: {symbols: [EURUSD], timeframes: [M1]}\n")
    result = CliRunner().invoke(app, ["sim-server", "--config", str(config), "--clock", "sun"])
    assert result.exit_code == 2
    assert "--clock: expected wall or client" in result.output


def test_run_refuses_speed_over_a_bridge_without_a_sim_clock(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "trading: {symbols: [EURUSD], timeframes: [M1]}\nterminal: {kind: mt5linux}\n"
    )
    result = CliRunner().invoke(app, ["run", "--config", str(config), "--speed", "0"])
    assert result.exit_code == 2
    assert "terminal.mt5linux.sim_clock" in result.output
