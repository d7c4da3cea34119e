"""Flax (linen) networks shared by the agents: MLP torsos, policy heads, multi-stream critics."""

from __future__ import annotations

from collections.abc import Sequence

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core.exact import pairwise_sum
from jaxrl_rewards.core.types import Array

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


@jax.custom_vjp
def add_bias(y: Array, bias: Array) -> Array:
    """``y [..., F] + bias [F]``, whose gradient for ``bias`` is :func:`pairwise_sum` of the
    cotangent over every leading axis (batch-exact: the same bits inside ``vmap`` and alone; XLA's
    CPU reduce of small layers' bias gradients rounded the last bit differently, issue 20)."""
    return y + bias


def _add_bias_fwd(y: Array, bias: Array) -> tuple[Array, None]:
    return y + bias, None


def _add_bias_bwd(_, g: Array) -> tuple[Array, Array]:
    return g, pairwise_sum(g.reshape(-1, g.shape[-1]))


add_bias.defvjp(_add_bias_fwd, _add_bias_bwd)


class Dense(nn.Dense):
    """``flax.linen.Dense`` (same parameters ``kernel [D, F]``, ``bias [F]``, same init and
    forward bits, ``y = x @ kernel + bias``) whose bias gradient is batch-exact (:func:`add_bias`).

    Named ``Dense`` so flax names its instances ``Dense_0``, ``Dense_1``, ... as before and
    parameter trees and checkpoints keep their paths.
    """

    @nn.compact
    def __call__(self, inputs: Array) -> Array:
        """``inputs [..., D] -> [..., F]``."""
        kernel = self.param("kernel", self.kernel_init, (jnp.shape(inputs)[-1], self.features), self.param_dtype)
        bias = self.param("bias", self.bias_init, (self.features,), self.param_dtype) if self.use_bias else None
        inputs, kernel, bias = self.promote_dtype(inputs, kernel, bias, dtype=self.dtype)
        y = jax.lax.dot_general(inputs, kernel, (((inputs.ndim - 1,), (0,)), ((), ())), precision=self.precision)
        return y if bias is None else add_bias(y, bias)


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
            x = act(Dense(width, kernel_init=orthogonal(np.sqrt(2.0)))(x))
        return x


class DiscretePolicy(nn.Module):
    """Categorical policy: observation ``[..., D]`` -> ``distrax.Categorical`` over ``num_actions``."""

    num_actions: int
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"

    @nn.compact
    def __call__(self, obs: Array) -> distrax.Categorical:
        h = MLP(self.hidden_sizes, self.activation)(obs)
        logits = Dense(self.num_actions, kernel_init=orthogonal(0.01))(h)
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
        mean = Dense(self.action_dim, kernel_init=orthogonal(0.01))(h)
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
        return Dense(self.num_streams, kernel_init=orthogonal(1.0))(h)


# --------------------------------------------------------------------------- value-based and SAC networks


class NormedMLP(nn.Module):
    """MLP torso with optional layer norm after every dense layer (PQN, Gallici et al. 2024):
    ``[..., D] -> [..., hidden_sizes[-1]]``. Orthogonal init as in ``MLP``."""

    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "relu"
    layer_norm: bool = False

    @nn.compact
    def __call__(self, x: Array) -> Array:
        act = activation_fn(self.activation)
        for width in self.hidden_sizes:
            x = Dense(width, kernel_init=orthogonal(np.sqrt(2.0)))(x)
            if self.layer_norm:
                x = nn.LayerNorm()(x)
            x = act(x)
        return x


class MultiStreamQNetwork(nn.Module):
    """Action values with one head per reward stream: ``[..., D] -> [..., A, K]``.

    Value-based agents combine the heads with the streams' weights, ``Q(s, a) = sum_k w_k Q_k(s, a)``.
    """

    num_actions: int
    num_streams: int = 1
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "relu"
    layer_norm: bool = False

    @nn.compact
    def __call__(self, obs: Array) -> Array:
        h = NormedMLP(self.hidden_sizes, self.activation, self.layer_norm)(obs)
        q = Dense(self.num_actions * self.num_streams, kernel_init=orthogonal(1.0))(h)
        return q.reshape((*q.shape[:-1], self.num_actions, self.num_streams))


class TwinMultiStreamQ(nn.Module):
    """Two independent critics ``Q_i(s, a)``, each with one head per stream (SAC, Fujimoto et
    al. 2018's clipped double Q): ``obs [..., D], action [..., A] -> [2, ..., K]``."""

    num_streams: int = 1
    hidden_sizes: Sequence[int] = (256, 256)
    activation: str = "relu"

    @nn.compact
    def __call__(self, obs: Array, action: Array) -> Array:
        x = jnp.concatenate([obs, action], axis=-1)
        outs = []
        for _ in range(2):
            h = NormedMLP(self.hidden_sizes, self.activation)(x)
            outs.append(Dense(self.num_streams, kernel_init=orthogonal(1.0))(h))
        return jnp.stack(outs)


class TanhGaussianPolicy(nn.Module):
    """Squashed Gaussian policy (SAC, Haarnoja et al. 2018): ``[..., D] -> (mean, log_std)``,
    each ``[..., A]``, with ``log_std`` clipped to ``[log_std_min, log_std_max]``. Sample
    ``u ~ N(mean, std)`` and act ``tanh(u)`` in ``[-1, 1]`` (see ``tanh_gaussian_sample``)."""

    action_dim: int
    hidden_sizes: Sequence[int] = (256, 256)
    activation: str = "relu"
    log_std_min: float = -5.0
    log_std_max: float = 2.0

    @nn.compact
    def __call__(self, obs: Array) -> tuple[Array, Array]:
        h = NormedMLP(self.hidden_sizes, self.activation)(obs)
        mean = Dense(self.action_dim, kernel_init=orthogonal(0.01))(h)
        log_std = Dense(self.action_dim, kernel_init=orthogonal(0.01))(h)
        return mean, jnp.clip(log_std, self.log_std_min, self.log_std_max)


def tanh_gaussian_sample(key: Array, mean: Array, log_std: Array) -> tuple[Array, Array]:
    """Reparameterised sample ``a = tanh(mean + std * eps)`` and its log-density
    ``log N(u) - sum log(1 - tanh(u)^2)`` (stable form ``2 (log 2 - u - softplus(-2u))``).

    Returns:
        action ``[..., A]`` in ``[-1, 1]`` and log-probability ``[...]``.
    """
    std = jnp.exp(log_std)
    eps = jax.random.normal(key, mean.shape, mean.dtype)
    u = mean + std * eps
    log_normal = (-0.5 * eps**2 - log_std - 0.5 * jnp.log(2.0 * jnp.pi)).sum(-1)
    log_det = (2.0 * (jnp.log(2.0) - u - jax.nn.softplus(-2.0 * u))).sum(-1)
    return jnp.tanh(u), log_normal - log_det


# --------------------------------------------------------------------------- recurrent


class RecurrentActorCritic(nn.Module):
    """GRU actor-critic for partially observed tasks (recurrent PPO): an embedding, a GRU cell
    (Cho et al., 2014) whose hidden state is reset where ``reset`` is true (episode starts),
    a categorical policy head and one value head per stream.

    ``__call__(hidden [B, H], obs [T, B, D], reset [T, B]) -> (hidden [B, H], logits [T, B, A],
    values [T, B, K])``; the scan over T runs inside (``nn.scan``).
    """

    num_actions: int
    num_streams: int = 1
    hidden_size: int = 64
    activation: str = "tanh"

    @nn.compact
    def __call__(self, hidden: Array, obs: Array, reset: Array) -> tuple[Array, Array, Array]:
        act = activation_fn(self.activation)
        x = act(Dense(self.hidden_size, kernel_init=orthogonal(np.sqrt(2.0)))(obs))

        def step(cell, h, xs):
            inp, rst = xs
            h = jnp.where(rst[:, None], jnp.zeros_like(h), h)
            h, out = cell(h, inp)
            return h, out

        scan = nn.scan(step, variable_broadcast="params", split_rngs={"params": False}, in_axes=0, out_axes=0)
        cell = nn.GRUCell(self.hidden_size, kernel_init=orthogonal(1.0), recurrent_kernel_init=orthogonal(1.0))
        hidden, out = scan(cell, hidden, (x, reset))
        logits = Dense(self.num_actions, kernel_init=orthogonal(0.01))(out)
        values = Dense(self.num_streams, kernel_init=orthogonal(1.0))(act(Dense(self.hidden_size)(out)))
        return hidden, logits, values
