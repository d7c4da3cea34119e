"""EPO entropy smoothing in PPO's loss (``entropy_band``): the band penalty against numpy, zero
inside the band, its gradient pulls the entropy back toward the behaviour policy's, off by default."""

from __future__ import annotations

from types import SimpleNamespace

import distrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.agents.ppo_update import Minibatch, clipped_loss, entropy_band_penalty
from jaxrl_rewards.core.validation import ConfigError

BASE = {"clip_eps": 0.2, "vf_coef": 0.5, "ent_coef": 0.0}


def _minibatch(log_prob: float, b: int = 8):
    rng = np.random.default_rng(0)
    mb = Minibatch(
        obs=None,
        action=jnp.asarray(rng.integers(0, 3, b)),
        log_prob=jnp.full((b,), log_prob, jnp.float32),
        advantage=jnp.asarray(rng.normal(size=b), jnp.float32),
        value=jnp.zeros((b, 1)),
        target=jnp.zeros((b, 1)),
    )
    return mb, jnp.asarray(rng.normal(size=(b, 3)), jnp.float32)


def _np_entropy(logits):
    logits = np.asarray(logits, np.float64)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    return -(np.exp(logp) * logp).sum(-1).mean()


def test_band_penalty_hand_values():
    np.testing.assert_allclose(float(entropy_band_penalty(jnp.float32(1.0), jnp.float32(0.5), 0.1)), 0.4**2, rtol=1e-6)
    assert float(entropy_band_penalty(jnp.float32(0.55), jnp.float32(0.5), 0.1)) == 0.0  # inside the band
    np.testing.assert_allclose(float(entropy_band_penalty(jnp.float32(0.2), jnp.float32(0.5), 0.1)), 0.2**2, rtol=1e-5)


def test_clipped_loss_adds_the_band_penalty_with_the_behaviour_entropy_as_reference():
    mb, logits = _minibatch(log_prob=-0.3)  # H_old estimate = 0.3
    off, aux_off = clipped_loss(SimpleNamespace(**BASE), distrax.Categorical(logits=logits), jnp.zeros((8, 1)), mb)
    assert "loss/entropy_band" not in aux_off  # off by default: the loss is unchanged
    config = SimpleNamespace(**BASE, entropy_band=0.05, entropy_band_coef=2.0)
    on, aux = clipped_loss(config, distrax.Categorical(logits=logits), jnp.zeros((8, 1)), mb)
    h = _np_entropy(logits)
    expected = max(abs(h - 0.3) - 0.05, 0.0) ** 2
    np.testing.assert_allclose(float(aux["loss/entropy_reference"]), 0.3, rtol=1e-6)
    np.testing.assert_allclose(float(aux["loss/entropy_band"]), expected, rtol=1e-4)
    np.testing.assert_allclose(float(on - off), 2.0 * expected, rtol=1e-4)


@pytest.mark.parametrize("reference", [0.2, 1.09])
def test_band_gradient_moves_entropy_toward_the_reference(reference):
    """One gradient step on the penalty alone moves H toward H_old (down when H > H_old + δ,
    up when H < H_old - δ)."""
    mb, logits = _minibatch(log_prob=-reference)
    config = SimpleNamespace(**{**BASE, "clip_eps": 1e9}, entropy_band=0.01, entropy_band_coef=1.0)

    def penalty(lg):
        return clipped_loss(config, distrax.Categorical(logits=lg), jnp.zeros((8, 1)), mb)[1]["loss/entropy_band"]

    grad = jax.grad(penalty)(logits)
    before, after = _np_entropy(logits), _np_entropy(logits - 0.5 * grad)
    assert abs(after - reference) < abs(before - reference)


def test_config_checks():
    with pytest.raises(ConfigError, match="entropy_band"):
        ppo.make_config("CartPole-v1", entropy_band=-0.1)
    config = ppo.make_config("CartPole-v1", entropy_band=0.05, entropy_band_coef=3.0)
    assert config.entropy_band == 0.05 and config.entropy_band_coef == 3.0
    assert ppo.make_config("CartPole-v1").entropy_band is None
