"""Flax (linen) networks shared by the agents: MLP torsos, policy heads, multi-stream critics."""

from __future__ import annotations

from collections.abc import Sequence

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.types import Array

ACTIVATIONS = {"tanh": nn.tanh, "relu": nn.relu, "gelu": nn.gelu, "silu": nn.silu, "elu": nn.elu}


def orthogonal(scale: float = 1.0):
    """Orthogonal initializer that is safe under ``vmap`` on CPU.

    flax's ``orthogonal`` draws a QR decomposition; vmapped (one network per seed) it becomes
    a *batched* LAPACK ``geqrf`` custom call, which XLA's CPU runtime spreads over its
    intra-op thread pool from inside a pool worker. On 2 cores that deadlocked now and then
    (all threads asleep, the run never finishing; native stack in the closing note of issue 3).
    Here a batch of keys is drawn one key at a time with ``lax.map`` instead, which gives the
    same matrices as unbatched draws, bit for bit.
    """
    base = nn.initializers.orthogonal(scale)

    def init(key, shape, dtype=jnp.float32):
        @jax.custom_batching.custom_vmap
        def draw(k):
            return base(k, shape, dtype)

        @draw.def_vmap
        def _draw_batch(axis_size, in_batched, k):
            del axis_size, in_batched
            return jax.lax.map(draw, k), True

        return draw(key)

    return init


def activation_fn(name: str):
    """Look up an activation by name; unknown names raise with the list of choices."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}") from None


class MLP(nn.Module):
    """Fully connected torso with orthogonal init: ``[..., D] -> [..., hidden_sizes[-1]]``."""

    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"

    @nn.compact
    def __call__(self, x: Array) -> Array:
        act = activation_fn(self.activation)
        for width in self.hidden_sizes:
            x = act(nn.Dense(width, kernel_init=orthogonal(np.sqrt(2.0)))(x))
        return x


class DiscretePolicy(nn.Module):
    """Categorical policy: observation ``[..., D]`` -> ``distrax.Categorical`` over ``num_actions``."""

    num_actions: int
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"

    @nn.compact
    def __call__(self, obs: Array) -> distrax.Categorical:
        h = MLP(self.hidden_sizes, self.activation)(obs)
        logits = nn.Dense(self.num_actions, kernel_init=orthogonal(0.01))(h)
        return distrax.Categorical(logits=logits)


class GaussianPolicy(nn.Module):
    """Diagonal Gaussian policy with a state-independent log std, in normalised action units
    (``[-1, 1]`` maps to the action bounds): ``[..., D] -> MultivariateNormalDiag [A]``."""

    action_dim: int
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"
    init_log_std: float = 0.0

    @nn.compact
    def __call__(self, obs: Array) -> distrax.MultivariateNormalDiag:
        h = MLP(self.hidden_sizes, self.activation)(obs)
        mean = nn.Dense(self.action_dim, kernel_init=orthogonal(0.01))(h)
        log_std = self.param("log_std", nn.initializers.constant(self.init_log_std), (self.action_dim,))
        return distrax.MultivariateNormalDiag(mean, jnp.broadcast_to(jnp.exp(log_std), mean.shape))


class MultiStreamCritic(nn.Module):
    """One value head per reward stream on a shared torso: ``[..., D] -> [..., K]``."""

    num_streams: int
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"

    @nn.compact
    def __call__(self, obs: Array) -> Array:
        h = MLP(self.hidden_sizes, self.activation)(obs)
        return nn.Dense(self.num_streams, kernel_init=orthogonal(1.0))(h)
