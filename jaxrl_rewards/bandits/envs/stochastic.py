"""Stochastic bandits: Bernoulli and Gaussian arms, and linear contextual bandits."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.bandits.envs.base import BanditEnv, _f32, _vector
from jaxrl_rewards.core.types import Array
from jaxrl_rewards.core.validation import ConfigError, check_finite, check_in_range, check_nonnegative, check_positive

# ----------------------------------------------------------------------------- stochastic MABs


class BernoulliBandit(BanditEnv):
    """K-armed Bernoulli bandit: arm ``a`` pays 1 with probability ``probs[a]``, else 0.

    Attributes:
        probs: success probability of every arm, ``[K]`` in ``[0, 1]``.
    """

    probs: Array = None

    def mean_rewards(self, state, x, t):
        return self.probs

    def sample(self, key, state, x, arm, t):
        return jax.random.bernoulli(key, self.probs[arm]).astype(jnp.float32), jnp.float32(0.0)


def bernoulli_bandit(probs: Any) -> BernoulliBandit:
    """A Bernoulli bandit with success probabilities ``probs`` (``[K]``, each in ``[0, 1]``)."""
    arr = _vector(probs, "bernoulli_bandit: probs")
    check_in_range(arr, "bernoulli_bandit: probs", 0.0, 1.0)
    return BernoulliBandit(num_arms=arr.shape[0], probs=_f32(arr))


class GaussianBandit(BanditEnv):
    """K-armed Gaussian bandit: arm ``a`` pays ``N(means[a], stds[a]^2)``.

    Attributes:
        means: ``[K]``; stds: ``[K]`` (> 0).
    """

    means: Array = None
    stds: Array = None

    def mean_rewards(self, state, x, t):
        return self.means

    def sample(self, key, state, x, arm, t):
        return self.means[arm] + self.stds[arm] * jax.random.normal(key), jnp.float32(0.0)


def gaussian_bandit(means: Any, stds: Any = 1.0) -> GaussianBandit:
    """A Gaussian bandit with arm means ``means`` ``[K]`` and noise std ``stds`` (scalar or ``[K]``, > 0)."""
    arr = _vector(means, "gaussian_bandit: means")
    std = np.broadcast_to(np.asarray(stds, np.float64), arr.shape) if np.ndim(stds) == 0 else np.asarray(stds)
    if std.shape != arr.shape:
        raise ConfigError(f"gaussian_bandit: stds must be a scalar or have shape {arr.shape}, got {std.shape}")
    check_positive(std, "gaussian_bandit: stds")
    return GaussianBandit(num_arms=arr.shape[0], means=_f32(arr), stds=_f32(std))


# ----------------------------------------------------------------------------- contextual


class LinearContextualBandit(BanditEnv):
    """Linear contextual bandit (disjoint model, as in Li et al., 2010).

    Each round a context ``x ~ N(0, I_d / d)`` is drawn; arm ``a`` pays
    ``theta[a] . x + noise_std * N(0, 1)``.

    Attributes:
        theta: per-arm parameter vectors, ``[K, d]``.
        noise_std: reward noise, scalar.
    """

    theta: Array = None
    noise_std: Array = 0.1

    def context(self, key, state, t):
        return jax.random.normal(key, (self.context_dim,)) / jnp.sqrt(jnp.float32(self.context_dim))

    def mean_rewards(self, state, x, t):
        return self.theta @ x

    def sample(self, key, state, x, arm, t):
        return self.theta[arm] @ x + self.noise_std * jax.random.normal(key), jnp.float32(0.0)


def linear_contextual_bandit(
    theta: Any, noise_std: float = 0.1, context_dim: int | None = None
) -> LinearContextualBandit:
    """A linear contextual bandit with parameters ``theta`` ``[K, d]``.

    ``context_dim``, if given, must equal ``d`` (a mismatch raises ``ConfigError``).
    """
    arr = np.asarray(theta, np.float64)
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 1:
        raise ConfigError(f"linear_contextual_bandit: theta must be [num_arms >= 2, context_dim >= 1], got {arr.shape}")
    if context_dim is not None and context_dim != arr.shape[1]:
        raise ConfigError(
            f"linear_contextual_bandit: context_dim={context_dim} does not match theta's context dimension "
            f"{arr.shape[1]} (theta has shape {arr.shape})"
        )
    check_finite(arr, "linear_contextual_bandit: theta")
    check_nonnegative(noise_std, "linear_contextual_bandit: noise_std")
    return LinearContextualBandit(
        num_arms=arr.shape[0], context_dim=arr.shape[1], theta=_f32(arr), noise_std=_f32(noise_std)
    )


def random_linear_bandit(num_arms: int, context_dim: int, seed: int = 0, noise_std: float = 0.1):
    """A linear contextual bandit with unit-norm ``theta[a]`` drawn from a fixed seed."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=(num_arms, context_dim))
    theta /= np.linalg.norm(theta, axis=1, keepdims=True)
    return linear_contextual_bandit(theta, noise_std)
