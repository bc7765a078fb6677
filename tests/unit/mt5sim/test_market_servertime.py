"""Server time: EET/EEST with the EU daylight-saving rule, fixed offsets, and the FX week."""

from __future__ import annotations

import datetime as dt

import numpy as np

from trading_engine.mt5sim.market.servertime import ServerTime, day_of_week


def _utc(*args: int) -> float:
    return dt.datetime(*args, tzinfo=dt.UTC).timestamp()


def test_eet_is_utc_plus_two_in_winter_and_three_in_eu_summer() -> None:
    st = ServerTime.eet()
    assert st.offset_at(_utc(2024, 1, 15, 12)) == 7200
    assert st.offset_at(_utc(2024, 7, 15, 12)) == 10800


def test_summer_time_starts_last_sunday_of_march_at_0100_utc() -> None:
    st = ServerTime.eet()
    switch = _utc(2024, 3, 31, 1)
    assert st.offset_at(switch - 1) == 7200
    assert st.offset_at(switch) == 10800
    assert st.to_server(switch - 1) == _utc(2024, 3, 31, 2, 59, 59)
    assert st.to_server(switch) == _utc(2024, 3, 31, 4)


def test_summer_time_ends_last_sunday_of_october_at_0100_utc() -> None:
    st = ServerTime.eet()
    switch = _utc(2025, 10, 26, 1)
    assert st.offset_at(switch - 1) == 10800
    assert st.offset_at(switch) == 7200


def test_to_utc_inverts_to_server_outside_the_repeated_hour() -> None:
    st = ServerTime.eet()
    utc = np.arange(_utc(2024, 3, 25), _utc(2024, 11, 5), 3599.5)
    server = st.to_server_array(utc)
    back = st.to_utc_array(server)
    repeated = (utc >= _utc(2024, 10, 27, 1)) & (utc < _utc(2024, 10, 27, 2))
    assert np.array_equal(back[~repeated], utc[~repeated])
    assert all(st.to_utc(s) == u for s, u in zip(server[::50], utc[::50], strict=True))


def test_vectorised_conversion_equals_scalar_conversion() -> None:
    st = ServerTime.eet()
    utc = np.linspace(_utc(2023, 1, 1), _utc(2026, 1, 1), 997)
    assert np.array_equal(st.to_server_array(utc), [st.to_server(u) for u in utc])
    assert np.array_equal(st.offsets(utc), [st.offset_at(u) for u in utc])


def test_fixed_offset_has_no_daylight_saving() -> None:
    st = ServerTime.fixed(0)
    for u in (_utc(2024, 1, 1), _utc(2024, 7, 1)):
        assert st.to_server(u) == u
        assert st.to_utc(u) == u
    assert np.array_equal(ServerTime.fixed(3600).to_utc_array([7200.0]), [3600.0])


def test_fx_week_opens_monday_midnight_and_closes_after_friday_in_server_time() -> None:
    st = ServerTime.eet()
    # Winter: Monday 00:00 server = Sunday 22:00 UTC; Friday 23:59:59 server = Friday 21:59:59 UTC.
    assert not st.is_open(_utc(2024, 1, 14, 21, 59, 59))
    assert st.is_open(_utc(2024, 1, 14, 22))
    assert st.is_open(_utc(2024, 1, 19, 21, 59, 59))
    assert not st.is_open(_utc(2024, 1, 19, 22))
    # Summer: one hour earlier in UTC.
    assert st.is_open(_utc(2024, 7, 14, 21))
    assert not st.is_open(_utc(2024, 7, 19, 21))
    assert not st.is_open(_utc(2024, 7, 17, 12) + 3 * 86400)  # Saturday


def test_day_of_week_uses_mql5_numbering() -> None:
    assert day_of_week(_utc(2024, 1, 7)) == 0  # Sunday
    assert day_of_week(_utc(2024, 1, 8, 23, 59)) == 1
    assert day_of_week(_utc(2024, 1, 13)) == 6


def test_offset_span_remembers_its_last_span_without_changing_answers() -> None:
    st = ServerTime.eet()
    edge = _utc(2024, 3, 31, 1)  # EU summer time starts at 01:00 UTC
    instants = [edge - 1, edge, edge - 0.001, edge + 1, _utc(2024, 1, 8), edge, _utc(2024, 11, 1)]
    expected = [ServerTime.eet().offset_span(t) for t in instants]  # each from a fresh instance
    assert [st.offset_span(t) for t in instants] == expected
    assert [st.offset_at(t) for t in instants] == [e[0] for e in expected]
    assert expected[0] == (7200, expected[0][1], float(edge))
    assert expected[1][:2] == (10800, float(edge))
