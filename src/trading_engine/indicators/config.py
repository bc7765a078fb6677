"""Configuration of the indicator stage (``services.indicator_calculation``), of an indicator set
and of the regime classifier (``indicators``; pydantic, ``extra="forbid"``)."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator

from trading_engine.sections import Section

__all__ = [
    "DEFAULT_INDICATORS",
    "PARAMS",
    "IndicatorCalculationConfig",
    "IndicatorKind",
    "IndicatorSetConfig",
    "IndicatorSpec",
    "RegimeConfig",
]

IndicatorKind = Literal[
    "sma",
    "ema",
    "wma",
    "rsi",
    "mom",
    "roc",
    "trange",
    "atr",
    "natr",
    "plus_di",
    "minus_di",
    "adx",
    "cci",
    "willr",
    "bbands",
    "macd",
    "stoch",
    "donchian",
    "keltner",
]

#: Per kind: parameter -> (default, minimum period or None for a real number). TA-Lib's defaults
#: and minimums; periods are at most 100,000.
PARAMS: dict[str, dict[str, tuple[float, int | None]]] = {
    "sma": {"timeperiod": (30, 1)},
    "ema": {"timeperiod": (30, 1)},
    "wma": {"timeperiod": (30, 1)},
    "rsi": {"timeperiod": (14, 2)},
    "mom": {"timeperiod": (10, 1)},
    "roc": {"timeperiod": (10, 1)},
    "trange": {},
    "atr": {"timeperiod": (14, 1)},
    "natr": {"timeperiod": (14, 1)},
    "plus_di": {"timeperiod": (14, 1)},
    "minus_di": {"timeperiod": (14, 1)},
    "adx": {"timeperiod": (14, 2)},
    "cci": {"timeperiod": (14, 2)},
    "willr": {"timeperiod": (14, 2)},
    "bbands": {"timeperiod": (20, 2), "nbdevup": (2.0, None), "nbdevdn": (2.0, None)},
    "macd": {"fastperiod": (12, 2), "slowperiod": (26, 2), "signalperiod": (9, 1)},
    "stoch": {"fastk_period": (5, 1), "slowk_period": (3, 1), "slowd_period": (3, 1)},
    "donchian": {"timeperiod": (20, 1)},
    "keltner": {"timeperiod": (20, 1), "atr_period": (10, 1), "multiplier": (2.0, None)},
}

#: Output suffixes of the multi-output kinds (the value name is ``name + suffix``).
SUFFIXES: dict[str, tuple[str, ...]] = {
    "bbands": ("_upper", "_middle", "_lower"),
    "macd": ("", "_signal", "_hist"),
    "stoch": ("_k", "_d"),
    "donchian": ("_upper", "_middle", "_lower"),
    "keltner": ("_upper", "_middle", "_lower"),
}

MAX_PERIOD = 100_000


class IndicatorSpec(BaseModel):
    """One indicator of a set: its kind, its parameters (TA-Lib's names) and its value name.

    ``name`` defaults to the kind. Multi-output kinds name their values ``name + suffix``:
    bbands/donchian/keltner ``_upper``, ``_middle``, ``_lower``; macd ``""``, ``_signal``,
    ``_hist``; stoch ``_k``, ``_d``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: IndicatorKind
    params: dict[str, float] = Field(default_factory=dict)
    name: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    @model_validator(mode="after")
    def _check_params(self) -> IndicatorSpec:
        allowed = PARAMS[self.kind]
        for key, value in self.params.items():
            if key not in allowed:
                raise ValueError(
                    f"{self.kind}: unknown parameter {key!r} (allowed: {sorted(allowed)})"
                )
            minimum = allowed[key][1]
            if not math.isfinite(value):
                raise ValueError(f"{self.kind}.{key} must be finite, got {value}")
            if minimum is not None and (value != int(value) or not minimum <= value <= MAX_PERIOD):
                raise ValueError(
                    f"{self.kind}.{key} must be an integer in [{minimum}, {MAX_PERIOD}], "
                    f"got {value}"
                )
        return self

    @field_serializer("params")
    def _typed_params(self, params: dict[str, float]) -> dict[str, int | float]:
        """Periods (integers, as validated) written as ints: ``timeperiod: 14``, not ``14.0``
        (``check-config --print``, ``init-config``)."""
        allowed = PARAMS[self.kind]
        return {k: int(v) if allowed[k][1] is not None else v for k, v in params.items()}

    def resolved(self) -> dict[str, Any]:
        """All parameters with defaults filled in (periods as ``int``)."""
        out: dict[str, Any] = {}
        for key, (default, minimum) in PARAMS[self.kind].items():
            value = self.params.get(key, default)
            out[key] = int(value) if minimum is not None else float(value)
        return out

    @property
    def value_names(self) -> tuple[str, ...]:
        """Names of the values this spec contributes to the set."""
        base = self.name or self.kind
        return tuple(base + s for s in SUFFIXES.get(self.kind, ("",)))


class RegimeConfig(BaseModel):
    """Thresholds of the regime classifier (see ``trading_engine.indicators.regime``).

    A bar is VOLATILE when ATR/close is at least ``volatile_ratio`` times its mean over the last
    ``vol_window`` bars; otherwise TRENDING_UP (DOWN) when ADX >= ``adx_trend``, +DI > -DI
    (-DI > +DI) and the EMA's slope over ``slope_window`` bars, in ATRs per bar, is at least
    ``slope_min`` (at most ``-slope_min``); otherwise RANGING. A new state must hold for
    ``min_bars`` consecutive bars before the classifier switches to it. The defaults were chosen
    with ``scripts/regime_accuracy.py`` on generated series (tuned on seeds 0-2, reported on
    held-out seeds).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    adx_period: int = Field(14, ge=2, le=MAX_PERIOD, description="period of its ADX and ±DI")
    ema_period: int = Field(26, ge=1, le=MAX_PERIOD, description="period of its EMA")
    atr_period: int = Field(14, ge=1, le=MAX_PERIOD, description="period of its ATR")
    slope_window: int = Field(
        5, ge=1, le=10_000, description="bars over which the EMA slope is measured"
    )
    vol_window: int = Field(200, ge=2, le=100_000, description="bars of the mean ATR/close")
    adx_trend: float = Field(
        20.0, ge=0.0, le=100.0, description="ADX at or above which a directional move is a trend"
    )
    slope_min: float = Field(
        0.05, ge=0.0, description="EMA slope, ATRs per bar, needed for a trend"
    )
    volatile_ratio: float = Field(
        1.3, gt=1.0, description="VOLATILE at this multiple of the mean ATR/close"
    )
    min_bars: int = Field(
        10, ge=1, le=10_000, description="bars a new regime must hold before the switch"
    )


def _default_indicators() -> tuple[IndicatorSpec, ...]:
    return DEFAULT_INDICATORS


DEFAULT_INDICATORS: tuple[IndicatorSpec, ...] = (
    IndicatorSpec(kind="ema", params={"timeperiod": 12}, name="ema_fast"),
    IndicatorSpec(kind="ema", params={"timeperiod": 26}, name="ema_slow"),
    IndicatorSpec(kind="rsi", params={"timeperiod": 14}, name="rsi"),
    IndicatorSpec(kind="atr", params={"timeperiod": 14}, name="atr"),
    IndicatorSpec(kind="adx", params={"timeperiod": 14}, name="adx"),
    IndicatorSpec(kind="plus_di", params={"timeperiod": 14}, name="plus_di"),
    IndicatorSpec(kind="minus_di", params={"timeperiod": 14}, name="minus_di"),
    IndicatorSpec(
        kind="bbands", params={"timeperiod": 20, "nbdevup": 2.0, "nbdevdn": 2.0}, name="bb"
    ),
    IndicatorSpec(
        kind="macd", params={"fastperiod": 12, "slowperiod": 26, "signalperiod": 9}, name="macd"
    ),
)


class IndicatorSetConfig(BaseModel):
    """Which indicators a streaming ``IndicatorSet`` computes, and its regime classifier.

    The default is the engine's set: ``ema_fast`` (12), ``ema_slow`` (26), ``rsi`` (14), ``atr``
    (14), ``adx``, ``plus_di``, ``minus_di`` (14), ``bb_upper``/``bb_middle``/``bb_lower``
    (20, 2, 2), ``macd``/``macd_signal``/``macd_hist`` (12, 26, 9), with the default regime.
    ``regime=None`` turns the classifier off.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    indicators: tuple[IndicatorSpec, ...] = Field(
        default_factory=_default_indicators,
        description=(
            "indicators computed per symbol x timeframe; kind one of sma ema wma rsi mom roc "
            "trange atr natr plus_di minus_di adx cci willr bbands macd stoch donchian keltner "
            "(TA-Lib's parameter names); name prefixes multi-output values (bb: bb_upper, "
            "bb_middle, bb_lower)"
        ),
    )
    regime: RegimeConfig | None = Field(
        default_factory=RegimeConfig,
        description="thresholds of the regime classifier; null: no classifier",
    )

    @model_validator(mode="after")
    def _unique_names(self) -> IndicatorSetConfig:
        seen: set[str] = set()
        for spec in self.indicators:
            for name in spec.value_names:
                if name in seen:
                    raise ValueError(f"duplicate value name {name!r} in the indicator set")
                seen.add(name)
        return self

    @property
    def value_names(self) -> tuple[str, ...]:
        """Names of all values, in order."""
        return tuple(n for spec in self.indicators for n in spec.value_names)


class IndicatorCalculationConfig(Section):
    """IndicatorCalculationService: streaming indicators and the regime."""

    enabled: bool = Field(True, description="run the service")
    recent_rows_limit: int = Field(
        6, ge=1, le=100_000, description="recent rows kept per symbol x timeframe"
    )
    track_regime_changes: bool = Field(True, description="emit RegimeChangedEvent")
    warmup_bars: int = Field(
        1000, ge=1, le=1_000_000, description="closed bars of history that warm the indicators up"
    )
