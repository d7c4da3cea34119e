"""A uniform replay buffer that lives in device memory, as a pytree (jittable, vmappable).

The buffer is a ring of fixed ``capacity``: every leaf of the stored pytree has shape
``[capacity, ...]``; ``add`` writes a batch of ``M`` items at the write position (wrapping
around), ``sample`` draws indices uniformly from the filled part. Everything is pure: ``add``
returns a new buffer. :func:`replay_item` and :func:`replay_items` give the item layout the
replay agents (DQN, SAC) store: one transition with its transformed stream rewards.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_rewards.agents.acting import flatten_obs
from jaxrl_rewards.core import struct
from jaxrl_rewards.core.types import Array, PRNGKey, Transition


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
        """Number of slots (the leading size of every stored leaf)."""
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


def replay_item(obs: Array, action: Array, num_streams: int) -> dict[str, Array]:
    """Template of one replay item (for :meth:`ReplayBuffer.create`) from one flat observation
    ``[D]`` and one action: ``obs``, ``action``, ``rewards [K]``, ``terminated``, ``next_obs``."""
    return {
        "obs": obs,
        "action": action,
        "rewards": jnp.zeros((num_streams,), jnp.float32),
        "terminated": jnp.float32(0),
        "next_obs": obs,
    }


def replay_items(batch: Transition, rewards: Array, action: Array) -> dict[str, Array]:
    """A ``[T, N]`` batch as ``T * N`` replay items (layout of :func:`replay_item`): flat
    ``obs``, ``action`` (given, e.g. cast), transformed ``rewards [T, N, K]``, ``terminated``
    and ``next_obs`` (the true final observation on episode ends)."""
    flat = lambda x: x.reshape((-1, *x.shape[2:]))
    return {
        "obs": flat(flatten_obs(batch.obs, 2)),
        "action": flat(action),
        "rewards": flat(rewards),
        "terminated": flat(batch.terminated.astype(jnp.float32)),
        "next_obs": flat(flatten_obs(batch.next_obs, 2)),
    }
