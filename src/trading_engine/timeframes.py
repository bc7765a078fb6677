"""MetaTrader 5 timeframe constants, parsing and durations.

MT5 encodes timeframes oddly (``docs/mt5-api.md`` §3.1): minutes below 0x4000 (``M1`` = 1 … ``M30``
= 30), hours as ``n | 0x4000`` (``H1`` = 16385, ``D1`` = 16408), ``W1`` = 32769, ``MN1`` = 49153.
The value is not a duration: use ``timeframe_seconds()``. ``MN1`` has no fixed length (calendar
months) and ``timeframe_seconds(MN1)`` raises ``ValueError``.
"""

from __future__ import annotations

__all__ = [
    "D1",
    "H1",
    "H2",
    "H3",
    "H4",
    "H6",
    "H8",
    "H12",
    "M1",
    "M2",
    "M3",
    "M4",
    "M5",
    "M6",
    "M10",
    "M12",
    "M15",
    "M20",
    "M30",
    "MN1",
    "TIMEFRAMES",
    "W1",
    "fixed_seconds",
    "parse_timeframe",
    "timeframe_name",
    "timeframe_seconds",
]

M1 = 1
M2 = 2
M3 = 3
M4 = 4
M5 = 5
M6 = 6
M10 = 10
M12 = 12
M15 = 15
M20 = 20
M30 = 30
H1 = 1 | 0x4000
H2 = 2 | 0x4000
H3 = 3 | 0x4000
H4 = 4 | 0x4000
H6 = 6 | 0x4000
H8 = 8 | 0x4000
H12 = 12 | 0x4000
D1 = 24 | 0x4000
W1 = 1 | 0x8000
MN1 = 1 | 0xC000

TIMEFRAMES: dict[str, int] = {
    "M1": M1,
    "M2": M2,
    "M3": M3,
    "M4": M4,
    "M5": M5,
    "M6": M6,
    "M10": M10,
    "M12": M12,
    "M15": M15,
    "M20": M20,
    "M30": M30,
    "H1": H1,
    "H2": H2,
    "H3": H3,
    "H4": H4,
    "H6": H6,
    "H8": H8,
    "H12": H12,
    "D1": D1,
    "W1": W1,
    "MN1": MN1,
}
"""Every MT5 timeframe by name, shortest first."""

_NAMES = {value: name for name, value in TIMEFRAMES.items()}
_SECONDS = {
    **{v: v * 60 for v in (M1, M2, M3, M4, M5, M6, M10, M12, M15, M20, M30)},
    **{v: (v & 0x3FFF) * 3600 for v in (H1, H2, H3, H4, H6, H8, H12, D1)},
    W1: 7 * 86400,
}
# The seed's minute strings ("1", "60", "1440") map through the fixed durations.
_BY_MINUTES = {seconds // 60: value for value, seconds in _SECONDS.items()}


def _not_a_constant(value: object) -> str:
    return f"unknown timeframe {value!r}: not an MT5 timeframe constant"


def parse_timeframe(value: str | int) -> int:
    """The MT5 constant for ``value``.

    Accepts an MT5 name (``"M1"``, ``"h4"``, ``"D1"``; case-insensitive), the seed's minute
    strings (``"1"``, ``"5"``, ``"60"``, ``"240"``, ``"1440"``, ``"10080"`` for W1) and an MT5
    constant given as an int (``16385``). Raises ``ValueError`` naming the accepted forms otherwise.
    """
    if isinstance(value, bool):
        raise ValueError(f"unknown timeframe {value!r}")
    if isinstance(value, int):
        if value in _NAMES:
            return value
        raise ValueError(_not_a_constant(value))
    text = value.strip()
    if text.isdigit():
        minutes = int(text)
        if minutes in _BY_MINUTES:
            return _BY_MINUTES[minutes]
        raise ValueError(
            f"unknown timeframe {value!r}: minute strings are "
            + ", ".join(str(m) for m in sorted(_BY_MINUTES))
        )
    found = TIMEFRAMES.get(text.upper())
    if found is None:
        raise ValueError(f"unknown timeframe {value!r}: expected one of {', '.join(TIMEFRAMES)}")
    return found


def timeframe_name(timeframe: int) -> str:
    """The MT5 name of a timeframe constant (``16385`` → ``"H1"``)."""
    try:
        return _NAMES[timeframe]
    except KeyError:
        raise ValueError(_not_a_constant(timeframe)) from None


def timeframe_seconds(timeframe: int) -> int:
    """The length of one bar in seconds; ``MN1`` (calendar months) raises ``ValueError``."""
    if timeframe == MN1:
        raise ValueError("MN1 has no fixed length in seconds (calendar months)")
    try:
        return _SECONDS[timeframe]
    except KeyError:
        raise ValueError(_not_a_constant(timeframe)) from None


def fixed_seconds(timeframe: int) -> int | None:
    """``timeframe_seconds``, or None for ``MN1`` (whose bars have no fixed length)."""
    return None if timeframe == MN1 else timeframe_seconds(timeframe)
