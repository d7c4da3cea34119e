"""Ensemble aggregation and member diversity for learned reward models.

An ensemble of K reward models (Christiano et al., 2017 used one per bootstrap; Coste et al.,
2024, "Reward model ensembles help mitigate overoptimization") is combined into one reward:

* ``"mean"``: ``mean_k r_k``;
* ``"min"`` (worst case): ``min_k r_k``;
* ``"lcb"`` (uncertainty-weighted, a lower confidence bound): ``mean_k r_k - lam * std_k r_k``;
* ``"mix"`` (nominal plus worst case): ``(1 - alpha) * mean_k r_k + alpha * min_k r_k``.

Members differ by initialisation seed (always), by bootstrap weights on the preference data
(``bootstrap=True``: Poisson(1) weight per member and sample, the online bootstrap of Oza,
2005) and by random feature subsets (``feature_fraction < 1``: each member sees a fixed random
subset of the input features, as in random subspaces, Ho 1998).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl_rewards.core.types import Array, PRNGKey
from jaxrl_rewards.core.validation import ConfigError

AGGREGATES = ("mean", "min", "lcb", "mix")


def aggregate(rewards: Array, kind: str, lam: Array | float = 1.0, alpha: Array | float = 0.5) -> Array:
    """Combine member rewards ``[K, ...]`` into one reward ``[...]`` (see the module docstring).

    ``lam`` (for ``"lcb"``) and ``alpha`` (for ``"mix"``) are sweepable scalars.
    """
    if kind == "mean":
        return rewards.mean(0)
    if kind == "min":
        return rewards.min(0)
    if kind == "lcb":
        return rewards.mean(0) - lam * rewards.std(0)
    if kind == "mix":
        return (1.0 - alpha) * rewards.mean(0) + alpha * rewards.min(0)
    raise ConfigError(f"unknown ensemble aggregate {kind!r}; choose one of {AGGREGATES}")


def feature_masks(key: PRNGKey, num_members: int, num_features: int, fraction: float) -> Array:
    """Random feature subsets, float32 ``[K, D]`` of 0/1: each member keeps
    ``max(1, round(fraction * D))`` features chosen uniformly without replacement.
    ``fraction = 1`` keeps everything."""
    keep = max(1, round(fraction * num_features))
    if keep >= num_features:
        return jnp.ones((num_members, num_features), jnp.float32)

    def one(k):
        order = jax.random.permutation(k, num_features)
        return jnp.zeros(num_features, jnp.float32).at[order[:keep]].set(1.0)

    return jax.vmap(one)(jax.random.split(key, num_members))


def bootstrap_weights(key: PRNGKey, num_samples: int, num_members: int, enabled: bool) -> Array:
    """Per-sample, per-member weights ``[B, K]``: Poisson(1) draws (online bootstrap) when
    ``enabled``, else ones."""
    if not enabled:
        return jnp.ones((num_samples, num_members), jnp.float32)
    return jax.random.poisson(key, 1.0, (num_samples, num_members)).astype(jnp.float32)


__all__ = ["AGGREGATES", "aggregate", "bootstrap_weights", "feature_masks"]
