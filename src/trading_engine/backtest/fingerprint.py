"""The parity fingerprint of a backtest: what two engines must agree on to have made the same run.

sha256 over every closed trade (symbol, side, volume, open and close server time, open and close
price, close reason, profit, commission, swap), in close order, and the counts of orders, fills,
rejections and risk refusals. Prices are written with 10 significant digits after rounding to
the symbol's precision would already make them equal; money with 2 decimals (as MT5 books it).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trading_engine.backtest.result import BacktestResult

__all__ = ["FINGERPRINT_COUNTS", "fingerprint"]

FINGERPRINT_COUNTS = ("orders", "fills", "rejections", "risk_refusals")


def fingerprint(result: BacktestResult) -> str:
    """The hex sha256 of the run's trades and counts (see the module docstring)."""
    digest = hashlib.sha256()
    for t in result.trades:
        line = (
            f"{t.symbol}|{t.side}|{t.volume:.8g}|{t.open_time}|{t.close_time}|"
            f"{t.open_price:.10g}|{t.close_price:.10g}|{t.close_reason}|"
            f"{t.profit:.2f}|{t.commission:.2f}|{t.swap:.2f}\n"
        )
        digest.update(line.encode())
    counts = "|".join(f"{k}={result.counts.get(k, 0)}" for k in FINGERPRINT_COUNTS)
    digest.update(counts.encode())
    return digest.hexdigest()
