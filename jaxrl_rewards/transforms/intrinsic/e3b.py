"""E3B: Exploration via Elliptical Episodic Bonuses (Henaff, Raileanu, Jiang & Rocktäschel 2022).

An embedding ``phi`` is learned with an inverse-dynamics model (shared with ICM: predict ``a``
from ``phi(s), phi(s')``), so it keeps what the agent controls and drops uncontrollable noise.
Within an episode, each environment keeps the inverse of

    C_t = lambda * I + sum_{i < t, same episode} phi(s'_i) phi(s'_i)^T

and pays the elliptical bonus

    b_t = phi(s'_t)^T C_t^{-1} phi(s'_t)

then adds ``phi(s'_t)`` to ``C`` with a Sherman-Morrison rank-one update
``C^{-1} <- C^{-1} - (C^{-1} u)(C^{-1} u)^T / (1 + b_t)``. ``C^{-1}`` is reset to ``I / lambda``
at the start of every episode; the ``[N, D, D]`` inverses of unfinished episodes are carried
across rollout boundaries. The stream is episodic by default.
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey, TransformSpec, Transition
from jaxrl_rewards.core.validation import check_positive
from jaxrl_rewards.transforms.fields import build, factory_signature
from jaxrl_rewards.transforms.intrinsic.base import (
    IntrinsicBonus,
    check_model_sizes,
    flat_obs,
    obs_dim,
    sizes_as_tuples,
)
from jaxrl_rewards.transforms.intrinsic.icm import ActionInfo, InverseDynamics
from jaxrl_rewards.transforms.models import adam, gradient_steps


class E3BState(struct.PyTreeNode):
    """Inverse-dynamics parameters, optimiser state, per-env ``C^{-1}`` ``[N, D, D]``, action info."""

    params: Any
    opt_state: Any
    cov_inv: Array
    actions: ActionInfo = struct.field(pytree_node=False, default=None)


def sherman_morrison_bonus(cov_inv: Array, phi: Array) -> tuple[Array, Array]:
    """Elliptical bonus and rank-one update for one step of N environments.

    Args:
        cov_inv: ``C^{-1}``, ``[N, D, D]``.
        phi: embeddings, ``[N, D]``.

    Returns:
        ``b = phi^T C^{-1} phi`` ``[N]`` and ``(C + phi phi^T)^{-1}`` ``[N, D, D]``.
    """
    u = jnp.einsum("nij,nj->ni", cov_inv, phi)
    b = jnp.einsum("ni,ni->n", phi, u)
    return b, cov_inv - jnp.einsum("ni,nj->nij", u, u) / (1.0 + b)[:, None, None]


class E3BBonus(IntrinsicBonus):
    """E3B bonus (see module docstring). Leaves: ``ridge`` (lambda), ``learning_rate``."""

    WHO: ClassVar[str] = "e3b_bonus"

    ridge: Array | float = 0.1
    learning_rate: Array | float = 1e-3
    feature_dim: int = struct.field(pytree_node=False, default=32)
    hidden_sizes: tuple[int, ...] = struct.field(pytree_node=False, default=(64, 64))
    num_updates: int = struct.field(pytree_node=False, default=4)

    def validate(self) -> E3BBonus:
        """Positive ``ridge`` and ``learning_rate``, positive integer ``feature_dim`` and
        ``num_updates`` (and the common bonus checks)."""
        super().validate()
        who = self.WHO
        check_positive(self.ridge, f"{who}: ridge")
        check_positive(self.learning_rate, f"{who}: learning_rate")
        check_model_sizes(who, feature_dim=self.feature_dim, num_updates=self.num_updates)
        return self

    def _module(self, info: ActionInfo) -> InverseDynamics:
        return InverseDynamics(self.feature_dim, info.dim, self.hidden_sizes)

    def _identity(self, num_envs: int) -> Array:
        eye = jnp.eye(self.feature_dim, dtype=jnp.float32) / self.ridge
        return jnp.broadcast_to(eye, (num_envs, self.feature_dim, self.feature_dim))

    def init_model(self, key: PRNGKey, spec: TransformSpec) -> E3BState:
        info = ActionInfo.of(spec)
        x = jnp.zeros((1, obs_dim(spec)), jnp.float32)
        params = self._module(info).init(key, x, x)
        return E3BState(
            params=params,
            opt_state=adam(self.learning_rate).init(params),
            cov_inv=self._identity(spec.num_envs),
            actions=info,
        )

    def embed(self, model: E3BState, obs: Array, batch_ndim: int = 2) -> Array:
        """Embeddings ``[*batch, feature_dim]`` of observations ``[*batch, *obs_shape]``."""
        return self._module(model.actions).apply(model.params, flat_obs(obs, batch_ndim), method=InverseDynamics.encode)

    def compute(self, model: E3BState, batch: Transition) -> tuple[Array, E3BState, dict[str, Array]]:
        phi = jax.lax.stop_gradient(self.embed(model, batch.next_obs))  # [T, N, D]
        fresh = self._identity(phi.shape[1])

        def step(cov_inv, xs):
            p, d = xs
            b, cov_inv = sherman_morrison_bonus(cov_inv, p)
            return jnp.where(d[:, None, None], fresh, cov_inv), b

        cov_inv, bonus = jax.lax.scan(step, model.cov_inv, (phi, batch.done))
        return bonus, model.replace(cov_inv=cov_inv), {"embedding_norm": jnp.linalg.norm(phi, axis=-1).mean()}

    def learn(self, model: E3BState, batch: Transition, key: PRNGKey) -> tuple[E3BState, Metrics]:
        del key
        tx = adam(self.learning_rate)
        module = self._module(model.actions)
        x, x_next = flat_obs(batch.obs, 2), flat_obs(batch.next_obs, 2)

        def loss_fn(params):
            return model.actions.inverse_loss(module.apply(params, x, x_next), batch.action).mean()

        params, opt_state, losses = gradient_steps(loss_fn, tx, model.params, model.opt_state, length=self.num_updates)
        return model.replace(params=params, opt_state=opt_state), {"e3b_inverse_loss": losses[-1]}


def e3b_bonus(**options: Any) -> E3BBonus:
    """E3B elliptical episodic bonus stream (see module docstring): any field of
    :class:`E3BBonus`; episodic by default."""
    return build(E3BBonus, "e3b_bonus", {"episodic": True, **sizes_as_tuples(options)})


e3b_bonus.__signature__ = factory_signature(E3BBonus, defaults={"episodic": True})
