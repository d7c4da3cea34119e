"""Teacher rewards from V* (transforms.teacher): the per-step reward equals the exact one-step
advantage A*(s, a) on a deterministic grid (0 for optimal actions), its expectation does under
slip, V* by value iteration matches the analysis module's, and PPO learns the sparse grid with it."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.analysis.reward_free import value_iteration
from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import Transition
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.envs import SparseGridWorld
from jaxrl_rewards.transforms.registry import build_transform
from jaxrl_rewards.transforms.teacher import tabular_optimal_values, teacher_reward

GAMMA = 0.9


def _all_pairs_batch(env: SparseGridWorld, next_states: np.ndarray, mdp) -> Transition:
    """A [1, S*A] batch of every non-goal (s, a) with the given next states."""
    s_count, a_count = env.num_states, env.num_actions
    eye = np.eye(s_count, dtype=np.float32)
    states = np.repeat(np.arange(s_count), a_count)
    actions = np.tile(np.arange(a_count), s_count)
    nxt = next_states.reshape(-1)
    keep = ~mdp.terminal[states]
    states, actions, nxt = states[keep], actions[keep], nxt[keep]
    reward = mdp.rewards[states, actions]
    return (
        Transition(
            obs=jnp.asarray(eye[states])[None],
            action=jnp.asarray(actions, jnp.int32)[None],
            next_obs=jnp.asarray(eye[nxt])[None],
            reward=jnp.asarray(reward, jnp.float32)[None],
            terminated=jnp.asarray(mdp.terminal[nxt])[None],
            truncated=jnp.zeros((1, len(states)), bool),
        ),
        states,
        actions,
    )


def _teach(transform, batch):
    streams, _ = transform.apply(None, env_streams(batch, GAMMA), batch)
    return np.asarray(streams["task"].reward[0])


def test_teacher_reward_is_the_exact_advantage_on_a_deterministic_grid():
    env = SparseGridWorld(size=4)
    mdp = env.tabular_mdp(env.default_params)
    v_star, q_star = value_iteration(mdp.transitions, mdp.rewards, GAMMA, mdp.terminal)
    next_states = mdp.transitions.argmax(-1)  # deterministic
    batch, states, actions = _all_pairs_batch(env, next_states, mdp)
    taught = _teach(teacher_reward(v_star), batch)
    advantage = q_star[states, actions] - v_star[states]
    np.testing.assert_allclose(taught, advantage, atol=1e-6)
    optimal = np.isclose(q_star[states, actions], q_star[states].max(-1))
    np.testing.assert_allclose(taught[optimal], 0.0, atol=1e-6)
    assert np.all(taught[~optimal] < -1e-3)  # every suboptimal step shows its regret


def test_teacher_reward_expectation_is_the_advantage_under_slip():
    env = SparseGridWorld(size=3)
    mdp = env.tabular_mdp(env.default_params.replace(slip_prob=0.4))
    v_star, q_star = value_iteration(mdp.transitions, mdp.rewards, GAMMA, mdp.terminal)
    transform = teacher_reward(v_star)
    # expectation over s': sum_s' P(s'|s,a) * teacher(s, a, s') with the expected reward R[s, a]
    expected = np.zeros_like(q_star)
    for nxt in range(env.num_states):
        batch, states, actions = _all_pairs_batch(env, np.full((env.num_states, env.num_actions), nxt), mdp)
        expected[states, actions] += mdp.transitions[states, actions, nxt] * _teach(transform, batch)
    alive = ~mdp.terminal
    np.testing.assert_allclose(expected[alive], (q_star - v_star[:, None])[alive], atol=1e-5)


def test_tabular_values_match_analysis_and_errors():
    env = SparseGridWorld(size=5)
    mdp = env.tabular_mdp(env.default_params.replace(slip_prob=0.2))
    ours = tabular_optimal_values(mdp.transitions, mdp.rewards, mdp.terminal, 0.95)
    theirs, _ = value_iteration(mdp.transitions, mdp.rewards, 0.95, mdp.terminal)
    np.testing.assert_allclose(ours, theirs, atol=1e-8)
    with pytest.raises(ConfigError, match=r"shape \[S\]"):
        teacher_reward(np.zeros((2, 2)))
    with pytest.raises(ConfigError, match="finite"):
        teacher_reward(np.array([0.0, np.nan]))
    built = build_transform("grid_teacher:size=5,gamma=0.95,slip_prob=0.2")
    np.testing.assert_allclose(np.asarray(built.values), theirs, atol=1e-6)
