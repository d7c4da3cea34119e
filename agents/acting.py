"""Acting helpers shared by the agents: observation flattening, ε schedules and ε-greedy
actions on multi-stream Q networks, and action scaling for continuous policies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_rewards.core.types import Array, PRNGKey


def flatten_obs(obs: Array, batch_ndim: int) -> Array:
    """``[*batch, ...] -> [*batch, D]`` float32 (``batch_ndim`` leading axes kept)."""
    return jnp.asarray(obs, jnp.float32).reshape((*obs.shape[:batch_ndim], -1))


def linear_epsilon(step: Array, total: int, start: Array, end: Array, fraction: Array) -> Array:
    """ε decaying linearly from ``start`` to ``end`` over the first ``fraction * total`` steps:
    ``start + (end - start) * clip(step / max(fraction * total, 1), 0, 1)``."""
    progress = jnp.clip(step / jnp.maximum(fraction * total, 1.0), 0.0, 1.0)
    return start + (end - start) * progress


def q_policy(
    q_net: Any, params: Any, weights: Array, epsilon: Array | None = None
) -> Callable[[PRNGKey, Any], tuple[Array, None]]:
    """Policy of a multi-stream Q network (``[N, A, K]`` heads) on ``sum_k w_k Q_k``:
    ``(key, obs [N, ...]) -> (actions [N] int32, None)``, greedy, or ε-greedy when ``epsilon`` is given."""

    def act(key, obs):
        q = (q_net.apply(params, flatten_obs(obs, 1)) * weights).sum(-1)
        if epsilon is None:
            return jnp.argmax(q, axis=-1).astype(jnp.int32), None
        return epsilon_greedy(key, q, epsilon), None

    return act


def epsilon_greedy(key: PRNGKey, q: Array, epsilon: Array) -> Array:
    """Greedy actions of ``q [N, A]`` replaced by uniform ones with probability ε; ``[N]`` int32."""
    explore_key, action_key = jax.random.split(key)
    greedy = jnp.argmax(q, axis=-1)
    random = jax.random.randint(action_key, greedy.shape, 0, q.shape[-1])
    explore = jax.random.uniform(explore_key, greedy.shape) < epsilon
    return jnp.where(explore, random, greedy).astype(jnp.int32)


def scale_action(unit: Array, low: Array, high: Array) -> Array:
    """Map ``[-1, 1]`` actions to ``[low, high]``: ``low + (clip(u, -1, 1) + 1) (high - low) / 2``
    (unbounded dimensions pass through)."""
    finite = jnp.isfinite(low) & jnp.isfinite(high)
    scaled = low + (jnp.clip(unit, -1.0, 1.0) + 1.0) * 0.5 * (high - low)
    return jnp.where(finite, scaled, unit)


class ActionMappedEnv:
    """Present ``env`` with actions passed through ``fn`` first (e.g. ``[-1, 1]`` -> bounds)."""

    def __init__(self, env: Any, fn: Callable[[Array], Array]):
        self._env, self._fn = env, fn

    def reset(self, key, params):
        """``env.reset`` unchanged."""
        return self._env.reset(key, params)

    def step(self, key, state, action, params):
        """``env.step`` on ``fn(action)``."""
        return self._env.step(key, state, self._fn(action), params)
