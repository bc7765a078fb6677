"""The closed trades of a backtest as a table (polars), written to CSV or Parquet.

Times are ISO 8601 with their UTC offset: ``open_time``/``close_time`` in the trade server's
time with the server's offset at that instant (``2024-01-08T10:00:00+02:00``), and
``open_time_utc``/``close_time_utc`` in UTC (``…+00:00``); so the time zone is always stated.
Parquet keeps the UTC times as timezone-aware timestamps and the server times as text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import polars as pl

from trading_engine.backtest.result import BacktestResult
from trading_engine.backtest.stats import trade_return

__all__ = ["trades_frame", "write_trades"]

ToUtc = Callable[[float], float]
"""Server epoch seconds → UTC epoch seconds (the broker's clock)."""


def _iso_server(seconds: int, to_utc: ToUtc) -> str:
    utc = to_utc(seconds)
    offset = timedelta(seconds=round(seconds - utc))
    return datetime.fromtimestamp(utc, tz=timezone(offset)).isoformat()


def trades_frame(result: BacktestResult, to_utc: ToUtc) -> pl.DataFrame:
    """One row per closed trade, in closing order (module docstring for the times)."""
    rows = [
        {
            "symbol": t.symbol,
            "strategy": t.strategy,
            "side": t.side,
            "volume": t.volume,
            "open_time": _iso_server(t.open_time, to_utc),
            "close_time": _iso_server(t.close_time, to_utc),
            "open_time_utc": datetime.fromtimestamp(to_utc(t.open_time), tz=UTC),
            "close_time_utc": datetime.fromtimestamp(to_utc(t.close_time), tz=UTC),
            "open_price": t.open_price,
            "close_price": t.close_price,
            "sl": t.sl,
            "tp": t.tp,
            "close_reason": t.close_reason,
            "profit": t.profit,
            "commission": t.commission,
            "swap": t.swap,
            "net": t.profit + t.commission + t.swap,
            "return_pct": trade_return(t) * 100,
        }
        for t in result.trades
    ]
    schema: dict[str, pl.DataType] = {
        "symbol": pl.Utf8(),
        "strategy": pl.Utf8(),
        "side": pl.Utf8(),
        "volume": pl.Float64(),
        "open_time": pl.Utf8(),
        "close_time": pl.Utf8(),
        "open_time_utc": pl.Datetime("us", "UTC"),
        "close_time_utc": pl.Datetime("us", "UTC"),
        "open_price": pl.Float64(),
        "close_price": pl.Float64(),
        "sl": pl.Float64(),
        "tp": pl.Float64(),
        "close_reason": pl.Utf8(),
        "profit": pl.Float64(),
        "commission": pl.Float64(),
        "swap": pl.Float64(),
        "net": pl.Float64(),
        "return_pct": pl.Float64(),
    }
    return pl.DataFrame(rows, schema=schema)


def write_trades(result: BacktestResult, path: Path, to_utc: ToUtc) -> None:
    """Write the trades to ``path``: Parquet for ``.parquet``/``.pq``, else CSV (ISO times)."""
    frame = trades_frame(result, to_utc)
    if path.suffix.lower() in (".parquet", ".pq"):
        frame.write_parquet(path)
    else:
        frame.with_columns(
            pl.col("open_time_utc").dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
            pl.col("close_time_utc").dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        ).write_csv(path)
