"""Reward distances: EPIC and STARC are blind to potential shaping and positive scaling."""

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxrl_rewards.analysis import distances
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.envs import SparseGridWorld

S, A = 5, 3


def shaped(reward, potential, gamma, factor, shift=0.0):
    return factor * (reward + gamma * potential[None, None, :] - potential[:, None, None]) + shift


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    gamma=st.floats(0.0, 0.99),
    factor=st.floats(0.01, 100.0),
    potential_scale=st.floats(0.0, 50.0),
)
def test_epic_and_starc_are_zero_for_shaped_and_rescaled_rewards(seed, gamma, factor, potential_scale):
    rng = np.random.default_rng(seed)
    reward = rng.normal(size=(S, A, S))
    potential = potential_scale * rng.normal(size=S)
    other = shaped(reward, potential, gamma, factor)
    assert distances.epic_distance(reward, other, gamma) < 1e-4
    assert distances.starc_distance(reward, other, gamma) < 1e-4
    transitions = rng.dirichlet(np.ones(S), size=(S, A))
    if gamma < 0.98:
        assert distances.starc_distance(reward, other, gamma, transitions=transitions) < 1e-4


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_genuinely_different_rewards_are_far_apart(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(S, A, S)), rng.normal(size=(S, A, S))
    assert distances.epic_distance(a, b, 0.9) > 0.1
    assert distances.starc_distance(a, b, 0.9) > 0.1
    # a negated reward is as far as it gets
    np.testing.assert_allclose(distances.epic_distance(a, -a, 0.9), 1.0, atol=1e-9)
    np.testing.assert_allclose(distances.starc_distance(a, -a, 0.9), 1.0, atol=1e-9)


def test_epic_canonical_reward_exact_values():
    """2 states, 1 action, gamma 0.5: C = R + 0.5 * m(s') - m(s) - 0.5 * mean(m)."""
    r = np.array([[[1.0, 2.0]], [[3.0, 6.0]]])  # [S=2, A=1, S'=2]
    m = np.array([1.5, 4.5])  # E_{S'} R(s, ., S')
    expected = r + 0.5 * m[None, None, :] - m[:, None, None] - 0.5 * 3.0
    np.testing.assert_allclose(distances.epic_canonicalize(r, 0.5), expected)


def test_pearson_distance_values():
    assert distances.pearson_distance([1, 2, 3], [2, 4, 6]) == pytest.approx(0.0, abs=1e-9)
    assert distances.pearson_distance([1, 2, 3], [3, 2, 1]) == pytest.approx(1.0)
    assert distances.pearson_distance([1, 0, -1, 0], [0, 1, 0, -1]) == pytest.approx(np.sqrt(0.5))
    assert distances.pearson_distance([1, 1], [2, 2]) == 0.0


def test_pearson_distance_is_at_float_precision_near_rho_one():
    """Positive affine pairs are at distance ~1e-16 (the stable 0.5 ||x_hat - y_hat|| form);
    sqrt((1 - rho) / 2) from a rounded rho gave 7.45e-9 on the first pair. Non-trivial values
    are checked against sqrt((1 - rho) / 2) with rho from numpy's corrcoef."""
    assert distances.pearson_distance([0.1, 0.2, 0.7], [0.3, 0.6, 2.1]) < 1e-15
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(1000):
        x = rng.normal(size=12)
        worst = max(worst, distances.pearson_distance(x, rng.uniform(0.1, 10.0) * x + rng.normal()))
    assert worst < 1e-13
    x, y = rng.normal(size=50), rng.normal(size=50)
    rho = np.corrcoef(x, y)[0, 1]
    np.testing.assert_allclose(distances.pearson_distance(x, y), np.sqrt((1 - rho) / 2), rtol=1e-12)
    # EPIC of a reward and its shaped, x10-scaled copy under transition coverage
    reward = rng.normal(size=(S, A, S))
    other = shaped(reward, rng.normal(size=S), 0.9, 10.0)
    coverage = rng.dirichlet(np.ones(S * A * S)).reshape(S, A, S)
    assert distances.epic_distance(reward, other, 0.9, coverage=coverage) < 1e-13


def test_gridworld_step_cost_is_equivalent_to_shaping_only_if_potential_based():
    env = SparseGridWorld(size=3)
    mdp = env.tabular_mdp()
    gamma = 0.9
    r = distances.as_transition_reward(mdp.rewards)
    potential = -np.abs(np.arange(9) // 3 - 2) - np.abs(np.arange(9) % 3 - 2)  # -manhattan distance to goal
    assert distances.epic_distance(r, shaped(r, potential, gamma, 3.0), gamma) < 1e-6
    assert distances.starc_distance(r, shaped(r, potential, gamma, 3.0), gamma, transitions=mdp.transitions) < 1e-6
    # a reward for standing still (a proxy) is a different reward
    stay = np.zeros_like(r)
    stay[np.arange(9), :, np.arange(9)] = 1.0
    assert distances.epic_distance(r, stay, gamma) > 0.1


def test_sampled_epic_matches_shaping_invariance_and_detects_differences():
    rng = np.random.default_rng(0)
    w = jnp.asarray(rng.normal(size=3), jnp.float32)

    def reward(o, a, n):
        return jnp.tanh(o @ w) + 0.5 * a[:, 0] * n[:, 1]

    def phi(s):
        return jnp.sin(3 * s[:, 0]) + s[:, 2] ** 2

    def shaped_fn(o, a, n):
        return 2.5 * (reward(o, a, n) + 0.9 * phi(n) - phi(o))

    def other(o, a, n):
        return jnp.cos(o[:, 1] * 2) * a[:, 0]

    B, M = 64, 16
    obs, nxt = (jnp.asarray(rng.normal(size=(B, 3)), jnp.float32) for _ in range(2))
    act = jnp.asarray(rng.normal(size=(B, 1)), jnp.float32)
    states = jnp.asarray(rng.normal(size=(M, 3)), jnp.float32)
    actions = jnp.asarray(rng.normal(size=(M, 1)), jnp.float32)
    args = (obs, act, nxt, states, actions, 0.9)
    assert distances.epic_distance_sampled(reward, shaped_fn, *args) < 1e-3
    assert distances.starc_distance_sampled(reward, shaped_fn, *args) < 1e-3
    assert distances.epic_distance_sampled(reward, other, *args) > 0.1
    assert distances.starc_distance_sampled(reward, other, *args) > 0.1


def test_bad_input_raises_config_error():
    with pytest.raises(ConfigError, match="R\\[S, A, S'\\]"):
        distances.epic_canonicalize(np.zeros((2, 3, 4)), 0.9)
    with pytest.raises(ConfigError, match="shapes differ"):
        distances.epic_distance(np.zeros((2, 1, 2)), np.zeros((3, 1, 3)), 0.9)
    with pytest.raises(ConfigError, match="gamma"):
        distances.epic_distance(np.zeros((2, 1, 2)), np.zeros((2, 1, 2)), 1.5)
    with pytest.raises(ConfigError, match="probability vector"):
        distances.epic_canonicalize(np.zeros((2, 1, 2)), 0.9, state_dist=[0.2, 0.2])
