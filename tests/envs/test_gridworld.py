"""Exact tests of SparseGridWorld: dynamics, rewards, episode ends, vmap, tabular model."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxrl_rewards.envs import GridWorldState, SparseGridWorld, make

UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3
KEY = jax.random.PRNGKey(0)


def onehot(index: int, size: int) -> np.ndarray:
    out = np.zeros(size * size, np.float32)
    out[index] = 1.0
    return out


def state_at(row: int, col: int, time: int = 0) -> GridWorldState:
    return GridWorldState(pos=jnp.array([row, col], jnp.int32), time=jnp.int32(time))


def test_registered_env_is_size_8_onehot():
    env, params = make("SparseGridWorld-v0")
    assert isinstance(env, SparseGridWorld)
    assert env.size == 8
    assert env.observation_space(params).shape == (64,)
    assert env.action_space(params).n == 4
    assert params.max_steps_in_episode == 100
    assert params.goal_reward == 1.0 and params.step_cost == 0.0 and params.slip_prob == 0.0
    obs, state = env.reset(KEY, params)
    assert obs.dtype == jnp.float32
    np.testing.assert_array_equal(obs, onehot(0, 8))
    np.testing.assert_array_equal(state.pos, [0, 0])


@pytest.mark.parametrize("size", [2, 5, 8])
def test_shortest_path_reaches_goal_with_exact_return(size):
    env = SparseGridWorld(size)
    params = env.default_params.replace(goal_reward=2.0, step_cost=0.125)
    obs, state = env.reset(KEY, params)
    actions = [RIGHT] * (size - 1) + [DOWN] * (size - 1)
    rewards = []
    for t, action in enumerate(actions):
        obs, state, reward, terminated, truncated, info = env.step(jax.random.PRNGKey(t), state, action, params)
        rewards.append(float(reward))
        last = t == len(actions) - 1
        assert bool(terminated) is last
        assert bool(truncated) is False
    assert rewards[:-1] == [-0.125] * (len(actions) - 1)
    assert rewards[-1] == 2.0 - 0.125
    assert sum(rewards) == 2.0 - 0.125 * 2 * (size - 1)
    # Auto-reset: back at the start, the goal observation kept in final_observation.
    np.testing.assert_array_equal(info["final_observation"], onehot(size * size - 1, size))
    np.testing.assert_array_equal(obs, onehot(0, size))
    np.testing.assert_array_equal(state.pos, [0, 0])
    assert int(state.time) == 0


def test_goal_is_terminal_not_truncated_and_is_terminated_helper():
    env = SparseGridWorld(4)
    params = env.default_params
    assert bool(env.is_terminated(state_at(3, 3), params))
    assert not bool(env.is_terminated(state_at(3, 2), params))
    _, _, reward, terminated, truncated, _ = env.step(KEY, state_at(2, 3), DOWN, params)
    assert float(reward) == 1.0 and bool(terminated) and not bool(truncated)


def test_truncation_at_max_steps_keeps_final_observation():
    env = SparseGridWorld(8)
    params = env.default_params.replace(max_steps_in_episode=3)
    obs, state = env.reset(KEY, params)
    for t in range(3):
        obs, state, reward, terminated, truncated, info = env.step(KEY, state, RIGHT, params)
        assert float(reward) == 0.0
        assert not bool(terminated)
        assert bool(truncated) is (t == 2)
    np.testing.assert_array_equal(info["final_observation"], onehot(3, 8))  # at (0, 3)
    np.testing.assert_array_equal(obs, onehot(0, 8))
    assert int(state.time) == 0


@pytest.mark.parametrize(
    ("row", "col", "action"),
    [
        (0, 0, UP),
        (0, 0, LEFT),
        (0, 4, UP),
        (0, 4, RIGHT),
        (3, 4, RIGHT),
        (4, 0, LEFT),
        (4, 2, DOWN),
    ],
)
def test_wall_bump_keeps_position_and_advances_time(row, col, action):
    env = SparseGridWorld(5)
    params = env.default_params.replace(step_cost=0.5)
    obs, state, reward, terminated, truncated, _ = env.step(KEY, state_at(row, col, time=7), action, params)
    np.testing.assert_array_equal(state.pos, [row, col])
    np.testing.assert_array_equal(obs, onehot(row * 5 + col, 5))
    assert int(state.time) == 8
    assert float(reward) == -0.5 and not bool(terminated) and not bool(truncated)


def test_moves_in_each_direction():
    env = SparseGridWorld(5)
    expected = {UP: (1, 2), RIGHT: (2, 3), DOWN: (3, 2), LEFT: (2, 1)}
    for action, pos in expected.items():
        _, state, *_ = env.step(KEY, state_at(2, 2), action, env.default_params)
        np.testing.assert_array_equal(state.pos, pos)


def test_coords_observation_mode():
    env = SparseGridWorld(5, obs_mode="coords")
    params = env.default_params
    assert env.observation_space(params).shape == (2,)
    obs, state = env.reset(KEY, params)
    np.testing.assert_array_equal(obs, np.zeros(2, np.float32))
    obs, *_ = env.step(KEY, state, DOWN, params)
    assert obs.dtype == jnp.float32
    np.testing.assert_array_equal(obs, np.array([0.25, 0.0], np.float32))
    np.testing.assert_array_equal(env.get_obs(state_at(4, 4)), np.ones(2, np.float32))


def test_params_vmap_gives_each_goal_reward():
    env = SparseGridWorld(4)
    goal_rewards = [0.5, 1.0, 3.0]
    batch = jax.tree.map(
        lambda *leaves: jnp.stack(leaves),
        *[env.default_params.replace(goal_reward=g, step_cost=0.25) for g in goal_rewards],
    )
    obs, states = jax.vmap(env.reset, in_axes=(None, 0))(KEY, batch)
    assert obs.shape == (3, 16)
    near_goal = jax.tree.map(lambda x: jnp.stack([x] * 3), state_at(3, 2))
    step = jax.vmap(env.step, in_axes=(None, 0, None, 0))
    _, _, reward, terminated, truncated, _ = step(KEY, near_goal, RIGHT, batch)
    np.testing.assert_array_equal(reward, np.array(goal_rewards, np.float32) - 0.25)
    np.testing.assert_array_equal(terminated, [True, True, True])
    np.testing.assert_array_equal(truncated, [False, False, False])
    _, _, reward, *_ = step(KEY, states, RIGHT, batch)
    np.testing.assert_array_equal(reward, [-0.25, -0.25, -0.25])


def test_same_key_same_result_and_slip_uses_key():
    env = SparseGridWorld(5)
    params = env.default_params.replace(slip_prob=0.75)
    state = state_at(2, 2)
    first = env.step(jax.random.PRNGKey(3), state, UP, params)
    again = env.step(jax.random.PRNGKey(3), state, UP, params)
    jax.tree.map(np.testing.assert_array_equal, first, again)
    keys = jax.random.split(jax.random.PRNGKey(1), 64)
    _, states, *_ = jax.vmap(env.step, in_axes=(0, None, None, None))(keys, state, UP, params)
    reached = {tuple(int(v) for v in p) for p in np.asarray(states.pos)}
    assert reached == {(1, 2), (2, 3), (3, 2), (2, 1)}


def test_tabular_mdp_is_stochastic_matrix_with_absorbing_goal():
    env = SparseGridWorld(4)
    mdp = env.tabular_mdp(env.default_params.replace(slip_prob=0.2, step_cost=0.1))
    assert mdp.transitions.shape == (16, 4, 16) and mdp.rewards.shape == (16, 4)
    np.testing.assert_allclose(mdp.transitions.sum(-1), 1.0)
    np.testing.assert_array_equal(mdp.terminal, np.arange(16) == 15)
    np.testing.assert_array_equal(env.terminal_mask(), mdp.terminal)
    assert mdp.initial_state == 0
    np.testing.assert_array_equal(mdp.transitions[15, :, 15], 1.0)
    np.testing.assert_array_equal(mdp.rewards[15], 0.0)
    # From (3, 2) moving right: reach goal unless slipping to up/down/left (3 of 4 slips).
    np.testing.assert_allclose(mdp.transitions[14, RIGHT, 15], 0.8 + 0.2 / 4)
    np.testing.assert_allclose(mdp.rewards[14, RIGHT], 1.0 * (0.8 + 0.05) - 0.1)


def test_tabular_mdp_matches_step_exhaustively_without_slip():
    env = SparseGridWorld(5)
    params = env.default_params.replace(goal_reward=2.0, step_cost=0.1)
    mdp = env.tabular_mdp(params)
    cells = np.arange(25)
    pos = jnp.stack(np.divmod(np.repeat(cells, 4), 5), axis=-1).astype(jnp.int32)
    actions = jnp.tile(jnp.arange(4), 25)
    states = GridWorldState(pos=pos, time=jnp.zeros(100, jnp.int32))
    step = jax.vmap(env.step_env, in_axes=(None, 0, 0, None))
    _, next_states, reward, terminated, _ = step(KEY, states, actions, params)
    next_index = np.asarray(env.state_index(next_states.pos)).reshape(25, 4)
    live = ~mdp.terminal
    np.testing.assert_array_equal(mdp.transitions.argmax(-1)[live], next_index[live])
    np.testing.assert_array_equal(mdp.transitions.max(-1), 1.0)
    np.testing.assert_allclose(np.asarray(reward).reshape(25, 4)[live], mdp.rewards[live], 1e-6)
    np.testing.assert_array_equal(np.asarray(terminated).reshape(25, 4)[live], mdp.terminal[next_index][live])


@pytest.mark.parametrize(("row", "col", "action"), [(0, 0, UP), (2, 1, RIGHT), (3, 2, DOWN)])
def test_tabular_mdp_matches_step_frequencies_with_slip(row, col, action):
    env = SparseGridWorld(4)
    params = env.default_params.replace(slip_prob=0.4)
    keys = jax.random.split(jax.random.PRNGKey(row * 16 + col * 4 + action), 8000)
    step = jax.vmap(env.step_env, in_axes=(0, None, None, None))
    _, next_states, *_ = step(keys, state_at(row, col), action, params)
    counts = np.bincount(np.asarray(env.state_index(next_states.pos)), minlength=16)
    expected = env.transition_matrix(params)[row * 4 + col, action]
    np.testing.assert_array_equal(counts > 0, expected > 0)
    np.testing.assert_allclose(counts / 8000, expected, atol=0.025)


def test_value_iteration_on_tabular_mdp_gives_discounted_goal_reward():
    size, gamma = 6, 0.9
    env = SparseGridWorld(size)
    mdp = env.tabular_mdp(env.default_params.replace(goal_reward=3.0))
    values = np.zeros(size * size)
    for _ in range(200):
        values = (mdp.rewards + gamma * mdp.transitions @ values).max(-1)
    shortest = 2 * (size - 1)
    np.testing.assert_allclose(values[mdp.initial_state], 3.0 * gamma ** (shortest - 1))


def test_constructor_validation_and_hashing():
    with pytest.raises(ValueError, match="size"):
        SparseGridWorld(1)
    with pytest.raises(ValueError, match="obs_mode"):
        SparseGridWorld(4, obs_mode="pixels")
    assert SparseGridWorld(4) == SparseGridWorld(4)
    assert hash(SparseGridWorld(4)) == hash(SparseGridWorld(4))
    assert SparseGridWorld(4) != SparseGridWorld(5)
    assert SparseGridWorld(4) != SparseGridWorld(4, obs_mode="coords")


_ENV = SparseGridWorld(4)
_PARAMS = _ENV.default_params.replace(max_steps_in_episode=6, slip_prob=0.3)


@settings(max_examples=25, deadline=None)
@given(actions=st.lists(st.integers(0, 3), min_size=1, max_size=15), seed=st.integers(0, 2**16))
def test_random_walks_stay_on_grid_and_observations_are_one_hot(actions, seed):
    obs, state = _ENV.reset(jax.random.PRNGKey(seed), _PARAMS)
    for t, action in enumerate(actions):
        obs, state, reward, terminated, truncated, info = _ENV.step(
            jax.random.PRNGKey(seed + t), state, action, _PARAMS
        )
        for o in (obs, info["final_observation"]):
            assert o.shape == (16,) and float(o.sum()) == 1.0
        assert 0 <= int(state.time) < 6
        assert np.all((np.asarray(state.pos) >= 0) & (np.asarray(state.pos) <= 3))
        assert bool(terminated) == (float(reward) == 1.0)
        if bool(terminated) or bool(truncated):
            np.testing.assert_array_equal(obs, onehot(0, 4))
