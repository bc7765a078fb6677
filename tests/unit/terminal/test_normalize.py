"""Request normalisation: volume grid and bounds, price digits, filling pick, stops, requests."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading_engine.errors import OrderError, TerminalError
from trading_engine.events import Side
from trading_engine.terminal.normalize import (
    OrderKind,
    as_side,
    build_market_request,
    check_comment,
    check_stops,
    normalize_price,
    normalize_volume,
    pick_filling,
)
from trading_engine.terminal.symbols import (
    ORDER_FILLING_FOK,
    ORDER_FILLING_IOC,
    ORDER_FILLING_RETURN,
    SYMBOL_FILLING_BOC,
    SYMBOL_FILLING_FOK,
    SYMBOL_FILLING_IOC,
    SYMBOL_ORDER_LIMIT,
    SYMBOL_ORDER_MARKET,
    SYMBOL_ORDER_SL,
    SYMBOL_TRADE_EXECUTION_EXCHANGE,
    SYMBOL_TRADE_EXECUTION_INSTANT,
    SYMBOL_TRADE_EXECUTION_MARKET,
    SYMBOL_TRADE_EXECUTION_REQUEST,
    SYMBOL_TRADE_MODE_CLOSEONLY,
    SYMBOL_TRADE_MODE_DISABLED,
    SYMBOL_TRADE_MODE_LONGONLY,
    SYMBOL_TRADE_MODE_SHORTONLY,
    SymbolRules,
    step_decimals,
)

EURUSD = SymbolRules(
    name="EURUSD",
    digits=5,
    point=0.00001,
    tick_size=0.00001,
    tick_value=1.0,
    contract_size=100_000.0,
    volume_min=0.01,
    volume_max=100.0,
    volume_step=0.01,
    volume_limit=0.0,
    stops_level=10,
    freeze_level=5,
    filling_mode=SYMBOL_FILLING_FOK | SYMBOL_FILLING_IOC,
    order_mode=127,
    expiration_mode=15,
    trade_mode=4,
    exec_mode=SYMBOL_TRADE_EXECUTION_MARKET,
    calc_mode=0,
    spread_float=True,
    currency_base="EUR",
    currency_profit="USD",
    currency_margin="EUR",
)
TICK = SimpleNamespace(bid=1.08500, ask=1.08510)


def rules(**changes: Any) -> SymbolRules:
    return dataclasses.replace(EURUSD, **changes)


# -- volumes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("volume", "expected"),
    [(0.01, 0.01), (0.019, 0.01), (0.3, 0.3), (0.123456, 0.12), (1.0, 1.0), (7.77, 7.77)],
)
def test_volume_is_floored_onto_the_step_grid(volume: float, expected: float) -> None:
    assert normalize_volume(EURUSD, volume) == expected


def test_volume_above_the_maximum_is_capped() -> None:
    assert normalize_volume(EURUSD, 250.0) == 100.0


def test_volume_below_the_minimum_is_a_clear_error() -> None:
    with pytest.raises(OrderError, match=r"below the minimum 0\.01"):
        normalize_volume(EURUSD, 0.009)


@pytest.mark.parametrize("volume", [0.0, -1.0, float("nan"), float("inf")])
def test_non_positive_or_non_finite_volume_is_rejected(volume: float) -> None:
    with pytest.raises(OrderError):
        normalize_volume(EURUSD, volume)


def test_coarse_step_and_minimum_of_a_cfd() -> None:
    cfd = rules(volume_min=0.5, volume_step=0.5, volume_max=50.0)
    assert normalize_volume(cfd, 1.74) == 1.5
    with pytest.raises(OrderError):
        normalize_volume(cfd, 0.49)


@given(st.floats(min_value=0.01, max_value=1000.0, allow_nan=False))
def test_normalised_volume_is_on_grid_within_bounds_and_never_larger(volume: float) -> None:
    result = normalize_volume(EURUSD, volume)
    assert EURUSD.volume_min <= result <= min(volume, EURUSD.volume_max) + 1e-12
    steps = result / EURUSD.volume_step
    assert abs(steps - round(steps)) < 1e-9
    assert result == round(result, 2)


# -- prices ----------------------------------------------------------------------------------


def test_price_is_rounded_to_digits() -> None:
    assert normalize_price(EURUSD, 1.0850049) == 1.085
    assert normalize_price(EURUSD, 1.0850051) == 1.08501


def test_price_is_rounded_to_the_tick_size_grid() -> None:
    index = rules(digits=2, point=0.01, tick_size=0.25)
    assert normalize_price(index, 4500.13) == 4500.25
    assert normalize_price(index, 4500.12) == 4500.0


def test_step_decimals() -> None:
    assert [step_decimals(s) for s in (1.0, 0.1, 0.01, 0.25, 0.00001)] == [0, 1, 2, 2, 5]


# -- filling ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [SYMBOL_TRADE_EXECUTION_INSTANT, SYMBOL_TRADE_EXECUTION_REQUEST])
@pytest.mark.parametrize("mask", [0, SYMBOL_FILLING_IOC, SYMBOL_FILLING_FOK | SYMBOL_FILLING_IOC])
def test_instant_and_request_execution_take_fok_for_market_orders(mode: int, mask: int) -> None:
    assert pick_filling(rules(exec_mode=mode, filling_mode=mask)) == ORDER_FILLING_FOK


@pytest.mark.parametrize(
    ("mask", "expected"),
    [
        (SYMBOL_FILLING_FOK, ORDER_FILLING_FOK),
        (SYMBOL_FILLING_IOC, ORDER_FILLING_IOC),
        (SYMBOL_FILLING_FOK | SYMBOL_FILLING_IOC, ORDER_FILLING_FOK),
        (SYMBOL_FILLING_IOC | SYMBOL_FILLING_BOC, ORDER_FILLING_IOC),
    ],
)
def test_market_execution_picks_fok_then_ioc_from_the_bitmask(mask: int, expected: int) -> None:
    rule = rules(exec_mode=SYMBOL_TRADE_EXECUTION_MARKET, filling_mode=mask)
    assert pick_filling(rule, OrderKind.MARKET) == expected


def test_market_execution_never_uses_return_for_market_orders() -> None:
    rule = rules(exec_mode=SYMBOL_TRADE_EXECUTION_MARKET, filling_mode=SYMBOL_FILLING_BOC)
    with pytest.raises(OrderError, match="neither FOK nor IOC"):
        pick_filling(rule, OrderKind.MARKET)


@pytest.mark.parametrize(
    ("mask", "expected"),
    [
        (0, ORDER_FILLING_RETURN),
        (SYMBOL_FILLING_IOC, ORDER_FILLING_IOC),
        (SYMBOL_FILLING_FOK | SYMBOL_FILLING_IOC, ORDER_FILLING_FOK),
    ],
)
def test_exchange_execution_takes_any_allowed_mode(mask: int, expected: int) -> None:
    rule = rules(exec_mode=SYMBOL_TRADE_EXECUTION_EXCHANGE, filling_mode=mask)
    assert pick_filling(rule, "market") == expected


@pytest.mark.parametrize("kind", [OrderKind.LIMIT, OrderKind.STOP, OrderKind.STOP_LIMIT])
def test_pending_orders_use_return(kind: OrderKind) -> None:
    assert pick_filling(EURUSD, kind) == ORDER_FILLING_RETURN


def test_order_kind_not_in_order_mode_is_refused() -> None:
    with pytest.raises(OrderError, match="limit orders are not allowed"):
        pick_filling(rules(order_mode=SYMBOL_ORDER_MARKET), OrderKind.LIMIT)
    assert pick_filling(rules(order_mode=SYMBOL_ORDER_LIMIT), "limit") == ORDER_FILLING_RETURN


# -- stops -----------------------------------------------------------------------------------


def test_stops_far_enough_pass_and_come_back_normalised() -> None:
    sl, tp = check_stops(EURUSD, Side.BUY, 1.0851, 1.084000001, 1.0870, 1.0850, 1.0851)
    assert (sl, tp) == (1.084, 1.087)


def test_missing_stops_are_zero() -> None:
    assert check_stops(EURUSD, "sell", 1.085, None, 0.0, 1.085, 1.0851) == (0.0, 0.0)


def test_buy_stops_are_measured_from_the_bid() -> None:
    # stops level 10 points = 0.0001; bid 1.08500 -> SL at most 1.08490, TP at least 1.08510
    check_stops(EURUSD, Side.BUY, 1.0851, 1.0849, 1.0851, 1.0850, 1.0851)
    with pytest.raises(OrderError, match=r"stop loss .* closer than the stops level of 10 points"):
        check_stops(EURUSD, Side.BUY, 1.0851, 1.08491, None, 1.0850, 1.0851)
    with pytest.raises(OrderError, match="take profit"):
        check_stops(EURUSD, Side.BUY, 1.0851, None, 1.08509, 1.0850, 1.0851)


def test_sell_stops_are_measured_from_the_ask() -> None:
    check_stops(EURUSD, Side.SELL, 1.0850, 1.0852, 1.0850, 1.0850, 1.0851)
    with pytest.raises(OrderError, match="stop loss"):
        check_stops(EURUSD, Side.SELL, 1.0850, 1.08519, None, 1.0850, 1.0851)


def test_stop_on_the_wrong_side_is_refused_even_with_adjust() -> None:
    with pytest.raises(OrderError, match="must be below"):
        check_stops(EURUSD, Side.BUY, 1.0851, 1.0860, None, 1.0850, 1.0851, adjust=True)
    with pytest.raises(OrderError, match="must be above"):
        check_stops(EURUSD, Side.SELL, 1.0850, 1.0840, None, 1.0850, 1.0851, adjust=True)


def test_adjust_moves_stops_out_to_the_minimum_distance() -> None:
    sl, tp = check_stops(EURUSD, Side.BUY, 1.0851, 1.08495, 1.08502, 1.0850, 1.0851, adjust=True)
    assert (sl, tp) == (1.0849, 1.0851)
    sl, tp = check_stops(EURUSD, Side.SELL, 1.085, 1.08512, 1.08505, 1.0850, 1.0851, adjust=True)
    assert (sl, tp) == (1.0852, 1.085)


def test_pending_order_stops_are_measured_from_the_order_price() -> None:
    check_stops(EURUSD, Side.BUY, 1.0800, 1.0799, None, 1.0850, 1.0851, pending=True)
    with pytest.raises(OrderError):
        check_stops(EURUSD, Side.BUY, 1.0800, 1.07995, None, 1.0850, 1.0851, pending=True)


def test_zero_stops_level_still_requires_the_right_side() -> None:
    free = rules(stops_level=0)
    assert check_stops(free, Side.BUY, 1.0851, 1.08499, None, 1.0850, 1.0851) == (1.08499, 0.0)
    with pytest.raises(OrderError):
        check_stops(free, Side.BUY, 1.0851, 1.0850, None, 1.0850, 1.0851)


# -- comments and sides ----------------------------------------------------------------------


def test_comment_must_be_short_printable_ascii() -> None:
    assert check_comment("te:ab12-7") == "te:ab12-7"
    assert check_comment("x" * 26) == "x" * 26
    with pytest.raises(OrderError, match="27 characters"):
        check_comment("x" * 27)
    with pytest.raises(OrderError, match="ASCII"):
        check_comment("café")
    with pytest.raises(OrderError, match="ASCII"):
        check_comment("tab\there")


def test_sides_accept_enum_text_and_mt5_types() -> None:
    assert as_side("BUY") is Side.BUY
    assert as_side(1) is Side.SELL
    with pytest.raises(OrderError):
        as_side("long")
    with pytest.raises(OrderError):
        as_side(True)


# -- market requests -------------------------------------------------------------------------


def test_market_buy_request_is_priced_at_the_ask_and_fully_normalised() -> None:
    request = build_market_request(
        EURUSD, Side.BUY, 0.127, TICK, sl=1.0830, tp=1.0880, magic=4242, comment="te:1"
    )
    assert request == {
        "action": 1,
        "symbol": "EURUSD",
        "volume": 0.12,
        "type": 0,
        "price": 1.0851,
        "sl": 1.083,
        "tp": 1.088,
        "deviation": 10,
        "magic": 4242,
        "comment": "te:1",
        "type_time": 0,
        "type_filling": ORDER_FILLING_FOK,
    }


def test_market_sell_request_is_priced_at_the_bid() -> None:
    request = build_market_request(EURUSD, "sell", 1, TICK)
    assert (request["type"], request["price"], request["sl"], request["tp"]) == (1, 1.085, 0.0, 0.0)


def test_closing_request_names_the_position_and_carries_no_stops() -> None:
    request = build_market_request(EURUSD, Side.SELL, 0.5, TICK, position=123456)
    assert request["position"] == 123456
    assert request["type"] == 1
    with pytest.raises(OrderError, match="closing request"):
        build_market_request(EURUSD, Side.SELL, 0.5, TICK, sl=1.09, position=123456)


def test_request_without_prices_is_refused() -> None:
    with pytest.raises(OrderError, match="no prices"):
        build_market_request(EURUSD, Side.BUY, 0.1, SimpleNamespace(bid=0.0, ask=0.0))


@pytest.mark.parametrize(
    ("trade_mode", "side", "closing", "message"),
    [
        (SYMBOL_TRADE_MODE_DISABLED, Side.BUY, True, "disabled"),
        (SYMBOL_TRADE_MODE_CLOSEONLY, Side.BUY, False, "close only"),
        (SYMBOL_TRADE_MODE_LONGONLY, Side.SELL, False, "long only"),
        (SYMBOL_TRADE_MODE_SHORTONLY, Side.BUY, False, "short only"),
    ],
)
def test_trade_mode_forbids_the_order(
    trade_mode: int, side: Side, closing: bool, message: str
) -> None:
    with pytest.raises(OrderError, match=message):
        build_market_request(
            rules(trade_mode=trade_mode), side, 0.1, TICK, position=7 if closing else None
        )


def test_close_only_symbol_still_allows_closing() -> None:
    rule = rules(trade_mode=SYMBOL_TRADE_MODE_CLOSEONLY)
    assert build_market_request(rule, Side.BUY, 0.1, TICK, position=9)["position"] == 9


def test_stop_loss_not_allowed_by_order_mode_is_refused() -> None:
    rule = rules(order_mode=127 & ~SYMBOL_ORDER_SL)
    with pytest.raises(OrderError, match="stop loss not allowed"):
        build_market_request(rule, Side.BUY, 0.1, TICK, sl=1.08)


def test_bad_magic_or_deviation_is_refused() -> None:
    with pytest.raises(OrderError):
        build_market_request(EURUSD, Side.BUY, 0.1, TICK, magic=-1)
    with pytest.raises(OrderError):
        build_market_request(EURUSD, Side.BUY, 0.1, TICK, deviation=-5)


# -- symbol rules ----------------------------------------------------------------------------


def test_rules_from_info_fall_back_to_point_for_a_zero_tick_size() -> None:
    fields = {
        "name": "XAUUSD",
        "digits": 2,
        "point": 0.01,
        "trade_tick_size": 0.0,
        "trade_tick_value": 1.0,
        "trade_contract_size": 100.0,
        "volume_min": 0.01,
        "volume_max": 50.0,
        "volume_step": 0.01,
        "volume_limit": 0.0,
        "trade_stops_level": 20,
        "trade_freeze_level": 0,
        "filling_mode": 1,
        "order_mode": 127,
        "expiration_mode": 15,
        "trade_mode": 4,
        "trade_exemode": 2,
        "trade_calc_mode": 2,
        "spread_float": True,
        "currency_base": "XAU",
        "currency_profit": "USD",
        "currency_margin": "USD",
    }
    gold = SymbolRules.from_info(SimpleNamespace(**fields))
    assert gold.tick_size == 0.01
    assert gold.stops_distance == pytest.approx(0.2)
    assert gold.volume_digits == 2
    with pytest.raises(TerminalError, match="volume_step"):
        SymbolRules.from_info(SimpleNamespace(**{**fields, "volume_step": 0.0}))
    with pytest.raises(TerminalError, match="unusable"):
        SymbolRules.from_info(SimpleNamespace(name="broken"))


@given(
    st.sampled_from([Side.BUY, Side.SELL]),
    st.integers(min_value=1, max_value=200),
    st.integers(min_value=0, max_value=50),
    st.integers(min_value=0, max_value=50),
)
def test_adjusted_stops_always_respect_the_stops_level(
    side: Side, sl_points: int, tp_points: int, level: int
) -> None:
    rule = rules(stops_level=level)
    bid, ask = 1.08500, 1.08510
    ref = bid if side is Side.BUY else ask
    sign = -1 if side is Side.BUY else 1
    sl = round(ref + sign * sl_points * rule.point, 5)
    tp = round(ref - sign * (tp_points + 1) * rule.point, 5)
    new_sl, new_tp = check_stops(rule, side, ask, sl, tp, bid, ask, adjust=True)
    min_distance = level * rule.point - rule.point / 2
    assert abs(new_sl - ref) >= min_distance
    assert abs(new_tp - ref) >= min_distance
    assert (new_sl - ref) * sign > 0  # still on the loss side
    assert (ref - new_tp) * sign > 0  # still on the profit side
    assert new_sl == round(new_sl, 5)
    assert new_tp == round(new_tp, 5)
