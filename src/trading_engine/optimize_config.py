"""The ``optimize`` section of the configuration (search space, objective, sampler, walk-forward).

A leaf section like the others; it lives apart from the ``optimize`` package, which sits above
``backtest`` and ``config`` in the layers and runs the searches.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from trading_engine.sections import Section

__all__ = ["OptimizeConfig", "WalkForwardConfig"]


class WalkForwardConfig(Section):
    """Walk-forward windows, in bars of the base timeframe (the first of ``trading.timeframes``)."""

    in_sample: int = Field(2000, ge=1, description="bars each search sees")
    out_of_sample: int = Field(500, ge=1, description="bars the best parameters then trade")
    step: int | None = Field(None, ge=1, description="bars between folds; null = out_of_sample")
    anchored: bool = Field(False, description="in-sample windows all start at the first bar")
    holdout: int = Field(
        0, ge=0, description="last bars kept out of every fold, run once at the end"
    )


class OptimizeConfig(Section):
    """What ``trading-engine optimize`` and ``walk-forward`` search (the command line adds to it).

    ``space`` maps a parameter name (``ema_cross.fast``, ``ema_slow.timeperiod``,
    ``ema_cross.sl_atr``, ``strategy``, ``risk.risk_per_trade_pct``) to ``"lo:hi:step"``,
    ``"a,b,c"``, a list, or ``{low, high, step, log}``.
    """

    space: dict[str, Any] = Field(
        default_factory=dict,
        description="parameter name: 'lo:hi:step', 'a,b,c', a list or {low, high, step, log}",
    )
    constraints: list[str] = Field(default_factory=list, description="e.g. 'a.fast < a.slow'")
    objectives: list[str] = Field(
        default_factory=lambda: ["sharpe"],
        description="statistics or aliases, [max:|min:] prefix; several = multi-objective",
    )
    drawdown_penalty: float = Field(1.0, ge=0, description="weight of the drawdown in profit_dd")
    min_trades: int = Field(0, ge=0, description="trials with fewer trades do not count")
    sampler: Literal["grid", "random", "tpe", "cmaes", "nsga2"] = Field(
        "tpe", description="Optuna's sampler; nsga2 for several objectives"
    )
    trials: int | None = Field(
        None, ge=1, description="trials (per fold in walk-forward); null = the whole grid, or 100"
    )
    seed: int | None = Field(None, description="seed of the sampler")
    workers: int = Field(0, ge=0, description="worker processes; 0 = one per core")
    timeout: float | None = Field(None, gt=0, description="seconds for the whole search")
    walk_forward: WalkForwardConfig = Field(
        default_factory=WalkForwardConfig, description="walk-forward windows"
    )
