"""Frozen dataclasses that are JAX pytree nodes: ``PyTreeNode``, ``dataclass`` and ``field``, a
drop-in for ``flax.struct`` whose tree structures tell classes apart.

A field is a leaf (``field()``, the default) or static (``field(pytree_node=False)``: part of
the tree structure, so it must be hashable, and changing it recompiles). Leaves flatten in field
order with ``GetAttrKey(name)`` paths, as ``flax.struct`` does, so the same object gives the same
leaves in the same order.

**Why not ``flax.struct``.** flax registers its dataclasses with
``jax.tree_util.register_dataclass``, and in jaxlib 0.10.2 the ``PyTreeDef`` of such a node
compares *equal* to that of any other dataclass node with as many data fields and equal static
values, whatever its class: ``EpsilonGreedy(epsilon=0.2)`` and ``UCB1(alpha=1.0)`` have equal
(though differently hashed) structures. ``jit``'s C++ dispatch cache finds a call's signature by
hash, then equality, so when the two hashes share a probe group a call runs the executable
compiled for the *other* class. That happened in CI: a UCB1 run (tests/validation/test_bandits.py)
played epsilon-greedy with epsilon = alpha = 1, i.e. uniformly random arms, in one process out of
many. ``register_pytree_with_keys`` nodes compare their class as well as their static values,
so the library registers every one of its nodes that way (tests/core/test_struct.py).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform

import jax

T = TypeVar("T")
_MARK = "_jaxrl_rewards_pytree_node"


def field(pytree_node: bool = True, **kwargs: Any) -> Any:
    """A dataclass field; ``pytree_node=False`` makes it static (hashable, part of the structure).
    Other keywords go to ``dataclasses.field`` (``default``, ``default_factory``, ``kw_only``, ...)."""
    metadata = {**kwargs.pop("metadata", {}), "pytree_node": pytree_node}
    return dataclasses.field(metadata=metadata, **kwargs)


def _register(cls: type) -> None:
    fields = dataclasses.fields(cls)
    data = tuple(f.name for f in fields if f.metadata.get("pytree_node", True))
    static = tuple(f.name for f in fields if not f.metadata.get("pytree_node", True))
    keys = tuple(jax.tree_util.GetAttrKey(name) for name in data)

    def flatten(node: Any) -> tuple[list[Any], tuple[Any, ...]]:
        return [getattr(node, name) for name in data], tuple(getattr(node, name) for name in static)

    def flatten_with_keys(node: Any) -> tuple[list[tuple[Any, Any]], tuple[Any, ...]]:
        children, aux = flatten(node)
        return list(zip(keys, children, strict=True)), aux

    def unflatten(aux: tuple[Any, ...], children: Any) -> Any:
        node = object.__new__(cls)  # no __init__/__post_init__: leaves may be tracers or None
        for name, value in zip(data, children, strict=True):
            object.__setattr__(node, name, value)
        for name, value in zip(static, aux, strict=True):
            object.__setattr__(node, name, value)
        return node

    jax.tree_util.register_pytree_with_keys(cls, flatten_with_keys, unflatten, flatten)


def _replace(self: T, **updates: Any) -> T:
    """A copy with the given fields replaced (``dataclasses.replace``)."""
    return dataclasses.replace(self, **updates)  # type: ignore[type-var]


@dataclass_transform(field_specifiers=(field,))
def dataclass(cls: type[T] | None = None, **kwargs: Any) -> type[T] | Callable[[type[T]], type[T]]:
    """Make ``cls`` a frozen dataclass registered as a pytree node (``@dataclass`` or
    ``@dataclass(kw_only=True)``; keywords go to ``dataclasses.dataclass``). Adds ``replace``."""
    if cls is None:
        return functools.partial(dataclass, **kwargs)  # type: ignore[return-value]
    if _MARK in cls.__dict__:
        return cls
    kwargs.setdefault("frozen", True)
    cls = dataclasses.dataclass(**kwargs)(cls)
    cls.replace = _replace  # type: ignore[attr-defined]
    setattr(cls, _MARK, True)
    _register(cls)
    return cls


@dataclass_transform(field_specifiers=(field,))
class PyTreeNode:
    """Base class: every subclass is a frozen ``dataclass`` pytree node (keywords given to the
    class statement, e.g. ``class A(PyTreeNode, kw_only=True)``, go to ``dataclasses.dataclass``)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        dataclass(cls, **kwargs)

    replace = _replace


__all__ = ["PyTreeNode", "dataclass", "field"]
