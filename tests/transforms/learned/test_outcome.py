"""Implicit step rewards from outcome labels (transforms.learned.outcome): episode segmentation
by hand, the loss against numpy, and the claim: fitted on outcome-only labels the step reward
credits the decisive (state, action) and leaves the others near zero."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.environments import spaces

from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms.learned.outcome import episode_segments, features, outcome_reward
from jaxrl_rewards.transforms.registry import build_transform


def test_episode_segments_by_hand():
    done = jnp.array([[0, 1], [1, 0], [0, 0], [0, 1], [1, 0]], bool)  # [T=5, N=2]
    segment, complete = episode_segments(done)
    # env 0: ends at t=1 and t=4 -> segments 0,0,1,1,1; env 1: ends at t=0, t=3 -> 0,1,1,1,2 (offset 6)
    np.testing.assert_array_equal(np.asarray(segment), [[0, 6], [0, 7], [1, 7], [1, 7], [1, 8]])
    expected = np.zeros(12, bool)
    expected[[1, 7]] = True  # env 0 segment 1 (t=2..4), env 1 segment 1 (t=1..3)
    np.testing.assert_array_equal(np.asarray(complete), expected)


def _decisive_batch(seed: int, envs: int = 64) -> Transition:
    """Episodes of 4 steps (obs = one-hot step index); outcome 1 at the last step iff the action
    at step 1 was 1. Row t=0 is the tail of an earlier episode (done), so 2 complete episodes per env."""
    rng = np.random.default_rng(seed)
    steps = 9
    position = np.array([3, 0, 1, 2, 3, 0, 1, 2, 3])
    action = rng.integers(0, 2, size=(steps, envs))
    reward = np.zeros((steps, envs), np.float32)
    for start in (1, 5):
        reward[start + 3] = (action[start + 1] == 1).astype(np.float32)
    done = np.broadcast_to((position == 3)[:, None], (steps, envs))
    obs = np.eye(4, dtype=np.float32)[position][:, None, :].repeat(envs, 1)
    return Transition(
        obs=jnp.asarray(obs),
        action=jnp.asarray(action, jnp.int32),
        next_obs=jnp.asarray(obs),
        reward=jnp.asarray(reward),
        terminated=jnp.asarray(done),
        truncated=jnp.zeros((steps, envs), bool),
    )


def _spec(batch):
    return TransformSpec(spaces.Box(0, 1, (4,)), spaces.Discrete(2), batch.reward.shape[1], ("task",), batch)


def test_loss_matches_numpy():
    transform = outcome_reward(l2=0.01)
    batch = _decisive_batch(0, envs=3)
    state = transform.init(jax.random.key(0), _spec(batch))
    w = jnp.arange(8, dtype=jnp.float32) / 10.0
    params = {"w": w, "b": jnp.float32(-0.3)}
    loss, episodes = transform.loss(params, features(batch.obs, batch.action, state.num_actions), batch)
    # numpy: per complete episode (t=1..4 and t=5..8 of each env), logit = b + sum_t w[4 * pos + a]
    obs, act, rew = np.asarray(batch.obs), np.asarray(batch.action), np.asarray(batch.reward)
    table = np.asarray(w).reshape(4, 2)  # w[position * 2 + action]
    total = []
    for n in range(3):
        for start in (1, 5):
            ts = range(start, start + 4)
            logit = -0.3 + sum(table[int(np.argmax(obs[t, n])), act[t, n]] for t in ts)
            y = float(rew[start : start + 4, n].sum() > 0.5)
            total.append(np.log1p(np.exp(logit)) - y * logit)
    np.testing.assert_allclose(float(loss), np.mean(total) + 0.01 * float(jnp.sum(w**2)), rtol=1e-5)
    assert float(episodes) == 6


def test_step_rewards_credit_the_decisive_action():
    transform = outcome_reward(learning_rate=0.1, l2=1e-3, num_updates=25)
    batch = _decisive_batch(1)
    state = transform.init(jax.random.key(0), _spec(batch))

    @jax.jit
    def rounds(state):
        for i in range(8):
            streams, state = transform.apply(state, env_streams(_decisive_batch(i), 0.99), _decisive_batch(i))
            state, metrics = transform.update(state, streams, _decisive_batch(i), jax.random.key(i))
        return state, metrics

    state, metrics = rounds(state)
    w = np.asarray(state.params["w"]).reshape(4, 2)  # [position, action]
    credit = w[:, 1] - w[:, 0]
    assert credit[1] > 2.0, credit  # the decisive step
    assert np.all(np.abs(credit[[0, 2, 3]]) < 0.5), credit  # the others carry (almost) no credit
    assert float(metrics["outcome_episodes"]) == 128
    streams, _ = transform.apply(state, env_streams(batch, 0.99), batch)
    assert streams["implicit"].kind == "learned"
    np.testing.assert_allclose(
        np.asarray(streams["implicit"].reward),
        w[np.argmax(np.asarray(batch.obs), -1), np.asarray(batch.action)],
        rtol=1e-5,
    )


def test_errors_and_registry():
    with pytest.raises(ConfigError, match="learning_rate"):
        outcome_reward(learning_rate=0.0)
    with pytest.raises(ConfigError, match="num_updates"):
        outcome_reward(num_updates=0)
    assert build_transform("outcome_reward:threshold=0.0").threshold == 0.0
