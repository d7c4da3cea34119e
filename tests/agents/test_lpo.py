"""Learned PPO objectives (agents.drift, agents.lpo): the drift's mirror-learning conditions for
random parameters, the objective against a hand value, PPO's option checks, save/load, the
population-size errors, and one tiny generation of the ES loop."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.agents import lpo, ppo
from jaxrl_rewards.agents.drift import drift, drift_objective, init_drift
from jaxrl_rewards.core.validation import ConfigError


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_drift_is_nonnegative_and_flat_at_ratio_one(seed):
    key = jax.random.key(seed)
    theta = jax.tree.map(lambda x: x + jax.random.normal(key, x.shape), init_drift(key))  # far from the init
    ratio = jnp.exp(jnp.linspace(-1.0, 1.0, 41))
    adv = jnp.linspace(-2.0, 2.0, 41)
    assert float(drift(theta, ratio, adv, 0.3).min()) >= 0.0
    one = jnp.ones(5)
    advs = jnp.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(np.asarray(drift(theta, one, advs, 0.7)), 0.0, atol=1e-7)
    slope = jax.vmap(jax.grad(lambda r, a: drift(theta, r, a, 0.7)))(one, advs)
    np.testing.assert_allclose(np.asarray(slope), 0.0, atol=1e-6)


def test_initial_objective_is_a_quadratic_trust_region():
    theta = init_drift(jax.random.key(0))
    ratio, adv = jnp.array([0.8, 1.0, 1.3]), jnp.array([1.0, -1.0, 0.5])
    expected = -np.mean(np.array([0.8, -1.0, 0.65]) - 2.5 * np.array([0.04, 0.0, 0.09]))
    np.testing.assert_allclose(float(drift_objective(theta, ratio, adv, 0.0)), expected, rtol=1e-5)


def test_ppo_option_checks_and_save_load(tmp_path):
    theta = init_drift(jax.random.key(1))
    config = ppo.make_config("CartPole-v1", objective="drift", drift_params=theta)
    assert config.objective == "drift"
    with pytest.raises(ConfigError, match="drift_params must be a dict"):
        ppo.make_config("CartPole-v1", objective="drift")
    with pytest.raises(ConfigError, match="did you mean 'drift'"):
        ppo.make_config("CartPole-v1", objective="drif")
    path = lpo.save_objective(theta, tmp_path / "objective", metadata={"env": "CartPole-v1"})
    back = lpo.load_objective(path)
    for k in theta:
        np.testing.assert_array_equal(np.asarray(back[k]), np.asarray(theta[k]))
    with pytest.raises(ConfigError, match="does not exist"):
        lpo.load_objective(tmp_path / "missing")


def test_population_size_errors_before_compiling():
    config = ppo.make_config("CartPole-v1")
    for bad in (1, 3, 0):
        with pytest.raises(ConfigError, match="population_size"):
            lpo.evolve(config, jax.random.key(0), generations=1, population_size=bad)


@pytest.mark.slow
def test_one_generation_scores_every_member():
    config = ppo.make_config("CartPole-v1", total_timesteps=1024, num_envs=4, num_steps=64, num_evals=1)
    result = lpo.evolve(config, jax.random.key(0), generations=1, population_size=2)
    assert result.fitness.shape == (1, 2)
    assert np.all(np.asarray(result.fitness) >= 8.0)  # CartPole returns at least ~8 per episode
    assert set(result.drift_params) == {"w1", "b1", "w2", "b2"}
