"""Walk-forward folds: rolling or anchored in-sample windows, each followed by an out-of-sample one.

Windows are half-open ranges of bar indices of the base timeframe. The out-of-sample windows of
successive folds never overlap (``step >= out_of_sample``), every in-sample window ends where its
out-of-sample window begins, and the final hold-out (the last ``holdout`` bars) belongs to no fold.
"""

from __future__ import annotations

from dataclasses import dataclass

from trading_engine.errors import ConfigError

__all__ = ["Fold", "make_folds"]


@dataclass(frozen=True, slots=True)
class Fold:
    """One fold: in-sample bars ``[is_start, is_end)``, out-of-sample ``[is_end, oos_end)``."""

    index: int
    is_start: int
    is_end: int
    oos_end: int

    @property
    def oos_start(self) -> int:
        return self.is_end


def make_folds(
    bars: int,
    *,
    in_sample: int,
    out_of_sample: int,
    step: int | None = None,
    anchored: bool = False,
    holdout: int = 0,
    start: int = 0,
) -> list[Fold]:
    """The folds over bars ``[start, bars - holdout)``; at least one, else a ``ConfigError``.

    Rolling: fold k's in-sample window is ``[start + k·step, start + k·step + in_sample)``.
    Anchored: it always begins at ``start`` and grows by ``step``. ``step`` defaults to
    ``out_of_sample`` (out-of-sample windows back to back).
    """
    step = out_of_sample if step is None else step
    for key, value in (("in_sample", in_sample), ("out_of_sample", out_of_sample), ("step", step)):
        if value < 1:
            raise ConfigError(f"must be at least 1 bar, got {value}", key=f"walk_forward.{key}")
    if step < out_of_sample:
        raise ConfigError(
            f"a step of {step} bars under the out-of-sample length {out_of_sample} would make "
            "out-of-sample windows overlap",
            key="walk_forward.step",
        )
    if holdout < 0 or start < 0:
        raise ConfigError("must not be negative", key="walk_forward.holdout")
    usable = bars - holdout
    folds: list[Fold] = []
    k = 0
    while True:
        is_start = start if anchored else start + k * step
        is_end = start + in_sample + k * step
        oos_end = is_end + out_of_sample
        if oos_end > usable:
            break
        folds.append(Fold(k, is_start, is_end, oos_end))
        k += 1
    if not folds:
        need = start + in_sample + out_of_sample + holdout
        raise ConfigError(
            f"no fold fits: {bars} bars, need at least {need} "
            f"(in-sample {in_sample} + out-of-sample {out_of_sample} + hold-out {holdout})",
            key="walk_forward",
        )
    return folds
