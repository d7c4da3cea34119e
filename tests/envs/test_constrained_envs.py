"""Constrained environments: registry, cost signals, exact tabular model, API invariants."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.environments.classic_control.cartpole import CartPole

from jaxrl_rewards.core.rollout import example_batch
from jaxrl_rewards.core.streams import env_streams, stream_names
from jaxrl_rewards.envs import make
from jaxrl_rewards.envs.constrained import ENVIRONMENTS
from jaxrl_rewards.envs.constrained.lava_grid import LavaGrid, LavaGridState
from jaxrl_rewards.envs.constrained.point_hazard import PointHazard

COST_NAMES = {
    "PointHazard-v0": ("cost",),
    "PointTwoHazards-v0": ("cost_0", "cost_1"),
    "LavaGrid-v0": ("cost",),
    "ConstrainedCartPole-v0": ("cost",),
}


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_registered_and_cost_streams(name):
    env, params = make(name)
    zero = lambda k, obs: jnp.zeros((2, *env.action_space(params).shape), env.action_space(params).dtype)
    batch = example_batch(env, params, 2, zero)
    names = stream_names(env_streams(batch, 0.99))
    assert set(COST_NAMES[name]) <= set(names) and "task" in names
    assert batch.obs.shape[2:] == env.observation_space(params).shape
    expected_cost_shape = (1, 2, 2) if name == "PointTwoHazards-v0" else (1, 2)
    assert batch.info["cost"].shape == expected_cost_shape


def run_actions(env, params, actions, key=0):
    _, state = env.reset(jax.random.key(key), params)
    rewards, costs, dones = [], [], []
    for i, a in enumerate(actions):
        _, state, r, term, trunc, info = env.step(jax.random.key(100 + i), state, a, params)
        rewards.append(float(r))
        costs.append(np.asarray(info["cost"]))
        dones.append(bool(term))
        if term or trunc:
            break
    return np.array(rewards), np.array(costs), dones


def test_point_hazard_straight_path_costs_and_return_is_path_independent():
    env = PointHazard()
    params = env.default_params.replace(start_noise=0.0)
    rewards, costs, dones = run_actions(env, params, [jnp.array([1.0, 0.0])] * 20)
    # 15 steps of 0.1 from x=-0.8 into the goal disc (distance < 0.1); 7-8 of them inside |x| < 0.4
    assert dones[-1] and len(rewards) == 15
    assert 7 <= costs.sum() <= 8  # x = -0.4 + float error may count as inside
    np.testing.assert_allclose(rewards.sum(), (1.6 - 0.1) + 1.0, atol=1e-5)  # d: 1.6 -> 0.1  # progress + goal bonus
    # a detour around the hazard: no cost, same undiscounted return (progress is a potential difference)
    detour = [jnp.array([0.0, 1.0])] * 6 + [jnp.array([1.0, 0.0])] * 16 + [jnp.array([0.0, -1.0])] * 6
    rewards, costs, dones = run_actions(env, params, detour + [jnp.array([1.0, 0.0])] * 3)
    assert costs.sum() == 0 and dones[-1]
    assert abs(rewards.sum() - 2.6) <= 0.1 + 1e-5  # 1.6 - (final distance < 0.1) + goal bonus


def test_point_two_hazards_costs_per_hazard():
    env, params = make("PointTwoHazards-v0")
    params = params.replace(start_noise=0.0)
    _, costs, _ = run_actions(env, params, [jnp.array([1.0, 0.0])] * 20)
    assert costs.shape[1] == 2
    assert costs[:, 0].sum() > 0 and costs[:, 1].sum() > 0


def test_lava_grid_exact_model_matches_steps():
    env = LavaGrid()
    params = env.default_params
    rewards, costs, dones = run_actions(env, params, [1] * 6)  # straight right along the top row
    assert dones[-1] and rewards.sum() == 1.0 and costs.sum() == 1.0
    detour = [2, 2, 2] + [1] * 6 + [0, 0, 0]
    rewards, costs, dones = run_actions(env, params, detour)
    assert dones[-1] and costs.sum() == 0.0
    mdp = env.tabular_mdp(params.replace(slip_prob=0.2))
    np.testing.assert_allclose(mdp.transitions.sum(-1), 1.0)
    assert mdp.costs[2, 1] == pytest.approx(0.8 + 0.2 / 4)  # right from (0, 2) into lava, or a slip right
    # deterministic model agrees with env.step everywhere
    det = env.tabular_mdp(params)
    step = jax.jit(env.step_env)
    for s in range(env.num_states):
        if det.terminal[s]:
            continue
        for a in range(4):
            state = LavaGridState(pos=jnp.array(divmod(s, env.width), jnp.int32), time=jnp.int32(0))
            _, new, r, _, info = step(jax.random.key(0), state, a, params)
            s2 = int(env.state_index(new.pos))
            assert det.transitions[s, a, s2] == 1.0
            assert det.rewards[s, a] == float(r) and det.costs[s, a] == float(info["cost"])


def test_constrained_cartpole_has_cartpole_dynamics_and_band_cost():
    env, params = make("ConstrainedCartPole-v0")
    params = params.replace(cost_band=0.05)  # the pole falls before the cart reaches the default 0.5
    base = CartPole()
    base_params = base.default_params
    _, state = env.reset(jax.random.key(0), params)
    step, step_base = jax.jit(env.step_env), jax.jit(base.step_env)
    costs = []
    for i in range(60):
        obs, new, r, term, info = step(jax.random.key(i), state, 1, params)
        obs_b, _, r_b, term_b, _ = step_base(jax.random.key(i), state, 1, base_params)
        np.testing.assert_array_equal(obs, obs_b)
        assert float(r) == float(r_b) and bool(term) == bool(term_b)
        costs.append(float(info["cost"]))
        assert costs[-1] == float(abs(float(new.x)) > params.cost_band)
        state = new
        if term:
            break
    assert 0 < sum(costs) < len(costs)  # pushing right leaves the band before the episode ends
