"""History files with polars: MT5's exported CSV (bars and ticks) and Parquet of the dtypes.

Formats (times are server wall-clock, as MT5 exports them):

- Bars CSV, tab-separated, header ``<DATE> <TIME> <OPEN> <HIGH> <LOW> <CLOSE> <TICKVOL> <VOL>
  <SPREAD>``, dates ``2024.01.08``, times ``00:00:00``; ``<VOL>`` is ``real_volume``.
- Ticks CSV, tab-separated, header ``<DATE> <TIME> <BID> <ASK> <LAST> <VOLUME> <FLAGS>``, times
  with milliseconds (``00:00:00.123``). MT5 leaves BID/ASK/LAST/VOLUME empty when the tick did not
  change them: on reading, empty BID/ASK carry the previous value forward, empty LAST/VOLUME are
  0. ``<VOLUME>`` is written from ``volume_real``; reading sets ``volume`` to its rounded value.
- Parquet: one column per field of ``RATES_DTYPE`` or ``TICKS_DTYPE``, same names and types.

Files exported by MT5 in UTF-16 (with a byte-order mark) are read as well. Prices are written in
the shortest form that reads back to the same float, so write → read gives the same array.
Bars-only history gets its ticks from :func:`~trading_engine.mt5sim.market.bars.ticks_from_m1` ("1
minute OHLC", see :mod:`~trading_engine.mt5sim.market.bars`).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from trading_engine.mt5sim.spec.dtypes import RATES_DTYPE, TICKS_DTYPE

__all__ = [
    "BARS_HEADER",
    "TICKS_HEADER",
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

_DATE_FMT: Final = "%Y.%m.%d"


def _source(path: Path) -> Path | io.BytesIO:
    raw = path.read_bytes()[:2]
    if raw in (b"\xff\xfe", b"\xfe\xff"):
        return io.BytesIO(path.read_bytes().decode("utf-16").encode("utf-8"))
    return path


def _to_records(df: pl.DataFrame, dtype: np.dtype[np.void]) -> npt.NDArray[np.void]:
    out = np.empty(df.height, dtype=dtype)
    names = dtype.names or ()
    for name in names:
        out[name] = df.get_column(name).to_numpy()
    return out


def _frame(arr: npt.NDArray[np.void]) -> pl.DataFrame:
    names = arr.dtype.names or ()
    return pl.DataFrame({name: np.ascontiguousarray(arr[name]) for name in names})


def _epoch(date: pl.Expr, time: pl.Expr, fmt: str) -> pl.Expr:
    stamp = pl.concat_str([date, time], separator=" ").str.strptime(pl.Datetime("ms"), fmt)
    return stamp.dt.epoch("ms")


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


def read_bars_csv(path: Path) -> npt.NDArray[np.void]:
    """Read an MT5 bars export into RATES_DTYPE."""
    df = pl.read_csv(_source(path), separator="\t", infer_schema=False)
    if tuple(df.columns) != BARS_HEADER:
        raise ValueError(f"{path}: not an MT5 bars export (header {df.columns})")
    out = df.select(
        (_epoch(pl.col("<DATE>"), pl.col("<TIME>"), f"{_DATE_FMT} %H:%M:%S") // 1000).alias("time"),
        pl.col("<OPEN>").cast(pl.Float64).alias("open"),
        pl.col("<HIGH>").cast(pl.Float64).alias("high"),
        pl.col("<LOW>").cast(pl.Float64).alias("low"),
        pl.col("<CLOSE>").cast(pl.Float64).alias("close"),
        pl.col("<TICKVOL>").cast(pl.UInt64).alias("tick_volume"),
        pl.col("<SPREAD>").cast(pl.Int32).alias("spread"),
        pl.col("<VOL>").cast(pl.UInt64).alias("real_volume"),
    )
    return _to_records(out, RATES_DTYPE)


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


def read_ticks_csv(path: Path) -> npt.NDArray[np.void]:
    """Read an MT5 ticks export into TICKS_DTYPE (see the module notes on empty fields)."""
    df = pl.read_csv(_source(path), separator="\t", infer_schema=False)
    if tuple(df.columns) != TICKS_HEADER:
        raise ValueError(f"{path}: not an MT5 ticks export (header {df.columns})")

    def num(col: str) -> pl.Expr:
        return pl.col(col).str.strip_chars().replace("", None).cast(pl.Float64)

    msc = _epoch(pl.col("<DATE>"), pl.col("<TIME>"), f"{_DATE_FMT} %H:%M:%S%.f")
    volume = num("<VOLUME>").fill_null(0.0)
    out = df.select(
        (msc // 1000).alias("time"),
        num("<BID>").forward_fill().backward_fill().fill_null(0.0).alias("bid"),
        num("<ASK>").forward_fill().backward_fill().fill_null(0.0).alias("ask"),
        num("<LAST>").fill_null(0.0).alias("last"),
        volume.round(0).cast(pl.UInt64).alias("volume"),
        msc.alias("time_msc"),
        pl.col("<FLAGS>").cast(pl.UInt32).alias("flags"),
        volume.alias("volume_real"),
    )
    return _to_records(out, TICKS_DTYPE)


def write_parquet(path: Path, data: npt.NDArray[np.void]) -> None:
    """Write RATES_DTYPE or TICKS_DTYPE records as Parquet, one column per field."""
    if data.dtype not in (RATES_DTYPE, TICKS_DTYPE):
        raise ValueError("expected a RATES_DTYPE or TICKS_DTYPE array")
    _frame(data).write_parquet(path)


def read_parquet(path: Path) -> tuple[Literal["bars", "ticks"], npt.NDArray[np.void]]:
    """Read a Parquet file written by :func:`write_parquet`: ("bars" | "ticks", records)."""
    df = pl.read_parquet(path)
    for kind, dtype in (("bars", RATES_DTYPE), ("ticks", TICKS_DTYPE)):
        if tuple(df.columns) == dtype.names:
            return kind, _to_records(df, dtype)  # type: ignore[return-value]
    raise ValueError(f"{path}: columns {df.columns} match neither rates nor ticks")


def read_history(path: Path) -> tuple[Literal["bars", "ticks"], npt.NDArray[np.void]]:
    """Read any supported history file, telling bars from ticks by suffix and header."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        return read_parquet(path)
    src = _source(path)
    head = (src.getvalue() if isinstance(src, io.BytesIO) else path.read_bytes())[:200]
    first = head.decode("utf-8", errors="replace").lstrip("\ufeff").split("\n", 1)[0]
    if "<BID>" in first:
        return "ticks", read_ticks_csv(path)
    if "<OPEN>" in first:
        return "bars", read_bars_csv(path)
    raise ValueError(f"{path}: unknown history format")
