"""The one config-path scheme: dotted paths naming the leaves of a config pytree, shared by
Python's ``batch_config``, a sweep spec's ``[params]`` / ``[config]`` and the CLI's ``--set``.

A leaf's **real path** joins its pytree keys (``transform.transforms.0.factor``). Its
**canonical path** names chain members by their names instead of their index
(``transform.scale.factor``, ``transform.lagrangian.limits``, ``transform.scale_2.factor``;
names from ``transforms.core.Chain.member_names``). Both forms are accepted, mixed freely in
nested chains; ``resolve_path`` turns either into the real path, ``leaf_paths`` lists them.
A transform that is not a chain has no member part (``transform.factor``).

>>> from jaxrl_rewards.transforms import chain, clip, scale
>>> t = chain(scale(2.0), clip(-1.0, 1.0))
>>> leaf_paths(t)
['scale.factor', 'clip.low', 'clip.high']
>>> resolve_path(t, "clip.high"), resolve_path(t, "transforms.1.high")
('transforms.1.high', 'transforms.1.high')
>>> batched, axes = batch_config(t, {"clip.high": [0.5, 2.0]})
>>> batched.transforms[1].high.tolist(), axes.transforms[1].high, axes.transforms[0].factor
([0.5, 2.0], 0, None)

Unknown paths raise ``ConfigError`` naming the path, the closest valid ones and all valid
canonical paths.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import DictKey, FlattenedIndexKey, GetAttrKey, SequenceKey

from jaxrl_rewards.core.validation import ConfigError, close_matches
from jaxrl_rewards.transforms.core import Chain


@dataclass(frozen=True)
class Leaf:
    """One leaf of a config: its real path, canonical path, every accepted spelling, its value."""

    real: str
    canonical: str
    spellings: frozenset[str]
    value: Any


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


def _walk(tree: Any, prefix: tuple[tuple[str, ...], ...]) -> Iterator[tuple[tuple[tuple[str, ...], ...], Any]]:
    """Yield ``(segments, leaf)`` in ``jax.tree.leaves`` order; a segment is the tuple of its
    alternative spellings, real first (``("transforms.0", "scale")`` for a chain member)."""
    if isinstance(tree, Chain):
        for i, (name, member) in enumerate(zip(tree.member_names, tree.transforms, strict=True)):
            yield from _walk(member, (*prefix, (f"transforms.{i}", name)))
        return
    flat = jax.tree_util.tree_flatten_with_path(tree, is_leaf=lambda x: x is not tree and isinstance(x, Chain))[0]
    for path, leaf in flat:
        segments = (*prefix, *((_part(e),) for e in path))
        if isinstance(leaf, Chain):
            yield from _walk(leaf, segments)
        else:
            yield segments, leaf


def config_leaves(tree: Any) -> list[Leaf]:
    """Every leaf of ``tree`` with its paths, in ``jax.tree.leaves`` order."""
    out = []
    for segments, value in _walk(tree, ()):
        real = ".".join(s[0] for s in segments)
        canonical = ".".join(s[-1] for s in segments)
        spellings = frozenset(".".join(choice) for choice in itertools.product(*segments))
        out.append(Leaf(real, canonical, spellings, value))
    return out


def leaf_paths(tree: Any, canonical: bool = True) -> list[str]:
    """Dotted paths of every leaf of ``tree``, in ``jax.tree.leaves`` order: canonical
    (``transform.lagrangian.limits``) or, with ``canonical=False``, real
    (``transform.transforms.0.limits``)."""
    return [leaf.canonical if canonical else leaf.real for leaf in config_leaves(tree)]


def _unknown(tree: Any, path: str, where: str, leaves: list[Leaf]) -> ConfigError:
    valid = [leaf.canonical for leaf in leaves]
    fields = getattr(tree, "__dataclass_fields__", {})
    if path in fields and not fields[path].metadata.get("pytree_node", True):
        return ConfigError(
            f"{where}: {path!r} is a static option (it shapes the compiled program), not a leaf; set it in a "
            f"spec's [config] / a variant, or with --set {path}=..."
        )
    head = path.rpartition(".")[0]
    for leaf in leaves:
        if head and head in leaf.spellings and np.ndim(leaf.value):
            return ConfigError(
                f"{where}: {head!r} is an array leaf of shape {np.shape(leaf.value)}; element paths such as "
                f"{path!r} are not supported: set the whole array (e.g. {leaf.canonical}=[...]) or use variants"
            )
    spellings = sorted({s for leaf in leaves for s in leaf.spellings})
    hint = close_matches(path, spellings, cutoff=0.5)
    return ConfigError(f"{where}: unknown parameter {path!r}{hint}; valid paths: {valid}")


def find_leaf(tree: Any, path: str, where: str = "config path") -> Leaf:
    """The leaf that ``path`` names (canonical, real or mixed spelling); ``ConfigError``
    naming ``where``, close matches and the valid canonical paths otherwise."""
    leaves = config_leaves(tree)
    for leaf in leaves:
        if path in leaf.spellings:
            return leaf
    raise _unknown(tree, path, where, leaves)


def resolve_path(tree: Any, path: str, where: str = "config path") -> str:
    """The real leaf path of ``path``: ``resolve_path(config, "transform.lagrangian.limits")``
    -> ``"transform.transforms.0.limits"`` (raises ``ConfigError`` for unknown paths)."""
    return find_leaf(tree, path, where).real


def _coerce(old: Any, value: Any, where: str) -> Any:
    """``value`` in the type and shape of the leaf ``old`` it replaces."""
    if isinstance(old, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if isinstance(old, (int, float)) and not isinstance(old, np.generic):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        if isinstance(old, int) and not float(value).is_integer():
            raise ConfigError(f"{where}: integer leaf, got {value!r}")
        return type(old)(value)
    old_arr = np.asarray(old)
    try:
        new = np.asarray(value, dtype=old_arr.dtype)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: cannot read {value!r} as {old_arr.dtype} values") from None
    if new.shape != old_arr.shape:
        raise ConfigError(f"{where}: expected shape {old_arr.shape} (like {old_arr.tolist()}), got {new.shape}")
    return jnp.asarray(new) if isinstance(old, jax.Array) else new


def set_leaves(tree: Any, values: Mapping[str, Any], where: str = "config") -> Any:
    """``tree`` with the leaves named by ``values`` (path -> value) replaced, each value cast
    to the type, dtype and shape of the leaf it replaces (``ConfigError`` on a mismatch)."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    index = {leaf.real: i for i, leaf in enumerate(config_leaves(tree))}
    for path, value in values.items():
        real = resolve_path(tree, path, f"{where} {path}")
        leaves[index[real]] = _coerce(leaves[index[real]], value, f"{where} {path}")
    return jax.tree_util.tree_unflatten(treedef, leaves)


def batch_config(config: Any, values: Mapping[str, Any]) -> tuple[Any, Any]:
    """Replace the leaves named by dotted paths with arrays of values to sweep.

    Args:
        config: any pytree config (agent config, transform, env params).
        values: dotted path (canonical or real, see the module docstring) -> ``S`` values of
            the leaf's shape (``[S]`` for a scalar leaf, ``[S, K]`` for a ``[K]`` leaf such as
            a Lagrangian's ``limits``), the same ``S`` for every path.

    Returns:
        ``(batched_config, in_axes)`` for ``jax.vmap(fn, in_axes=(in_axes, ...))``: the named
        leaves get a leading ``[S]`` axis (``in_axes`` 0), every other leaf is unchanged (``None``).

    Raises:
        ConfigError: unknown path (the message lists the valid ones), values of the wrong
            shape, empty or mismatched lengths.
    """
    leaves = config_leaves(config)
    flat, treedef = jax.tree_util.tree_flatten(config)
    arrays = {}
    for path, value in values.items():
        leaf = find_leaf(config, path, "sweep parameter")
        if leaf.real in arrays:
            raise ConfigError(f"sweep parameter {path!r}: names the same leaf as another parameter ({leaf.real})")
        array = jnp.asarray(value)
        shape = np.shape(leaf.value)
        if array.ndim != len(shape) + 1 or array.shape[1:] != shape or not array.shape[0]:
            want = "[" + ", ".join(["S", *map(str, shape)]) + "]"
            raise ConfigError(
                f"sweep parameter {path!r}: needs S >= 1 values of the leaf's shape {shape}, an array of shape "
                f"{want}; got shape {array.shape}"
            )
        arrays[leaf.real] = array
    sizes = {k: a.shape[0] for k, a in arrays.items()}
    if len(set(sizes.values())) > 1:
        raise ConfigError(f"each swept parameter needs the same number of values; got sizes {sizes}")
    new_leaves = [arrays.get(leaf.real, old) for leaf, old in zip(leaves, flat, strict=True)]
    axes = [0 if leaf.real in arrays else None for leaf in leaves]
    return jax.tree_util.tree_unflatten(treedef, new_leaves), jax.tree_util.tree_unflatten(treedef, axes)


__all__ = ["Leaf", "batch_config", "config_leaves", "find_leaf", "leaf_paths", "resolve_path", "set_leaves"]
