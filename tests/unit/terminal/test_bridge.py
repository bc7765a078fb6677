"""The bridge client's local parts (``BridgeTerminal``) and the sim-server's clock and account;
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
from trading_engine.config import SystemConfig
from trading_engine.errors import ConfigError
from trading_engine.terminal.bridge import IPC_NO_CONNECTION, REMOTE_HELPERS, BridgeTerminal
from trading_engine.terminal.config import SimTerminalConfig
from trading_engine.terminal.sim_server import (
    ServerClock,
    default_account,
    open_served_terminal,
    served_module,
)

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


BUY = {"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": 0, "deviation": 20}


def served_sim(**keys: Any) -> SimTerminalConfig:
    return SimTerminalConfig(start=datetime.fromtimestamp(START, tz=UTC), history_days=1, **keys)


def test_a_served_account_comes_back_from_its_file_after_a_kill(tmp_path: Path) -> None:
    account = tmp_path / "server.db"
    first = open_served_terminal(served_sim(), ["EURUSD"], account, follow_wall=False)
    assert not first.resumed
    module = served_module(first.terminal, first.clock)
    assert module.initialize()
    module.sim_set_time(START + 600)
    tick = module.symbol_info_tick("EURUSD")
    sent = module.order_send(BUY | {"price": tick.ask, "type_filling": 1})
    assert sent.retcode == 10009
    module.sim_set_time(START + 700)
    assert module.account_info().equity > 0  # the clock moved on: caught up, not yet written
    # no close(): a SIGKILL; the file holds the last committed state
    again = open_served_terminal(served_sim(), ["EURUSD"], account, follow_wall=False)
    assert again.resumed
    assert START + 600 <= again.clock.time() <= START + 700
    assert again.terminal.initialize()
    [position] = again.terminal.positions_get()
    assert position._asdict() == first.terminal.positions_get()[0]._asdict()
    again.clock.set_time(START + 800)
    second = again.terminal.order_send(BUY | {"price": tick.ask + 1e-4, "type_filling": 1})
    assert second.retcode == 10009
    assert second.order > sent.order  # the ticket sequence goes on
    fresh = open_served_terminal(served_sim(), ["EURUSD"], account, follow_wall=False, fresh=True)
    assert not fresh.resumed
    assert fresh.clock.time() == START
    assert fresh.terminal.initialize()
    assert fresh.terminal.positions_get() == ()


def test_a_served_wall_clock_account_resumes_the_market_it_was_made_with(tmp_path: Path) -> None:
    account = tmp_path / "server.db"
    first = open_served_terminal(served_sim(), ["EURUSD"], account, follow_wall=True)
    assert first.terminal.initialize()
    assert first.store is not None
    first.store.close()
    again = open_served_terminal(served_sim(), ["EURUSD"], account, follow_wall=True)
    assert again.resumed  # the start was 'now' then: the file's start, not a new 'now'
    assert again.terminal.initialize()


def test_a_served_account_of_other_settings_is_one_config_error(tmp_path: Path) -> None:
    account = tmp_path / "server.db"
    served = open_served_terminal(served_sim(), ["EURUSD"], account, follow_wall=False)
    assert served.store is not None
    served.store.close()
    with pytest.raises(ConfigError, match="other settings \\(seed\\)"):
        open_served_terminal(served_sim(seed=99), ["EURUSD"], account, follow_wall=False)
    (tmp_path / "junk.db").write_text("not a database")
    with pytest.raises(ConfigError, match="--fresh"):
        open_served_terminal(served_sim(), ["EURUSD"], tmp_path / "junk.db", follow_wall=False)


def test_the_default_server_account_is_apart_from_runs_and_follows_the_sim_keys() -> None:
    def config(**sim: Any) -> SystemConfig:
        return SystemConfig.model_validate(
            {
                "trading": {"symbols": ["EURUSD"], "timeframes": ["M1"]},
                "terminal": {"sim": sim},
                "journal": {"path": "j/trading.db"},
            }
        )

    assert default_account(config().terminal, "j/trading.db") == Path("j/trading.sim-server.db")
    named = config(account_path="a.db").terminal
    assert default_account(named, "j/trading.db") == Path("a.db")
    assert default_account(config(persist=False).terminal, "j/trading.db") is None
    assert default_account(config().terminal, ":memory:") is None


def test_served_module_has_the_package_constants_and_functions(terminal: mt5sim.Terminal) -> None:
    module = served_module(terminal, ServerClock(START, follow_wall=False))
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
