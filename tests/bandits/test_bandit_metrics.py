"""Bandit metrics on hand-built traces with known answers."""

import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.bandits import (
    BanditTrace,
    best_arm_fraction,
    cumulative_regret,
    cumulative_violation,
    late_regret_rate,
    long_term_violation,
    regret_growth_ratio,
    suffix_failure,
    suffix_failure_rate,
    summarize,
)
from jaxrl_rewards.bandits.plots import plot_curves
from jaxrl_rewards.core.validation import ConfigError


def make_trace(regret, best, expected_cost=None, threshold=np.inf):
    regret = jnp.asarray(regret, jnp.float32)
    cost = jnp.zeros_like(regret) if expected_cost is None else jnp.asarray(expected_cost, jnp.float32)
    threshold = jnp.full(regret.shape[:-1], threshold, jnp.float32)
    zeros = jnp.zeros_like(regret)
    return BanditTrace(
        arm=jnp.zeros(regret.shape, jnp.int32),
        reward=zeros,
        cost=zeros,
        signal=zeros,
        regret=regret,
        expected_reward=1.0 - regret,
        expected_cost=cost,
        violation=jnp.maximum(cost - threshold[..., None], 0.0),
        best=jnp.asarray(best, bool),
        threshold=threshold,
    )


def test_cumulative_regret_and_growth_ratio():
    linear = make_trace(np.full((2, 8), 0.5), np.zeros((2, 8)))
    np.testing.assert_allclose(cumulative_regret(linear)[0], 0.5 * np.arange(1, 9))
    assert float(regret_growth_ratio(linear)) == pytest.approx(4.0)  # R(8) / R(2)
    np.testing.assert_allclose(late_regret_rate(linear), [0.5, 0.5])
    front_loaded = make_trace(np.array([[1.0, 1.0] + [0.0] * 6]), np.zeros((1, 8)))
    assert float(regret_growth_ratio(front_loaded)) == pytest.approx(1.0)
    np.testing.assert_allclose(late_regret_rate(front_loaded), [0.0])
    negative = make_trace(np.full((1, 8), -0.5), np.zeros((1, 8)))  # beats a fixed comparator
    assert np.isnan(float(regret_growth_ratio(negative)))


def test_best_arm_fraction_and_suffix_failure():
    best = np.array(
        [
            [1, 1, 1, 1, 1, 1, 1, 1],  # never fails
            [1, 1, 1, 1, 0, 0, 0, 0],  # second half never on the best arm: suffix failure
            [0, 0, 0, 0, 0, 1, 0, 0],  # 1 of 4 in the suffix: 25% >= 5%, no failure
        ]
    )
    trace = make_trace(np.zeros(best.shape), best)
    np.testing.assert_allclose(best_arm_fraction(trace), [1.0, 0.5, 1 / 8])
    np.testing.assert_array_equal(suffix_failure(trace), [False, True, False])
    assert float(suffix_failure_rate(trace)) == pytest.approx(1 / 3)
    np.testing.assert_array_equal(suffix_failure(trace, min_fraction=0.3), [False, True, True])
    with pytest.raises(ConfigError, match="suffix"):
        suffix_failure(trace, suffix=0.0)


def test_violation_per_round_and_long_term():
    cost = np.array([[0.8, 0.2, 0.2, 0.8]])
    trace = make_trace(np.zeros((1, 4)), np.zeros((1, 4)), cost, threshold=0.5)
    np.testing.assert_allclose(cumulative_violation(trace)[0], [0.3, 0.3, 0.3, 0.6], rtol=1e-6)
    # long-term: the over- and under-spending rounds cancel: sum(c - 0.5) = 0
    np.testing.assert_allclose(long_term_violation(trace), [0.0], atol=1e-6)
    unconstrained = make_trace(np.zeros((1, 4)), np.zeros((1, 4)), cost)
    np.testing.assert_allclose(long_term_violation(unconstrained), [0.0])
    np.testing.assert_allclose(cumulative_violation(unconstrained)[0], np.zeros(4))


def test_summarize_and_plot(tmp_path):
    trace = make_trace(np.full((3, 8), 0.25), np.ones((3, 8)))
    summary = summarize(trace)
    assert summary["runs"] == 3 and summary["horizon"] == 8
    assert summary["final_regret"] == pytest.approx(2.0)
    assert summary["final_regret_ci95"] == pytest.approx(0.0)
    assert summary["total_expected_reward"] == pytest.approx(6.0)
    assert summary["best_arm_fraction"] == 1.0 and summary["suffix_failure_rate"] == 0.0
    path = plot_curves({"a": cumulative_regret(trace)}, tmp_path / "regret.png", title="t")
    assert path.read_bytes()[:4] == b"\x89PNG"
