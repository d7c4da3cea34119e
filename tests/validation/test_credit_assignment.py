"""Validation: reward redistribution (Efroni, Merlis & Mannor, 2021; RUDDER, Arjona-Medina et
al., 2019) and trust weights of auxiliary rewards, against numpy least squares and episode
averages computed in the test."""

import jax
import jax.numpy as jnp
import numpy as np
from conftest import make_batch

from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec
from jaxrl_rewards.transforms import auxiliary_trust, redistribute_outcome
from jaxrl_rewards.transforms.credit import onehot_state_action_features

S, A, T, N = 3, 2, 6, 64
ENDS = (2, 5)  # every env's episodes end after steps 2 and 5


def episodes(seed):
    rng = np.random.default_rng(seed)
    states = rng.integers(0, S, size=(T, N))
    actions = rng.integers(0, A, size=(T, N))
    done = np.zeros((T, N), bool)
    done[list(ENDS)] = True
    return states, actions, done


def test_redistributed_steps_sum_to_the_outcome_and_recover_linear_contributions():
    """Claim: step contributions that sum to the delayed outcome. Outcomes are paid only at the
    episode end (the sum of hidden per-(s, a) contributions); after one least-squares fit the
    library's theta equals numpy's ridge solution, recovers the hidden contributions, and every
    episode's redistributed rewards sum exactly to its outcome."""
    contribution = np.random.default_rng(9).normal(size=(S, A))
    transform = redistribute_outcome(onehot_state_action_features(A), S * A, ridge=1e-3)

    def batch_of(seed):
        states, actions, done = episodes(seed)
        step = contribution[states, actions]
        delayed = np.zeros((T, N))
        start = 0
        for end in ENDS:
            delayed[end] = step[start : end + 1].sum(0)
            start = end + 1
        batch = make_batch(T, N).replace(
            obs=jax.nn.one_hot(jnp.asarray(states), S),
            action=jnp.asarray(actions, jnp.int32),
            reward=jnp.asarray(delayed, jnp.float32),
            terminated=jnp.asarray(done),
            truncated=jnp.zeros((T, N), bool),
        )
        return batch, states, actions, delayed

    batch, states, actions, delayed = batch_of(0)
    streams = env_streams(batch, 0.9)
    state = transform.init(jax.random.key(0), TransformSpec(None, None, N, tuple(streams), batch))
    out, state = transform.apply(state, streams, batch)
    np.testing.assert_allclose(out["task"].reward, delayed, atol=1e-6)  # before any fit: the delayed reward
    state, _ = transform.update(state, streams, batch, jax.random.key(1))
    # numpy ridge least squares over the 2 N finished episodes
    phi = np.zeros((2 * N, S * A))
    outcome = np.zeros(2 * N)
    start = 0
    for e, end in enumerate(ENDS):
        for t in range(start, end + 1):
            phi[e * N + np.arange(N), states[t] * A + actions[t]] += 1
        outcome[e * N : (e + 1) * N] = delayed[end]
        start = end + 1
    theta = np.linalg.solve(phi.T @ phi + 1e-3 * np.eye(S * A), phi.T @ outcome)
    np.testing.assert_allclose(state.theta, theta, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(state.theta, contribution.ravel(), atol=1e-3)
    batch2, states2, actions2, delayed2 = batch_of(1)
    out2, _ = transform.apply(state, env_streams(batch2, 0.9), batch2)
    paid = np.asarray(out2["task"].reward, np.float64)
    start = 0
    for end in ENDS:
        np.testing.assert_allclose(paid[start : end + 1].sum(0), delayed2[end], atol=1e-5)
        start = end + 1
    np.testing.assert_allclose(paid, contribution[states2, actions2], atol=2e-3)


def test_trust_weight_is_mean_aux_return_on_successes_minus_failures():
    """Claim: the trust weight of an auxiliary reward is its mean on successes minus its mean on
    failures. Random binary outcomes at episode ends and an auxiliary reward that is larger on
    successful episodes; the library's trust equals the two episode averages computed in numpy."""
    rng = np.random.default_rng(4)
    _, _, done = episodes(0)
    outcome = np.where(done, rng.integers(0, 2, size=(T, N)), 0).astype(np.float32)
    aux = rng.normal(size=(T, N)).astype(np.float32)
    aux[ENDS[0]] += outcome[ENDS[0]]  # successful first episodes collect more aux reward
    batch = make_batch(T, N, info={"rewards": {"aux": jnp.asarray(aux)}}).replace(
        reward=jnp.asarray(outcome), terminated=jnp.asarray(done), truncated=jnp.zeros((T, N), bool)
    )
    transform = auxiliary_trust("reward_aux", threshold=0.5)
    streams = env_streams(batch, 0.9)
    state = transform.init(jax.random.key(0), TransformSpec(None, None, N, tuple(streams), batch))
    _, state = transform.apply(state, streams, batch)
    returns, wins = [], []
    start = 0
    for end in ENDS:
        returns.append(aux[start : end + 1].sum(0))
        wins.append(outcome[start : end + 1].sum(0) >= 0.5)
        start = end + 1
    returns, wins = np.concatenate(returns), np.concatenate(wins)
    expected = returns[wins].mean() - returns[~wins].mean()
    np.testing.assert_allclose(transform.trust(state), expected, rtol=1e-5)
    assert expected > 0.3
