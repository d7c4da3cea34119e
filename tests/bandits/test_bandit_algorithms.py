"""Bandit algorithms: exact update rules, learning on small problems, determinism, vmap over
seeds and hyperparameters, and the reward-transform convention."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.bandits import (
    ArmStats,
    EpsilonGreedy,
    bernoulli_bandit,
    beta_thompson,
    epsilon_greedy,
    exp3,
    gaussian_thompson,
    greedy,
    linucb,
    run,
    run_seeds,
    ucb1,
)
from jaxrl_rewards.bandits.metrics import cumulative_regret
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms import add_term, chain, scale

KEY = jax.random.key(0)
ENV = bernoulli_bandit([0.2, 0.5, 0.8])
HORIZON = 200
SEEDS = 8


@pytest.fixture(scope="module")
def traces():
    """[S, T] traces of UCB1 on a 3-armed Bernoulli bandit (Thompson sampling's learning is shown in
    benchmarks/bandits.py; its posterior updates are tested exactly below)."""
    return {"ucb": run_seeds(ENV, ucb1(), HORIZON, SEEDS)}


def test_ucb_plays_every_arm_once_first(traces):
    first = np.sort(np.asarray(traces["ucb"].arm[:, :3]), axis=1)
    np.testing.assert_array_equal(first, np.tile([0, 1, 2], (SEEDS, 1)))


def test_ucb_learns_the_best_arm(traces):
    late = np.asarray(traces["ucb"].best[:, HORIZON // 2 :]).mean()
    assert late > 0.7, late
    regret = np.asarray(cumulative_regret(traces["ucb"]))[:, -1].mean()
    assert regret < 0.3 * HORIZON * 0.3  # uniform play loses 0.3 per round


def test_traces_are_consistent(traces):
    trace = traces["ucb"]
    np.testing.assert_allclose(trace.signal, trace.reward)  # identity transform
    probs = np.array([0.2, 0.5, 0.8])
    np.testing.assert_allclose(trace.expected_reward, probs[np.asarray(trace.arm)], rtol=1e-6)
    np.testing.assert_allclose(trace.regret, 0.8 - probs[np.asarray(trace.arm)], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(trace.best, np.asarray(trace.arm) == 2)
    assert np.isinf(np.asarray(trace.threshold)).all() and float(trace.violation.sum()) == 0.0


def test_same_seed_same_result(traces):
    again = run_seeds(ENV, ucb1(), HORIZON, SEEDS)  # cached compile, fresh call
    for a, b in zip(jax.tree.leaves(traces["ucb"]), jax.tree.leaves(again), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(traces["ucb"].arm[0], traces["ucb"].arm[1])  # seeds differ


# Each pull is a [1, 1] Transition: action = arm, obs = context ([0] here); the learner sees the
# weighted sum of the streams: 2 * reward + 10 * arm.
TRANSFORM = chain(scale(2.0), add_term(lambda obs, action, next_obs, info: 10.0 * action + obs.sum()))


@pytest.fixture(scope="module")
def sweep():
    """epsilon in {0, 1} x 4 seeds in one compiled call (vmap over a hyperparameter leaf and seeds)."""
    keys = jax.vmap(jax.random.key)(jnp.arange(4, dtype=jnp.uint32))
    per_seed = jax.vmap(lambda alg, k: run(ENV, alg, 100, k, TRANSFORM), in_axes=(None, 0))
    fn = jax.jit(jax.vmap(per_seed, in_axes=(EpsilonGreedy(epsilon=0), None)))
    return fn(epsilon_greedy(jnp.array([0.0, 1.0])), keys)


def test_vmap_over_hyperparameters_and_seeds(sweep):
    assert sweep.arm.shape == (2, 4, 100)
    uniform_share = np.bincount(np.asarray(sweep.arm[1]).ravel(), minlength=3) / 400
    np.testing.assert_allclose(uniform_share, 1 / 3, atol=0.08)  # epsilon = 1: uniform
    # greedy (epsilon = 0) on the signal 2 r + 10 a: after one pull of each arm, arm 2 forever
    np.testing.assert_array_equal(sweep.arm[0, :, 3:], 2)


def test_transform_convention(sweep):
    np.testing.assert_allclose(sweep.signal, 2.0 * sweep.reward + 10.0 * sweep.arm, rtol=1e-6)


def test_vmap_equals_single_run(sweep):
    single = jax.jit(run, static_argnums=2)(ENV, epsilon_greedy(1.0), 100, jax.random.key(2), TRANSFORM)
    for a, b in zip(jax.tree.leaves(single), jax.tree.leaves(jax.tree.map(lambda x: x[1, 2], sweep)), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5)


def test_beta_thompson_posterior_update_and_sampling():
    alg = beta_thompson(prior_alpha=1.0, prior_beta=2.0)
    state = alg.init(KEY, 3, 0)
    for reward in (1.0, 1.0, 0.0):  # binary rewards are counted exactly
        state = alg.update(state, None, jnp.int32(1), jnp.float32(reward), jnp.float32(0), 0, KEY)
    np.testing.assert_allclose(state.alpha, [1.0, 3.0, 1.0])
    np.testing.assert_allclose(state.beta, [2.0, 3.0, 2.0])


def test_gaussian_thompson_posterior_concentrates():
    alg = gaussian_thompson(prior_mean=0.0, prior_var=1.0, noise_var=0.25)
    s = ArmStats(counts=jnp.array([1e4, 1e4]), reward_sum=jnp.array([0.4e4, 0.6e4]), cost_sum=jnp.zeros(2))
    assert int(alg.select(s, None, 0, KEY)) == 1  # posterior std ~0.005 << gap 0.2


def test_greedy_is_epsilon_zero():
    assert float(greedy().epsilon) == 0.0
    with pytest.raises(ConfigError, match="epsilon"):
        epsilon_greedy(1.5)
    with pytest.raises(ConfigError, match="gamma"):
        exp3(0.0)


def test_exp3_probabilities_and_update():
    alg = exp3(0.3)
    log_w = jnp.array([0.0, jnp.log(3.0)])
    p = alg.probabilities(log_w)
    np.testing.assert_allclose(p, 0.7 * np.array([0.25, 0.75]) + 0.15, rtol=1e-6)
    new = alg.update(log_w, None, jnp.int32(0), jnp.float32(1.0), jnp.float32(0.0), 0, jax.random.key(0))
    # log w_0 += gamma * (r / p_0) / K, then shifted so that max(log w) = 0
    expected = np.array([0.3 * (1.0 / float(p[0])) / 2, np.log(3.0)])
    np.testing.assert_allclose(new, expected - expected.max(), rtol=1e-5)


def test_ucb_index_prefers_unplayed_then_optimistic_arm():
    stats = ArmStats(counts=jnp.array([10.0, 1.0, 0.0]), reward_sum=jnp.array([9.0, 0.5, 0.0]), cost_sum=jnp.zeros(3))
    select = jax.jit(lambda alg, s, t: alg.select(s, None, t, KEY))  # one compile, not op by op
    assert int(select(ucb1(), stats, 11)) == 2
    stats = stats.add(jnp.int32(2), jnp.float32(0.0), jnp.float32(0.0))
    # width sqrt(2 ln 13 / n): arm 1 (n=1) has index 0.5 + 2.26 > arm 0's 0.9 + 0.72
    assert int(select(ucb1(), stats, 12)) == 1
    assert int(select(ucb1(alpha=0.0), stats, 12)) == 0


def test_linucb_select_is_optimistic_and_greedy_at_alpha_zero():
    alg = linucb(context_dim=2, alpha=1.0)
    state = alg.init(jax.random.key(0), 2, 2)
    x = jnp.array([1.0, 0.0])
    # arm 0 well known with mean 0.5 (20 pulls); arm 1 never played (estimate 0)
    state = state.replace(a_inv=state.a_inv.at[0].set(jnp.diag(jnp.array([1 / 21, 1.0]))), b=state.b.at[0, 0].set(10.0))
    select = jax.jit(lambda alg, s: alg.select(s, x, 20, KEY))
    assert int(select(alg, state)) == 1  # 0 + 1 * 1 > 10 / 21 + sqrt(1 / 21)
    assert int(select(alg.replace(alpha=jnp.float32(0.0)), state)) == 0


def test_linucb_sherman_morrison_matches_direct_ridge_solution():
    alg = linucb(context_dim=3, alpha=1.0, regularization=2.0)
    state = alg.init(jax.random.key(0), 2, 3)
    rng = np.random.default_rng(0)
    xs, rs = rng.normal(size=(6, 3)).astype(np.float32), rng.normal(size=6).astype(np.float32)
    for x, r in zip(xs, rs, strict=True):
        state = alg.update(state, jnp.asarray(x), jnp.int32(1), jnp.float32(r), jnp.float32(0), 0, None)
    design = 2.0 * np.eye(3) + xs.T @ xs
    np.testing.assert_allclose(state.a_inv[1], np.linalg.inv(design), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(state.a_inv[0], np.eye(3) / 2.0)
    np.testing.assert_allclose(state.b[1], xs.T @ rs, rtol=1e-5)
