"""Walk-forward folds: coverage, no out-of-sample overlap, nothing out of sample seen in sample."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading_engine.errors import ConfigError
from trading_engine.optimize.folds import make_folds


def test_rolling_folds() -> None:
    folds = make_folds(1000, in_sample=400, out_of_sample=200)
    assert [(f.is_start, f.is_end, f.oos_end) for f in folds] == [
        (0, 400, 600),
        (200, 600, 800),
        (400, 800, 1000),
    ]


def test_anchored_folds_grow_from_the_first_bar() -> None:
    folds = make_folds(1000, in_sample=400, out_of_sample=200, anchored=True)
    assert [(f.is_start, f.is_end, f.oos_end) for f in folds] == [
        (0, 400, 600),
        (0, 600, 800),
        (0, 800, 1000),
    ]


def test_holdout_is_in_no_fold() -> None:
    folds = make_folds(1000, in_sample=300, out_of_sample=100, holdout=250)
    assert max(f.oos_end for f in folds) <= 750


def test_overlapping_out_of_sample_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"walk_forward\.step: .*overlap"):
        make_folds(1000, in_sample=300, out_of_sample=100, step=50)


def test_too_little_data() -> None:
    with pytest.raises(ConfigError, match="no fold fits: 500 bars, need at least 600"):
        make_folds(500, in_sample=400, out_of_sample=100, holdout=100)


@settings(deadline=None)
@given(
    bars=st.integers(50, 3000),
    in_sample=st.integers(1, 800),
    out_of_sample=st.integers(1, 400),
    extra_step=st.integers(0, 200),
    anchored=st.booleans(),
    holdout=st.integers(0, 300),
)
def test_fold_properties(
    bars: int, in_sample: int, out_of_sample: int, extra_step: int, anchored: bool, holdout: int
) -> None:
    step = out_of_sample + extra_step
    try:
        folds = make_folds(
            bars,
            in_sample=in_sample,
            out_of_sample=out_of_sample,
            step=step,
            anchored=anchored,
            holdout=holdout,
        )
    except ConfigError:
        assert in_sample + out_of_sample + holdout > bars
        return
    for fold in folds:
        assert 0 <= fold.is_start < fold.is_end < fold.oos_end <= bars - holdout
        assert fold.oos_end - fold.oos_start == out_of_sample
        assert fold.oos_start >= fold.is_end  # its own out-of-sample bars are after in-sample
    for a, b in itertools.pairwise(folds):
        assert b.oos_start >= a.oos_end  # out-of-sample windows never overlap, and as they move
        assert b.is_end > a.is_end  # forward, no later out-of-sample bar is in an earlier search
    if step == out_of_sample:  # back to back: the out-of-sample windows cover a contiguous span
        assert all(b.oos_start == a.oos_end for a, b in itertools.pairwise(folds))
    # no further fold would have fitted
    assert folds[-1].oos_end + step > bars - holdout
