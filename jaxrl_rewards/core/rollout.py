"""Stepping N environments in lock-step, collecting ``[T, N]`` batches, evaluating policies,
and tracking episode returns of every stream. All functions are pure and jittable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.streams import env_streams, stack_streams, stream_names
from jaxrl_rewards.core.types import Array, PRNGKey, Transition

#: info keys the env API adds on every step; they are lifted into Transition fields instead.
_RESERVED_INFO = ("final_observation", "terminated", "truncated")

#: ``policy(key, obs [N, ...]) -> (action [N, ...], extras pytree of [N, ...])``
Policy = Callable[[PRNGKey, Any], tuple[Array, Any]]


class EnvCarry(struct.PyTreeNode):
    """The part of the training state that belongs to the N environments.

    Attributes:
        env_state: the environments' states, leaves ``[N, ...]``.
        obs: the current observations, ``[N, *obs_shape]``.
    """

    env_state: Any
    obs: Any


def reset_envs(env: Any, params: Any, key: PRNGKey, num_envs: int) -> EnvCarry:
    """Reset ``num_envs`` environments with independent keys."""
    obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(key, num_envs), params)
    return EnvCarry(env_state=env_state, obs=obs)


def step_envs(env: Any, params: Any, key: PRNGKey, carry: EnvCarry, action: Array) -> tuple[EnvCarry, Transition]:
    """Step every environment once.

    Returns:
        The new carry (auto-reset observations) and a ``[N]`` ``Transition`` whose
        ``next_obs`` is the true last observation on episode ends.
    """
    num_envs = jax.tree.leaves(carry.obs)[0].shape[0]
    keys = jax.random.split(key, num_envs)
    obs, env_state, reward, terminated, truncated, info = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
        keys, carry.env_state, action, params
    )
    transition = Transition(
        obs=carry.obs,
        action=action,
        next_obs=info["final_observation"],
        reward=jnp.asarray(reward, jnp.float32),
        terminated=jnp.asarray(terminated, bool),
        truncated=jnp.asarray(truncated, bool),
        info={k: v for k, v in info.items() if k not in _RESERVED_INFO},
    )
    return EnvCarry(env_state=env_state, obs=obs), transition


def rollout(
    env: Any, params: Any, policy: Policy, carry: EnvCarry, key: PRNGKey, num_steps: int
) -> tuple[EnvCarry, Transition, Any]:
    """Run ``policy`` for ``num_steps`` steps in every environment.

    Returns:
        The final carry, a time-major ``Transition`` ``[T, N]`` and the policy extras
        (e.g. log-probabilities) stacked to ``[T, N, ...]``.
    """

    def step(carry: EnvCarry, step_key: PRNGKey):
        policy_key, env_key = jax.random.split(step_key)
        action, extras = policy(policy_key, carry.obs)
        carry, transition = step_envs(env, params, env_key, carry, action)
        return carry, (transition, extras)

    carry, (batch, extras) = jax.lax.scan(step, carry, jax.random.split(key, num_steps))
    return carry, batch, extras


def example_batch(env: Any, params: Any, num_envs: int, action_fn: Callable[[PRNGKey, Any], Array]) -> Transition:
    """A ``[1, N]`` transition batch of the right shapes and dtypes, built abstractly
    (``jax.eval_shape``: nothing is run or compiled) and filled with zeros."""

    def one_step(key):
        carry = reset_envs(env, params, key, num_envs)
        action = action_fn(key, carry.obs)
        _, transition = step_envs(env, params, key, carry, action)
        return jax.tree.map(lambda x: x[None], transition)

    shapes = jax.eval_shape(one_step, jax.random.key(0))
    return jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)


class EpisodeTracker(struct.PyTreeNode):
    """Undiscounted per-episode sums of K reward channels, across batch boundaries.

    Attributes:
        running: sums of the unfinished episodes, ``[N, K]``.
        length: lengths of the unfinished episodes, ``[N]``.
        last_return: mean return of the episodes finished in the latest batch that had any,
            ``[K]`` (reported when a batch finishes no episode).
        last_length: mean length of those episodes, scalar.
    """

    running: Array
    length: Array
    last_return: Array
    last_length: Array

    @classmethod
    def create(cls, num_envs: int, num_channels: int) -> EpisodeTracker:
        return cls(
            running=jnp.zeros((num_envs, num_channels), jnp.float32),
            length=jnp.zeros((num_envs,), jnp.float32),
            last_return=jnp.zeros((num_channels,), jnp.float32),
            last_length=jnp.float32(0.0),
        )

    def track(self, rewards: Array, done: Array) -> tuple[EpisodeTracker, Array]:
        """Add a batch of rewards ``[T, N, K]`` with episode ends ``done [T, N]``.

        Returns:
            The new tracker and the number of episodes finished in the batch.
        """

        def step(carry, xs):
            running, length, total, total_len, count = carry
            r, d = xs
            running, length = running + r, length + 1.0
            d_f = d.astype(jnp.float32)
            total = total + (running * d_f[:, None]).sum(0)
            total_len = total_len + (length * d_f).sum()
            count = count + d_f.sum()
            keep = 1.0 - d_f
            return (running * keep[:, None], length * keep, total, total_len, count), None

        zeros = jnp.zeros_like(self.last_return)
        init = (self.running, self.length, zeros, jnp.float32(0.0), jnp.float32(0.0))
        (running, length, total, total_len, count), _ = jax.lax.scan(step, init, (rewards, done))
        have = count > 0
        # one reciprocal, multiplied in: XLA rewrites ``total / broadcast(count)`` into this form
        # in some programs and not in others (batched vs alone), which changed the last bit
        inv = 1.0 / jnp.maximum(count, 1.0)
        new = EpisodeTracker(
            running=running,
            length=length,
            last_return=jnp.where(have, total * inv, self.last_return),
            last_length=jnp.where(have, total_len * inv, self.last_length),
        )
        return new, count


def evaluate(
    env: Any, params: Any, policy: Policy, key: PRNGKey, num_episodes: int, max_steps: int
) -> dict[str, Array]:
    """Run ``num_episodes`` episodes in parallel with ``policy`` (typically deterministic)
    for at most ``max_steps`` steps and return the mean undiscounted return of every
    environment stream (``"task"``, costs, components, ``"true_reward"``), plus mean length.

    Returns:
        ``{"return/<stream>": scalar, ..., "length": scalar}``; episodes still running after
        ``max_steps`` count with their partial sums.
    """
    reset_key, run_key = jax.random.split(key)
    carry = reset_envs(env, params, reset_key, num_episodes)

    def step(state, step_key):
        carry, sums, length, alive = state
        policy_key, env_key = jax.random.split(step_key)
        action, _ = policy(policy_key, carry.obs)
        carry, transition = step_envs(env, params, env_key, carry, action)
        one_step = jax.tree.map(lambda x: x[None], transition)
        rewards, _, _, _ = stack_streams(env_streams(one_step, 1.0))
        alive_f = alive.astype(jnp.float32)
        sums = sums + rewards[0] * alive_f[:, None]
        length = length + alive_f
        alive = jnp.logical_and(alive, jnp.logical_not(transition.done))
        return (carry, sums, length, alive), None

    names = stream_names(env_streams(example_batch(env, params, 1, lambda k, o: policy(k, o)[0]), 1.0))
    init = (
        carry,
        jnp.zeros((num_episodes, len(names)), jnp.float32),
        jnp.zeros((num_episodes,), jnp.float32),
        jnp.ones((num_episodes,), bool),
    )
    (_, sums, length, _), _ = jax.lax.scan(step, init, jax.random.split(run_key, max_steps))
    out = {f"return/{name}": sums[:, i].mean() for i, name in enumerate(names)}
    out["length"] = length.mean()
    return out
