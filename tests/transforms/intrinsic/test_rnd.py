"""RND: the bonus falls for often-visited states, normalisation, stream metadata, determinism, vmap."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms.intrinsic import rnd_bonus

T, N, D = 8, 4, 10


def onehot_batch(cells):
    """A [T, N] batch whose next observations are one-hot cells ``cells [T, N]``."""
    obs = jax.nn.one_hot(jnp.asarray(cells), D)
    zeros = jnp.zeros(obs.shape[:2])
    return Transition(
        obs=obs,
        action=zeros.astype(jnp.int32),
        next_obs=obs,
        reward=zeros,
        terminated=zeros.astype(bool),
        truncated=zeros.astype(bool),
    )


FREQUENT = onehot_batch(np.arange(T * N).reshape(T, N) % 3)  # cells 0, 1, 2 only
SPEC = TransformSpec(None, None, N, ("task",), FREQUENT)
TRANSFORM = rnd_bonus(learning_rate=3e-3, num_updates=8, coef=0.5, discount=0.95)


@jax.jit
def train(key):
    """Ten iterations on the frequent cells; returns raw scores of all cells before/after."""
    state = TRANSFORM.init(key, SPEC)
    probe = jax.nn.one_hot(jnp.arange(D), D)
    streams, state = TRANSFORM.apply(state, env_streams(FREQUENT, 0.99), FREQUENT)
    before = TRANSFORM.score(state.model, probe)

    def it(state, k):
        streams, state = TRANSFORM.apply(state, env_streams(FREQUENT, 0.99), FREQUENT)
        state, metrics = TRANSFORM.update(state, streams, FREQUENT, k)
        return state, metrics["intrinsic/rnd_loss"]

    state, losses = jax.lax.scan(it, state, jax.random.split(key, 10))
    return before, TRANSFORM.score(state.model, probe), losses, streams


@pytest.fixture(scope="module")
def trained():
    return jax.device_get(train(jax.random.key(0)))


def test_bonus_falls_for_often_visited_states(trained):
    before, after, losses, _ = trained
    assert losses[-1] < 0.5 * losses[0]
    assert np.all(after[:3] < 0.5 * before[:3])
    assert after[:3].max() < after[3:].min()  # frequent states now pay less than unseen ones


def test_stream_metadata_and_normalisation(trained):
    streams = trained[3]
    s = streams["intrinsic"]
    assert s.episodic is False and float(s.weight) == 0.5 and float(s.discount) == pytest.approx(0.95)
    state = TRANSFORM.init(jax.random.key(0), SPEC)
    out, state = TRANSFORM.apply(state, env_streams(FREQUENT, 0.99), FREQUENT)
    raw = TRANSFORM.score(state.model, FREQUENT.next_obs, 2)
    ratio = np.asarray(out["intrinsic"].reward) / np.asarray(raw)
    np.testing.assert_allclose(ratio, 1.0 / np.sqrt(state.norm.stats["intrinsic"].var + 1e-8), rtol=1e-4)


def test_determinism_and_vmap_equals_single_runs(trained):
    keys = jax.random.split(jax.random.key(3), 2)
    batched = jax.jit(jax.vmap(train))(keys)
    for i in range(2):
        single = train(keys[i])
        np.testing.assert_allclose(batched[1][i], single[1], rtol=1e-5, atol=1e-7)
    again = jax.device_get(train(jax.random.key(0)))
    np.testing.assert_array_equal(again[1], trained[1])


def test_bad_input_rejected():
    with pytest.raises(ConfigError, match="learning_rate"):
        rnd_bonus(learning_rate=-1.0)
    with pytest.raises(ConfigError, match="discount"):
        rnd_bonus(discount=1.5)
    with pytest.raises(ConfigError, match="num_updates"):
        rnd_bonus(num_updates=0)
