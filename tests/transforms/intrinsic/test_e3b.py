"""E3B: the bonus equals a direct numpy elliptical norm with episode resets across batches."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import make_batch
from gymnax.environments import spaces

from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms.intrinsic import e3b_bonus, sherman_morrison_bonus

T, N = 6, 3
B1, B2 = make_batch(T, N, seed=1, obs_dim=5), make_batch(T, N, seed=2, obs_dim=5)
SPEC = TransformSpec(None, spaces.Discrete(2), N, ("task",), B1)


def numpy_reference(phis, dones, ridge):
    """b_t = phi_t^T (ridge I + sum of earlier phi phi^T in the episode)^-1 phi_t, by direct inverse."""
    d = phis[0].shape[-1]
    memory = [[] for _ in range(N)]
    outs = []
    for phi, done in zip(phis, dones, strict=True):
        out = np.zeros((T, N))
        for t in range(T):
            for n in range(N):
                cov = ridge * np.eye(d) + sum((np.outer(p, p) for p in memory[n]), np.zeros((d, d)))
                out[t, n] = phi[t, n] @ np.linalg.inv(cov) @ phi[t, n]
                memory[n].append(phi[t, n])
                if done[t, n]:
                    memory[n] = []
        outs.append(out)
    return outs


def test_bonus_matches_numpy_elliptical_norm():
    t = e3b_bonus(ridge=0.5, feature_dim=4)
    state = t.init(jax.random.key(0), SPEC)
    outs, phis = [], []
    for b in (B1, B2):
        phis.append(np.asarray(t.embed(state.model, b.next_obs), np.float64))
        streams, state = t.apply(state, env_streams(b, 0.9), b)
        outs.append(np.asarray(streams["intrinsic"].reward))
    expected = numpy_reference(phis, [np.asarray(B1.done), np.asarray(B2.done)], 0.5)
    for out, ref in zip(outs, expected, strict=True):
        np.testing.assert_allclose(out, ref, rtol=2e-4, atol=1e-5)
    assert streams["intrinsic"].episodic is True


def test_sherman_morrison_matches_inverse():
    rng = np.random.default_rng(0)
    phi = rng.normal(size=(2, 3))
    a = rng.normal(size=(2, 3, 3))
    cov = np.einsum("nij,nkj->nik", a, a) + np.eye(3)
    b, new_inv = sherman_morrison_bonus(jnp.asarray(np.linalg.inv(cov), jnp.float32), jnp.asarray(phi, jnp.float32))
    np.testing.assert_allclose(b, np.einsum("ni,nij,nj->n", phi, np.linalg.inv(cov), phi), rtol=1e-4)
    np.testing.assert_allclose(new_inv, np.linalg.inv(cov + np.einsum("ni,nj->nij", phi, phi)), rtol=1e-3, atol=1e-5)


def test_learning_determinism_and_vmap():
    t = e3b_bonus(feature_dim=4, num_updates=2)

    def run(key):
        state = t.init(key, SPEC)
        streams, state = t.apply(state, env_streams(B1, 0.9), B1)
        state, metrics = t.update(state, streams, B1, key)
        streams, state = t.apply(state, env_streams(B2, 0.9), B2)
        return streams["intrinsic"].reward, metrics["intrinsic/e3b_inverse_loss"]

    keys = jax.random.split(jax.random.key(0), 2)
    batched = jax.jit(jax.vmap(run))(keys)
    single = jax.jit(run)
    for i in range(2):
        np.testing.assert_allclose(batched[0][i], single(keys[i])[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(single(keys[0])[0], single(keys[0])[0])


def test_bad_input_rejected():
    with pytest.raises(ConfigError, match="ridge"):
        e3b_bonus(ridge=0.0)
    with pytest.raises(ConfigError, match="action_space"):
        e3b_bonus().init(jax.random.key(0), SPEC._replace(action_space=None))
