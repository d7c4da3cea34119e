"""Optimiser pieces shared by the agents."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxrl_rewards.types import Array


def clip_by_global_norm(max_norm: Array | float) -> optax.GradientTransformation:
    """Scale updates so their global L2 norm is at most ``max_norm`` (sweepable leaf).

    Same maths as ``optax.clip_by_global_norm``, written as one multiplication by the scalar
    ``min(1, max_norm / norm)``. optax's form (``g / norm * max_norm`` under a select) lets
    XLA's algebraic simplifier reassociate differently for batched and unbatched shapes, so a
    seed run inside ``vmap`` drifted from the same seed run alone by float32 rounding; this
    form keeps them bit-identical on CPU (tested in ``tests/agents/test_ppo.py``).
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

    Like ``optax.apply_if_finite`` without a consecutive-error limit, written with plain
    selects so a seed run inside ``vmap`` stays bit-identical to the same seed run alone.
    """

    def init(params):
        return SkipNonFinite(inner_state=inner.init(params), total_notfinite=jnp.int32(0))

    def update(updates, state, params=None):
        finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(u)) for u in jax.tree.leaves(updates)]))
        new_updates, new_inner = inner.update(updates, state.inner_state, params)
        new_updates = jax.tree.map(lambda u: jnp.where(finite, u, jnp.zeros_like(u)), new_updates)
        new_inner = jax.tree.map(lambda n, o: jnp.where(finite, n, o), new_inner, state.inner_state)
        skipped = state.total_notfinite + jnp.logical_not(finite).astype(jnp.int32)
        return new_updates, SkipNonFinite(inner_state=new_inner, total_notfinite=skipped)

    return optax.GradientTransformation(init, update)
