"""Exploration environments: registry, scripted solutions, blocked doors, noisy TV, layouts, vmap."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.envs import make
from jaxrl_rewards.envs.exploration import ENVIRONMENTS

NAMES = ("DeepSea-v0", "KeyDoor-v0", "NoisyTV-v0", "ContextualGrid-v0", "ContextualGridFixed-v0")


def play(env, params, actions, key=0):
    """Step through ``actions``; returns lists of rewards, terminated flags, infos and obs."""
    obs, state = env.reset(jax.random.key(key), params)
    out = []
    step = jax.jit(env.step)
    for i, a in enumerate(actions):
        obs, state, r, term, trunc, info = step(jax.random.key(100 + i), state, a, params)
        out.append((float(r), bool(term), bool(trunc), info, obs, state))
    return out


def test_registered_and_spaces_match():
    assert set(NAMES) <= set(ENVIRONMENTS)
    for name in NAMES:
        env, params = make(name)
        obs, _ = jax.jit(env.reset)(jax.random.key(0), params)
        assert obs.shape == env.observation_space(params).shape and obs.dtype == jnp.float32


def test_deep_sea_only_all_right_finds_treasure():
    env, params = make("DeepSea-v0", size=6)
    _, state = env.reset(jax.random.key(0), params)
    rewards = []
    for _ in range(5):
        a = int(env.right_action[int(state.row), int(state.col)])
        _, state, r, term, _, info = env.step(jax.random.key(0), state, a, params)
        rewards.append(float(r))
    assert term and float(info["treasure"]) == 1.0
    assert sum(rewards) == pytest.approx(1.0 - 5 * 0.01 / 6)
    left = play(env, params, [1 - int(env.right_action[i, 0]) for i in range(5)])
    assert left[-1][1] and sum(x[0] for x in left) == 0.0
    assert len(np.unique(env.right_action)) == 2  # actions randomised per cell


def test_key_door_needs_the_key():
    env, params = make("KeyDoor-v0", size=4)  # door at (0, 2), key at (3, 0), goal at (3, 3)
    right, down, up = 1, 2, 0
    no_key = play(env, params, [right, right, right])
    assert no_key[-1][5].pos.tolist() == [0, 1]  # door locked
    path = [down, down, down, up, up, up, right, right, right, down, down, down]
    out = play(env, params, path)
    assert float(out[2][3]["has_key"]) == 1.0
    assert out[-1][0] == 1.0 and out[-1][1] and float(out[-1][3]["success"]) == 1.0
    assert sum(x[0] for x in out) == 1.0


def test_noisy_tv_shows_noise_only_when_watched():
    env, params = make("NoisyTV-v0", size=3, noise_dim=4)
    out = play(env, params, [4, 4, 1])
    tv1, tv2, off = (x[4][9:] for x in out)
    assert np.all(tv1 > 0) and not np.allclose(tv1, tv2) and np.all(off == 0)
    assert [float(x[3]["tv"]) for x in out] == [1.0, 1.0, 0.0]
    assert out[0][4][:9].argmax() == 0 and out[2][4][:9].argmax() == 1  # TV does not move


def test_contextual_grid_resamples_and_fixed_does_not():
    env, params = make("ContextualGrid-v0", size=7)
    fixed = params.replace(resample=False)
    resets = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))  # one compile for both param values
    keys = jax.random.split(jax.random.key(0), 6)
    fresh_obs, _ = resets(keys, params)
    fixed_obs, _ = resets(keys, fixed)
    assert len({np.asarray(o).tobytes() for o in fresh_obs}) > 3
    assert len({np.asarray(o).tobytes() for o in fixed_obs}) == 1
    both = jax.tree.map(lambda a, b: jnp.stack([a, b]), params, fixed)
    obs, _ = jax.vmap(env.reset, in_axes=(None, 0))(keys[0], both)
    np.testing.assert_array_equal(obs[1], fixed_obs[0])
    np.testing.assert_array_equal(obs[0], fresh_obs[0])


def test_contextual_grid_goal_reachable_through_door():
    env, params = make("ContextualGrid-v0", size=7)
    reset = jax.jit(env.reset)
    for k in range(4):
        obs, state = reset(jax.random.key(k), params)
        n = env.size
        wall = np.asarray(obs[n * n : 2 * n * n]).reshape(n, n)
        col, door = int(state.wall_col), int(state.door_row)
        assert wall[:, col].sum() == n - 1 and wall[door, col] == 0
        assert int(state.pos[1]) < col < int(state.goal[1])
