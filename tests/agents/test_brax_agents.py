"""PPO and SAC train on a brax environment (InvertedPendulum, spring backend) on CPU, tiny budget."""

import jax
import numpy as np
import pytest

from jaxrl_rewards.agents import ppo, sac
from jaxrl_rewards.envs import make


@pytest.fixture(scope="module")
def brax_env():
    return make("InvertedPendulum-brax", backend="spring", max_steps_in_episode=50)


@pytest.mark.slow
def test_ppo_trains_on_brax(brax_env):
    env, params = brax_env
    config = ppo.make_config(
        env,
        params,
        num_envs=4,
        num_steps=16,
        total_timesteps=4 * 16 * 2,
        num_minibatches=2,
        update_epochs=1,
        hidden_sizes=(16,),
        num_evals=1,
        eval_episodes=2,
        eval_max_steps=50,
    )
    _state, metrics = jax.jit(ppo.train)(config, jax.random.key(0))
    assert metrics["loss/policy"].shape == (2,)
    assert all(np.all(np.isfinite(v)) for v in metrics.values())
    assert 0 < float(metrics["eval/return/task"][-1]) <= 50  # +1 per step alive, at most 50 steps


@pytest.mark.slow
def test_sac_trains_on_brax(brax_env):
    env, params = brax_env
    config = sac.make_config(
        env,
        params,
        num_envs=2,
        total_timesteps=2 * 20,
        batch_size=8,
        buffer_size=64,
        learning_starts=10,
        hidden_sizes=(16,),
        num_evals=1,
        eval_episodes=2,
        eval_max_steps=50,
    )
    _state, metrics = jax.jit(sac.train)(config, jax.random.key(0))
    assert metrics["loss/critic"].shape == (20,)
    assert np.any(metrics["loss/critic"] > 0)  # updates happened after learning_starts
    assert all(np.all(np.isfinite(v)) for v in metrics.values())
