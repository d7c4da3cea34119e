"""Policies that collect offline datasets (``core.dataset.collect``): random, tabular (e.g. an
exact optimal policy from value iteration), a trained PPO state, and mixtures of them.

Every builder returns ``policy(key, obs [N, ...]) -> (action [N, ...], None)``, the
``core.rollout.Policy`` signature, so any of them rolls out under ``jit``.

>>> import jax, jax.numpy as jnp
>>> act = mixture_policy([constant_policy(0), constant_policy(1)], [0.0, 1.0])
>>> act(jax.random.key(0), jnp.zeros((3, 2)))[0].tolist()
[1, 1, 1]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.core.dataset import Dataset, collect, concatenate
from jaxrl_rewards.core.rollout import Policy
from jaxrl_rewards.core.types import Array, PRNGKey
from jaxrl_rewards.core.validation import ConfigError, check_positive_int


def _batch(obs: Any) -> int:
    return jax.tree.leaves(obs)[0].shape[0]


def random_policy(num_actions: int) -> Policy:
    """Uniform discrete actions in ``[0, num_actions)``, ``[N]`` int32."""
    check_positive_int(num_actions, "num_actions")

    def act(key, obs):
        return jax.random.randint(key, (_batch(obs),), 0, num_actions).astype(jnp.int32), None

    return act


def constant_policy(action: int) -> Policy:
    """Always the discrete ``action``, ``[N]`` int32."""

    def act(key, obs):
        del key
        return jnp.full((_batch(obs),), action, jnp.int32), None

    return act


def tabular_policy(actions: Any, state_index: Callable[[Array], Array] | None = None) -> Policy:
    """A deterministic tabular policy: ``actions [S]`` (int) looked up at
    ``state_index(obs [N, ...]) -> [N]`` (default: ``argmax`` of one-hot observations)."""
    table = jnp.asarray(np.asarray(actions), jnp.int32)
    if table.ndim != 1:
        raise ConfigError(f"tabular_policy: actions must be [S], got shape {table.shape}")
    index = state_index or (lambda obs: jnp.argmax(obs.reshape(obs.shape[0], -1), axis=-1))

    def act(key, obs):
        del key
        return table[index(obs)], None

    return act


def ppo_policy(config: Any, state: Any, greedy: bool = True) -> Policy:
    """The policy of a trained single-seed PPO ``state`` (greedy: the distribution's mode);
    raw policy actions, so collect on ``ppo.env_with_action_map(config)`` for continuous envs."""
    dist_of = ppo.policy_fn(config, state)

    def act(key, obs):
        dist = dist_of(obs)
        return (dist.mode() if greedy else dist.sample(seed=key)), None

    return act


def mixture_policy(policies: Sequence[Policy], probs: Sequence[float]) -> Policy:
    """Per environment and step, the action of policy ``i`` drawn with probability ``probs[i]``
    (``ConfigError`` unless probs are >= 0, sum to 1 and match ``policies``)."""
    p = np.asarray(probs, np.float64)
    if len(policies) < 1 or p.shape != (len(policies),):
        raise ConfigError(
            f"mixture_policy: need one probability per policy, got {len(policies)} policies, probs {probs!r}"
        )
    if np.any(p < 0) or abs(p.sum() - 1.0) > 1e-6:
        raise ConfigError(f"mixture_policy: probs must be >= 0 and sum to 1, got {probs!r}")
    logits = jnp.log(jnp.asarray(p, jnp.float32))

    def act(key, obs):
        choice_key, *keys = jax.random.split(key, len(policies) + 1)
        actions = jnp.stack([pol(k, obs)[0] for pol, k in zip(policies, keys, strict=True)])  # [P, N, ...]
        pick = jax.random.categorical(choice_key, logits, shape=(_batch(obs),))
        return jnp.take_along_axis(actions, pick.reshape((1, -1) + (1,) * (actions.ndim - 2)), 0)[0], None

    return act


def collect_sources(
    env: Any,
    env_params: Any,
    sources: dict[str, tuple[Policy, int]],
    key: PRNGKey,
    num_envs: int,
    metadata: dict[str, Any] | None = None,
) -> Dataset:
    """One dataset from several policies: ``sources`` maps a name to ``(policy, num_steps)``;
    transition ``source`` labels are the names' positions (``metadata["sources"]`` lists them)."""
    if not sources:
        raise ConfigError("collect_sources: give at least one source")
    parts = []
    for i, (policy, steps) in enumerate(sources.values()):
        part = collect(env, env_params, policy, jax.random.fold_in(key, i), num_envs, steps, source=i)
        parts.append(part)
    meta = {"sources": list(sources), "steps": {n: s for n, (_, s) in sources.items()}, "num_envs": num_envs}
    return concatenate(*parts, metadata={**meta, **dict(metadata or {})})


__all__ = ["collect_sources", "constant_policy", "mixture_policy", "ppo_policy", "random_policy", "tabular_policy"]
