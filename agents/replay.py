"""A uniform replay buffer that lives in device memory, as a pytree (jittable, vmappable).

The buffer is a ring of fixed ``capacity``: every leaf of the stored pytree has shape
``[capacity, ...]``; ``add`` writes a batch of ``M`` items at the write position (wrapping
around), ``sample`` draws indices uniformly from the filled part. Everything is pure: ``add``
returns a new buffer.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl_rewards.core.types import Array, PRNGKey


class ReplayBuffer(struct.PyTreeNode):
    """Ring buffer of pytree items.

    Attributes:
        data: the stored items, leaves ``[capacity, ...]``.
        position: next write index (int32 scalar).
        size: number of filled slots, at most ``capacity`` (int32 scalar).
    """

    data: Any
    position: Array
    size: Array

    @classmethod
    def create(cls, example: Any, capacity: int) -> ReplayBuffer:
        """An empty buffer for items shaped like ``example`` (one item, no batch axis)."""
        data = jax.tree.map(lambda x: jnp.zeros((capacity, *jnp.shape(x)), jnp.asarray(x).dtype), example)
        return cls(data=data, position=jnp.int32(0), size=jnp.int32(0))

    @property
    def capacity(self) -> int:
        return jax.tree.leaves(self.data)[0].shape[0]

    def add(self, items: Any) -> ReplayBuffer:
        """Append ``M`` items (leaves ``[M, ...]``); the oldest are overwritten when full."""
        count = jax.tree.leaves(items)[0].shape[0]
        index = (self.position + jnp.arange(count)) % self.capacity
        data = jax.tree.map(lambda buf, x: buf.at[index].set(x.astype(buf.dtype)), self.data, items)
        return ReplayBuffer(
            data=data,
            position=(self.position + count) % self.capacity,
            size=jnp.minimum(self.size + count, self.capacity),
        )

    def sample(self, key: PRNGKey, batch_size: int) -> Any:
        """``batch_size`` items drawn uniformly with replacement from the filled slots
        (leaves ``[batch_size, ...]``). Sampling an empty buffer returns slot 0."""
        index = jax.random.randint(key, (batch_size,), 0, jnp.maximum(self.size, 1))
        return jax.tree.map(lambda buf: buf[index], self.data)
