"""Transition features and the per-transition reward network shared by the learned rewards.

A learned reward sees a transition through its *features*: any of ``obs``, ``action`` (one-hot
when discrete) and ``next_obs``, flattened and concatenated (:func:`transition_features`);
preference models compare *segments* of ``L`` consecutive steps (:func:`batch_segments`).
:class:`RewardNet` maps features ``[..., D]`` to a reward ``[...]`` (preference models,
discriminators, annotator and occupancy models all use it).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn
from gymnax.environments import spaces

from jaxrl_rewards.core.networks import MLP, Dense, orthogonal
from jaxrl_rewards.core.types import Array
from jaxrl_rewards.core.validation import ConfigError

INPUTS = ("obs", "action", "next_obs")


def num_discrete_actions(action_space: Any) -> int | None:
    """``n`` for a ``Discrete(n)`` action space (actions are one-hot encoded), else ``None``."""
    return int(action_space.n) if isinstance(action_space, spaces.Discrete) else None


def action_width(inputs: tuple[str, ...], dim: int, obs: Any, next_obs: Any, action: Any, lead: int) -> int | None:
    """The one-hot width of integer (discrete) actions inside features of total width ``dim``
    (recovered from static shapes, so a transform needs no extra static field); ``None`` for
    float actions or when actions are not an input."""
    if "action" not in inputs or jnp.issubdtype(jnp.asarray(action).dtype, jnp.floating):
        return None
    sizes = {"obs": jnp.shape(obs)[lead:], "next_obs": jnp.shape(next_obs)[lead:]}
    return dim - sum(int(np.prod(sizes[n])) for n in inputs if n != "action")


def transition_features(
    obs: Array, action: Array, next_obs: Array, inputs: tuple[str, ...], num_actions: int | None, lead: int
) -> Array:
    """Concatenate the selected inputs of transitions with ``lead`` leading axes into
    features ``[*lead_shape, D]`` (observations flattened, discrete actions one-hot)."""
    parts = []
    for name in inputs:
        if name == "action":
            if num_actions is not None:
                parts.append(jax.nn.one_hot(action, num_actions, dtype=jnp.float32))
            else:
                a = jnp.asarray(action, jnp.float32)
                parts.append(a.reshape((*a.shape[:lead], -1)))
        else:
            x = jnp.asarray(obs if name == "obs" else next_obs, jnp.float32)
            parts.append(x.reshape((*x.shape[:lead], -1)))
    return jnp.concatenate(parts, axis=-1)


def batch_segments(x: Array, segment_length: int) -> Array:
    """Cut a time-major array ``[T, N, ...]`` into segments ``[(T // L) * N, L, ...]`` of ``L``
    consecutive steps of one environment (a trailing ``T % L`` steps are dropped)."""
    num = x.shape[0] // segment_length
    if num < 1:
        raise ConfigError(f"segment_length={segment_length} is longer than the batch (T={x.shape[0]})")
    x = x[: num * segment_length].reshape((num, segment_length, *x.shape[1:]))
    x = jnp.swapaxes(x, 1, 2)  # [S, N, L, ...]
    return x.reshape((num * x.shape[1], segment_length, *x.shape[3:]))


class RewardNet(nn.Module):
    """Per-transition reward network: features ``[..., D] -> [...]``."""

    hidden_sizes: tuple[int, ...] = (64, 64)
    activation: str = "relu"

    @nn.compact
    def __call__(self, x: Array) -> Array:
        h = MLP(self.hidden_sizes, self.activation)(x)
        return Dense(1, kernel_init=orthogonal(1.0))(h)[..., 0]


__all__ = ["INPUTS", "RewardNet", "action_width", "batch_segments", "num_discrete_actions", "transition_features"]
