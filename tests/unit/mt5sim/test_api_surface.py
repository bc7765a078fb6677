"""Module surface of the simulated MetaTrader5 package: names, signatures, structs, last_error."""

from __future__ import annotations

import inspect
import pickle
from datetime import UTC, datetime

import numpy as np
import pytest

import trading_engine.mt5sim as mt5
from trading_engine.mt5sim import SimConfig, Terminal
from trading_engine.mt5sim.spec.dtypes import RATES_DTYPE, TICKS_DTYPE
from trading_engine.mt5sim.spec.symbols import DEFAULT_SYMBOLS

START = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)  # a Wednesday, market open


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START.timestamp())


@pytest.fixture
def term(clock: FakeClock) -> Terminal:
    t = Terminal(
        SimConfig(
            symbols=(DEFAULT_SYMBOLS["EURUSD"], DEFAULT_SYMBOLS["USDJPY"]),
            history_days=2,
            start=START,
            seed=7,
        ),
        clock=clock,
    )
    assert t.initialize()
    return t


FUNCTIONS = [
    "initialize",
    "login",
    "shutdown",
    "version",
    "last_error",
    "account_info",
    "terminal_info",
    "symbols_total",
    "symbols_get",
    "symbol_info",
    "symbol_info_tick",
    "symbol_select",
    "market_book_add",
    "market_book_get",
    "market_book_release",
    "copy_rates_from",
    "copy_rates_from_pos",
    "copy_rates_range",
    "copy_ticks_from",
    "copy_ticks_range",
    "orders_total",
    "orders_get",
    "order_calc_margin",
    "order_calc_profit",
    "order_check",
    "order_send",
    "positions_total",
    "positions_get",
    "history_orders_total",
    "history_orders_get",
    "history_deals_total",
    "history_deals_get",
]

STRUCT_SIZES = {
    "AccountInfo": 28,
    "TerminalInfo": 22,
    "SymbolInfo": 96,
    "Tick": 8,
    "BookInfo": 4,
    "TradeOrder": 24,
    "TradePosition": 19,
    "TradeDeal": 18,
    "TradeRequest": 17,
    "OrderSendResult": 11,
    "OrderCheckResult": 9,
}


def test_module_exports_all_32_functions_types_helpers_and_version() -> None:
    assert len(FUNCTIONS) == 32
    for name in FUNCTIONS:
        assert callable(getattr(mt5, name)), name
        assert callable(getattr(Terminal, name)), name
    for name in (*STRUCT_SIZES, "Buy", "Sell", "Close", "Terminal", "SimConfig"):
        assert name in mt5.__all__
    assert mt5.__version__ == "5.0.6231"
    assert mt5.__author__ == "MetaQuotes Ltd."
    assert mt5.TIMEFRAME_H1 == 16385
    assert mt5.COPY_TICKS_ALL == -1
    assert mt5.TRADE_RETCODE_DONE == 10009


def _kinds(fn: object) -> list[str]:
    return [p.kind.name for p in inspect.signature(fn).parameters.values()]  # type: ignore[arg-type]


def test_copy_and_calc_functions_are_positional_only_and_get_filters_keyword_only() -> None:
    for name in (
        "copy_rates_from",
        "copy_rates_from_pos",
        "copy_rates_range",
        "copy_ticks_from",
        "copy_ticks_range",
        "order_calc_margin",
        "order_calc_profit",
        "symbol_info",
        "order_send",
        "order_check",
    ):
        assert set(_kinds(getattr(mt5, name))) == {"POSITIONAL_ONLY"}, name
    for name in ("orders_get", "positions_get", "symbols_get"):
        assert set(_kinds(getattr(mt5, name))) == {"KEYWORD_ONLY"}, name
    with pytest.raises(TypeError):
        mt5.positions_get("EURUSD")  # type: ignore[misc]
    with pytest.raises(TypeError):
        mt5.copy_rates_from_pos(symbol="EURUSD", timeframe=1, start_pos=0, count=1)  # type: ignore[call-arg]


@pytest.mark.parametrize(("name", "size"), sorted(STRUCT_SIZES.items()))
def test_struct_has_field_count_order_repr_asdict_and_match_args(name: str, size: int) -> None:
    cls = getattr(mt5, name)
    values = tuple(range(size))
    s = cls(values)
    assert isinstance(s, tuple)
    assert len(s) == size
    assert len(cls.__match_args__) == size
    assert list(s._asdict()) == list(cls.__match_args__)
    assert list(s._asdict().values()) == list(values)
    first = cls.__match_args__[0]
    assert getattr(s, first) == 0
    assert repr(s).startswith(f"{name}({first}=0, ")
    assert pickle.loads(pickle.dumps(s)) == s
    with pytest.raises(TypeError):
        cls(values[:-1])
    with pytest.raises(AttributeError):
        setattr(s, first, 5)
    assert not hasattr(s, "_fields")


def test_struct_field_orders_match_the_package() -> None:
    assert mt5.Tick.__match_args__ == (
        "time",
        "bid",
        "ask",
        "last",
        "volume",
        "time_msc",
        "flags",
        "volume_real",
    )
    assert mt5.TradeDeal.__match_args__[:6] == (
        "ticket",
        "order",
        "time",
        "time_msc",
        "type",
        "entry",
    )
    assert mt5.TradePosition.__match_args__[-4:] == ("profit", "symbol", "comment", "external_id")
    assert mt5.OrderSendResult.__match_args__[-1] == "request"
    assert mt5.SymbolInfo.__match_args__[-1] == "path"
    assert mt5.AccountInfo.__match_args__[:3] == ("login", "trade_mode", "leverage")


def test_calls_before_initialize_fail_with_no_ipc_connection(clock: FakeClock) -> None:
    t = Terminal(
        SimConfig(symbols=(DEFAULT_SYMBOLS["EURUSD"],), history_days=1, start=START), clock=clock
    )
    assert t.account_info() is None
    assert t.last_error() == (-10004, "No IPC connection")
    assert t.symbols_total() == 0
    assert t.initialize() is True
    assert t.last_error() == (1, "Success")
    assert t.symbols_total() == 1
    t.shutdown()
    assert t.positions_get() is None
    assert t.last_error() == (-10004, "No IPC connection")


def test_initialize_with_wrong_login_fails_with_authorization_error(clock: FakeClock) -> None:
    t = Terminal(
        SimConfig(
            symbols=(DEFAULT_SYMBOLS["EURUSD"],), history_days=1, start=START, password="secret"
        ),
        clock=clock,
    )
    assert t.initialize(login=1) is False
    assert t.last_error() == (-6, "Terminal: Authorization failed")
    assert t.initialize(login=t.config.login, password="wrong") is False
    assert t.initialize(login=t.config.login, password="secret") is True
    assert t.login(t.config.login, password="secret") is True
    assert t.login(t.config.login + 1) is False


def test_success_resets_last_error_and_argument_errors_name_the_field(term: Terminal) -> None:
    assert term.copy_rates_from_pos("EURUSD", 12345, 0, 10) is None
    assert term.last_error() == (-2, 'Invalid "timeframe" argument')
    assert term.symbol_info(42) is None  # type: ignore[arg-type]
    assert term.last_error() == (-2, 'Invalid "symbol" argument')
    assert term.symbol_info("EURUSD") is not None
    assert term.last_error() == (1, "Success")
    assert term.symbol_info("NOPE") is None
    assert term.last_error() == (-1, "Terminal: Call failed")
    assert term.copy_ticks_from("EURUSD", "yesterday", 10, mt5.COPY_TICKS_ALL) is None  # type: ignore[arg-type]
    assert term.last_error() == (-2, 'Invalid "date_from" argument')
    assert term.order_calc_margin(99, "EURUSD", 1.0, 1.1) is None
    assert term.last_error() == (-2, 'Invalid "action" argument')


def test_nothing_found_is_an_empty_tuple_not_none(term: Terminal) -> None:
    assert term.positions_get() == ()
    assert term.orders_get(symbol="EURUSD") == ()
    assert term.history_orders_get(0, 10) == ()
    assert term.positions_total() == 0
    assert term.last_error() == (1, "Success")


def test_version_terminal_info_account_info_and_symbols(term: Terminal) -> None:
    v = term.version()
    assert v is not None
    assert v[0] == 500
    assert isinstance(v[2], str)
    ti = term.terminal_info()
    assert ti is not None
    assert ti.connected
    assert ti.trade_allowed
    assert ti.maxbars == 100_000
    ai = term.account_info()
    assert ai is not None
    assert ai.balance == 10_000.0
    assert ai.equity == 10_000.0
    assert ai.currency == "USD"
    assert ai.margin_mode == mt5.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING
    assert term.symbols_total() == 2
    names = [s.name for s in term.symbols_get() or ()]
    assert names == ["EURUSD", "USDJPY"]
    info = term.symbol_info("USDJPY")
    assert info is not None
    assert info.digits == 3
    assert info.point == 0.001
    assert info.trade_exemode == mt5.SYMBOL_TRADE_EXECUTION_INSTANT
    assert info.bid > 0
    assert info.ask > info.bid
    assert info.spread == round((info.ask - info.bid) / 0.001)
    # trade_tick_value is in the account currency: JPY tick converted at USDJPY
    assert info.trade_tick_value == pytest.approx(100.0 / info.ask)


@pytest.mark.parametrize(
    ("mask", "expected"),
    [
        ("*", ["EURUSD", "GBPUSD", "USDJPY", "XAUUSD"]),
        ("*USD*", ["EURUSD", "GBPUSD", "USDJPY", "XAUUSD"]),
        ("*,!EUR*", ["GBPUSD", "USDJPY", "XAUUSD"]),
        ("*USD,!XAU*", ["EURUSD", "GBPUSD"]),
        ("EURUSD,XAUUSD", ["EURUSD", "XAUUSD"]),
        ("!EUR*,EUR*", ["EURUSD"]),
        ("USD*", ["USDJPY"]),
    ],
)
def test_group_masks_apply_conditions_in_order(
    clock: FakeClock, mask: str, expected: list[str]
) -> None:
    t = Terminal(SimConfig(history_days=1, start=START), clock=clock)
    t.initialize()
    assert [s.name for s in t.symbols_get(group=mask) or ()] == expected


def test_symbol_info_tick_needs_market_watch_selection(clock: FakeClock) -> None:
    t = Terminal(
        SimConfig(
            symbols=(DEFAULT_SYMBOLS["EURUSD"],), history_days=1, start=START, market_watch=()
        ),
        clock=clock,
    )
    t.initialize()
    info = t.symbol_info("EURUSD")
    assert info is not None
    assert info.select is False
    assert info.visible is False
    assert t.symbol_info_tick("EURUSD") is None
    assert t.symbol_select("EURUSD") is True
    tick = t.symbol_info_tick("EURUSD")
    assert tick is not None
    assert tick.ask > tick.bid
    assert tick.time == tick.time_msc // 1000
    assert t.symbol_select("EURUSD", False) is True
    assert t.symbol_info_tick("EURUSD") is None
    assert t.symbol_select("NOPE") is False


def test_symbol_with_a_position_cannot_leave_market_watch(term: Terminal) -> None:
    r = term.Buy("EURUSD", 0.1)
    assert r is not None
    assert r.retcode == mt5.TRADE_RETCODE_DONE
    assert term.symbol_select("EURUSD", False) is False
    assert term.last_error() == (-1, "Terminal: Call failed")


def test_copy_rates_return_packed_ascending_arrays_with_forming_bar(
    term: Terminal, clock: FakeClock
) -> None:
    rates = term.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M1, 0, 50)
    assert rates is not None
    assert rates.dtype == RATES_DTYPE
    assert rates.dtype.itemsize == 60
    assert len(rates) == 50
    assert np.all(np.diff(rates["time"]) > 0)
    tick = term.symbol_info_tick("EURUSD")
    assert tick is not None
    assert rates["time"][-1] == tick.time // 60 * 60  # bar 0 is the forming bar
    assert rates["close"][-1] == tick.bid
    by_date = term.copy_rates_from("EURUSD", mt5.TIMEFRAME_M1, int(rates["time"][-2]), 10)
    assert by_date is not None
    assert np.array_equal(by_date, rates[-11:-1])
    rng = term.copy_rates_range(
        "EURUSD", mt5.TIMEFRAME_M1, int(rates["time"][0]), int(rates["time"][9])
    )
    assert rng is not None
    assert np.array_equal(rng, rates[:10])
    as_dt = datetime.fromtimestamp(int(rates["time"][-2]), tz=UTC)
    again = term.copy_rates_from("EURUSD", mt5.TIMEFRAME_M1, as_dt, 10)
    assert again is not None
    assert np.array_equal(again, by_date)


def test_copy_ticks_from_and_range_return_ticks_dtype(term: Terminal) -> None:
    tick = term.symbol_info_tick("EURUSD")
    assert tick is not None
    t0 = tick.time - 120
    ticks = term.copy_ticks_from("EURUSD", t0, 20, mt5.COPY_TICKS_ALL)
    assert ticks is not None
    assert ticks.dtype == TICKS_DTYPE
    assert len(ticks) == 20
    assert ticks["time"][0] >= t0
    rng = term.copy_ticks_range("EURUSD", t0, tick.time, mt5.COPY_TICKS_INFO)
    assert rng is not None
    assert len(rng) > 0
    assert rng["time_msc"][-1] == tick.time_msc
    assert term.copy_ticks_range("EURUSD", t0, tick.time, 77) is None
    assert term.last_error() == (-2, 'Invalid "flags" argument')


def test_copy_rates_are_capped_by_maxbars(clock: FakeClock) -> None:
    t = Terminal(
        SimConfig(symbols=(DEFAULT_SYMBOLS["EURUSD"],), history_days=1, start=START, maxbars=100),
        clock=clock,
    )
    t.initialize()
    assert len(t.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M1, 0, 500)) == 100  # type: ignore[arg-type]
    assert len(t.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M1, 90, 500)) == 10  # type: ignore[arg-type]
    assert len(t.copy_rates_range("EURUSD", mt5.TIMEFRAME_M1, 0, 2**40)) == 100  # type: ignore[arg-type]


def test_market_book_needs_subscription(term: Terminal) -> None:
    assert term.market_book_get("EURUSD") is None
    assert term.market_book_add("EURUSD") is True
    book = term.market_book_get("EURUSD")
    tick = term.symbol_info_tick("EURUSD")
    assert book is not None
    assert tick is not None
    assert len(book) == 10
    sells = [b for b in book if b.type == mt5.BOOK_TYPE_SELL]
    buys = [b for b in book if b.type == mt5.BOOK_TYPE_BUY]
    assert min(b.price for b in sells) == tick.ask
    assert max(b.price for b in buys) == tick.bid
    assert term.market_book_release("EURUSD") is True
    assert term.market_book_release("EURUSD") is False


def test_module_level_functions_use_the_default_terminal(term: Terminal) -> None:
    mt5.use_terminal(term)
    try:
        assert mt5.default_terminal() is term
        assert mt5.symbols_total() == 2
        assert mt5.last_error() == (1, "Success")
        r = mt5.Buy("EURUSD", 0.1)
        assert r is not None
        assert r.retcode == mt5.TRADE_RETCODE_DONE
        assert [p.ticket for p in mt5.positions_get(symbol="EURUSD") or ()] == [r.order]
        assert mt5.Close("EURUSD") is True
    finally:
        mt5.reset_terminal()


def test_two_terminals_are_isolated(clock: FakeClock) -> None:
    cfg = SimConfig(symbols=(DEFAULT_SYMBOLS["EURUSD"],), history_days=1, start=START)
    a, b = Terminal(cfg, clock=clock), Terminal(cfg, clock=clock)
    a.initialize()
    b.initialize()
    assert a.Buy("EURUSD", 0.1) is not None
    assert a.positions_total() == 1
    assert b.positions_total() == 0


def test_driven_by_the_engines_sim_clock_bars_advance_with_simulated_time() -> None:
    from trading_engine.clock import SimClock

    sim = SimClock(START.timestamp())
    t = Terminal(
        SimConfig(symbols=(DEFAULT_SYMBOLS["EURUSD"],), history_days=1, start=START, latency=0.5),
        clock=sim.time,
        sleep=sim.advance,
    )
    assert t.initialize()
    first = t.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M1, 1, 1)
    assert sim.time() == START.timestamp() + 0.5  # latency spent on the simulated clock
    sim.advance(300)
    later = t.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M1, 1, 1)
    assert 240 <= later["time"][0] - first["time"][0] <= 360  # five minutes on (bars need ticks)
    assert sim.time() == START.timestamp() + 301.0


def test_utc_now_as_date_to_misses_the_newest_server_hours(
    term: Terminal, clock: FakeClock
) -> None:
    utc_now = datetime.fromtimestamp(clock.t, tz=UTC)  # the classic mistake: bars are server time
    start = int(utc_now.timestamp()) - 6 * 3600
    bars = term.copy_rates_range("EURUSD", mt5.TIMEFRAME_M1, start, utc_now)
    newest = term.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M1, 0, 1)
    assert bars is not None
    assert newest is not None
    gap = int(newest["time"][0] - bars["time"][-1])
    assert 2 * 3600 - 120 <= gap <= 2 * 3600  # EET in March: server = UTC + 2 h
