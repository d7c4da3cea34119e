"""Sums and means that round the same inside ``vmap`` as alone (batch-exact reductions).

XLA's CPU backend vectorises a reduction loop by the shape it reduces, so ``jnp.sum(x)`` of a
``[B]`` minibatch and the same sum inside ``vmap`` (a ``[R, B] -> [R]`` reduction) can differ in
the last bit. Training amplifies such bits: a default PPO run on CartPole drifted from the same
run inside ``vmap`` after 6 iterations, first in the minibatch means of its loss (issue 20,
item 2). These functions sum by halving with elementwise adds, ``x[:n//2] + x[n//2:2(n//2)]``
(an odd last row carried over) until one row is left: an elementwise add rounds the same
wherever XLA emits it, so the result is the same bits in both programs. The order is a balanced
tree, as accurate as XLA's own (pairwise) summation; the cost is ``ceil(log2 n)`` small adds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp

from jaxrl_rewards.core.types import Array


def pairwise_sum(x: Array) -> Array:
    """Sum ``x [N, ...]`` over its first axis by halving, ``[N, ...] -> [...]`` (module doc)."""
    if x.shape[0] == 0:
        return jnp.zeros(x.shape[1:], x.dtype)
    while x.shape[0] > 1:
        half = x.shape[0] // 2
        head = x[:half] + x[half : 2 * half]
        x = head if x.shape[0] % 2 == 0 else jnp.concatenate([head, x[2 * half :]])
    return x[0]


def _axes(ndim: int, axis: int | Sequence[int] | None) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if any(not -ndim <= a < ndim for a in axes):
        raise ValueError(f"axis {axis!r} is out of range for an array of {ndim} dimensions")
    return tuple(sorted({a % ndim for a in axes}))


def exact_sum(x: Array, axis: int | Sequence[int] | None = None) -> Array:
    """``jnp.sum(x, axis)`` by :func:`pairwise_sum` over the reduced axes (all by default)."""
    x = jnp.asarray(x)
    axes = _axes(x.ndim, axis)
    kept = tuple(d for d in range(x.ndim) if d not in axes)
    n = math.prod(x.shape[a] for a in axes)
    moved = jnp.transpose(x, axes + kept).reshape((n, *(x.shape[d] for d in kept)))
    return pairwise_sum(moved)


def exact_mean(x: Array, axis: int | Sequence[int] | None = None) -> Array:
    """``jnp.mean(x, axis)`` as :func:`exact_sum` divided by the number of summed elements."""
    x = jnp.asarray(x)
    n = math.prod(x.shape[a] for a in _axes(x.ndim, axis))
    return exact_sum(x, axis) / n


def exact_std(x: Array, axis: int | Sequence[int] | None = None) -> Array:
    """``jnp.std(x, axis)`` (population, ``ddof=0``): ``sqrt(mean((x - mean x)^2))`` with
    :func:`exact_mean`."""
    x = jnp.asarray(x)
    centred = x - jnp.expand_dims(exact_mean(x, axis), _axes(x.ndim, axis))
    return jnp.sqrt(exact_mean(centred * centred, axis))


def exact_tree_norm(tree) -> Array:
    """Global L2 norm of a pytree, ``sqrt(sum_leaves sum(x^2))`` with :func:`exact_sum` (the
    leaves' sums are added in ``jax.tree.leaves`` order)."""
    total = jnp.zeros((), jnp.float32)
    for leaf in jax.tree.leaves(tree):
        total = total + exact_sum(jnp.square(leaf))
    return jnp.sqrt(total)


__all__ = ["exact_mean", "exact_std", "exact_sum", "exact_tree_norm", "pairwise_sum"]
