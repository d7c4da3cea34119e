"""Batching config leaves for ``vmap`` sweeps, addressed by dotted paths.

``batch_config(config, {"learning_rate": lrs, "transform.transforms.0.bonus": bs})`` returns the
config with those leaves replaced by arrays and the matching ``in_axes`` tree (0 at those leaves,
``None`` elsewhere), so ``jax.vmap(train, in_axes=(axes, None))`` sweeps them in one compile.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
from jax.tree_util import DictKey, FlattenedIndexKey, GetAttrKey, SequenceKey


def _part(entry: Any) -> str:
    if isinstance(entry, GetAttrKey):
        return entry.name
    if isinstance(entry, DictKey):
        return str(entry.key)
    if isinstance(entry, SequenceKey):
        return str(entry.idx)
    if isinstance(entry, FlattenedIndexKey):
        return str(entry.key)
    return str(entry)


def leaf_paths(tree: Any) -> list[str]:
    """Dotted paths of every leaf of ``tree`` (e.g. ``"transform.transforms.0.bonus"``)."""
    return [".".join(_part(e) for e in path) for path, _ in jax.tree_util.tree_flatten_with_path(tree)[0]]


def batch_config(config: Any, values: Mapping[str, Any]) -> tuple[Any, Any]:
    """Replace the leaves named by dotted paths with arrays of values to sweep.

    Args:
        config: any pytree config (agent config, transform, env params).
        values: dotted path -> 1-D sequence of values (all the same length).

    Returns:
        ``(batched_config, in_axes)`` for ``jax.vmap(fn, in_axes=(in_axes, ...))``.

    Raises:
        ValueError: unknown path (the message lists the valid ones), empty or mismatched lengths.
    """
    leaves_with_paths, treedef = jax.tree_util.tree_flatten_with_path(config)
    paths = [".".join(_part(e) for e in path) for path, _ in leaves_with_paths]
    unknown = sorted(set(values) - set(paths))
    if unknown:
        raise ValueError(f"unknown sweep parameter(s) {unknown}; sweepable leaves are {paths}")
    arrays = {k: jnp.asarray(v) for k, v in values.items()}
    sizes = {k: (a.shape[0] if a.ndim else 0) for k, a in arrays.items()}
    if any(s == 0 for s in sizes.values()) or len(set(sizes.values())) > 1:
        raise ValueError(f"each swept parameter needs a non-empty 1-D list of equal length; got sizes {sizes}")
    new_leaves = [arrays.get(p, leaf) for p, (_, leaf) in zip(paths, leaves_with_paths, strict=True)]
    axes = [0 if p in arrays else None for p in paths]
    return jax.tree_util.tree_unflatten(treedef, new_leaves), jax.tree_util.tree_unflatten(treedef, axes)
