"""History files with polars: MT5's exported CSV (bars of any timeframe, ticks) and Parquet.

Formats (times are server wall-clock, as MT5 exports them):

- Bars CSV, tab-separated, header ``<DATE> <TIME> <OPEN> <HIGH> <LOW> <CLOSE> <TICKVOL> <VOL>
  <SPREAD>``; dates ``2024.01.08``; times ``00:00:00`` or ``00:00``. D1, W1 and MN1 exports have
  no ``<TIME>`` column (bars open at 00:00). ``<VOL>`` is ``real_volume``; ``<TICKVOL>``, ``<VOL>``
  and ``<SPREAD>`` may be missing (0).
- Ticks CSV, tab-separated, header ``<DATE> <TIME> <BID> <ASK> <LAST> <VOLUME> <FLAGS>``, times
  with milliseconds (``00:00:00.123``). MT5 leaves BID/ASK/LAST/VOLUME empty when the tick did not
  change them: on reading, empty BID/ASK carry the previous value forward, empty LAST/VOLUME are
  0. ``<VOLUME>`` is written from ``volume_real``; reading sets ``volume`` to its rounded value.
- Parquet: one column per field of ``RATES_DTYPE`` or ``TICKS_DTYPE``, same names and types.

Encodings: UTF-16 with a byte-order mark (what MT5 writes), UTF-8 with or without one; LF or
CRLF line ends; tab, comma or semicolon separators (the header's). A value that cannot be read
raises :class:`HistoryFileError`, whose text is one line naming the file, line and column
(``EURUSD_H1.csv:17: column 3 <OPEN>: not a number: 'abc'``). Bar times must increase strictly.
A row that reads but cannot be a market (a price NaN, infinite, zero or negative; a bar whose
high is below its low or whose open or close lies outside them; a tick whose ask is below its
bid) is served as it is in an M1 bars file (the engine's bar validation rejects it); in a ticks
file or a file of higher-timeframe bars :func:`load_history` leaves it out and lists it
(``History.rejected``, ``line 17: high below low``) for the terminal's owner to log and count.

The timeframe of a bars file is inferred from its times (:func:`infer_timeframe`): the longest
MT5 timeframe on whose bar boundaries every time lies and that is no longer than the shortest
gap between two bars. Bars-only history gets its ticks from
:func:`~trading_engine.mt5sim.market.bars.ticks_from_m1` ("1 minute OHLC", see
:mod:`~trading_engine.mt5sim.market.bars`); higher-timeframe bars are first spread over four M1 bars
each (:func:`~trading_engine.mt5sim.market.bars.m1_from_bars`).
"""

from __future__ import annotations

import io
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from trading_engine.mt5sim.market.bars import bar_open_times
from trading_engine.mt5sim.spec import constants as c
from trading_engine.mt5sim.spec.dtypes import RATES_DTYPE, TICKS_DTYPE

__all__ = [
    "BARS_HEADER",
    "TICKS_HEADER",
    "History",
    "HistoryFileError",
    "infer_timeframe",
    "load_history",
    "read_bars_csv",
    "read_history",
    "read_parquet",
    "read_ticks_csv",
    "write_bars_csv",
    "write_parquet",
    "write_ticks_csv",
]

BARS_HEADER: Final = ("<DATE>", "<TIME>", "<OPEN>", "<HIGH>", "<LOW>", "<CLOSE>", "<TICKVOL>",
                      "<VOL>", "<SPREAD>")  # fmt: skip
TICKS_HEADER: Final = ("<DATE>", "<TIME>", "<BID>", "<ASK>", "<LAST>", "<VOLUME>", "<FLAGS>")
_BARS_REQUIRED: Final = ("<DATE>", "<OPEN>", "<HIGH>", "<LOW>", "<CLOSE>")
_TICKS_REQUIRED: Final = ("<DATE>", "<TIME>", "<BID>", "<ASK>")

_DATE_FMT: Final = "%Y.%m.%d"
_DAY: Final = 86_400
_FIXED: Final = (c.TIMEFRAME_M1, c.TIMEFRAME_M2, c.TIMEFRAME_M3, c.TIMEFRAME_M4, c.TIMEFRAME_M5,
                 c.TIMEFRAME_M6, c.TIMEFRAME_M10, c.TIMEFRAME_M12, c.TIMEFRAME_M15,
                 c.TIMEFRAME_M20, c.TIMEFRAME_M30, c.TIMEFRAME_H1, c.TIMEFRAME_H2, c.TIMEFRAME_H3,
                 c.TIMEFRAME_H4, c.TIMEFRAME_H6, c.TIMEFRAME_H8, c.TIMEFRAME_H12,
                 c.TIMEFRAME_D1)  # fmt: skip


class HistoryFileError(ValueError):
    """A history file that cannot be read; ``str()`` is one line: file, line, column, what."""

    def __init__(
        self, path: Path | str, message: str, *, line: int | None = None, column: str | None = None
    ) -> None:
        self.path = str(path)
        self.line = line
        self.column = column
        where = self.path if line is None else f"{self.path}:{line}"
        text = f"{where}: {message}" if column is None else f"{where}: column {column}: {message}"
        super().__init__(text)


@dataclass(frozen=True, slots=True)
class History:
    """One history file read: ``kind``, the records, and (bars) the inferred timeframe."""

    path: Path
    kind: Literal["bars", "ticks"]
    data: npt.NDArray[np.void]
    timeframe: int | None  # the bars' MT5 timeframe; None for ticks or a single bar
    rejected: tuple[str, ...] = ()  # the rows left out, "line 17: high below low"


# -- reading text -------------------------------------------------------------------------------


def _text(path: Path) -> str:
    raw = path.read_bytes()
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding, body = ("utf-16-le" if raw[0] == 0xFF else "utf-16-be"), raw[2:]
    elif len(raw) >= 4 and raw[1] == 0 and raw[3] == 0:  # UTF-16 LE without a mark
        encoding, body = "utf-16-le", raw
    else:  # the codec's error positions count from after a mark: the mark is cut here
        encoding, body = "utf-8", raw[3:] if raw[:3] == b"\xef\xbb\xbf" else raw
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        before = body[: exc.start].decode(encoding, "replace")
        first = body.decode(encoding, "replace").split("\n", 1)[0]
        raise HistoryFileError(
            path,
            "not UTF-8 or UTF-16 text",
            line=before.count("\n") + 1,
            column=_column_at(before, first),
        ) from None
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").rstrip("\n") + "\n"


def _column_at(before: str, first: str) -> str:
    """The column label (number and header name) of the field that follows the text
    ``before``, under the header line ``first``; the number alone when ``first`` is no text
    header (a binary file: its bytes are not echoed)."""
    first = first.strip("\r\ufeff")
    sep = max(("\t", ",", ";"), key=first.count)
    index = before[before.rfind("\n") + 1 :].count(sep)
    names = first.split(sep)
    name = names[index].strip().upper() if index < len(names) else ""
    if "\ufffd" in first or not name.isprintable():
        name = ""
    return f"{index + 1} {name}".rstrip()


def _frame_of(path: Path, text: str) -> pl.DataFrame:
    first = text.split("\n", 1)[0]
    sep = max(("\t", ",", ";"), key=first.count)
    try:
        df = pl.read_csv(io.StringIO(text), separator=sep, infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise HistoryFileError(path, f"not a CSV export: {message}") from None
    return df.rename({name: name.strip().upper() for name in df.columns})


def _column_label(df: pl.DataFrame, name: str) -> str:
    return f"{df.columns.index(name) + 1} {name}"


def _first_bad(path: Path, df: pl.DataFrame, name: str, bad: pl.Series, what: str) -> None:
    """Raise for the first row where ``bad`` is true (line = row + 2: the header is line 1)."""
    if bad.any():
        row = int(bad.arg_true()[0])
        value = df.get_column(name)[row]
        shown = f": {value!r}" if value else ""
        raise HistoryFileError(path, what + shown, line=row + 2, column=_column_label(df, name))


def _number(
    path: Path, df: pl.DataFrame, name: str, *, integer: bool = False, empty_ok: bool = False
) -> pl.Series:
    raw = df.get_column(name).str.strip_chars()
    empty = raw.is_null() | (raw == "")
    if not empty_ok:
        _first_bad(path, df, name, empty, "empty value")
    values = raw.replace("", None).cast(pl.Float64, strict=False)
    _first_bad(path, df, name, values.is_null() & ~empty, "not a number")
    if integer:
        whole = values.is_null() | ((values == values.floor()) & (values >= 0))
        _first_bad(path, df, name, ~whole, "not a whole number >= 0")
    return values


def _dates(path: Path, df: pl.DataFrame) -> pl.Series:
    raw = df.get_column("<DATE>").str.strip_chars().str.replace_all(r"[-/]", ".")
    days = raw.str.strptime(pl.Date, _DATE_FMT, strict=False)
    _first_bad(path, df, "<DATE>", days.is_null(), "not a date (YYYY.MM.DD)")
    return days.cast(pl.Int64) * _DAY


def _times_ms(path: Path, df: pl.DataFrame) -> pl.Series:
    """Milliseconds since midnight of ``HH:MM``, ``HH:MM:SS`` or ``HH:MM:SS.fff``."""
    raw = df.get_column("<TIME>").str.strip_chars()
    parts = raw.str.split(":")
    n = parts.list.len()
    hours = parts.list.get(0, null_on_oob=True).cast(pl.Int64, strict=False)
    minutes = parts.list.get(1, null_on_oob=True).cast(pl.Int64, strict=False)
    secs = parts.list.get(2, null_on_oob=True).cast(pl.Float64, strict=False)
    secs = pl.select(pl.when(n == 2).then(0.0).otherwise(secs)).to_series()
    ok = (
        n.is_in([2, 3])
        & hours.is_between(0, 23)
        & minutes.is_between(0, 59)
        & secs.is_between(0.0, 59.9995)
    ).fill_null(False)
    _first_bad(path, df, "<TIME>", ~ok, "not a time (HH:MM or HH:MM:SS)")
    return (hours * 3_600_000 + minutes * 60_000 + (secs * 1000.0).round(0).cast(pl.Int64)).alias(
        "ms"
    )


def _check_header(
    path: Path, df: pl.DataFrame, required: tuple[str, ...], known: tuple[str, ...]
) -> None:
    for name in df.columns:
        if name not in known:
            raise HistoryFileError(
                path, f"unknown column {name!r} (expected {' '.join(known)})", line=1
            )
    missing = [name for name in required if name not in df.columns]
    if missing:
        raise HistoryFileError(path, f"missing column(s) {' '.join(missing)}", line=1)


def _check_increasing(
    path: Path, df: pl.DataFrame, times: npt.NDArray[np.int64], what: str
) -> None:
    if times.size > 1:
        back = (
            np.flatnonzero(np.diff(times) <= 0)
            if what == "bars"
            else np.flatnonzero(np.diff(times) < 0)
        )
        if back.size:
            row = int(back[0]) + 1
            column = "<TIME>" if "<TIME>" in df.columns else "<DATE>"
            order = "after" if what == "bars" else "at or after"
            raise HistoryFileError(
                path,
                f"time not {order} the previous line's (rows must be in time order)",
                line=row + 2,
                column=_column_label(df, column),
            )


def _parse_bars(path: Path, df: pl.DataFrame) -> npt.NDArray[np.void]:
    _check_header(path, df, _BARS_REQUIRED, BARS_HEADER)
    seconds = _dates(path, df)
    if "<TIME>" in df.columns:
        seconds = seconds + _times_ms(path, df) // 1000
    out = np.zeros(df.height, dtype=RATES_DTYPE)
    out["time"] = seconds.to_numpy()
    _check_increasing(path, df, out["time"], "bars")
    for col, field in (("<OPEN>", "open"), ("<HIGH>", "high"), ("<LOW>", "low"),
                       ("<CLOSE>", "close")):  # fmt: skip
        out[field] = _number(path, df, col).to_numpy()
    for col, field in (("<TICKVOL>", "tick_volume"), ("<VOL>", "real_volume")):
        if col in df.columns:
            out[field] = _number(path, df, col, integer=True).to_numpy().astype(np.uint64)
    if "<SPREAD>" in df.columns:
        out["spread"] = _number(path, df, "<SPREAD>", integer=True).to_numpy().astype(np.int32)
    return out


def _parse_ticks(path: Path, df: pl.DataFrame) -> npt.NDArray[np.void]:
    _check_header(path, df, _TICKS_REQUIRED, TICKS_HEADER)
    msc = (_dates(path, df) * 1000 + _times_ms(path, df)).to_numpy()
    _check_increasing(path, df, msc, "ticks")
    out = np.zeros(df.height, dtype=TICKS_DTYPE)
    out["time_msc"] = msc
    out["time"] = msc // 1000
    for col, field in (("<BID>", "bid"), ("<ASK>", "ask")):
        values = _number(path, df, col, empty_ok=True)
        out[field] = values.forward_fill().backward_fill().fill_null(0.0).to_numpy()
    if "<LAST>" in df.columns:
        out["last"] = _number(path, df, "<LAST>", empty_ok=True).fill_null(0.0).to_numpy()
    if "<VOLUME>" in df.columns:
        volume = _number(path, df, "<VOLUME>", empty_ok=True).fill_null(0.0).to_numpy()
        out["volume_real"] = volume
        out["volume"] = np.rint(volume).astype(np.uint64)
    if "<FLAGS>" in df.columns:
        flags = _number(path, df, "<FLAGS>", integer=True, empty_ok=True).fill_null(0.0)
        out["flags"] = flags.to_numpy().astype(np.uint32)
    return out


def _read_csv(path: Path) -> tuple[Literal["bars", "ticks"], npt.NDArray[np.void]]:
    text = _text(path)
    if not text.strip():
        raise HistoryFileError(path, "empty file", line=1)
    header, _, rows = text.partition("\n")
    if not rows.strip():
        raise HistoryFileError(path, "no data rows after the header", line=2)
    header = header.upper()
    if "<BID>" in header:
        return "ticks", _parse_ticks(path, _frame_of(path, text))
    if "<OPEN>" in header:
        return "bars", _parse_bars(path, _frame_of(path, text))
    raise HistoryFileError(
        path, "unknown history format (expected an MT5 bars or ticks export)", line=1
    )


def read_bars_csv(path: Path) -> npt.NDArray[np.void]:
    """Read an MT5 bars export into RATES_DTYPE."""
    kind, data = _read_csv(Path(path))
    if kind != "bars":
        raise HistoryFileError(path, "not an MT5 bars export (no <OPEN> column)", line=1)
    return data


def read_ticks_csv(path: Path) -> npt.NDArray[np.void]:
    """Read an MT5 ticks export into TICKS_DTYPE (see the module notes on empty fields)."""
    kind, data = _read_csv(Path(path))
    if kind != "ticks":
        raise HistoryFileError(path, "not an MT5 ticks export (no <BID> column)", line=1)
    return data


# -- Parquet ------------------------------------------------------------------------------------


def _to_records(df: pl.DataFrame, dtype: np.dtype[np.void]) -> npt.NDArray[np.void]:
    out = np.empty(df.height, dtype=dtype)
    for name in dtype.names or ():
        out[name] = df.get_column(name).to_numpy()
    return out


def _frame(arr: npt.NDArray[np.void]) -> pl.DataFrame:
    names = arr.dtype.names or ()
    return pl.DataFrame({name: np.ascontiguousarray(arr[name]) for name in names})


def write_parquet(path: Path, data: npt.NDArray[np.void]) -> None:
    """Write RATES_DTYPE or TICKS_DTYPE records as Parquet, one column per field."""
    if data.dtype not in (RATES_DTYPE, TICKS_DTYPE):
        raise ValueError("expected a RATES_DTYPE or TICKS_DTYPE array")
    _frame(data).write_parquet(path)


def read_parquet(path: Path) -> tuple[Literal["bars", "ticks"], npt.NDArray[np.void]]:
    """Read a Parquet file written by :func:`write_parquet`: ("bars" | "ticks", records)."""
    try:
        df = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise HistoryFileError(path, f"not a Parquet file: {str(exc).splitlines()[0]}") from None
    for kind, dtype in (("bars", RATES_DTYPE), ("ticks", TICKS_DTYPE)):
        if tuple(df.columns) == dtype.names:
            try:
                records = _to_records(df, dtype)
            except (TypeError, ValueError) as exc:
                raise HistoryFileError(path, f"bad column type: {exc}") from None
            return kind, records  # type: ignore[return-value]
    raise HistoryFileError(path, f"columns {df.columns} match neither rates nor ticks")


# -- the entry points ---------------------------------------------------------------------------


def read_history(path: Path) -> tuple[Literal["bars", "ticks"], npt.NDArray[np.void]]:
    """Read any supported history file, telling bars from ticks by suffix and header."""
    kind, data, _ = _read(Path(path))
    return kind, data


def _read(path: Path) -> tuple[Literal["bars", "ticks"], npt.NDArray[np.void], tuple[str, int]]:
    """The file's kind and records, and how its rows are named (``("line", 2)``: row 0 is
    line 2)."""
    if not path.is_file():
        raise HistoryFileError(path, "no such file")
    if path.suffix.lower() in (".parquet", ".pq"):
        kind, data = read_parquet(path)
        if kind == "bars" and data.size > 1 and not bool(np.all(np.diff(data["time"]) > 0)):
            row = int(np.flatnonzero(np.diff(data["time"]) <= 0)[0]) + 1
            raise HistoryFileError(path, f"row {row}: time not after the previous row's")
        return kind, data, ("row", 1)
    kind, data = _read_csv(path)
    return kind, data, ("line", 2)  # the header is line 1


def _sound(
    kind: str, data: npt.NDArray[np.void], naming: tuple[str, int]
) -> tuple[npt.NDArray[np.void], tuple[str, ...]]:
    """``data`` without the rows that cannot be a market, and those rows named with why."""
    bad = _unsound(kind, data)
    if not bad:
        return data, ()
    keep = np.ones(data.size, dtype=bool)
    keep[list(bad)] = False
    where, first = naming
    return data[keep], tuple(f"{where} {row + first}: {why}" for row, why in sorted(bad.items()))


def _unsound(kind: str, data: npt.NDArray[np.void]) -> dict[int, str]:
    """The rows that cannot be a market, with the reason (the first that applies)."""
    names = ("open", "high", "low", "close") if kind == "bars" else ("bid", "ask")
    prices = np.stack([np.asarray(data[n], dtype=np.float64) for n in names])
    with np.errstate(invalid="ignore"):
        checks = [
            (~(np.isfinite(prices) & (prices > 0)).all(axis=0), "price not a positive number")
        ]
        if kind == "bars":
            o, h, lo, c = prices
            checks += [
                (h < lo, "high below low"),
                ((o < lo) | (o > h), "open outside low..high"),
                ((c < lo) | (c > h), "close outside low..high"),
            ]
        else:
            checks.append((prices[1] < prices[0], "ask below bid"))
    bad: dict[int, str] = {}
    for mask, why in checks:
        for row in np.flatnonzero(mask).tolist():
            bad.setdefault(row, why)
    return bad


def infer_timeframe(times: npt.NDArray[np.int64]) -> int | None:
    """The MT5 timeframe of bars opening at ``times`` (strictly increasing server seconds).

    The longest timeframe on whose bar boundaries every time lies and whose length is at most
    the shortest gap between two bars (MN1: month starts at least 28 days apart); None for fewer
    than two bars. Raises ``ValueError`` for times that lie on no whole minute.
    """
    if times.size < 2:
        return None
    if bool(np.any(times % 60 != 0)):
        raise ValueError("bar times are not whole minutes")
    gap = int(np.diff(times).min())
    if gap >= 28 * _DAY and np.array_equal(bar_open_times(c.TIMEFRAME_MN1, times), times):
        return c.TIMEFRAME_MN1
    if gap >= 7 * _DAY and np.array_equal(bar_open_times(c.TIMEFRAME_W1, times), times):
        return c.TIMEFRAME_W1
    best = c.TIMEFRAME_M1
    for tf in _FIXED:
        seconds = tf * 60 if tf < 0x4000 else (tf & 0x3FFF) * 3600
        if seconds <= gap and bool(np.all(times % seconds == 0)):
            best = tf
    return best


def load_history(path: Path) -> History:
    """Read ``path`` (any supported format) and infer the timeframe of its bars.

    M1 bars are served as the file has them, as a broker's terminal serves what it has: the
    engine's bar validation rejects, counts and logs a bad one. Ticks, and bars of a higher
    timeframe (spread over M1 bars to be replayed), cannot carry a bad row through: such rows
    are left out here and listed in ``History.rejected``.

    The last few files read are kept (their records read-only), keyed by path, size and
    modification time: a backtest reads its file when it plans the period, counts the bars and
    builds its terminal, and a 1M-row export takes seconds to parse.
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return _load_history(path)  # the reader says what is wrong with it
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    hit = _READ.get(key)
    if hit is not None:
        _READ.move_to_end(key)
        return hit
    history = _load_history(path)
    history.data.setflags(write=False)
    _READ[key] = history
    while len(_READ) > _READ_KEPT:
        _READ.popitem(last=False)
    return history


_READ: OrderedDict[tuple[str, int, int], History] = OrderedDict()
_READ_KEPT = 4


def _load_history(path: Path) -> History:
    kind, data, naming = _read(path)
    if kind == "ticks":
        data, bad = _sound(kind, data, naming)
        return History(path, kind, data, None, bad)
    try:
        timeframe = infer_timeframe(data["time"])
    except ValueError as exc:
        raise HistoryFileError(path, str(exc)) from None
    rejected: tuple[str, ...] = ()
    if timeframe not in (None, c.TIMEFRAME_M1):
        data, rejected = _sound(kind, data, naming)
    return History(path, kind, data, timeframe, rejected)


# -- writing ------------------------------------------------------------------------------------


def write_bars_csv(path: Path, rates: npt.NDArray[np.void]) -> None:
    """Write RATES_DTYPE bars as an MT5 bars export."""
    stamp = pl.from_epoch(pl.Series(np.ascontiguousarray(rates["time"])), time_unit="s")
    df = pl.DataFrame(
        {
            "<DATE>": stamp.dt.strftime(_DATE_FMT),
            "<TIME>": stamp.dt.strftime("%H:%M:%S"),
            "<OPEN>": np.ascontiguousarray(rates["open"]),
            "<HIGH>": np.ascontiguousarray(rates["high"]),
            "<LOW>": np.ascontiguousarray(rates["low"]),
            "<CLOSE>": np.ascontiguousarray(rates["close"]),
            "<TICKVOL>": np.ascontiguousarray(rates["tick_volume"]),
            "<VOL>": np.ascontiguousarray(rates["real_volume"]),
            "<SPREAD>": np.ascontiguousarray(rates["spread"]),
        }
    )
    df.write_csv(path, separator="\t")


def write_ticks_csv(path: Path, ticks: npt.NDArray[np.void]) -> None:
    """Write TICKS_DTYPE ticks as an MT5 ticks export (every field filled)."""
    stamp = pl.from_epoch(pl.Series(np.ascontiguousarray(ticks["time_msc"])), time_unit="ms")
    df = pl.DataFrame(
        {
            "<DATE>": stamp.dt.strftime(_DATE_FMT),
            "<TIME>": stamp.dt.strftime("%H:%M:%S%.3f"),
            "<BID>": np.ascontiguousarray(ticks["bid"]),
            "<ASK>": np.ascontiguousarray(ticks["ask"]),
            "<LAST>": np.ascontiguousarray(ticks["last"]),
            "<VOLUME>": np.ascontiguousarray(ticks["volume_real"]),
            "<FLAGS>": np.ascontiguousarray(ticks["flags"]),
        }
    )
    df.write_csv(path, separator="\t")
