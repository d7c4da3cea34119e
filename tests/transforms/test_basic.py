import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import make_batch

from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import Stream, TransformSpec
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms import clip, normalize_rewards, scale


def spec_for(batch, names=("task",)):
    return TransformSpec(None, None, batch.reward.shape[1], names, batch)


def apply_once(transform, batch, streams=None):
    streams = env_streams(batch, 0.9) if streams is None else streams
    state = transform.init(jax.random.key(0), spec_for(batch, tuple(sorted(streams))))
    return transform.apply(state, streams, batch)


def test_scale_exact(batch):
    out, _ = apply_once(scale(-3.0), batch)
    np.testing.assert_allclose(out["task"].reward, -3.0 * np.asarray(batch.reward), rtol=1e-6)


def test_scale_only_selected_streams(batch):
    streams = {**env_streams(batch, 0.9), "cost": Stream(reward=jnp.ones_like(batch.reward), weight=jnp.float32(0.0))}
    out, _ = apply_once(scale(2.0, streams=("cost",)), batch, streams)
    np.testing.assert_array_equal(out["task"].reward, batch.reward)
    np.testing.assert_array_equal(out["cost"].reward, 2 * np.ones((5, 3)))
    out, _ = apply_once(scale(2.0, streams=None), batch, streams)
    np.testing.assert_allclose(out["task"].reward, 2 * np.asarray(batch.reward))


def test_clip_exact(batch):
    out, _ = apply_once(clip(-0.25, 0.5), batch)
    np.testing.assert_allclose(out["task"].reward, np.clip(np.asarray(batch.reward), -0.25, 0.5))


def test_bad_hyperparameters_are_rejected_eagerly():
    with pytest.raises(ConfigError, match="finite"):
        scale(float("nan"))
    with pytest.raises(ValueError, match="must not exceed"):
        clip(1.0, -1.0)
    with pytest.raises(ConfigError, match="eps"):
        normalize_rewards(eps=0.0)
    with pytest.raises(ConfigError, match="clip"):
        normalize_rewards(clip=-1.0)


def test_unknown_stream_is_rejected(batch):
    with pytest.raises(ValueError, match="unknown stream"):
        apply_once(scale(2.0, streams=("nope",)), batch)
    with pytest.raises(ValueError, match="unknown stream"):
        apply_once(normalize_rewards(streams=("nope",)), batch)


def reference_normalize(rewards, done, gamma, calls, episodic=True, eps=1e-8, clip_at=10.0):
    """Numpy float64 reference: running discounted return per env, Chan-merged variance
    (prior: count 1e-4, mean 0, var 1), reward / sqrt(var + eps), clipped."""
    T, N = rewards.shape
    g = np.zeros(N)
    mean, var, count = 0.0, 1.0, 1e-4
    outs = []
    for _ in range(calls):
        seq = []
        for t in range(T):
            g = rewards[t] + gamma * g
            seq.append(g.copy())
            if episodic:
                g = np.where(done[t], 0.0, g)
        seq = np.asarray(seq).reshape(-1)
        b_mean, b_var, b_count = seq.mean(), seq.var(), len(seq)
        delta = b_mean - mean
        total = count + b_count
        m2 = var * count + b_var * b_count + delta**2 * count * b_count / total
        mean, var, count = mean + delta * b_count / total, m2 / total, total
        outs.append(np.clip(rewards / np.sqrt(var + eps), -clip_at, clip_at))
    return outs


@pytest.mark.parametrize("episodic", [True, False])
def test_normalize_matches_reference_across_batches(batch, episodic):
    streams = env_streams(batch, 0.9)
    streams["task"] = streams["task"].replace(episodic=episodic)
    t = normalize_rewards()
    state = t.init(jax.random.key(0), spec_for(batch))
    expected = reference_normalize(np.asarray(batch.reward, np.float64), np.asarray(batch.done), 0.9, 3, episodic)
    for call in range(3):
        out, state = t.apply(state, streams, batch)
        np.testing.assert_allclose(out["task"].reward, expected[call], rtol=2e-5, atol=1e-6)
        assert out["task"].episodic is episodic


def test_normalize_clip_and_metric():
    b = make_batch(5, 3)
    b = b.replace(reward=b.reward * 1000.0)
    t = normalize_rewards(clip=0.5)
    state = t.init(jax.random.key(0), spec_for(b))
    out, state = t.apply(state, env_streams(b, 0.9), b)
    assert float(jnp.abs(out["task"].reward).max()) <= 0.5
    _, metrics = t.update(state, out, b, jax.random.key(0))
    assert float(metrics["normalize/task_return_std"]) > 100.0


def test_online_use_with_T_equal_1_carries_returns():
    """Called one step at a time (T = 1, as DQN would), the running return carries over."""
    b = make_batch(4, 2)
    t = normalize_rewards()
    state = t.init(jax.random.key(0), spec_for(b))
    for step in range(4):
        one = jax.tree.map(lambda x, s=step: x[s : s + 1], b)
        _, state = t.apply(state, env_streams(one, 0.9), one)
    g = np.zeros(2)
    for step in range(4):
        g = np.asarray(b.reward[step], np.float64) + 0.9 * g
        g = np.where(np.asarray(b.done[step]), 0.0, g)
    np.testing.assert_allclose(state.returns["task"], g, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "transform", [scale(0.5), clip(-0.1, 0.1), normalize_rewards()], ids=["scale", "clip", "normalize"]
)
def test_jit_and_vmap_match_eager(transform):
    batches = [make_batch(5, 3, seed=s) for s in range(3)]
    stacked = jax.tree.map(lambda *x: jnp.stack(x), *batches)

    def go(b):
        state = transform.init(jax.random.key(0), spec_for(b))
        out, state = transform.apply(state, env_streams(b, 0.9), b)
        return out["task"].reward

    eager = [go(b) for b in batches]
    jitted = [jax.jit(go)(b) for b in batches]
    vmapped = jax.jit(jax.vmap(go))(stacked)
    for i in range(3):
        # eager runs op by op (no fusion): equal up to float32 rounding
        np.testing.assert_allclose(eager[i], jitted[i], rtol=1e-6, atol=1e-7)
        # compiled alone vs compiled inside vmap: bit for bit
        np.testing.assert_array_equal(jitted[i], vmapped[i])


def test_scale_factor_is_sweepable_with_vmap(batch):
    factors = jnp.array([1.0, 2.0, -1.0])

    def go(transform):
        return apply_once(transform, batch)[0]["task"].reward

    out = jax.vmap(go, in_axes=(scale(1.0).replace(factor=0),))(scale(1.0).replace(factor=factors))
    for i, f in enumerate(np.asarray(factors)):
        np.testing.assert_allclose(out[i], f * np.asarray(batch.reward), rtol=1e-6)
