"""Reward noise (sign flips, binary FP/FN noise, Gaussian), its unbiased correction, delays."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import make_batch
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms import chain, identity
from jaxrl_rewards.transforms.noise import (
    binary_noise,
    correct_binary_noise,
    delay_rewards,
    gaussian_noise,
    sign_flip,
    unbias_binary,
)

T, N = 5, 3
BATCH = make_batch(T, N)


@functools.partial(jax.jit, static_argnames=("times",))
def run(transform, batch=BATCH, key=0, times=1):
    streams0 = env_streams(batch, 0.9)
    spec = TransformSpec(None, None, batch.reward.shape[1], tuple(sorted(streams0)), batch)
    state = transform.init(jax.random.key(key), spec)
    outs = []
    for _ in range(times):
        out, state = transform.apply(state, streams0, batch)
        outs.append(out["task"].reward)
    return jnp.stack(outs), state


BIG = make_batch(200, 100, seed=1)
BINARY = BIG.replace(reward=(BIG.reward > 0).astype(jnp.float32))


def test_sign_flip_exact_and_unbiased():
    out, _ = run(sign_flip(0.0))
    np.testing.assert_array_equal(out[0], BATCH.reward)
    out, _ = run(sign_flip(1.0))
    np.testing.assert_array_equal(out[0], -BATCH.reward)
    ones = BIG.replace(reward=jnp.ones((200, 100)))
    noisy, _ = run(sign_flip(0.2), ones)
    assert set(np.unique(noisy)) == {-1.0, 1.0}
    assert float(noisy.mean()) == pytest.approx(1 - 2 * 0.2, abs=0.02)
    fixed, _ = run(sign_flip(0.2, correct=True), ones)
    assert float(fixed.mean()) == pytest.approx(1.0, abs=0.03)


def test_binary_noise_rates_and_correction():
    rho_fp, rho_fn = 0.1, 0.3
    noisy, _ = run(binary_noise(rho_fp, rho_fn), BINARY)
    r = np.asarray(BINARY.reward)
    n = np.asarray(noisy[0])
    assert n[r == 0].mean() == pytest.approx(rho_fp, abs=0.01)
    assert 1 - n[r == 1].mean() == pytest.approx(rho_fn, abs=0.015)
    fixed, _ = run(binary_noise(rho_fp, rho_fn, correct=True), BINARY)
    f = np.asarray(fixed[0])
    assert f[r == 1].mean() == pytest.approx(1.0, abs=0.03)
    assert f[r == 0].mean() == pytest.approx(0.0, abs=0.02)
    # exact values of the correction on the two possible observations
    np.testing.assert_allclose(unbias_binary(jnp.asarray([0.0, 1.0]), rho_fp, rho_fn), [-1 / 6, 1.5], rtol=1e-6)
    out, _ = run(correct_binary_noise(rho_fp, rho_fn), BATCH.replace(reward=jnp.ones((T, N))))
    np.testing.assert_allclose(out[0], np.full((T, N), 1.5), rtol=1e-6)


def test_gaussian_noise_moments_and_determinism():
    noisy, _ = run(gaussian_noise(0.5), BIG)
    d = np.asarray(noisy[0] - BIG.reward)
    assert d.std() == pytest.approx(0.5, rel=0.03) and abs(d.mean()) < 0.01
    again, _ = run(gaussian_noise(0.5), BIG)
    np.testing.assert_array_equal(noisy, again)  # same key -> same noise
    other, _ = run(gaussian_noise(0.5), BIG, key=1)
    assert not np.array_equal(noisy, other)
    two, _ = run(gaussian_noise(0.5), BATCH, times=2)
    assert not np.array_equal(two[0], two[1])  # the key advances between batches


def test_delay_rewards_exact():
    out, state = run(delay_rewards())
    r, done = np.asarray(BATCH.reward), np.asarray(BATCH.done)
    acc = np.zeros(N)
    expected = np.zeros((T, N))
    for t in range(T):
        acc = acc + r[t]
        expected[t] = np.where(done[t], acc, 0.0)
        acc = np.where(done[t], 0.0, acc)
    np.testing.assert_allclose(out[0], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(state.acc["task"], acc, rtol=1e-5)
    out, _ = run(delay_rewards(interval=2))
    np.testing.assert_allclose(out[0][:, 2], [0, r[0, 2] + r[1, 2], 0, r[2, 2] + r[3, 2], 0], rtol=1e-5)


def test_vmap_over_noise_level():
    t = gaussian_noise(0.0)
    out = jax.vmap(lambda s: run(t.replace(std=s))[0][0])(jnp.asarray([0.0, 1.0]))
    np.testing.assert_array_equal(out[0], BATCH.reward)
    assert not np.array_equal(out[1], BATCH.reward)


NOISE = [sign_flip(0.3), gaussian_noise(0.1), delay_rewards(2), correct_binary_noise(0.1, 0.1)]


@settings(max_examples=2, deadline=None)
@given(st.permutations(range(len(NOISE))), st.integers(0, 4))
def test_chain_associativity_and_identity(order, split):
    ts = [NOISE[i] for i in order][:3]
    split = min(split, len(ts))
    ref, _ = run(chain(*ts))
    for other in (chain(chain(*ts[:split]), chain(*ts[split:])), chain(identity(), *ts, identity())):
        out, _ = run(other)
        np.testing.assert_array_equal(out, ref)


def test_bad_input():
    with pytest.raises(ConfigError, match="p"):
        sign_flip(1.5)
    with pytest.raises(ConfigError, match="correct"):
        sign_flip(0.5, correct=True)
    with pytest.raises(ConfigError, match="< 1"):
        binary_noise(0.6, 0.5)
    with pytest.raises(ConfigError, match="std"):
        gaussian_noise(-1.0)
    with pytest.raises(ConfigError, match="interval"):
        delay_rewards(0)


def test_every_transform_in_vmap_equals_alone():
    """Each noise transform under ``vmap`` over PRNG keys gives the same rewards as runs alone."""
    keys = jnp.asarray([0, 1])

    def one(t, k):
        streams0 = env_streams(BATCH, 0.9)
        state = t.init(jax.random.key(k), TransformSpec(None, None, N, ("task",), BATCH))
        return t.apply(state, streams0, BATCH)[0]["task"].reward

    @jax.jit
    def both():
        return [(jax.vmap(lambda k, t=t: one(t, k))(keys), [one(t, k) for k in (0, 1)]) for t in NOISE]

    for batched, alone in both():
        for i in range(2):
            np.testing.assert_allclose(batched[i], alone[i], rtol=1e-6)
