"""Proxy-reward (reward hacking) environments: rewards, true reward stream, tampering, tabular MDP."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.analysis import distances
from jaxrl_rewards.core.rollout import reset_envs, rollout
from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.envs import make, registered_envs
from jaxrl_rewards.envs.proxy.proxy_grid import ProxyGridWorld

UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3


def run(env, params, actions):
    """Step one environment through ``actions``; return proxy rewards, true rewards, dones, obs."""
    key = jax.random.key(0)
    obs, state = env.reset(key, params)
    out = []
    for a in actions:
        obs, state, r, term, trunc, info = env.step(key, state, jnp.int32(a), params)
        out.append((float(r), float(info["true_reward"]), bool(term), bool(trunc), np.asarray(obs)))
    return out


def test_registered():
    assert {"ProxyGrid-bonus", "ProxyGrid-tamper"} <= set(registered_envs())


def test_bonus_variant_pays_the_proxy_for_camping_next_to_the_goal():
    env, params = make("ProxyGrid-bonus")
    # (0,0) -> right x4 -> (0,4) -> down x3 -> (3,4) = proxy cell; push right (stay) twice; then down = goal
    steps = run(env, params, [RIGHT] * 4 + [DOWN] * 3 + [RIGHT, RIGHT, DOWN])
    proxy, true = np.array([s[0] for s in steps]), np.array([s[1] for s in steps])
    np.testing.assert_allclose(true[:-1], -0.01, rtol=1e-6)
    np.testing.assert_allclose(true[-1], 0.99, rtol=1e-6)
    np.testing.assert_allclose(proxy[6:9], -0.01 + 0.05, rtol=1e-5)  # on the proxy cell
    np.testing.assert_allclose(proxy[:6], true[:6])
    np.testing.assert_allclose(proxy[-1], true[-1])
    assert steps[-1][2] and not any(s[2] for s in steps[:-1])


def test_tamper_variant_pins_the_observed_reward_at_its_max():
    env, params = make("ProxyGrid-tamper")
    steps = run(env, params, [RIGHT] * 4 + [DOWN] * 3 + [LEFT, LEFT, UP])
    proxy, true = np.array([s[0] for s in steps]), np.array([s[1] for s in steps])
    np.testing.assert_allclose(proxy[:6], -0.01, rtol=1e-6)
    np.testing.assert_allclose(proxy[6:], params.goal_reward)  # tampered: max reward, whatever happens
    np.testing.assert_allclose(true, -0.01, rtol=1e-6)  # the truth is untouched
    assert steps[5][4][-1] == 0.0 and steps[6][4][-1] == 1.0  # the flag is observed
    assert env.observation_space(params).shape == (26,)


def test_time_limit_truncates_and_the_true_reward_becomes_a_weight_zero_stream():
    env, params = make("ProxyGrid-bonus")
    carry = reset_envs(env, params, jax.random.key(0), 2)
    policy = lambda k, o: (jnp.full((2,), LEFT, jnp.int32), None)  # bump into the wall forever
    _, batch, _ = rollout(env, params, policy, carry, jax.random.key(1), 45)
    assert bool(batch.truncated[39].all()) and not bool(batch.terminated.any())
    streams = env_streams(batch, 0.99)
    assert float(streams["true_reward"].weight) == 0.0 and float(streams["task"].weight) == 1.0
    np.testing.assert_allclose(streams["true_reward"].reward, -0.01, rtol=1e-6)


def test_tabular_mdp_matches_the_simulator_and_the_proxy_is_epic_far_from_the_truth():
    env = ProxyGridWorld(5, "bonus")
    params = env.default_params
    mdp = env.tabular_mdp(params)
    assert mdp.transitions.shape == (25, 4, 25)
    np.testing.assert_allclose(mdp.transitions.sum(-1), 1.0)
    special = 3 * 5 + 4
    np.testing.assert_allclose(mdp.proxy_rewards[special, RIGHT], -0.01 + 0.05)  # stay on the proxy cell
    np.testing.assert_allclose(mdp.true_rewards[special, DOWN], 0.99)
    d = distances.epic_distance(mdp.true_rewards, mdp.proxy_rewards, 0.99)
    assert 0.0 < d < 1.0
    with pytest.raises(ValueError, match="bonus"):
        ProxyGridWorld(5, "tamper").tabular_mdp()


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="variant"):
        ProxyGridWorld(5, "bribe")
    with pytest.raises(ValueError, match="special_cell"):
        ProxyGridWorld(5, "bonus", special_cell=(4, 4))
    with pytest.raises(ValueError, match="size"):
        ProxyGridWorld(2)


# --------------------------------------------------------------------------- RewardMapGrid


def test_reward_map_grid_pays_the_cell_reward_and_never_terminates():
    env, params = make("RewardMapGrid-v0")
    assert "RewardMapGrid-v0" in registered_envs()
    params = params.replace(max_steps_in_episode=12)
    # optimal path on the 6x6 hill: 5 right, 5 down, then stay; cell rewards -d / 10
    steps = run(env, params, [RIGHT] * 5 + [DOWN] * 5 + [4, 4])
    reward, true = np.array([s[0] for s in steps]), np.array([s[1] for s in steps])
    np.testing.assert_allclose(reward, [-(9 - t) / 10 for t in range(10)] + [0.0, 0.0], atol=1e-6)
    np.testing.assert_array_equal(reward, true)
    assert not any(s[2] for s in steps)  # never terminated
    assert [s[3] for s in steps] == [False] * 11 + [True]  # truncated at the time limit
    assert np.asarray(steps[4][4]).argmax() == 5  # one-hot of cell (0, 5) before the reset


def test_reward_map_grid_optimal_return_is_the_closed_form_and_respects_custom_maps():
    env, params = make("RewardMapGrid-v0")
    assert env.optimal_return(params) == pytest.approx(-4.5)  # -sum_{d=0}^{9} d / 10
    one_hot_map = jnp.zeros(36).at[2 * 6 + 3].set(1.0)  # +1 only in cell (2, 3), 5 steps away
    custom = params.replace(reward_map=one_hot_map, max_steps_in_episode=8)
    assert env.optimal_return(custom) == pytest.approx(4.0)  # arrive on step 5, stay 3 more
    # random rollouts never beat the optimum
    carry = reset_envs(env, custom, jax.random.key(0), 64)
    policy = lambda k, obs: (jax.random.randint(k, (obs.shape[0],), 0, 5), {})
    _, batch, _ = rollout(env, custom, policy, carry, jax.random.key(1), 8)
    assert float(batch.reward.sum(0).max()) <= 4.0 + 1e-6
    with pytest.raises(ValueError, match="size >= 2"):
        make("RewardMapGrid-v0", size=1)
