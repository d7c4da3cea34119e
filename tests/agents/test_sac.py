"""SAC: squashed-Gaussian log-density, determinism, vmap-equals-loop, streams, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from agent_runs import check_determinism_and_vmap, train_runs
from scipy import stats

from jaxrl_rewards.agents import sac
from jaxrl_rewards.core.networks import tanh_gaussian_sample
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms import lift

TINY = dict(
    num_envs=2,
    total_timesteps=2 * 40,
    buffer_size=64,
    batch_size=8,
    learning_starts=16,
    hidden_sizes=(16,),
    num_evals=2,
    eval_episodes=2,
    eval_max_steps=20,
    transform=lift(lambda o, a, n, i: 1.0, "alive", weight=0.0),
)


def test_tanh_gaussian_log_prob_is_the_change_of_variables():
    mean, log_std = jnp.array([[0.3, -0.5]]), jnp.array([[-0.2, 0.1]])
    action, logp = tanh_gaussian_sample(jax.random.key(0), mean, log_std)
    u = np.arctanh(np.asarray(action, np.float64))
    expected = (
        stats.norm.logpdf(u, np.asarray(mean), np.exp(np.asarray(log_std))).sum()
        - np.log(1 - np.asarray(action, np.float64) ** 2).sum()
    )
    assert float(logp[0]) == pytest.approx(expected, rel=1e-4)


@pytest.fixture(scope="module")
def runs():
    return train_runs(sac, sac.make_config("Pendulum-v1", **TINY))


@pytest.mark.slow
def test_same_key_same_run_and_vmap_equals_loop(runs):
    names = ("loss/critic", "train/alpha", "train/episode_return", "eval/return/task")
    check_determinism_and_vmap(runs, names, rtol=1e-3, atol=1e-4)


@pytest.mark.slow
def test_streams_heads_and_entropy_tuning(runs):
    _, alone, _, _ = runs
    state, metrics = alone[0]
    # two streams (alive, task) + the entropy head
    assert state.params["critic"]["params"]["Dense_0"]["kernel"].shape[-1] == 3
    np.testing.assert_allclose(metrics["train/stream_return/alive"], metrics["train/episode_length"], rtol=1e-5)
    alpha = metrics["train/alpha"]
    assert np.all(alpha[alpha > 0] != 1.0)  # the temperature moves once learning starts
    assert all(np.all(np.isfinite(v)) for v in metrics.values())


def test_bad_config():
    with pytest.raises(ConfigError, match="continuous"):
        sac.make_config("CartPole-v1")
    with pytest.raises(ConfigError, match="tau"):
        sac.make_config("Pendulum-v1", **{**TINY, "tau": 2.0})
