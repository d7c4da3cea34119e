"""Proxy-reward (reward hacking) environments: rewards, true reward stream, tampering, tabular MDP."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards import distances
from jaxrl_rewards.envs import make, registered_envs
from jaxrl_rewards.envs.proxy_grid import ProxyGridWorld
from jaxrl_rewards.rollout import reset_envs, rollout
from jaxrl_rewards.streams import env_streams

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
