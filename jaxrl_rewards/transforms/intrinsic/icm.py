"""Intrinsic Curiosity Module (Pathak, Agrawal, Efros & Darrell 2017, "Curiosity-driven
Exploration by Self-supervised Prediction").

An encoder ``phi`` is learned with an *inverse* model ``g(phi(s), phi(s')) -> a`` (cross-entropy
for discrete actions, squared error for continuous ones); a *forward* model
``f(phi(s), a) -> phi(s')`` predicts the next features. The bonus is the forward error

    b(s, a, s') = eta / 2 * mean_j (f(phi(s), a)_j - phi(s')_j)^2

and ``update`` minimises ``(1 - fwd_weight) * L_inverse + fwd_weight * L_forward`` (paper:
fwd_weight = 0.2) with ``num_updates`` Adam steps per iteration. The forward target
``phi(s')`` is held fixed (stop-gradient) so the features cannot collapse to make the forward
loss vanish; features are shaped by the inverse loss (and by the forward input side).

``InverseDynamics`` (encoder + inverse head) is shared with E3B.
"""

from __future__ import annotations

from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from gymnax.environments import spaces

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.networks import MLP, Dense, orthogonal
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey, TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError, check_in_range, check_positive
from jaxrl_rewards.transforms.fields import build, factory_signature
from jaxrl_rewards.transforms.intrinsic.base import (
    IntrinsicBonus,
    check_model_sizes,
    flat_obs,
    obs_dim,
    sizes_as_tuples,
)
from jaxrl_rewards.transforms.models import adam, gradient_steps


class InverseDynamics(nn.Module):
    """Encoder ``[..., D] -> [..., feature_dim]`` and inverse head ``(phi, phi') -> [..., A]``."""

    feature_dim: int
    action_dim: int
    hidden_sizes: tuple[int, ...] = (64, 64)

    def setup(self) -> None:
        self.encoder_torso = MLP(self.hidden_sizes, "relu")
        self.encoder_out = Dense(self.feature_dim, kernel_init=orthogonal(1.0))
        self.inverse_torso = MLP(self.hidden_sizes, "relu")
        self.inverse_out = Dense(self.action_dim, kernel_init=orthogonal(0.01))

    def encode(self, x: Array) -> Array:
        """Features ``[..., feature_dim]`` of flat observations ``[..., D]``."""
        return self.encoder_out(self.encoder_torso(x))

    def inverse(self, phi: Array, phi_next: Array) -> Array:
        """Action logits (or action means) ``[..., A]`` from two feature vectors."""
        return self.inverse_out(self.inverse_torso(jnp.concatenate([phi, phi_next], -1)))

    def __call__(self, x: Array, x_next: Array) -> Array:
        return self.inverse(self.encode(x), self.encode(x_next))


class ActionInfo(struct.PyTreeNode):
    """Static description of the action space: ``discrete`` and the feature size ``dim``
    (number of actions, or the flat continuous action size). Hashable, so it can sit in state."""

    discrete: bool = struct.field(pytree_node=False, default=True)
    dim: int = struct.field(pytree_node=False, default=1)

    @classmethod
    def of(cls, spec: TransformSpec) -> ActionInfo:
        """From ``spec.action_space`` (``ConfigError`` when it is missing)."""
        space = spec.action_space
        if space is None:
            raise ConfigError("this bonus needs spec.action_space (the environment's action space)")
        if isinstance(space, spaces.Discrete):
            return cls(discrete=True, dim=int(space.n))
        shape = tuple(getattr(space, "shape", ()) or ())
        return cls(discrete=False, dim=int(np.prod(shape)) if shape else 1)

    def features(self, action: Array) -> Array:
        """One-hot ``[..., A]`` (discrete) or flat float ``[..., A]`` (continuous) actions."""
        if self.discrete:
            return jax.nn.one_hot(action, self.dim, dtype=jnp.float32)
        action = jnp.asarray(action, jnp.float32)
        return action[..., None] if self.dim == 1 and action.ndim == 2 else action.reshape((*action.shape[:2], -1))

    def inverse_loss(self, logits: Array, action: Array) -> Array:
        """Per-sample inverse-dynamics loss ``[...]``: cross-entropy (discrete) or squared error."""
        if self.discrete:
            return optax.softmax_cross_entropy_with_integer_labels(logits, action.astype(jnp.int32))
        return ((logits - self.features(action)) ** 2).mean(-1)


class ForwardModel(nn.Module):
    """``(features [..., F], action features [..., A]) -> predicted next features [..., F]``."""

    feature_dim: int
    hidden_sizes: tuple[int, ...] = (64, 64)

    @nn.compact
    def __call__(self, phi: Array, action: Array) -> Array:
        h = MLP(self.hidden_sizes, "relu")(jnp.concatenate([phi, action], -1))
        return Dense(self.feature_dim, kernel_init=orthogonal(1.0))(h)


class ICMState(struct.PyTreeNode):
    """Parameters ``{"inverse": ..., "forward": ...}``, their optimiser state, the action info."""

    params: Any
    opt_state: Any
    actions: ActionInfo = struct.field(pytree_node=False, default=None)


class ICMBonus(IntrinsicBonus):
    """ICM bonus (see module docstring). Leaves: ``eta``, ``learning_rate``, ``fwd_weight``."""

    WHO: ClassVar[str] = "icm_bonus"

    eta: Array | float = 1.0
    learning_rate: Array | float = 1e-3
    fwd_weight: Array | float = 0.2
    feature_dim: int = struct.field(pytree_node=False, default=32)
    hidden_sizes: tuple[int, ...] = struct.field(pytree_node=False, default=(64, 64))
    num_updates: int = struct.field(pytree_node=False, default=4)

    def validate(self) -> ICMBonus:
        """Positive ``eta`` and ``learning_rate``, ``fwd_weight`` in [0, 1], positive integer
        ``feature_dim`` and ``num_updates`` (and the common bonus checks)."""
        super().validate()
        who = self.WHO
        check_positive(self.eta, f"{who}: eta")
        check_positive(self.learning_rate, f"{who}: learning_rate")
        check_in_range(self.fwd_weight, f"{who}: fwd_weight", 0.0, 1.0)
        check_model_sizes(who, feature_dim=self.feature_dim, num_updates=self.num_updates)
        return self

    def _modules(self, action_dim: int) -> tuple[InverseDynamics, ForwardModel]:
        return (
            InverseDynamics(self.feature_dim, action_dim, self.hidden_sizes),
            ForwardModel(self.feature_dim, self.hidden_sizes),
        )

    def init_model(self, key: PRNGKey, spec: TransformSpec) -> Any:
        info = ActionInfo.of(spec)
        inv, fwd = self._modules(info.dim)
        k1, k2 = jax.random.split(key)
        x = jnp.zeros((1, obs_dim(spec)), jnp.float32)
        a = jnp.zeros((1, info.dim), jnp.float32)
        params = {"inverse": inv.init(k1, x, x), "forward": fwd.init(k2, jnp.zeros((1, self.feature_dim)), a)}
        return ICMState(params=params, opt_state=adam(self.learning_rate).init(params), actions=info)

    def _forward_errors(self, params: Any, info: ActionInfo, batch: Transition) -> tuple[Array, Array]:
        inv, fwd = self._modules(info.dim)
        x, x_next = flat_obs(batch.obs, 2), flat_obs(batch.next_obs, 2)
        phi = inv.apply(params["inverse"], x, method=InverseDynamics.encode)
        phi_next = inv.apply(params["inverse"], x_next, method=InverseDynamics.encode)
        pred = fwd.apply(params["forward"], phi, info.features(batch.action))
        fwd_err = 0.5 * ((pred - jax.lax.stop_gradient(phi_next)) ** 2).mean(-1)
        logits = inv.apply(params["inverse"], phi, phi_next, method=InverseDynamics.inverse)
        return fwd_err, info.inverse_loss(logits, batch.action)

    def compute(self, model: Any, batch: Transition) -> tuple[Array, Any, dict[str, Array]]:
        fwd_err, inv_err = self._forward_errors(model.params, model.actions, batch)
        return self.eta * fwd_err, model, {"forward_error": fwd_err.mean(), "inverse_loss": inv_err.mean()}

    def learn(self, model: Any, batch: Transition, key: PRNGKey) -> tuple[Any, Metrics]:
        del key
        tx = adam(self.learning_rate)

        def loss_fn(params):
            fwd_err, inv_err = self._forward_errors(params, model.actions, batch)
            fwd_l, inv_l = fwd_err.mean(), inv_err.mean()
            return (1.0 - self.fwd_weight) * inv_l + self.fwd_weight * fwd_l, (fwd_l, inv_l)

        params, opt_state, (_, (fwd_l, inv_l)) = gradient_steps(
            loss_fn, tx, model.params, model.opt_state, length=self.num_updates, has_aux=True
        )
        new = model.replace(params=params, opt_state=opt_state)
        return new, {"icm_forward_loss": fwd_l[-1], "icm_inverse_loss": inv_l[-1]}


def icm_bonus(**options: Any) -> ICMBonus:
    """ICM forward-error bonus stream (see module docstring): any field of :class:`ICMBonus`."""
    return build(ICMBonus, "icm_bonus", sizes_as_tuples(options))


icm_bonus.__signature__ = factory_signature(ICMBonus)
