"""Bandit environments: exact expected values, history dynamics and input validation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.bandits import (
    ENVIRONMENTS,
    adversarial_bandit,
    bernoulli_bandit,
    constrained_bandit,
    gaussian_bandit,
    greedy,
    linear_contextual_bandit,
    linucb,
    make_bandit,
    run,
    satiation_bandit,
    switching_bandit,
    ucb1,
)
from jaxrl_rewards.core.validation import ConfigError

KEY = jax.random.key(0)


def test_bernoulli_deterministic_arms_and_comparator():
    env = bernoulli_bandit([0.0, 1.0, 0.5])
    expected = env.expected((), env.context(KEY, (), 0), 0)
    assert int(expected.best) == 1
    np.testing.assert_allclose(expected.reward, [0.0, 1.0, 0.5])
    assert float(env.sample(KEY, (), None, jnp.int32(0), 0)[0]) == 0.0
    assert float(env.sample(KEY, (), None, jnp.int32(1), 0)[0]) == 1.0
    assert env.context(KEY, (), 0).shape == (0,)


def test_gaussian_sample_is_mean_plus_scaled_normal():
    env = gaussian_bandit([1.0, -2.0], stds=[0.5, 2.0])
    reward, cost = env.sample(KEY, (), None, jnp.int32(1), 0)
    assert float(reward) == pytest.approx(-2.0 + 2.0 * float(jax.random.normal(KEY)), rel=1e-6)
    assert float(cost) == 0.0


def test_linear_contextual_means_are_theta_times_context():
    theta = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    env = linear_contextual_bandit(theta, noise_std=0.0)
    x = env.context(KEY, (), 0)
    assert x.shape == (2,)
    np.testing.assert_allclose(env.expected((), x, 0).reward, theta @ np.asarray(x), rtol=1e-6)
    assert float(env.sample(KEY, (), x, jnp.int32(2), 0)[0]) == pytest.approx(float(-x.sum()), rel=1e-6)


def test_adversarial_comparator_is_best_fixed_arm_in_hindsight():
    table = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    env = adversarial_bandit(table)
    for t in range(5):
        expected = env.expected((), None, t)
        assert int(expected.best) == 1  # arm 1 sums to 3 > 2, even in rounds where arm 0 pays more
        assert float(env.sample(KEY, (), None, jnp.int32(0), t)[0]) == table[t, 0]


def test_constrained_comparator_is_best_feasible_arm():
    env = constrained_bandit([0.2, 0.5, 0.9], [0.1, 0.4, 0.8], threshold=0.5)
    expected = env.expected((), None, 0)
    assert int(expected.best) == 1
    assert float(expected.threshold) == 0.5
    np.testing.assert_allclose(expected.cost, [0.1, 0.4, 0.8], rtol=1e-6)


def test_satiation_falls_with_plays_and_recovers_with_rest():
    env = satiation_bandit([1.0, 0.5], decay=0.5, strength=1.0, noise_std=0.0)
    state = env.init(KEY)
    np.testing.assert_allclose(env.mean_rewards(state, None, 0), [1.0, 0.5])
    state = env.transition(state, jnp.int32(0), 0)
    state = env.transition(state, jnp.int32(0), 1)  # s_0 = 0.5 * 1 + 1 = 1.5
    np.testing.assert_allclose(state.satiation, [1.5, 0.0])
    np.testing.assert_allclose(env.mean_rewards(state, None, 2), [np.exp(-1.5), 0.5], rtol=1e-6)
    assert int(env.expected(state, None, 2).best) == 1
    for t in range(3):  # rest arm 0: s_0 = 1.5 * 0.5 ** 3
        state = env.transition(state, jnp.int32(1), 2 + t)
    assert float(state.satiation[0]) == pytest.approx(1.5 / 8)
    assert float(env.sample(KEY, state, None, jnp.int32(0), 5)[0]) == pytest.approx(np.exp(-1.5 / 8), rel=1e-6)


def test_switching_rewards_depend_on_time_since_last_switch():
    env = switching_bandit([1.0, 1.0], warmup=4.0, noise_std=0.0)
    state = env.init(KEY)
    seen = []
    for t, arm in enumerate([0, 0, 0, 1, 1, 0]):
        seen.append(float(env.mean_rewards(state, None, t)[arm]))
        state = env.transition(state, jnp.int32(arm), t)
    np.testing.assert_allclose(seen, [0.25, 0.5, 0.75, 0.25, 0.5, 0.25])


def test_registry_builds_every_environment():
    for name in ENVIRONMENTS:
        env = make_bandit(name, num_arms=4, horizon=50)
        assert env.num_arms == 4


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: bernoulli_bandit([0.2, 1.3]), "probs must lie in"),
        (lambda: bernoulli_bandit([-0.1, 0.5]), "probs must lie in"),
        (lambda: bernoulli_bandit([0.5]), "at least 2 arms"),
        (lambda: gaussian_bandit([0.0, 1.0], stds=0.0), "stds must be > 0"),
        (lambda: linear_contextual_bandit(np.ones((3, 4)), context_dim=5), "does not match"),
        (lambda: constrained_bandit([0.5, 0.5], [0.9, 0.8], 0.5), "no arm is feasible"),
        (lambda: adversarial_bandit([[0.0, 2.0]]), "must lie in"),
        (lambda: satiation_bandit([1.0, 0.5], decay=1.5), "decay"),
        (lambda: make_bandit("bernouli"), "unknown bandit environment"),
        (lambda: make_bandit("bernoulli", num_arms=1), "num_arms"),
    ],
)
def test_bad_environment_config_raises_config_error(build, message):
    with pytest.raises(ConfigError, match=message):
        build()


@pytest.mark.parametrize(
    ("env", "algorithm", "horizon", "message"),
    [
        (bernoulli_bandit([0.1, 0.9]), ucb1(), -5, "horizon must be a positive integer"),
        (bernoulli_bandit([0.1, 0.9]), ucb1(), 0, "horizon must be a positive integer"),
        (adversarial_bandit(np.zeros((10, 2))), greedy(), 11, "exceeds"),
        (linear_contextual_bandit(np.ones((3, 4))), linucb(context_dim=5), 10, "context dimension 4"),
        (bernoulli_bandit([0.1, 0.9]), linucb(context_dim=2), 10, "needs a contextual bandit"),
    ],
)
def test_bad_run_config_raises_before_compiling(env, algorithm, horizon, message):
    with pytest.raises(ConfigError, match=message):
        run(env, algorithm, horizon, KEY)
