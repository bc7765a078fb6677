"""The simulated module's numpy dtypes and integer constants match the real MetaTrader5 module."""

from __future__ import annotations

import numpy as np

from trading_engine.mt5sim.spec import constants as c
from trading_engine.mt5sim.spec import masks
from trading_engine.mt5sim.spec.dtypes import (
    RATES_DTYPE,
    TICKS_DTYPE,
    concat_records,
    copy_records,
    put_records,
)


def test_rates_dtype_is_packed_60_bytes_in_mt5_field_order() -> None:
    assert RATES_DTYPE.itemsize == 60
    assert RATES_DTYPE.descr == [
        ("time", "<i8"),
        ("open", "<f8"),
        ("high", "<f8"),
        ("low", "<f8"),
        ("close", "<f8"),
        ("tick_volume", "<u8"),
        ("spread", "<i4"),
        ("real_volume", "<u8"),
    ]


def test_ticks_dtype_is_packed_60_bytes_in_mt5_field_order() -> None:
    assert TICKS_DTYPE.itemsize == 60
    assert TICKS_DTYPE.descr == [
        ("time", "<i8"),
        ("bid", "<f8"),
        ("ask", "<f8"),
        ("last", "<f8"),
        ("volume", "<u8"),
        ("time_msc", "<i8"),
        ("flags", "<u4"),
        ("volume_real", "<f8"),
    ]


def test_record_copy_helpers_preserve_every_field() -> None:
    a = np.zeros(5, dtype=RATES_DTYPE)
    a["time"] = np.arange(5)
    a["open"] = np.linspace(1.0, 2.0, 5)
    a["spread"] = [3, 4, 5, 6, 7]
    copy = copy_records(a[1:4])
    assert copy.dtype == RATES_DTYPE
    assert np.array_equal(copy, a[1:4])
    joined = concat_records([a[:2], a[3:]], RATES_DTYPE)
    assert np.array_equal(joined["time"], [0, 1, 3, 4])
    dst = np.zeros(5, dtype=RATES_DTYPE)
    put_records(dst, 2, a[:3])
    assert np.array_equal(dst[2:], a[:3])
    assert dst["time"][0] == 0
    assert dst["spread"][1] == 0


def test_module_exports_exactly_223_integer_constants() -> None:
    assert len(c.__all__) == 223
    assert len(set(c.__all__)) == 223
    assert all(type(getattr(c, name)) is int for name in c.__all__)


def test_timeframe_values_use_the_mt5_bit_encoding() -> None:
    assert (c.TIMEFRAME_M1, c.TIMEFRAME_M30) == (1, 30)
    assert c.TIMEFRAME_H1 == 16385
    assert c.TIMEFRAME_H4 == 16388
    assert c.TIMEFRAME_H12 == 16396
    assert c.TIMEFRAME_D1 == 16408
    assert c.TIMEFRAME_W1 == 32769
    assert c.TIMEFRAME_MN1 == 49153


def test_tick_copy_flags_and_deal_names_follow_the_python_module_not_mql5() -> None:
    assert c.COPY_TICKS_ALL == -1
    assert (c.COPY_TICKS_INFO, c.COPY_TICKS_TRADE) == (1, 2)
    assert (c.DEAL_DIVIDEND, c.DEAL_DIVIDEND_FRANKED, c.DEAL_TAX) == (15, 16, 17)
    assert not hasattr(c, "DEAL_TYPE_DIVIDEND")
    assert (c.TICK_FLAG_BID, c.TICK_FLAG_ASK, c.TICK_FLAG_SELL) == (2, 4, 64)


def test_trade_actions_and_retcodes_have_exact_values() -> None:
    assert (c.TRADE_ACTION_DEAL, c.TRADE_ACTION_PENDING, c.TRADE_ACTION_CLOSE_BY) == (1, 5, 10)
    assert c.TRADE_RETCODE_REQUOTE == 10004
    assert c.TRADE_RETCODE_DONE == 10009
    assert c.TRADE_RETCODE_PRICE_OFF == 10021
    assert c.TRADE_RETCODE_INVALID_FILL == 10030
    assert c.TRADE_RETCODE_POSITION_CLOSED == 10036
    assert c.TRADE_RETCODE_INVALID_CLOSE_VOLUME == 10038
    assert c.TRADE_RETCODE_FIFO_CLOSE == 10045
    retcodes = {getattr(c, n) for n in c.__all__ if n.startswith("TRADE_RETCODE_")}
    assert 10037 not in retcodes
    assert 10046 not in retcodes
    assert len(retcodes) == 40


def test_last_error_codes_match_the_wheel() -> None:
    assert c.RES_S_OK == 1
    assert c.RES_E_INVALID_PARAMS == -2
    assert c.RES_E_INTERNAL_FAIL_CONNECT == -10004
    assert c.RES_E_INTERNAL_FAIL_TIMEOUT == -10005


def test_symbol_bitmasks_are_kept_out_of_the_exported_constants() -> None:
    assert (masks.SYMBOL_FILLING_FOK, masks.SYMBOL_FILLING_IOC, masks.SYMBOL_FILLING_BOC) == (
        1,
        2,
        4,
    )
    assert masks.SYMBOL_EXPIRATION_SPECIFIED_DAY == 8
    order_all = sum(getattr(masks, n) for n in masks.__all__ if n.startswith("SYMBOL_ORDER_"))
    assert order_all == 127
    assert not set(masks.__all__) & set(c.__all__)
