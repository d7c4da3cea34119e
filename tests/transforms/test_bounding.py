"""Centred sigmoid, decoupled normalisation, clip-to-range, Delta and Clip process rewards."""

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
from jaxrl_rewards.transforms.bounding import (
    centered_sigmoid,
    clip_process,
    clip_to_range,
    decoupled_normalize,
    delta_reward,
)
from jaxrl_rewards.transforms.registry import build_transform


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


def _delta_reference(r, done, last):
    """r_t - r_{t+1} by explicit loops: r_{T+1} is r_T ("zero") or 0 ("keep") after an episode
    end, and r_t where the batch cuts the episode."""
    out = np.zeros_like(r, np.float64)
    for n in range(r.shape[1]):
        for t in range(r.shape[0]):
            if done[t, n]:
                following = r[t, n] if last == "zero" else 0.0
            elif t + 1 < r.shape[0]:
                following = r[t + 1, n]
            else:
                following = r[t, n]
            out[t, n] = r[t, n] - following
    return out


def test_delta_reward_issue_example_and_telescoping():
    """Delta is r_t - r_{t+1} (Gao et al., 2024): on one episode [0.05, 0.3, -0.2, 0.1] it gives
    [-0.25, 0.5, -0.3, 0] and the return from step k is r_k - r_T ("keep": r_k)."""
    rewards = np.asarray([0.05, 0.3, -0.2, 0.1])
    batch = make_batch(4, 1).replace(
        reward=jnp.asarray(rewards[:, None], jnp.float32),
        terminated=jnp.asarray([[False], [False], [False], [True]]),
        truncated=jnp.zeros((4, 1), bool),
    )
    for last, final in (("zero", 0.0), ("keep", 0.1)):
        out = np.asarray(run(delta_reward(last=last), batch)[0]["task"].reward[:, 0], np.float64)
        np.testing.assert_allclose(out, [-0.25, 0.5, -0.3, final], atol=1e-7)
        to_go = np.cumsum(out[::-1])[::-1]
        np.testing.assert_allclose(to_go, rewards - (rewards[-1] if last == "zero" else 0.0), atol=1e-6)


@pytest.mark.parametrize("last", ["zero", "keep"])
def test_delta_reward_exact_on_episode_ends_and_batch_cuts(last):
    batch = make_batch(5, 3)  # env 0 terminates at t=1, env 1 truncates at t=3
    out, state = run(delta_reward(last=last), batch)
    expected = _delta_reference(np.asarray(batch.reward, np.float64), np.asarray(batch.done), last)
    np.testing.assert_allclose(out["task"].reward, expected, rtol=1e-6, atol=1e-6)
    assert state == {}


def test_clip_process_exact_and_registered():
    """Clip is min(r - eta, 0) (Gao et al., 2024), reachable as ``clip_process:eta=...``."""
    batch = make_batch(5, 3)
    r = np.asarray(batch.reward, np.float64)
    for transform in (clip_process(eta=0.25), build_transform("clip_process:eta=0.25")):
        out, _ = run(transform, batch)
        np.testing.assert_allclose(out["task"].reward, np.where(r - 0.25 < 0, r - 0.25, 0.0), atol=1e-6)
    with pytest.raises(ConfigError, match="eta"):
        clip_process(eta=float("nan"))
    with pytest.raises(ConfigError, match="keep"):
        delta_reward(last="first")


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
