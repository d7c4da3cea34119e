"""PQN: Q(λ) targets, determinism, vmap-equals-loop, streams, bad input."""

import jax.numpy as jnp
import numpy as np
import pytest
from agent_runs import check_determinism_and_vmap, train_runs

from jaxrl_rewards.agents import pqn
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms import lift

TINY = dict(
    num_envs=4,
    num_steps=8,
    total_timesteps=4 * 8 * 4,
    num_minibatches=2,
    update_epochs=2,
    hidden_sizes=(16,),
    num_evals=2,
    eval_episodes=2,
    eval_max_steps=20,
    transform=lift(lambda o, a, n, i: 1.0, "alive", weight=0.0),
)


def reference_q_lambda(r, boot, term, done, gamma, lam):
    T = len(r)
    g = np.zeros(T)
    for t in reversed(range(T)):
        if term[t]:
            g[t] = r[t]
        elif done[t] or t == T - 1:
            g[t] = r[t] + gamma * boot[t]
        else:
            g[t] = r[t] + gamma * ((1 - lam) * boot[t] + lam * g[t + 1])
    return g


@pytest.mark.parametrize("lam", [0.0, 0.65, 1.0])
def test_q_lambda_returns_match_a_direct_computation(lam):
    rng = np.random.default_rng(0)
    T, gamma = 8, 0.9
    r, boot = rng.normal(size=T), rng.normal(size=T)
    term, trunc = np.zeros(T, bool), np.zeros(T, bool)
    term[2], trunc[5] = True, True
    done = term | trunc

    def col(x):
        return jnp.asarray(x, jnp.float32)[:, None, None]

    out = pqn.q_lambda_returns(col(r), col(boot), col(1.0 - term), col(1.0 - done), jnp.array([gamma]), lam)
    np.testing.assert_allclose(out[:, 0, 0], reference_q_lambda(r, boot, term, done, gamma, lam), rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def runs():
    return train_runs(pqn, pqn.make_config("CartPole-v1", **TINY))


@pytest.mark.slow
def test_same_key_same_run_and_vmap_equals_loop(runs):
    check_determinism_and_vmap(runs, ("loss/td", "train/episode_return", "eval/return/task"))
    config, alone, _, _ = runs
    assert alone[0][1]["loss/td"].shape == (config.num_iterations,)


@pytest.mark.slow
def test_streams_and_layer_norm(runs):
    _, alone, _, _ = runs
    state, metrics = alone[0]
    assert "LayerNorm_0" in state.params["params"]["NormedMLP_0"]
    np.testing.assert_allclose(metrics["train/stream_return/alive"], metrics["train/episode_length"], rtol=1e-5)


def test_bad_config():
    with pytest.raises(ConfigError, match="does not divide"):
        pqn.make_config("CartPole-v1", **{**TINY, "num_minibatches": 3})
    with pytest.raises(ConfigError, match="q_lambda"):
        pqn.make_config("CartPole-v1", **{**TINY, "q_lambda": 2.0})
