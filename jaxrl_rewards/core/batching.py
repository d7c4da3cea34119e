"""``vmap`` that runs a batch of one as the function alone, so one run's bits do not depend on
whether it was compiled as a batch of one.

XLA compiles ``vmap(f)`` at batch size 1 as a program of its own: it drops the unit axis and
then fuses and emits some reductions differently from both ``f`` alone and from wider batches.
Measured on x86-64 CPU at the library's default flags (2026-12-03): a tiny PPO run (CartPole,
one hidden layer of 8) inside ``jit(vmap(ppo.train))`` at batch 1 differed from the same run
alone in the last bits of its Dense biases and Adam moments, while at batches 2 and 4 every
member matched its run alone. :func:`vmap_exact` therefore calls ``f`` on the unbatched
arguments when the batch has one member and adds the axis back: the program is the run alone's,
and so are the bits. A sweep chunk of one run (``chunk_size = 1``) and a one-seed ``train_seeds``
call go through it (``experiments/runner.py``, ``experiments/backends/local.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

Axis = int | None


def _leaf_axes(arg: Any, axis: Any) -> tuple[list[Axis], list[Any], Any]:
    """``(axis of every leaf, leaves, treedef)`` of ``arg`` for an ``axis`` that is ``0``,
    ``None`` or a pytree of those with ``arg``'s structure (``None`` marks a shared leaf)."""
    leaves, treedef = jax.tree.flatten(arg)
    axes = [axis] * len(leaves) if axis is None or isinstance(axis, int) else treedef.flatten_up_to(axis)
    bad = sorted({repr(a) for a in axes if a not in (0, None)})
    if bad:
        raise ValueError(f"vmap_exact maps leading axes only: in_axes entries must be 0 or None, got {', '.join(bad)}")
    return axes, leaves, treedef


def vmap_exact(fn: Callable, in_axes: Any = 0) -> Callable:
    """``jax.vmap(fn, in_axes)`` over leading axes, except that a batch of size 1 runs ``fn``
    itself on ``x[0]`` of every mapped leaf and returns its outputs with a leading axis of 1
    (``y[None]``): same values as ``jax.vmap``, the rounding of ``fn`` alone (module doc).

    Args:
        fn: the function to map.
        in_axes: ``0`` (map every argument over its leading axis), ``None`` (broadcast), or one
            entry per positional argument, each ``0``, ``None`` or a pytree of those with the
            argument's structure (e.g. ``(config_axes, 0)``: a config whose swept leaves carry
            the batch axis and whose other leaves are shared, batched keys).

    Returns:
        ``mapped(*args)``: outputs with a leading batch axis ``[B, ...]``.

    Raises:
        ValueError: an axis other than ``0`` or ``None``, or ``in_axes`` not matching the
            number of arguments (at call time).
    """
    per_arg = tuple(in_axes) if isinstance(in_axes, (tuple, list)) else None
    plain = per_arg if per_arg is not None else (in_axes,)
    if any(isinstance(a, int) and a != 0 for a in plain) or (per_arg is None and in_axes not in (0, None)):
        raise ValueError(f"vmap_exact maps leading axes only: in_axes entries must be 0 or None, got {in_axes!r}")
    batched = jax.vmap(fn, in_axes=per_arg if per_arg is not None else in_axes)

    def mapped(*args: Any) -> Any:
        axes = per_arg if per_arg is not None else (in_axes,) * len(args)
        if len(axes) != len(args):
            raise ValueError(f"in_axes {in_axes!r} names {len(axes)} arguments, got {len(args)}")
        split = [_leaf_axes(arg, axis) for arg, axis in zip(args, axes, strict=True)]
        sizes = {
            int(x.shape[0]) for leaf_axes, leaves, _ in split for a, x in zip(leaf_axes, leaves, strict=True) if a == 0
        }
        if sizes != {1}:
            return batched(*args)
        alone = [  # x[0] of every mapped leaf, shared leaves as they are
            jax.tree.unflatten(treedef, [x if a is None else x[0] for a, x in zip(leaf_axes, leaves, strict=True)])
            for leaf_axes, leaves, treedef in split
        ]
        return jax.tree.map(lambda y: y[None], fn(*alone))

    return mapped
