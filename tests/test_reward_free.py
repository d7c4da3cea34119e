"""Reward-free exploration: exact empirical-model counts, planning on the estimated MDP, coverage."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.analysis.reward_free import (
    coverage,
    empirical_model,
    estimate_mdp,
    goal_task,
    planning_scores,
    policy_evaluation,
    reachable_states,
    value_iteration,
)
from jaxrl_rewards.core.rollout import reset_envs, rollout
from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.envs import SparseGridWorld

ENV = SparseGridWorld(size=4)
PARAMS = ENV.default_params.replace(max_steps_in_episode=30)
MDP = ENV.tabular_mdp(PARAMS)
INDEX = lambda obs: jnp.argmax(obs)


def explore(steps, num_envs=4, seed=0):
    policy = lambda k, o: (jax.random.randint(k, (o.shape[0],), 0, 4), None)
    carry = reset_envs(ENV, PARAMS, jax.random.key(seed), num_envs)
    _, batch, _ = rollout(ENV, PARAMS, policy, carry, jax.random.key(seed + 1), steps)
    model = empirical_model(INDEX, ENV.num_states, 4)
    spec = TransformSpec(None, None, num_envs, ("task",), batch)
    state = model.init(jax.random.key(0), spec)
    streams, state = model.apply(state, env_streams(batch, 0.9), batch)
    return batch, streams, state, model


@pytest.fixture(scope="module")
def explored():
    return explore(200)


def test_counts_are_exact(explored):
    batch, streams, state, model = explored
    s = np.asarray(batch.obs).argmax(-1).reshape(-1)
    s2 = np.asarray(batch.next_obs).argmax(-1).reshape(-1)
    a = np.asarray(batch.action).reshape(-1)
    expected = np.zeros((16, 4, 16))
    np.add.at(expected, (s, a, s2), 1)
    np.testing.assert_array_equal(state.transitions, expected)
    np.testing.assert_array_equal(streams["task"].reward, batch.reward)  # streams untouched
    _, metrics = model.update(state, streams, batch, jax.random.key(0))
    assert float(metrics["model/visited_states"]) == 16


def test_estimated_model_of_a_deterministic_grid_is_exact_where_seen(explored):
    _, _, state, _ = explored
    model = estimate_mdp(state)
    known = model.known & ~MDP.terminal[:, None]
    np.testing.assert_allclose(model.transitions[known], MDP.transitions[known])
    assert model.terminal[15] and model.terminal.sum() == 1


def test_planning_on_full_coverage_is_optimal(explored):
    _, _, state, _ = explored
    reach = reachable_states(MDP.transitions, 0, MDP.terminal)
    assert coverage(state, reach) == 1.0
    scores = planning_scores(state, MDP.transitions, MDP.terminal, np.arange(1, 15), 0, gamma=0.9)
    np.testing.assert_allclose(scores, 1.0, atol=1e-9)


def test_planning_with_little_data_is_worse(explored):
    batch, _, _, model = explored
    few = jax.tree.map(lambda x: x[:3, :1], batch)
    _, state = model.apply(model.init(jax.random.key(0), None), env_streams(few, 0.9), few)
    reach = reachable_states(MDP.transitions, 0, MDP.terminal)
    assert coverage(state, reach) < 0.5
    scores = planning_scores(state, MDP.transitions, MDP.terminal, np.arange(1, 15), 0, gamma=0.9)
    assert scores.mean() < 0.5


def test_value_iteration_and_policy_evaluation_analytic():
    r, done = goal_task(MDP.transitions, 3, MDP.terminal)  # goal (0, 3): 3 steps right
    v, q = value_iteration(MDP.transitions, r, 0.9, done)
    assert v[0] == pytest.approx(0.9**2)  # rewards 1 on the third step
    assert policy_evaluation(MDP.transitions, r, q.argmax(-1), 0.9, done)[0] == pytest.approx(0.81)


def test_bad_input_rejected():
    with pytest.raises(ConfigError, match="num_states"):
        empirical_model(INDEX, 0, 4)
    with pytest.raises(ConfigError, match="callable"):
        empirical_model(3, 4, 4)
