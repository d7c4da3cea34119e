"""Least-squares outcome redistribution and the auxiliary-reward trust weight."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_vmap_equals_alone, make_batch
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import Stream, TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms import chain, identity
from jaxrl_rewards.transforms.credit import auxiliary_trust, onehot_state_action_features, redistribute_outcome

T, N, A = 12, 16, 3
CONTRIB = np.asarray([0.0, 1.0, -0.5], np.float32)  # true per-action contributions


def outcome_batch(seed):
    """Episodes of length 4; the reward is the sum of action contributions, paid at the end."""
    rng = np.random.default_rng(seed)
    action = rng.integers(0, A, size=(T, N))
    done = np.zeros((T, N), bool)
    done[3::4] = True
    step = CONTRIB[action]
    episode_sum = step.reshape(T // 4, 4, N).sum(1)
    reward = np.zeros((T, N), np.float32)
    reward[3::4] = episode_sum
    return Transition(
        obs=jnp.ones((T, N, 1)),
        action=jnp.asarray(action, jnp.int32),
        next_obs=jnp.ones((T, N, 1)),
        reward=jnp.asarray(reward),
        terminated=jnp.asarray(done),
        truncated=jnp.zeros((T, N), bool),
    )


@functools.partial(jax.jit, static_argnames=("times",))
def run(transform, batch, streams=None, times=1):
    streams = env_streams(batch, 0.9) if streams is None else streams
    spec = TransformSpec(None, None, batch.reward.shape[1], tuple(sorted(streams)), batch)
    state = transform.init(jax.random.key(0), spec)
    for i in range(times):
        out, state = transform.apply(state, streams, batch)
        state, metrics = transform.update(state, out, batch, jax.random.key(i))
    return out, state, metrics


REDIST = redistribute_outcome(onehot_state_action_features(A), A, ridge=1e-4)


def test_redistribution_recovers_step_contributions_and_sums_exactly():
    batch = outcome_batch(0)
    out, state, _ = run(REDIST, batch, times=2)
    np.testing.assert_allclose(state.theta, CONTRIB, atol=1e-3)
    # second pass uses the fitted theta: every step gets its own contribution
    np.testing.assert_allclose(out["task"].reward, CONTRIB[np.asarray(batch.action)], atol=2e-3)
    # and every episode's redistributed rewards sum exactly to its outcome
    sums = np.asarray(out["task"].reward).reshape(T // 4, 4, N).sum(1)
    np.testing.assert_allclose(sums, np.asarray(batch.reward)[3::4], atol=1e-5)


def test_redistribution_before_fitting_is_the_delayed_reward():
    batch = outcome_batch(1)
    spec = TransformSpec(None, None, N, ("task",), batch)
    out, _ = REDIST.apply(REDIST.init(jax.random.key(0), spec), env_streams(batch, 0.9), batch)
    np.testing.assert_allclose(out["task"].reward, batch.reward, atol=1e-6)


def aux_setup():
    batch = make_batch(8, 4, seed=2)
    done = np.zeros((8, 4), bool)
    done[3] = done[7] = True
    outcome = np.zeros((8, 4), np.float32)
    outcome[3, :2] = 1.0  # envs 0, 1 succeed in their first episode
    aux = np.zeros((8, 4), np.float32)
    aux[:4, 0] = 1.0  # env 0: aux return 4 on success
    aux[:4, 2] = 0.5  # env 2: aux return 2 on failure
    batch = batch.replace(terminated=jnp.asarray(done), truncated=jnp.zeros((8, 4), bool))
    streams = {
        **env_streams(batch, 0.9),
        "outcome": Stream(reward=jnp.asarray(outcome)),
        "aux": Stream(reward=jnp.asarray(aux)),
    }
    return batch, streams


def test_trust_weight_exact():
    batch, streams = aux_setup()
    t = auxiliary_trust("aux", "outcome", threshold=0.5, scale=0.5, max_weight=10.0)
    out, _state, metrics = run(t, batch, streams)
    # success: envs 0, 1 (aux 4, 0) -> mean 2; failures: envs 2, 3 first episode (2, 0) and all 4 second (0) -> 2/6
    trust = 2.0 - 2.0 / 6
    assert float(metrics["trust/value"]) == pytest.approx(trust, rel=1e-5)
    assert float(out["aux"].weight) == pytest.approx(0.5 * trust, rel=1e-5)
    out, _, _ = run(auxiliary_trust("aux", "outcome", mode="gate", max_weight=2.0), batch, streams)
    assert float(out["aux"].weight) == 2.0
    flipped = {**streams, "aux": streams["aux"].replace(reward=-streams["aux"].reward)}
    out, _, _ = run(t, batch, flipped)
    assert float(out["aux"].weight) == 0.0


def test_vmap_over_ridge_and_scale():
    batch = outcome_batch(0)
    thetas = jax.vmap(lambda r: run(REDIST.replace(ridge=r), batch)[1].theta)(jnp.asarray([1e-4, 1e4]))
    assert np.abs(np.asarray(thetas[1])).max() < np.abs(np.asarray(thetas[0])).max()
    b2, streams = aux_setup()
    t = auxiliary_trust("aux", "outcome", max_weight=10.0)
    w = jax.vmap(lambda s: run(t.replace(scale=s), b2, streams)[0]["aux"].weight)(jnp.asarray([1.0, 2.0]))
    assert float(w[1]) == pytest.approx(2 * float(w[0]), rel=1e-5)


CREDIT = [REDIST, auxiliary_trust("aux", "outcome"), auxiliary_trust("aux", "task", mode="gate")]


@settings(max_examples=2, deadline=None)
@given(st.permutations(range(len(CREDIT))), st.integers(0, 3))
def test_chain_associativity_and_identity(order, split):
    batch, streams = aux_setup()
    ts = [CREDIT[i] for i in order]
    ts = [redistribute_outcome(onehot_state_action_features(2), 4) if t is REDIST else t for t in ts]
    ref, _, _ = run(chain(*ts), batch, streams)
    for other in (chain(chain(*ts[:split]), chain(*ts[split:])), chain(identity(), *ts, identity())):
        out, _, _ = run(other, batch, streams)
        for name in ref:
            np.testing.assert_array_equal(out[name].reward, ref[name].reward)
            np.testing.assert_array_equal(out[name].weight, ref[name].weight)


def test_bad_input():
    with pytest.raises(ConfigError, match="features"):
        redistribute_outcome(3, 2)
    with pytest.raises(ConfigError, match="ridge"):
        redistribute_outcome(onehot_state_action_features(2), 2, ridge=0.0)
    with pytest.raises(ConfigError, match="mode"):
        auxiliary_trust("aux", mode="vote")
    with pytest.raises(ConfigError, match="aux"):
        auxiliary_trust("task", "task")


def test_every_transform_in_vmap_equals_alone():
    """Each transform of this module run on a batch of 2 different batches under ``vmap`` gives
    the same streams as the 2 runs alone (one compile for all)."""
    batches = jax.tree.map(lambda *x: jnp.stack(x), outcome_batch(0), outcome_batch(1))

    assert_vmap_equals_alone(lambda t, b: run(t, b, times=2)[0], (REDIST,), batches)
