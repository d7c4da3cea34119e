"""Validation: bandit regret shapes (Auer et al., 2002) and satiation bandits (rotation vs the best
fixed arm), against closed forms and a numpy re-simulation of the satiation dynamics."""

import jax
import numpy as np
import pytest

from jaxrl_rewards.bandits import (
    bernoulli_bandit,
    cumulative_regret,
    epsilon_greedy,
    fixed_arm,
    round_robin,
    run,
    run_seeds,
    satiation_bandit,
    ucb1,
)

PROBS = np.array([0.9, 0.6, 0.5, 0.3])
GAPS = PROBS.max() - PROBS


def test_epsilon_greedy_regret_is_linear_with_the_closed_form_slope_and_ucb_is_sublinear():
    """Claim: bandit regret shapes -- fixed-epsilon greedy keeps exploring, so its regret grows
    linearly with slope epsilon * mean_a(gap_a) once its greedy arm is the best; UCB1's grows
    logarithmically. Over 32 seeds x 2000 rounds: the measured epsilon-greedy slope on the second
    half is within 4 standard errors (across seeds) of the closed form, and UCB1's regret from
    T/2 to T adds less than 50% of its regret up to T/2 (linear regret would add 100%)."""
    env = bernoulli_bandit(PROBS)
    eps = 0.2
    horizon = 2000
    greedy_trace = run_seeds(env, epsilon_greedy(eps), horizon, seeds=32)
    tail = np.asarray(greedy_trace.regret)[:, horizon // 2 :].mean(1)  # per-seed slope, [S]
    expected = eps * GAPS.mean()
    se = tail.std(ddof=1) / np.sqrt(tail.size)
    assert abs(tail.mean() - expected) < 4 * se + 1e-3, (tail.mean(), expected, se)
    ucb = np.asarray(cumulative_regret(run_seeds(env, ucb1(), horizon, seeds=32))).mean(0)
    assert ucb[-1] - ucb[horizon // 2 - 1] < 0.5 * ucb[horizon // 2 - 1]


def np_satiation_mean_rewards(base, decay, strength, arms):
    """Expected reward of a fixed arm sequence under s <- decay s + onehot(arm), paying
    base[a] exp(-strength s_a) with s before the pull (numpy re-simulation)."""
    s = np.zeros(len(base))
    out = []
    for a in arms:
        out.append(base[a] * np.exp(-strength * s[a]))
        s = decay * s
        s[a] += 1.0
    return np.asarray(out)


@pytest.mark.parametrize("decay", [0.5, 0.8])
def test_satiation_rotation_beats_the_best_fixed_arm(decay):
    """Claim: in a satiation (history-dependent) bandit, rotating through the arms beats the best
    fixed arm. The library's expected rewards of round-robin and of every fixed arm match a numpy
    re-simulation at float precision, and rotation's average beats the best fixed arm's."""
    base, strength, horizon = np.array([1.0, 0.9, 0.8, 0.7, 0.6]), 0.5, 200
    env = satiation_bandit(base, decay=decay, strength=strength, noise_std=0.1)
    k = len(base)
    rotation = np.asarray(run(env, round_robin(), horizon, jax.random.key(0)).expected_reward)
    rotation_np = np_satiation_mean_rewards(base, decay, strength, np.arange(horizon) % k)
    np.testing.assert_allclose(rotation, rotation_np, rtol=1e-5)
    fixed = []
    for a in range(k):
        trace = np.asarray(run(env, fixed_arm(a), horizon, jax.random.key(0)).expected_reward)
        np.testing.assert_allclose(trace, np_satiation_mean_rewards(base, decay, strength, [a] * horizon), rtol=1e-5)
        fixed.append(trace.mean())
    assert rotation.mean() > max(fixed) + 0.05
