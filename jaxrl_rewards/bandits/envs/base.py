"""The bandit environment contract (see the package docstring) and shared helpers."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.types import Array, PRNGKey
from jaxrl_rewards.core.validation import ConfigError, check_finite


class Expected(struct.PyTreeNode):
    """What an arm pull yields in expectation this round (for metrics, never for learners).

    Attributes:
        reward: expected reward of every arm, ``[K]``.
        cost: expected cost of every arm, ``[K]`` (zeros when unconstrained).
        best: the comparator arm for regret, int32 scalar.
        threshold: the cost threshold, scalar (``inf`` when unconstrained).
    """

    reward: Array
    cost: Array
    best: Array
    threshold: Array


class BanditEnv(struct.PyTreeNode):
    """Base class: a stateless, context-free bandit. Subclasses override what they need."""

    num_arms: int = struct.field(pytree_node=False, default=2)
    context_dim: int = struct.field(pytree_node=False, default=0)
    #: the largest horizon the environment supports (adversarial tables); ``None`` = any.
    max_horizon: int | None = struct.field(pytree_node=False, default=None)
    #: whether pulls carry a cost with a threshold (constrained bandits).
    constrained: bool = struct.field(pytree_node=False, default=False)

    def init(self, key: PRNGKey) -> Any:
        """Initial environment state; ``()`` for memoryless bandits."""
        del key
        return ()

    def context(self, key: PRNGKey, state: Any, t: Array) -> Array:
        """The context of round ``t``, ``[context_dim]``."""
        del key, state, t
        return jnp.zeros((self.context_dim,), jnp.float32)

    def mean_rewards(self, state: Any, x: Array, t: Array) -> Array:
        """Expected reward of every arm this round, ``[K]``."""
        raise NotImplementedError

    def expected(self, state: Any, x: Array, t: Array) -> Expected:
        """Expected reward/cost of every arm, comparator arm and threshold (see module doc)."""
        means = self.mean_rewards(state, x, t)
        return Expected(
            reward=means,
            cost=jnp.zeros_like(means),
            best=jnp.argmax(means).astype(jnp.int32),
            threshold=jnp.float32(jnp.inf),
        )

    def sample(self, key: PRNGKey, state: Any, x: Array, arm: Array, t: Array) -> tuple[Array, Array]:
        """Observed ``(reward, cost)`` of pulling ``arm``, float32 scalars."""
        raise NotImplementedError

    def transition(self, state: Any, arm: Array, t: Array) -> Any:
        """Environment state after ``arm`` was pulled in round ``t``; unchanged by default."""
        del arm, t
        return state


def _f32(x: Any) -> Array:
    return jnp.asarray(x, jnp.float32)


def _vector(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] < 2:
        raise ConfigError(f"{name} must be a vector with one entry per arm (at least 2 arms), got shape {arr.shape}")
    check_finite(arr, name)
    return arr
