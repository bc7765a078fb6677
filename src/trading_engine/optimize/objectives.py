"""Objectives: any statistic of the backtest report, or a named loss, with its direction.

Written ``sharpe``, ``Return [%]`` or ``min:Max. Drawdown [%]``: an alias or a statistic's exact
name (backtesting.py's names, as ``compute_stats`` gives them), optionally preceded by ``max:`` or
``min:``. Aliases: ``sharpe``, ``sortino``, ``calmar``, ``sqn``, ``return``, ``drawdown``
(minimised by default: it is negative, closer to 0 is better, so maximised), ``trades``,
``profit_dd`` (freqtrade's profit with a drawdown penalty: ``Return [%]`` + ``penalty`` ×
``Max. Drawdown [%]``, the drawdown being negative).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from trading_engine.errors import ConfigError

__all__ = ["ALIASES", "Objective", "TooFewTrades", "check_trades", "parse_objective"]

ALIASES: dict[str, str] = {
    "sharpe": "Sharpe Ratio",
    "sortino": "Sortino Ratio",
    "calmar": "Calmar Ratio",
    "sqn": "SQN",
    "return": "Return [%]",
    "drawdown": "Max. Drawdown [%]",
    "trades": "# Trades",
    "profit_factor": "Profit Factor",
    "win_rate": "Win Rate [%]",
    "equity": "Equity Final [$]",
}
PROFIT_DD = "profit_dd"
TRADES = "# Trades"


class TooFewTrades(Exception):
    """The trial made fewer trades than the objective's minimum: it does not count."""


@dataclass(frozen=True, slots=True)
class Objective:
    """One value to optimise: a statistic (or ``profit_dd``) and its direction."""

    stat: str
    direction: Literal["maximize", "minimize"] = "maximize"
    penalty: float = 1.0

    @property
    def label(self) -> str:
        return self.stat if self.stat != PROFIT_DD else f"profit_dd (penalty {self.penalty:g})"

    def value(self, stats: Mapping[str, float]) -> float:
        """The objective's value from a trial's statistics (NaN when undefined)."""
        if self.stat == PROFIT_DD:
            return float(stats["Return [%]"]) + self.penalty * float(stats["Max. Drawdown [%]"])
        if self.stat not in stats:
            raise KeyError(f"the report has no statistic {self.stat!r}")
        return float(stats[self.stat])


def parse_objective(
    text: str, *, penalty: float = 1.0, known: frozenset[str] = frozenset()
) -> Objective:
    """Parse ``[max:|min:]name``; with ``known`` (the report's statistic names), check the name."""
    direction: Literal["maximize", "minimize"] = "maximize"
    name = text.strip()
    head, sep, rest = name.partition(":")
    if sep and head.lower() in ("max", "min", "maximize", "minimize"):
        direction = "minimize" if head.lower().startswith("min") else "maximize"
        name = rest.strip()
    stat = ALIASES.get(name.lower(), name) if name.lower() != PROFIT_DD else PROFIT_DD
    if not stat:
        raise ConfigError("an objective is required (e.g. sharpe)", key="objective")
    if known and stat != PROFIT_DD and stat not in known:
        raise ConfigError(
            f"unknown statistic {stat!r} (aliases: {', '.join(ALIASES)}, {PROFIT_DD}; "
            f"statistics: {', '.join(sorted(known))})",
            key="objective",
        )
    if not math.isfinite(penalty) or penalty < 0:
        raise ConfigError("the drawdown penalty must be a finite number >= 0", key="objective")
    return Objective(stat, direction, penalty)


def check_trades(stats: Mapping[str, float], min_trades: int) -> None:
    """Raise ``TooFewTrades`` when the trial's trade count is under ``min_trades``."""
    trades = int(stats.get(TRADES, 0))
    if trades < min_trades:
        raise TooFewTrades(f"{trades} trades, fewer than the minimum {min_trades}")
