"""Centred sigmoid, decoupled normalisation, clip-to-range, delta rewards."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_vmap_equals_alone, make_batch
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxrl_rewards.core.streams import env_streams, scalarize
from jaxrl_rewards.core.types import Stream, TransformSpec
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms import chain, identity, scale
from jaxrl_rewards.transforms.bounding import centered_sigmoid, clip_to_range, decoupled_normalize, delta_reward


def two_streams(batch):
    streams = env_streams(batch, 0.9)
    big = Stream(reward=1000.0 * jnp.asarray(batch.reward)[::-1] + 50.0, weight=jnp.float32(1.0))
    return {**streams, "big": big}


@functools.partial(jax.jit, static_argnames=("times", "extra"))
def run(transform, batch, times=1, extra=False):
    streams0 = two_streams(batch) if extra else env_streams(batch, 0.9)
    state = transform.init(jax.random.key(0), TransformSpec(None, None, batch.reward.shape[1], tuple(streams0), batch))
    for _ in range(times):
        streams, state = transform.apply(state, streams0, batch)
    return streams, state


def sig(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def test_centered_sigmoid_running_mean_exact(batch):
    out, _ = run(centered_sigmoid(temperature=2.0), batch)
    r = np.asarray(batch.reward, np.float64)
    count = 1e-4 + r.size
    mean = r.sum() / count  # prior mean 0 with weight 1e-4
    np.testing.assert_allclose(out["task"].reward, 2 * sig((r - mean) / 2.0) - 1, rtol=1e-5, atol=1e-6)
    assert np.all(np.abs(np.asarray(out["task"].reward)) < 1)


def test_centered_sigmoid_against_a_baseline_stream(batch):
    out, _ = run(centered_sigmoid(streams=("big",), baseline="task"), batch, extra=True)
    big = two_streams(batch)["big"].reward
    np.testing.assert_allclose(out["big"].reward, 2 * sig(np.asarray(big) - np.asarray(batch.reward)) - 1, rtol=1e-5)


def test_decoupled_normalize_balances_scales(batch):
    out, _ = run(decoupled_normalize(), batch, extra=True)
    for name in ("task", "big"):
        r = np.asarray(out[name].reward)
        assert abs(r.mean()) < 1e-3 and r.std() == pytest.approx(1.0, rel=1e-3)
    # the coupled alternative (normalising the weighted sum) is dominated by the big stream
    total = np.asarray(scalarize(two_streams(batch)))
    coupled = (total - total.mean()) / total.std()
    big = np.asarray(two_streams(batch)["big"].reward)
    assert abs(np.corrcoef(coupled.ravel(), big.ravel())[0, 1]) > 0.999
    decoupled_sum = np.asarray(scalarize(out))
    assert abs(np.corrcoef(decoupled_sum.ravel(), big.ravel())[0, 1]) < 0.9


def test_clip_to_range_exact():
    batch = make_batch(4, 3)
    batch = batch.replace(reward=jnp.asarray([[-1.0, 0.0, 2.0], [4.0, 5.0, 6.0], [1.0, 3.0, 7.0], [0.5, 2.5, 4.5]]))
    out, _ = run(clip_to_range(0.0, 4.0, -1.0, 1.0), batch)
    expected = np.clip(-1 + np.asarray(batch.reward) * 2 / 4, -1, 1)
    np.testing.assert_allclose(out["task"].reward, expected)


def test_delta_reward_exact_and_carried_across_batches():
    batch = make_batch(5, 3)  # env 0 terminates at t=1, env 1 truncates at t=3
    out, state = run(delta_reward(), batch)
    r = np.asarray(batch.reward)
    done = np.asarray(batch.done)
    prev = np.zeros(3)
    expected = np.zeros_like(r)
    for t in range(5):
        expected[t] = r[t] - prev
        prev = np.where(done[t], 0.0, r[t])
    np.testing.assert_allclose(out["task"].reward, expected, rtol=1e-6)
    np.testing.assert_allclose(state["task"], prev, rtol=1e-6)
    out2, _ = run(delta_reward(), batch, times=2)
    np.testing.assert_allclose(out2["task"].reward[0], r[0] - prev, rtol=1e-6)


def test_vmap_over_temperature_and_jit_matches_eager(batch):
    t = centered_sigmoid(temperature=1.0)
    temps = jnp.asarray([0.5, 1.0, 4.0])
    outs = jax.vmap(lambda x: run(t.replace(temperature=x), batch)[0]["task"].reward)(temps)
    for i, x in enumerate([0.5, 1.0, 4.0]):
        np.testing.assert_allclose(outs[i], run(centered_sigmoid(temperature=x), batch)[0]["task"].reward, rtol=1e-5)
    state = t.init(jax.random.key(0), TransformSpec(None, None, 3, ("task",), batch))
    eager, _ = t.apply(state, env_streams(batch, 0.9), batch)
    np.testing.assert_allclose(eager["task"].reward, run(t, batch)[0]["task"].reward, rtol=1e-6)


BOUNDING = [centered_sigmoid(), clip_to_range(-1.0, 1.0), delta_reward(), decoupled_normalize(), scale(3.0)]


@settings(max_examples=2, deadline=None)
@given(st.permutations(range(len(BOUNDING))), st.integers(0, 5))
def test_chain_associativity_and_identity(order, split):
    ts = [BOUNDING[i] for i in order][:3]
    batch = make_batch(4, 2)
    split = min(split, len(ts))
    ref, _ = run(chain(*ts), batch)
    for other in (chain(chain(*ts[:split]), chain(*ts[split:])), chain(identity(), *ts, identity())):
        out, _ = run(other, batch)
        np.testing.assert_array_equal(out["task"].reward, ref["task"].reward)


def test_bad_input():
    with pytest.raises(ConfigError, match="temperature"):
        centered_sigmoid(temperature=0.0)
    with pytest.raises(ConfigError, match="exceed"):
        clip_to_range(1.0, 1.0)
    with pytest.raises(ConfigError, match="baseline"):
        centered_sigmoid(streams=("task",), baseline="task")
    with pytest.raises(ValueError, match="unknown stream"):
        run(decoupled_normalize(streams=("nope",)), make_batch())


def test_every_transform_in_vmap_equals_alone():
    """Each transform of this module run on a batch of 2 different batches under ``vmap`` gives
    the same streams as the 2 runs alone (one compile for all)."""
    batches = jax.tree.map(lambda *x: jnp.stack(x), make_batch(5, 3, seed=0), make_batch(5, 3, seed=1))

    assert_vmap_equals_alone(lambda t, b: run(t, b)[0], BOUNDING, batches)
