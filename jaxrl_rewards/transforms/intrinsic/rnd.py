"""Random Network Distillation (Burda, Edwards, Storkey & Klimov 2019, "Exploration by Random
Network Distillation").

A fixed, randomly initialised target network ``f`` and a trained predictor ``f_hat`` embed the
*normalised* next observation ``x = clip((s' - mu) / sigma, -obs_clip, obs_clip)`` (``mu``,
``sigma``: running statistics of observations, updated with every batch before it is scored):

    b(s') = mean_j (f_hat(x)_j - f(x)_j)^2

The predictor minimises the same error on each batch in ``update`` (``num_updates`` Adam steps
on a random ``update_proportion`` of the batch), so the bonus falls for states visited often.
As in the paper the bonus is divided by the running std of its own discounted return
(``normalize=True``), the stream is non-episodic by default and has its own discount
(``discount``, paper: 0.99 vs 0.999 extrinsic) and coefficient (``coef``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.networks import MLP, Dense, orthogonal
from jaxrl_rewards.core.running_stats import RunningMeanStd
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey, TransformSpec, Transition
from jaxrl_rewards.core.validation import check_in_range, check_positive
from jaxrl_rewards.transforms.fields import build, factory_signature
from jaxrl_rewards.transforms.intrinsic.base import (
    IntrinsicBonus,
    check_model_sizes,
    flat_obs,
    obs_dim,
    sizes_as_tuples,
)
from jaxrl_rewards.transforms.models import adam, gradient_steps


class Embedding(nn.Module):
    """MLP embedding ``[..., D] -> [..., out_dim]`` (orthogonal init, linear output)."""

    out_dim: int
    hidden_sizes: tuple[int, ...] = (64, 64)
    activation: str = "relu"

    @nn.compact
    def __call__(self, x: Array) -> Array:
        h = MLP(self.hidden_sizes, self.activation)(x)
        return Dense(self.out_dim, kernel_init=orthogonal(np.sqrt(2.0)))(h)


class RNDState(struct.PyTreeNode):
    """Target/predictor parameters, predictor optimiser state, observation statistics ``[D]``."""

    target: Any
    predictor: Any
    opt_state: Any
    obs_stats: RunningMeanStd


class RNDBonus(IntrinsicBonus):
    """RND bonus (see module docstring). Leaves: ``learning_rate``, ``obs_clip``, ``update_proportion``."""

    WHO: ClassVar[str] = "rnd_bonus"

    learning_rate: Array | float = 1e-3
    obs_clip: Array | float = 5.0
    update_proportion: Array | float = 1.0
    embed_dim: int = struct.field(pytree_node=False, default=64)
    hidden_sizes: tuple[int, ...] = struct.field(pytree_node=False, default=(64, 64))
    num_updates: int = struct.field(pytree_node=False, default=4)

    def validate(self) -> RNDBonus:
        """Positive ``learning_rate`` and ``obs_clip``, ``update_proportion`` in [0, 1],
        positive integer ``embed_dim`` and ``num_updates`` (and the common bonus checks)."""
        super().validate()
        who = self.WHO
        check_positive(self.learning_rate, f"{who}: learning_rate")
        check_positive(self.obs_clip, f"{who}: obs_clip")
        check_in_range(self.update_proportion, f"{who}: update_proportion", 0.0, 1.0)
        check_model_sizes(who, embed_dim=self.embed_dim, num_updates=self.num_updates)
        return self

    def _net(self) -> Embedding:
        return Embedding(self.embed_dim, self.hidden_sizes)

    def _tx(self) -> optax.GradientTransformation:
        return adam(self.learning_rate)

    def init_model(self, key: PRNGKey, spec: TransformSpec) -> RNDState:
        k_target, k_pred = jax.random.split(key)
        dummy = jnp.zeros((1, obs_dim(spec)), jnp.float32)
        target = self._net().init(k_target, dummy)
        predictor = self._net().init(k_pred, dummy)
        return RNDState(
            target=target,
            predictor=predictor,
            opt_state=self._tx().init(predictor),
            obs_stats=RunningMeanStd.create((obs_dim(spec),)),
        )

    def _inputs(self, model: RNDState, obs: Array, batch_ndim: int) -> Array:
        return model.obs_stats.normalize(flat_obs(obs, batch_ndim), self.obs_clip)

    def errors(self, model: RNDState, x: Array) -> Array:
        """Per-sample prediction error ``[...]`` of normalised inputs ``x [..., D]``."""
        target = jax.lax.stop_gradient(self._net().apply(model.target, x))
        return ((self._net().apply(model.predictor, x) - target) ** 2).mean(-1)

    def score(self, model: RNDState, obs: Array, batch_ndim: int = 1) -> Array:
        """Raw RND bonus of observations ``[*batch, *obs_shape]`` under the current statistics."""
        return self.errors(model, self._inputs(model, obs, batch_ndim))

    def compute(self, model: RNDState, batch: Transition) -> tuple[Array, RNDState, dict[str, Array]]:
        model = model.replace(obs_stats=model.obs_stats.update(flat_obs(batch.next_obs, 2)))
        bonus = self.score(model, batch.next_obs, 2)
        return bonus, model, {}

    def learn(self, model: RNDState, batch: Transition, key: PRNGKey) -> tuple[RNDState, Metrics]:
        x = self._inputs(model, batch.next_obs, 2).reshape((-1, model.obs_stats.mean.shape[0]))
        tx = self._tx()

        def loss_fn(params, mask):
            errs = self.errors(model.replace(predictor=params), x)
            return (errs * mask).sum() / jnp.maximum(mask.sum(), 1.0)

        def mask(k):
            return ((jax.random.uniform(k, (x.shape[0],)) < self.update_proportion).astype(jnp.float32),)

        keys = jax.random.split(key, self.num_updates)
        params, opt_state, losses = gradient_steps(loss_fn, tx, model.predictor, model.opt_state, keys, inputs=mask)
        return model.replace(predictor=params, opt_state=opt_state), {"rnd_loss": losses[-1]}


def rnd_bonus(**options: Any) -> RNDBonus:
    """RND bonus stream (see module docstring): any field of :class:`RNDBonus`, with the
    paper's choices as defaults (non-episodic, ``normalize=True``: divided by the std of
    intrinsic returns)."""
    return build(RNDBonus, "rnd_bonus", {"normalize": True, **sizes_as_tuples(options)})


rnd_bonus.__signature__ = factory_signature(RNDBonus, defaults={"normalize": True})
