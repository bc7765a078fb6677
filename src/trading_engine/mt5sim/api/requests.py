"""Client-side parsing of a trade request dict into a ``TradeRequest`` struct.

The real module reads the known keys of the dict (in ``docs/mt5-api.md`` §1.2 order), ignores the
others, and refuses a value of the wrong type, or a comment over the terminal's limit, *before*
anything reaches the server: ``order_send``/``order_check`` return None and ``last_error()`` is
``(-2, 'Invalid "<field>" argument')``. Missing keys take 0 / 0.0 / ''.
"""

from __future__ import annotations

import operator
from datetime import datetime
from typing import Any, Final

from trading_engine.mt5sim.spec.structs import TradeRequest

__all__ = ["REQUEST_FIELDS", "RequestError", "parse_request", "to_seconds"]

_INT, _FLOAT, _STR, _TIME = 0, 1, 2, 3
REQUEST_FIELDS: Final[tuple[tuple[str, int], ...]] = (
    ("action", _INT),
    ("magic", _INT),
    ("order", _INT),
    ("symbol", _STR),
    ("volume", _FLOAT),
    ("price", _FLOAT),
    ("stoplimit", _FLOAT),
    ("sl", _FLOAT),
    ("tp", _FLOAT),
    ("deviation", _INT),
    ("type", _INT),
    ("type_filling", _INT),
    ("type_time", _INT),
    ("expiration", _TIME),
    ("comment", _STR),
    ("position", _INT),
    ("position_by", _INT),
)
_DEFAULTS: Final = (0, 0, 0, "", 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0, 0, 0, 0, "", 0, 0)
_U64: Final = 1 << 64
_I64_MIN: Final = -(_U64 // 2)
_SLOTS: Final = {name: (i, kind) for i, (name, kind) in enumerate(REQUEST_FIELDS)}


class RequestError(ValueError):
    """A request field the client library refuses; ``field`` names it."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def to_seconds(value: Any) -> int:
    """A date argument (int seconds or ``datetime``) as int seconds; naive = host local time.

    Raises TypeError/ValueError/OverflowError for anything else.
    """
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, float):
        raise TypeError("float date")
    return operator.index(value)


def _int(v: Any) -> int:
    if isinstance(v, float):
        raise TypeError
    i = operator.index(v)
    if not _I64_MIN <= i < _U64:
        raise OverflowError
    return i


def _float(v: Any) -> float:
    if isinstance(v, str | bytes) or v is None:
        raise TypeError
    return float(v)


def parse_request(request: Any, comment_limit: int) -> TradeRequest:
    """Validate the dict ``request`` and return its ``TradeRequest`` (raises ``RequestError``)."""
    if type(request) is dict:
        values = _plain(request)
        if values is not None:
            return _finish(values, comment_limit)
    if not isinstance(request, dict):
        raise RequestError("request")
    values = list(_DEFAULTS)
    for i, (name, kind) in enumerate(REQUEST_FIELDS):
        if name not in request:
            continue
        v = request[name]
        try:
            if kind == _INT:
                values[i] = _int(v)
            elif kind == _FLOAT:
                values[i] = _float(v)
            elif kind == _STR:
                if not isinstance(v, str):
                    raise TypeError
                values[i] = v
            else:
                values[i] = to_seconds(v)
        except (TypeError, ValueError, OverflowError):
            raise RequestError(name) from None
    return _finish(values, comment_limit)


def _plain(request: dict[str, Any]) -> list[Any] | None:
    """The values of a request whose fields all have their plain type (``int`` in range,
    ``float``, ``str``; the expiration an ``int``); None for anything else, which the general
    parse handles (conversions, and the first bad field in field order)."""
    values: list[Any] = list(_DEFAULTS)
    for name, v in request.items():
        slot = _SLOTS.get(name)
        if slot is None:
            continue
        i, kind = slot
        t = type(v)
        if kind == _FLOAT:
            if t is not float:
                return None
        elif kind == _STR:
            if t is not str:
                return None
        elif t is not int or not _I64_MIN <= v < _U64:
            return None
        values[i] = v
    return values


def _finish(values: list[Any], comment_limit: int) -> TradeRequest:
    comment: str = values[14]
    if len(comment) > comment_limit or not comment.isprintable():
        raise RequestError("comment")
    return TradeRequest._make(tuple(values))
