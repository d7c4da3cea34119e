"""Optimiser pieces shared by the agents."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

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
        norm = optax.tree.norm(updates)
        factor = jnp.minimum(1.0, max_norm / jnp.maximum(norm, 1e-12))
        return jax.tree.map(lambda u: u * factor.astype(u.dtype), updates), state

    return optax.GradientTransformation(init, update)


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
        # instead of per-leaf selects over the updates and the whole inner state
        finite = jnp.isfinite(optax.tree.norm(updates))

        def apply(_):
            new_updates, new_inner = inner.update(updates, state.inner_state, params)
            return new_updates, SkipNonFinite(inner_state=new_inner, total_notfinite=state.total_notfinite)

        def skip(_):
            zeros = jax.tree.map(jnp.zeros_like, updates)
            return zeros, state._replace(total_notfinite=state.total_notfinite + 1)

        return jax.lax.cond(finite, apply, skip, None)

    return optax.GradientTransformation(init, update)
