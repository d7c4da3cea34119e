"""Deep Sea Treasure and the weight-conditioning wrapper."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.core.rollout import reset_envs, rollout
from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.envs import make
from jaxrl_rewards.envs.multi_objective.deep_sea_treasure import COLS, DEPTHS, TREASURES, DeepSeaTreasure
from jaxrl_rewards.envs.multi_objective.weight_conditioned import WeightConditioned, with_fixed_weights

UP, RIGHT, DOWN, LEFT = range(4)


def path_to(column):
    return [RIGHT] * column + [DOWN] * DEPTHS[column]


@jax.jit
def play(actions):
    """Step one DST env through ``actions`` (int [L]); returns per-step outputs."""
    env = DeepSeaTreasure()
    params = env.default_params
    _, state = env.reset(jax.random.key(0), params)

    def step(state, a):
        _obs, state, reward, term, trunc, info = env.step(jax.random.key(1), state, a, params)
        return state, (
            reward,
            term,
            trunc,
            info["rewards"]["treasure"],
            info["rewards"]["time"],
            info["final_observation"],
        )

    return jax.lax.scan(step, state, actions)[1]


@pytest.mark.parametrize("column", [0, 5, 7, 9])
def test_shortest_paths_reach_the_pareto_points(column):
    actions = jnp.asarray(path_to(column), jnp.int32)
    reward, term, trunc, treasure, time_cost, final_obs = play(actions)
    assert bool(term[-1]) and not bool(term[:-1].any()) and not bool(trunc.any())
    assert float(treasure.sum()) == TREASURES[column]
    assert float(time_cost.sum()) == -len(actions)
    np.testing.assert_allclose(reward, treasure + time_cost)
    assert int(jnp.argmax(final_obs[-1])) == DEPTHS[column] * COLS + column
    assert (TREASURES[column], -len(actions)) in [tuple(p) for p in DeepSeaTreasure.true_pareto_front()]


def test_floor_and_border_block_moves():
    # go right to column 1 and down 2 (treasure 2 at depth 2) is blocked by nothing; instead try the floor:
    # column 0 has its treasure at depth 1, so (2, 0) is floor: from (1, 1) moving left stays put
    actions = jnp.asarray([UP, LEFT, RIGHT, DOWN, LEFT], jnp.int32)
    reward, term, *_ = play(actions)
    # UP/LEFT at the corner stay put; RIGHT -> (0, 1); DOWN -> (1, 1); LEFT -> (1, 0) = treasure 1
    assert bool(term[-1]) and float(reward[-1]) == 1.0 - 1.0
    actions = jnp.asarray([RIGHT, DOWN, DOWN, LEFT], jnp.int32)  # (2, 1) is treasure 2: ends there
    _, term, *_ = play(actions)
    assert bool(term[2])


def test_truncation_at_the_time_limit():
    _reward, term, trunc, *_ = play(jnp.full((50,), UP, jnp.int32))
    assert bool(trunc[-1]) and not bool(trunc[:-1].any()) and not bool(term.any())


def test_registry_and_streams():
    env, params = make("DeepSeaTreasure-v0")
    carry = reset_envs(env, params, jax.random.key(0), 2)
    policy = lambda k, o: (jax.random.randint(k, (2,), 0, 4), None)
    _, batch, _ = jax.jit(lambda c, k: rollout(env, params, policy, c, k, 6))(carry, jax.random.key(1))
    streams = env_streams(batch, 0.99)
    assert set(streams) == {"task", "reward_time", "reward_treasure"}
    np.testing.assert_array_equal(streams["reward_time"].reward, -np.ones((6, 2)))


def test_weight_conditioned_wrapper():
    env, params = make("DeepSeaTreasureConditioned-v0")
    assert isinstance(env, WeightConditioned)
    assert env.observation_space(params).shape == (112,)
    carry = reset_envs(env, params, jax.random.key(0), 4)
    w = np.asarray(carry.obs[:, -2:])
    np.testing.assert_allclose(w.sum(1), 1.0, rtol=1e-6)
    assert len({tuple(x) for x in w}) == 4  # sampled per env
    policy = lambda k, o: (jnp.full((4,), DOWN, jnp.int32), None)
    run = jax.jit(lambda c, k, p: rollout(env, p, policy, c, k, 3))
    _carry2, batch, _ = run(carry, jax.random.key(1), params)
    # step 0 ends every episode (treasure 1 right below the start): its info holds the old weights,
    # the next observation the freshly sampled ones
    np.testing.assert_allclose(batch.info["weights"][0], w)
    assert bool(batch.terminated[0].all())
    assert not np.allclose(batch.info["weights"][1], w)
    np.testing.assert_allclose(batch.obs[1][:, -2:], batch.info["weights"][1])
    fixed = with_fixed_weights(params, [0.2, 0.8])
    carry = reset_envs(env, fixed, jax.random.key(0), 4)
    _, batch, _ = run(carry, jax.random.key(1), fixed)
    np.testing.assert_allclose(batch.info["weights"], np.broadcast_to([0.2, 0.8], (3, 4, 2)))
