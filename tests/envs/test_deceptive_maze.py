"""DeceptiveMaze: layout, walls, rewards and the goal by hand; the greedy path is blocked; the
optional terminal decoy pays and ends the episode only when it is on."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.envs import make
from jaxrl_rewards.envs.exploration import ENVIRONMENTS
from jaxrl_rewards.envs.exploration.deceptive_maze import DeceptiveMaze

UP, RIGHT, DOWN, LEFT, STAY = 0, 1, 2, 3, 4


@pytest.fixture(scope="module")
def maze():
    env, params = make("DeceptiveMaze-v0")  # 7x7, goal (0, 3), start (3, 3), wall row 2 cols 1..5
    return env, params, jax.jit(env.step)


def play(maze, actions, params=None):
    env, default, step = maze
    params = default if params is None else params
    obs, state = env.reset(jax.random.key(0), params)
    out = []
    for i, a in enumerate(actions):
        obs, state, r, term, trunc, info = step(jax.random.key(i), state, jnp.int32(a), params)
        out.append((float(r), bool(term), bool(trunc), info, obs, state))
    return out


def test_registered_layout_and_spaces():
    assert "DeceptiveMaze-v0" in ENVIRONMENTS
    env, params = make("DeceptiveMaze-v0")
    expected = np.zeros((7, 7), bool)
    expected[2, 1:6] = True
    np.testing.assert_array_equal(env.walls, expected)
    assert (env.goal, env.start, env.num_actions, int(params.max_steps_in_episode)) == ((0, 3), (3, 3), 5, 30)
    big, _ = make("DeceptiveMaze-v0", size=9)  # a pocket: side walls under the wall row
    assert big.walls[3, 1] and big.walls[3, 7] and not big.walls[4, 1] and big.walls[2, 1:8].all()
    obs, state = env.reset(jax.random.key(0), params)
    assert obs.shape == (49,) and float(obs[3 * 7 + 3]) == 1.0 and state.pos.tolist() == [3, 3]
    coords, _ = make("DeceptiveMaze-v0", obs_mode="coords")
    obs, _ = coords.reset(jax.random.key(0), params)
    np.testing.assert_allclose(obs, [0.5, 0.5])


def test_walls_block_and_reward_is_minus_normalised_distance(maze):
    out = play(maze, [UP, STAY, LEFT, DOWN])
    # up into the wall: stays at (3, 3), distance 3 / 12
    assert out[0][5].pos.tolist() == [3, 3] and out[0][0] == pytest.approx(-3 / 12)
    assert out[1][5].pos.tolist() == [3, 3] and out[1][0] == pytest.approx(-3 / 12)
    assert out[2][5].pos.tolist() == [3, 2] and out[2][0] == pytest.approx(-4 / 12)
    assert out[3][5].pos.tolist() == [4, 2] and out[3][0] == pytest.approx(-5 / 12)
    assert out[3][3]["pos"].tolist() == [4, 2] and float(out[3][3]["distance"]) == pytest.approx(5 / 12)
    assert not any(o[1] for o in out)
    corner = play(maze, [RIGHT] * 3 + [UP] * 2)  # (3, 6) then up to (1, 6): column 6 is open
    assert corner[2][5].pos.tolist() == [3, 6] and corner[-1][5].pos.tolist() == [1, 6]
    border = play(maze, [DOWN] * 5)
    assert border[-1][5].pos.tolist() == [6, 3]  # clipped at the border


def test_detour_reaches_the_goal_with_the_hand_computed_return(maze):
    path = [LEFT] * 3 + [UP] * 3 + [RIGHT] * 3
    out = play(maze, path)
    distances = [4, 5, 6, 5, 4, 3, 2, 1, 0]  # Manhattan distance to (0, 3) after each step
    expected = [-d / 12 for d in distances[:-1]] + [10.0]
    np.testing.assert_allclose([o[0] for o in out], expected, rtol=1e-6)
    assert sum(expected) == pytest.approx(7.5)
    assert out[-1][1] and not out[-1][2] and float(out[-1][3]["success"]) == 1.0
    assert out[-1][3]["pos"].tolist() == [0, 3]  # true last position, before the auto-reset
    assert out[-1][5].pos.tolist() == [3, 3]  # the state is the next episode's start
    assert all(float(o[3]["success"]) == 0.0 for o in out[:-1])


def test_reward_greedy_path_is_blocked(maze):
    """Choosing each step the action with the best immediate reward never leaves the start: every
    move away from the wall raises the distance, so the decoy's greedy path ends at the wall."""
    env, params, step = maze
    _, state = env.reset(jax.random.key(0), params)
    total, truncated = 0.0, False
    for t in range(int(params.max_steps_in_episode)):
        rewards = [float(step(jax.random.key(t), state, jnp.int32(a), params)[2]) for a in range(5)]
        best = int(np.argmax(rewards))
        assert rewards[UP] == rewards[STAY] == max(rewards)  # the wall and staying tie
        _, state, r, term, truncated, _ = step(jax.random.key(t), state, jnp.int32(best), params)
        total += float(r)
        assert not bool(term)
    assert bool(truncated) and total == pytest.approx(-30 * 3 / 12)


def test_bad_options_raise():
    with pytest.raises(ValueError, match="size must be an integer >= 6"):
        DeceptiveMaze(size=5)
    with pytest.raises(ValueError, match="obs_mode"):
        DeceptiveMaze(obs_mode="pixels")
    assert DeceptiveMaze(7) == DeceptiveMaze(7) != DeceptiveMaze(9)


def test_decoy_pays_and_terminates_only_when_on(maze):
    env, params, _ = maze
    assert env.decoy == (6, 3) and float(params.decoy_reward) == 0.0
    off = play(maze, [DOWN] * 4)  # no decoy: the bottom cell is an ordinary cell, the border clips
    np.testing.assert_allclose([o[0] for o in off], [-4 / 12, -5 / 12, -6 / 12, -6 / 12], rtol=1e-6)
    assert not any(o[1] for o in off)
    on = play(maze, [DOWN] * 3, params.replace(decoy_reward=5.0))
    np.testing.assert_allclose([o[0] for o in on], [-4 / 12, -5 / 12, 5.0 - 6 / 12], rtol=1e-6)
    assert [o[1] for o in on] == [False, False, True] and float(on[-1][3]["success"]) == 0.0
    assert on[-1][3]["pos"].tolist() == [6, 3] and on[-1][5].pos.tolist() == [3, 3]  # reset after the decoy
    assert sum(o[0] for o in on) == pytest.approx(5.0 - 15 / 12)  # 3.75, half the detour's 7.5
