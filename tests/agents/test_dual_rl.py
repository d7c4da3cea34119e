"""ReCOIL, f-DVL and BC (agents.dual_rl): the losses against hand-computed values, the config
checks, and a learning test: ReCOIL imitates a grid expert from expert + random data where BC on
the mix fails, and f-DVL learns the task from the same data with its rewards."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.agents import dual_rl
from jaxrl_rewards.agents.offline_data import random_policy, tabular_policy
from jaxrl_rewards.analysis.reward_free import value_iteration
from jaxrl_rewards.core import dataset as ds
from jaxrl_rewards.core.rollout import evaluate
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.envs import make


def _brute_conjugate(f, y):
    """max_{w in [0, 50]} w y - f(w) on a fine grid."""
    w = np.linspace(0.0, 50.0, 500_001)
    return np.max(w[None, :] * y[:, None] - f(w)[None, :], axis=1), w[
        np.argmax(w[None, :] * y[:, None] - f(w)[None, :], 1)
    ]


@pytest.mark.parametrize(
    ("name", "f"),
    [("chi2", lambda w: (w - 1.0) ** 2), ("kl", lambda w: w * np.log(np.maximum(w, 1e-300)))],
)
def test_conjugates_match_brute_force(name, f):
    y = np.array([-3.0, -2.0, -0.5, 0.0, 0.7, 2.0])
    value, argmax = _brute_conjugate(f, y)
    np.testing.assert_allclose(np.asarray(dual_rl.conjugate(name, jnp.asarray(y))), value, atol=1e-4)
    np.testing.assert_allclose(np.asarray(dual_rl.optimal_ratio(name, jnp.asarray(y))), argmax, atol=1e-3)


def test_chi2_conjugate_hand_values():
    y = jnp.array([-3.0, 0.0, 2.0])
    np.testing.assert_allclose(np.asarray(dual_rl.conjugate("chi2", y)), [-1.0, 0.0, 3.0])
    np.testing.assert_allclose(np.asarray(dual_rl.optimal_ratio("chi2", y)), [0.0, 1.0, 2.0])


def _onehot_data(s, a, s2, term):
    eye = np.eye(2, dtype=np.float32)
    return ds.Dataset.from_arrays(
        obs=eye[s], action=np.asarray(a), reward=np.zeros(len(s)), next_obs=eye[s2], terminated=np.asarray(term, bool)
    )


def test_recoil_loss_hand_computed():
    table = np.array([[1.0, 0.0], [0.5, 2.0]])
    q_of = lambda obs: obs @ jnp.asarray(table, jnp.float32)
    expert = _onehot_data([0], [0], [1], [False])
    mixed = _onehot_data([0, 1], [1, 1], [0, 1], [False, True])
    config = dual_rl.make_config(2, gamma=0.9, beta=0.5, temperature=1.0)
    loss, metrics = dual_rl.recoil_loss(config, q_of, expert, mixed)

    v = np.log(np.exp(table).sum(1))  # soft values, tau = 1
    f_star = lambda y: np.where(y >= -2, y + y**2 / 4, -1.0)
    r_e = np.array([table[0, 0] - 0.9 * v[1]])
    vn_s = np.array([v[0], 0.0])  # the second transition terminates
    r_s = np.array([table[0, 1], table[1, 1]]) - 0.9 * vn_s
    expected = (
        0.5 * np.mean(np.array([v[0], v[1]]) - 0.9 * vn_s)
        + 0.5 * np.mean(f_star(-r_e))
        + 0.5 * np.mean(f_star(-r_s))
        + 0.5 * np.mean(r_s)
    )
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)
    np.testing.assert_allclose(float(metrics["reward_expert"]), r_e.mean(), rtol=1e-5)


def test_recoil_pointwise_optimum_rewards_expert_pairs():
    """With gamma = 0 the chi2 ReCOIL loss separates per pair (V(s) = r on a one-action table).
    beta = 1/2, expert batch {e}, arbitrary batch {e, o} (means over 2):
    expert pair: 0.5 f*(-r) + 0.25 f*(-r) + 0.25 r (initial term) + 0.25 r (linear term)
      -> d/dr: 0.75 (-1 + r/2) + 0.5 = 0 -> r = 2/3;
    other pair: 0.25 f*(-r) + 0.25 r + 0.25 r -> 0.25 (-1 + r/2) + 0.5 = 0 -> r = -1.
    So the implied reward is higher on expert pairs (f*(y) = y + y^2/4 for y >= -2)."""
    config = dual_rl.make_config(2, gamma=0.0, beta=0.5, temperature=1.0)
    expert = _onehot_data([0], [0], [0], [False])
    other = _onehot_data([1], [1], [1], [False])
    grid = np.linspace(-1.0, 4.0, 501)

    def loss_at(r_exp, r_oth):
        table = jnp.array([[r_exp, -50.0], [-50.0, r_oth]])  # soft values ~ the diagonal
        mixed = ds.concatenate(expert, other)
        return float(dual_rl.recoil_loss(config, lambda obs: obs @ table, expert, mixed)[0])

    best_e = grid[np.argmin([loss_at(r, 0.0) for r in grid])]
    best_o = grid[np.argmin([loss_at(2.0, r) for r in grid])]
    np.testing.assert_allclose(best_e, 2.0 / 3.0, atol=0.02)
    np.testing.assert_allclose(best_o, -1.0, atol=0.02)


def test_fdvl_value_loss_optimum_and_weights():
    """chi2 f-DVL: the minimiser of (1-l) v + l a f*((q-v)/a) satisfies w*((q-v)/a) = (1-l)/l."""
    config = dual_rl.make_config(2, lam=0.8, alpha=0.5)
    q = jnp.full((1,), 1.0)
    grid = np.linspace(-2.0, 3.0, 5001)
    losses = [float(dual_rl.fdvl_value_loss(config, q, jnp.full((1,), v))) for v in grid]
    v_best = grid[int(np.argmin(losses))]
    # 1 + y/2 = 0.25 -> y = -1.5 -> v = q - alpha * y = 1 + 0.75
    np.testing.assert_allclose(v_best, 1.75, atol=2e-3)
    np.testing.assert_allclose(float(dual_rl.fdvl_weights(config, q, jnp.full((1,), 0.0))[0]), 1.0 + 0.5 * 2.0)


def test_td_loss_and_weighted_nll_hand_values():
    config = dual_rl.make_config(2, gamma=0.5)
    loss = dual_rl.td_loss(
        config, jnp.array([1.0, 0.0]), jnp.array([1.0, 2.0]), jnp.array([2.0, 4.0]), jnp.array([False, True])
    )
    # targets 1 + 0.5 * 2 = 2 and 2 (terminated): errors 1 and 2
    np.testing.assert_allclose(float(loss), (1.0 + 4.0) / 2)
    logits = jnp.array([[0.0, 0.0], [np.log(3.0), 0.0]])
    nll = dual_rl.weighted_nll(logits, jnp.array([1, 0]), jnp.array([2.0, 1.0]))
    np.testing.assert_allclose(float(nll), -(2.0 * np.log(0.5) + np.log(0.75)) / 2, rtol=1e-6)


def test_config_and_data_errors():
    with pytest.raises(ConfigError, match="did you mean 'chi2'"):
        dual_rl.make_config(2, divergence="chi")
    with pytest.raises(ConfigError, match="beta"):
        dual_rl.make_config(2, beta=1.5)
    with pytest.raises(ConfigError, match="did you mean 'temperature'"):
        dual_rl.make_config(2, temprature=1.0)
    config = dual_rl.make_config(2)
    bad = _onehot_data([0], [3], [1], [False])
    with pytest.raises(ConfigError, match=r"actions must lie in \[0, 2\)"):
        dual_rl.train_bc(config, bad, jax.random.key(0))


@pytest.fixture(scope="module")
def grid_data():
    """8x8 grid, slip 0.3: 100 expert transitions (optimal policy) + 6400 random ones."""
    env, params = make("SparseGridWorld-v0")
    params = params.replace(slip_prob=0.3)
    mdp = env.tabular_mdp(params)
    _, q = value_iteration(mdp.transitions, mdp.rewards, 0.95, mdp.terminal)
    expert = ds.collect(env, params, tabular_policy(q.argmax(-1)), jax.random.key(1), 4, 25, source=0)
    noise = ds.collect(env, params, random_policy(4), jax.random.key(2), 64, 100, source=1)
    return env, params, expert, ds.concatenate(expert, noise)


def _success(env, params, config, result):
    return float(
        evaluate(env, params, dual_rl.greedy_policy(config, result), jax.random.key(9), 128, 100)["return/task"]
    )


@pytest.mark.slow
def test_recoil_imitates_where_bc_on_the_mix_fails(grid_data):
    env, params, expert, mixed = grid_data
    config = dual_rl.make_config(4, num_updates=1500, batch_size=128)
    recoil = _success(env, params, config, dual_rl.train_recoil(config, expert, mixed, jax.random.key(3)))
    bc_mix = _success(env, params, config, dual_rl.train_bc(config, mixed, jax.random.key(3)))
    assert recoil >= 0.9, recoil  # reaches the goal within 100 steps (expert: 1.0)
    assert bc_mix <= 0.5, bc_mix  # random actions dominate the mix (random policy: ~0.15)


def test_fdvl_learns_the_task_from_mixed_data(grid_data):
    env, params, _, mixed = grid_data
    config = dual_rl.make_config(4, num_updates=1500, batch_size=128)
    assert _success(env, params, config, dual_rl.train_fdvl(config, mixed, jax.random.key(3))) >= 0.9
