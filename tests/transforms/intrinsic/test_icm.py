"""ICM and the prediction-error / learning-progress bonuses: learning, noise robustness, vmap."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.environments import spaces

from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms.intrinsic import icm_bonus, learning_progress_bonus, prediction_error_bonus

T, N, CELLS, NOISE = 8, 8, 6, 6


def chain_batch(key, noisy):
    """Deterministic cycle s -> s + a (mod CELLS) with one-hot cells, plus NOISE pixels that are
    uniform noise (``noisy``) or zero."""
    k_a, k_s, k_n = jax.random.split(key, 3)
    s = jax.random.randint(k_s, (T, N), 0, CELLS)
    a = jax.random.randint(k_a, (T, N), 0, 2)
    pixels = jax.random.uniform(k_n, (T, N, NOISE)) * noisy
    obs = jnp.concatenate([jax.nn.one_hot(s, CELLS), jnp.zeros((T, N, NOISE))], -1)
    nxt = jnp.concatenate([jax.nn.one_hot((s + a) % CELLS, CELLS), pixels], -1)
    zeros = jnp.zeros((T, N))
    return Transition(obs=obs, action=a, next_obs=nxt, reward=zeros, terminated=zeros > 0, truncated=zeros > 0)


SPEC = TransformSpec(None, spaces.Discrete(2), N, ("task",), chain_batch(jax.random.key(0), 0.0))


def trained_bonus(transform, iterations=30):
    """Train on clean and noisy batches together; return the final bonus state's logs on a clean
    and on a noisy batch (``prediction_error``: plain error; ``bonus_mean``: the bonus)."""

    def run(key):
        state = transform.init(key, SPEC)

        def it(state, k):
            k1, k2, k3 = jax.random.split(k, 3)
            clean, noisy = chain_batch(k1, 0.0), chain_batch(k2, 1.0)
            both = jax.tree.map(lambda a, b: jnp.concatenate([a, b], 1)[:, ::2], clean, noisy)
            streams, state = transform.apply(state, env_streams(both, 0.9), both)
            state, metrics = transform.update(state, streams, both, k3)
            return state, metrics

        state, metrics = jax.lax.scan(it, state, jax.random.split(key, iterations))
        k1, k2 = jax.random.split(jax.random.key(99))
        _, clean = transform.bonus(state, chain_batch(k1, 0.0))
        _, noisy = transform.bonus(state, chain_batch(k2, 1.0))
        return clean.logs, noisy.logs, metrics

    return run


def test_prediction_error_is_drawn_to_noise_and_learning_progress_is_not():
    # one learning-progress run: its logs carry the plain prediction error of the same model
    run = jax.jit(trained_bonus(learning_progress_bonus(learning_rate=3e-3, tau=0.2)))
    clean, noisy, metrics = jax.device_get(run(jax.random.key(0)))
    pe_clean, pe_noisy = clean["prediction_error"], noisy["prediction_error"]
    # plain error keeps paying for noise: ~ its variance (1/12 per noisy pixel, 6 of 12 dims)
    assert pe_noisy - pe_clean > 0.5 * (1 / 12) * NOISE / (CELLS + NOISE)
    assert noisy["bonus_mean"] < 0.2 * (pe_noisy - pe_clean)  # progress pays (almost) nothing for it
    assert metrics["intrinsic/forward_loss"][-1] < metrics["intrinsic/forward_loss"][0]
    assert "intrinsic/slow_error" in metrics


def test_icm_learns_forward_and_inverse_models():
    # one compile for both runs: fwd_weight is a leaf, so the transform is a traced argument
    run = jax.jit(lambda transform, key: trained_bonus(transform, iterations=20)(key))
    key = jax.random.key(1)
    clean, _, metrics = jax.device_get(run(icm_bonus(learning_rate=3e-3, feature_dim=8), key))
    assert metrics["intrinsic/icm_inverse_loss"][-1] < 0.8 * metrics["intrinsic/icm_inverse_loss"][0]
    assert np.isfinite(clean["bonus_mean"])
    # with the inverse loss switched off the features only move through the forward model's input,
    # and the forward error on the training distribution falls
    _, _, fwd_only = jax.device_get(run(icm_bonus(learning_rate=3e-3, feature_dim=8, fwd_weight=1.0), key))
    assert fwd_only["intrinsic/icm_forward_loss"][-1] < 0.8 * fwd_only["intrinsic/forward_error"][0]


def test_icm_continuous_actions():
    batch = chain_batch(jax.random.key(0), 0.0)
    cont = batch.replace(action=jnp.asarray(batch.action, jnp.float32)[..., None])
    spec = SPEC._replace(action_space=spaces.Box(-1.0, 1.0, (1,), jnp.float32), example=cont)
    transform = icm_bonus(feature_dim=4, num_updates=1)
    state = transform.init(jax.random.key(0), spec)
    streams, state = transform.apply(state, env_streams(cont, 0.9), cont)
    assert streams["intrinsic"].reward.shape == (T, N)
    assert np.all(np.isfinite(streams["intrinsic"].reward)) and state.model.actions.discrete is False


def test_bad_input_rejected():
    with pytest.raises(ConfigError, match="fwd_weight"):
        icm_bonus(fwd_weight=2.0)
    with pytest.raises(ConfigError, match="tau"):
        learning_progress_bonus(tau=-0.1)
    with pytest.raises(ConfigError, match="eta"):
        prediction_error_bonus(eta=0.0)
