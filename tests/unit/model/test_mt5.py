"""The one MT5 table covers every code of docs/mt5-api.md §3.3 and §3.4: outcome and state."""

from __future__ import annotations

import pytest

from trading_engine.model.mt5 import (
    CLOSING_ENTRIES,
    CONNECTION_ERRORS,
    LAST_ERRORS,
    OPENING_ENTRIES,
    TRADE_RETCODES,
    DealEntry,
    Outcome,
    classify_check_retcode,
    classify_error,
    classify_retcode,
    classify_send_error,
    classify_send_retcode,
    close_reason,
    describe_error,
    describe_retcode,
    is_connection_error,
    state_after_send,
)
from trading_engine.model.order_state import OrderState

S, P, R, V, F = Outcome.SUCCESS, Outcome.PARTIAL, Outcome.RETRY, Outcome.VERIFY, Outcome.FINAL

# Written out from the spec table, independently of the module's own table.
SPEC_RETCODES = {
    10004: ("REQUOTE", R),
    10006: ("REJECT", F),
    10007: ("CANCEL", F),
    10008: ("PLACED", S),
    10009: ("DONE", S),
    10010: ("DONE_PARTIAL", P),
    10011: ("ERROR", V),
    10012: ("TIMEOUT", V),
    10013: ("INVALID", F),
    10014: ("INVALID_VOLUME", F),
    10015: ("INVALID_PRICE", F),
    10016: ("INVALID_STOPS", F),
    10017: ("TRADE_DISABLED", F),
    10018: ("MARKET_CLOSED", F),
    10019: ("NO_MONEY", F),
    10020: ("PRICE_CHANGED", R),
    10021: ("PRICE_OFF", R),
    10022: ("INVALID_EXPIRATION", F),
    10023: ("ORDER_CHANGED", R),
    10024: ("TOO_MANY_REQUESTS", R),
    10025: ("NO_CHANGES", S),
    10026: ("SERVER_DISABLES_AT", F),
    10027: ("CLIENT_DISABLES_AT", F),
    10028: ("LOCKED", R),
    10029: ("FROZEN", R),
    10030: ("INVALID_FILL", F),
    10031: ("CONNECTION", V),
    10032: ("ONLY_REAL", F),
    10033: ("LIMIT_ORDERS", F),
    10034: ("LIMIT_VOLUME", F),
    10035: ("INVALID_ORDER", F),
    10036: ("POSITION_CLOSED", F),
    10038: ("INVALID_CLOSE_VOLUME", F),
    10039: ("CLOSE_ORDER_EXIST", V),
    10040: ("LIMIT_POSITIONS", F),
    10041: ("REJECT_CANCEL", F),
    10042: ("LONG_ONLY", F),
    10043: ("SHORT_ONLY", F),
    10044: ("CLOSE_ONLY", F),
    10045: ("FIFO_CLOSE", F),
    10046: ("HEDGE_PROHIBITED", F),
}

SPEC_ERRORS = {
    1: ("RES_S_OK", S),
    -1: ("RES_E_FAIL", F),
    -2: ("RES_E_INVALID_PARAMS", F),
    -3: ("RES_E_NO_MEMORY", F),
    -4: ("RES_E_NOT_FOUND", F),
    -5: ("RES_E_INVALID_VERSION", F),
    -6: ("RES_E_AUTH_FAILED", R),
    -7: ("RES_E_UNSUPPORTED", F),
    -8: ("RES_E_AUTO_TRADING_DISABLED", F),
    -10000: ("RES_E_INTERNAL_FAIL", R),
    -10001: ("RES_E_INTERNAL_FAIL_SEND", R),
    -10002: ("RES_E_INTERNAL_FAIL_RECEIVE", R),
    -10003: ("RES_E_INTERNAL_FAIL_INIT", R),
    -10004: ("RES_E_INTERNAL_FAIL_CONNECT", R),
    -10005: ("RES_E_INTERNAL_FAIL_TIMEOUT", R),
}


def test_table_holds_exactly_the_spec_retcodes_and_no_10037() -> None:
    assert set(TRADE_RETCODES) == set(SPEC_RETCODES)
    assert 10037 not in TRADE_RETCODES


@pytest.mark.parametrize(("code", "expected"), sorted(SPEC_RETCODES.items()))
def test_every_retcode_maps_to_its_spec_outcome_and_name(
    code: int, expected: tuple[str, Outcome]
) -> None:
    name, outcome = expected
    assert classify_retcode(code) is outcome
    assert classify_send_retcode(code) is outcome
    assert TRADE_RETCODES[code].name == f"TRADE_RETCODE_{name}"
    assert TRADE_RETCODES[code].description
    assert describe_retcode(code).startswith(f"{code} TRADE_RETCODE_{name} (")


@pytest.mark.parametrize(("code", "expected"), sorted(SPEC_ERRORS.items()))
def test_every_last_error_code_maps_to_its_outcome_and_name(
    code: int, expected: tuple[str, Outcome]
) -> None:
    name, outcome = expected
    assert classify_error(code) is outcome
    assert LAST_ERRORS[code].name == name


def test_last_error_table_holds_exactly_the_spec_codes() -> None:
    assert set(LAST_ERRORS) == set(SPEC_ERRORS)


def test_connection_errors_are_the_ipc_range_and_auth_failure() -> None:
    assert frozenset({-6, -10000, -10001, -10002, -10003, -10004, -10005}) == CONNECTION_ERRORS
    for code in SPEC_ERRORS:
        assert is_connection_error(code) is (code in CONNECTION_ERRORS)


def test_unknown_retcode_is_final_but_verify_after_order_send() -> None:
    assert classify_retcode(12345) is Outcome.FINAL
    assert classify_send_retcode(12345) is Outcome.VERIFY
    assert "unknown" in describe_retcode(12345)


def test_unknown_last_error_is_final() -> None:
    assert classify_error(-777) is Outcome.FINAL
    assert describe_error(-777, "odd") == "-777 unknown error: odd"


def test_order_check_success_is_retcode_zero() -> None:
    assert classify_check_retcode(0) is Outcome.SUCCESS
    assert classify_check_retcode(10019) is Outcome.FINAL
    assert classify_check_retcode(10004) is Outcome.RETRY


@pytest.mark.parametrize("code", [-10000, -10001, -10002, -10003, -10004, -10005, -1, -99])
def test_send_returning_none_with_ipc_or_unknown_error_must_be_verified(code: int) -> None:
    assert classify_send_error(code) is Outcome.VERIFY


@pytest.mark.parametrize("code", [-2, -3, -5, -6, -7, -8])
def test_send_returning_none_with_client_side_error_is_final(code: int) -> None:
    assert classify_send_error(code) is Outcome.FINAL


def test_describe_error_prefers_the_terminals_text() -> None:
    assert describe_error(-10004, "No IPC connection") == (
        "-10004 RES_E_INTERNAL_FAIL_CONNECT: No IPC connection"
    )
    assert describe_error(-10004) == "-10004 RES_E_INTERNAL_FAIL_CONNECT: no IPC connection"


# The order state per code, written out independently of the module's table.
SPEC_STATES = {
    10007: OrderState.CANCELED,
    10008: OrderState.PLACED,
    10009: OrderState.FILLED,
    10010: OrderState.PARTIALLY_FILLED,
    10011: OrderState.UNKNOWN,
    10012: OrderState.UNKNOWN,
    10031: OrderState.UNKNOWN,
}


@pytest.mark.parametrize("code", sorted(SPEC_RETCODES))
def test_every_retcode_gives_the_order_state_of_its_row(code: int) -> None:
    expected = SPEC_STATES.get(code, OrderState.REJECTED)
    assert TRADE_RETCODES[code].state is expected
    assert state_after_send(code) is expected


def test_the_disagreements_of_the_old_tables_are_decided_once() -> None:
    # 10039: this request did nothing, another close may complete: REJECTED, but verify.
    assert (classify_send_retcode(10039), state_after_send(10039)) == (V, OrderState.REJECTED)
    # 10046: a known refusal, not an unknown code.
    assert (classify_send_retcode(10046), state_after_send(10046)) == (F, OrderState.REJECTED)
    # 10025: a no-op succeeds; an order answered so executed nothing.
    assert (classify_send_retcode(10025), state_after_send(10025)) == (S, OrderState.REJECTED)


def test_done_places_a_pending_order_and_unknown_codes_are_unknown() -> None:
    assert state_after_send(10009, pending=True) is OrderState.PLACED
    assert state_after_send(10099) is OrderState.UNKNOWN


@pytest.mark.parametrize("code", [-2, -3, -5, -6, -7, -8])
def test_no_result_with_a_client_side_error_rejects_the_order(code: int) -> None:
    assert state_after_send(None, error_code=code) is OrderState.REJECTED


@pytest.mark.parametrize("code", [None, 1, -1, -10004, -10005, -99])
def test_no_result_with_an_ipc_or_unknown_error_leaves_the_order_unknown(code: int | None) -> None:
    assert state_after_send(None, error_code=code) is OrderState.UNKNOWN


def test_closing_and_opening_deal_entries() -> None:
    assert frozenset({DealEntry.OUT, DealEntry.OUT_BY, DealEntry.INOUT}) == CLOSING_ENTRIES
    assert frozenset({DealEntry.IN, DealEntry.INOUT}) == OPENING_ENTRIES


@pytest.mark.parametrize(
    ("reason", "name"),
    [
        (0, "manual"),
        (1, "manual"),
        (2, "manual"),
        (3, "signal"),
        (4, "sl"),
        (5, "tp"),
        (6, "stop_out"),
        (7, "other"),
        (8, "other"),
        (9, "other"),
        (42, "other"),
    ],
)
def test_close_reason_names_every_deal_reason(reason: int, name: str) -> None:
    assert close_reason(reason, expert="signal") == name
