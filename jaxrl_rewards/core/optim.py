"""Optimiser pieces shared by the agents."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxrl_rewards.core.exact import exact_tree_norm
from jaxrl_rewards.core.types import Array


def clip_by_global_norm(max_norm: Array | float) -> optax.GradientTransformation:
    """Scale updates so their global L2 norm is at most ``max_norm`` (sweepable leaf).

    Same maths as ``optax.clip_by_global_norm``, written as one multiplication by the scalar
    ``min(1, max_norm / norm)``. optax's form (``g / norm * max_norm`` under a select) lets
    XLA's algebraic simplifier reassociate differently for batched and unbatched shapes, so a
    seed run inside ``vmap`` drifted further from the same seed run alone; this form keeps the
    clipping itself identical (the remaining drift is float32 rounding of batched reductions
    elsewhere; see README, 'Determinism', and ``tests/agents/test_ppo.py``).
    """

    def init(params):
        del params
        return optax.EmptyState()

    def update(updates, state, params=None):
        del params
        norm = exact_tree_norm(updates)
        factor = jnp.minimum(1.0, max_norm / jnp.maximum(norm, 1e-12))
        return jax.tree.map(lambda u: u * factor.astype(u.dtype), updates), state

    return optax.GradientTransformation(init, update)


def scale_by_adam(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    rectify_threshold: float | None = None,
) -> optax.GradientTransformation:
    """Adam's scaling (Kingma & Ba, 2015), optionally rectified (RAdam, Liu et al., 2020), in
    a form whose rounding does not depend on batching (module doc); ``optax.ScaleByAdamState``.

    With ``m_t = b1 m + (1 - b1) g``, ``v_t = b2 v + (1 - b2) g^2``, ``c1 = 1 / (1 - b1^t)`` and
    ``c2 = 1 / (1 - b2^t)`` (scalars): ``u = (m_t c1) / (sqrt(v_t c2) + eps)``. Rectified
    (``rectify_threshold`` given): with ``rho_inf = 2 / (1 - b2) - 1`` and
    ``rho_t = rho_inf - 2 t b2^t / (1 - b2^t)``, ``u = r_t (m_t c1) / (sqrt(v_t c2) + eps)``,
    ``r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))`` where
    ``rho_t >= rectify_threshold``, else ``u = m_t c1``. Same maths as ``optax.scale_by_adam`` /
    ``optax.scale_by_radam`` (the last bits may differ).
    """
    rho_inf = 2.0 / (1.0 - b2) - 1.0

    def init(params):
        zeros = lambda p: jax.tree.map(jnp.zeros_like, p)
        return optax.ScaleByAdamState(count=jnp.zeros([], jnp.int32), mu=zeros(params), nu=zeros(params))

    def update(updates, state, params=None):
        del params
        mu = jax.tree.map(lambda g, m: (1 - b1) * g + b1 * m, updates, state.mu)
        nu = jax.tree.map(lambda g, v: (1 - b2) * (g * g) + b2 * v, updates, state.nu)
        count = optax.safe_increment(state.count)
        t = count.astype(jnp.float32)
        b2t = b2**t
        c1 = 1.0 / (1.0 - b1**t)
        c2 = 1.0 / (1.0 - b2t)
        if rectify_threshold is None:
            out = jax.tree.map(lambda m, v: (m * c1) / (jnp.sqrt(v * c2) + eps), mu, nu)
        else:
            rho = rho_inf - 2.0 * t * b2t * c2
            ratio = (rho - 4.0) * (rho - 2.0) * (rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0))) * (1.0 / rho)
            rect = jnp.sqrt(jnp.maximum(ratio, 0.0))
            tractable = rho >= rectify_threshold
            out = jax.tree.map(
                lambda m, v: jnp.where(tractable, (m * (c1 * rect)) / (jnp.sqrt(v * c2) + eps), m * c1), mu, nu
            )
        return out, optax.ScaleByAdamState(count=count, mu=mu, nu=nu)

    return optax.GradientTransformation(init, update)


def adam(learning_rate: optax.ScalarOrSchedule, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8):
    """Adam with :func:`scale_by_adam` (batching-independent rounding), then ``-learning_rate``
    (a leaf or an optax schedule); the state matches ``optax.adam``'s."""
    return optax.chain(scale_by_adam(b1, b2, eps), optax.scale_by_learning_rate(learning_rate))


def radam(
    learning_rate: optax.ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    threshold: float = 5.0,
):
    """Rectified Adam with :func:`scale_by_adam` (``rectify_threshold=threshold``), then
    ``-learning_rate``; the state matches ``optax.radam``'s."""
    return optax.chain(scale_by_adam(b1, b2, eps, threshold), optax.scale_by_learning_rate(learning_rate))


class SkipNonFinite(NamedTuple):
    """State of ``skip_nonfinite``: the inner state and the number of skipped updates."""

    inner_state: optax.OptState
    total_notfinite: Array


def skip_nonfinite(inner: optax.GradientTransformation) -> optax.GradientTransformation:
    """Apply ``inner`` only when every gradient is finite; otherwise return zero updates, keep
    the old inner state and count the skip in ``state.total_notfinite``.

    Like ``optax.apply_if_finite`` without a consecutive-error limit: one scalar finiteness
    test and one ``lax.cond`` (under ``vmap`` it becomes a select, as optax's does).
    """

    def init(params):
        return SkipNonFinite(inner_state=inner.init(params), total_notfinite=jnp.int32(0))

    def update(updates, state, params=None):
        # one scalar test (a non-finite element makes the norm non-finite) and one branch,
        # instead of per-leaf selects over the updates and the whole inner state; the norm is
        # the batch-exact one that clipping and ``loss/grad_norm`` compute, so XLA computes it
        # once for all three (optax.tree.norm here was a second, separate reduction per leaf)
        finite = jnp.isfinite(exact_tree_norm(updates))

        def apply(_):
            new_updates, new_inner = inner.update(updates, state.inner_state, params)
            return new_updates, SkipNonFinite(inner_state=new_inner, total_notfinite=state.total_notfinite)

        def skip(_):
            zeros = jax.tree.map(jnp.zeros_like, updates)
            return zeros, state._replace(total_notfinite=state.total_notfinite + 1)

        return jax.lax.cond(finite, apply, skip, None)

    return optax.GradientTransformation(init, update)
