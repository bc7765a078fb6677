"""The deflated Sharpe ratio against its definition and a Monte-Carlo of the expected maximum."""

from __future__ import annotations

import math

import numpy as np

from trading_engine.optimize.dsr import deflated_sharpe, expected_max_sharpe, sharpe_moments


def test_expected_max_matches_monte_carlo() -> None:
    rng = np.random.default_rng(1)
    for trials in (10, 100, 1000):
        simulated = rng.normal(0.0, 0.5, size=(4000, trials)).max(axis=1).mean()
        assert abs(expected_max_sharpe(trials, 0.25) - simulated) / simulated < 0.05


def test_moments_of_a_normal_sample() -> None:
    rng = np.random.default_rng(2)
    returns = rng.normal(0.001, 0.01, 200_000)
    sr, n, skew, kurt = sharpe_moments(returns)
    assert n == 200_000
    assert abs(sr - 0.1) < 0.01
    assert abs(skew) < 0.05
    assert abs(kurt - 3.0) < 0.05


def test_one_trial_is_the_probabilistic_sharpe_ratio() -> None:
    # With one trial SR0 = 0: DSR = Φ(SR·sqrt(T-1)/sqrt(1 - γ3·SR + (γ4-1)/4·SR²)).
    sr, t, skew, kurt = 0.1, 250, 0.0, 3.0
    expected = 0.5 * (1 + math.erf(sr * math.sqrt(t - 1) / math.sqrt(1 + 0.5 * sr**2) / 2**0.5))
    assert math.isclose(deflated_sharpe(sr, t, skew, kurt, [sr]), expected, rel_tol=1e-12)


def test_more_trials_deflate_more() -> None:
    rng = np.random.default_rng(3)
    few = list(rng.normal(0, 0.05, 5))
    many = list(rng.normal(0, 0.05, 500))
    sr = 0.12
    assert deflated_sharpe(sr, 500, 0.0, 3.0, many) < deflated_sharpe(sr, 500, 0.0, 3.0, few)
    # a best Sharpe no better than chance among many trials is not significant
    assert deflated_sharpe(max(many), 500, 0.0, 3.0, many) < 0.95


def test_undefined_cases_are_nan() -> None:
    assert math.isnan(deflated_sharpe(math.nan, 100, 0.0, 3.0, [0.1]))
    assert math.isnan(deflated_sharpe(0.1, 1, 0.0, 3.0, [0.1]))
    assert math.isnan(sharpe_moments([1.0, 1.0, 1.0])[0])
