"""Pieces shared by the value-based and actor-critic agents (DQN, PQN, SAC): the stream
layout a transform produces, observation flattening, ε schedules, action scaling.

Reward streams in value-based agents: every agent learns one value head per stream (the
stream's own discount and episodic flag) and combines heads with the stream weights, as PPO
combines advantages. ``jaxrl_rewards.streams.scalarize`` is the fallback for an agent that
wants one scalar reward (the minimal example agent uses it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxrl_rewards.rollout import example_batch
from jaxrl_rewards.streams import check_streams, env_streams, stream_names
from jaxrl_rewards.transforms.core import RewardTransform
from jaxrl_rewards.types import Array, PRNGKey, TransformSpec
from jaxrl_rewards.validation import ConfigError


class StreamLayout(NamedTuple):
    """Static stream layout of a (env, transform) pair, found by tracing ``transform.apply``
    abstractly on an example batch.

    Attributes:
        spec: the ``TransformSpec`` handed to ``transform.init``.
        names: output stream names in canonical order (one value head each).
        episodic: the streams' episodic flags.
    """

    spec: TransformSpec
    names: tuple[str, ...]
    episodic: tuple[bool, ...]


def stream_layout(
    env: Any,
    env_params: Any,
    transform: RewardTransform,
    num_envs: int,
    gamma: Array | float,
    zero_action: Callable[[PRNGKey, Any], Array],
) -> StreamLayout:
    """Trace ``transform`` on a ``[1, N]`` example batch (nothing is compiled) and return the
    stream layout; wrong stream shapes raise a ``ValueError`` naming the stream."""
    example = example_batch(env, env_params, num_envs, zero_action)
    base = stream_names(env_streams(example, gamma))
    spec = TransformSpec(env.observation_space(env_params), env.action_space(env_params), num_envs, base, example)

    def streams_of(key):
        state = transform.init(key, spec)
        out, _ = transform.apply(state, env_streams(example, gamma), example)
        return out

    out = jax.eval_shape(streams_of, jax.random.key(0))
    check_streams(out, (1, num_envs), where=f"{type(transform).__name__}.apply")
    names = stream_names(out)
    return StreamLayout(spec, names, tuple(bool(out[k].episodic) for k in names))


def flatten_obs(obs: Array, batch_ndim: int) -> Array:
    """``[*batch, ...] -> [*batch, D]`` float32."""
    return jnp.asarray(obs, jnp.float32).reshape((*obs.shape[:batch_ndim], -1))


def linear_epsilon(step: Array, total: int, start: Array, end: Array, fraction: Array) -> Array:
    """ε decaying linearly from ``start`` to ``end`` over the first ``fraction * total`` steps."""
    progress = jnp.clip(step / jnp.maximum(fraction * total, 1.0), 0.0, 1.0)
    return start + (end - start) * progress


def epsilon_greedy(key: PRNGKey, q: Array, epsilon: Array) -> Array:
    """Greedy actions of ``q [N, A]`` replaced by uniform ones with probability ε; ``[N]`` int32."""
    explore_key, action_key = jax.random.split(key)
    greedy = jnp.argmax(q, axis=-1)
    random = jax.random.randint(action_key, greedy.shape, 0, q.shape[-1])
    explore = jax.random.uniform(explore_key, greedy.shape) < epsilon
    return jnp.where(explore, random, greedy).astype(jnp.int32)


def scale_action(unit: Array, low: Array, high: Array) -> Array:
    """Map ``[-1, 1]`` actions to ``[low, high]`` (unbounded dimensions pass through)."""
    finite = jnp.isfinite(low) & jnp.isfinite(high)
    scaled = low + (jnp.clip(unit, -1.0, 1.0) + 1.0) * 0.5 * (high - low)
    return jnp.where(finite, scaled, unit)


class ActionMappedEnv:
    """Present ``env`` with actions passed through ``fn`` first (e.g. ``[-1, 1]`` -> bounds)."""

    def __init__(self, env: Any, fn: Callable[[Array], Array]):
        self._env, self._fn = env, fn

    def reset(self, key, params):
        return self._env.reset(key, params)

    def step(self, key, state, action, params):
        return self._env.step(key, state, self._fn(action), params)


def check_env(env: Any) -> None:
    """``ConfigError`` unless ``env`` has ``reset`` and ``step``."""
    if not (hasattr(env, "reset") and hasattr(env, "step")):
        raise ConfigError(f"env must be an environment object with reset/step, got {type(env).__name__}")


def resolve_env(env: str | Any, env_params: Any, presets: dict[str, dict[str, Any]], overrides: dict[str, Any]):
    """Shared ``make_config`` front end: look up a registered name (applying its preset) or
    take an env object. Returns ``(env, params, options)`` with ``env_name`` and
    ``eval_max_steps`` (from ``max_steps_in_episode``) filled in when not given."""
    if isinstance(env, str):
        from jaxrl_rewards.envs import make as make_env

        name = env
        env, default_params = make_env(name)
        options = {**presets.get(name, {}), **overrides}
    else:
        name = getattr(env, "name", type(env).__name__)
        default_params = env.default_params
        options = dict(overrides)
    options.setdefault("env_name", name)
    params = default_params if env_params is None else env_params
    if "eval_max_steps" not in options and hasattr(params, "max_steps_in_episode"):
        try:
            options["eval_max_steps"] = int(params.max_steps_in_episode)
        except (TypeError, jax.errors.ConcretizationTypeError):
            pass
    if "hidden_sizes" in options:
        options["hidden_sizes"] = tuple(options["hidden_sizes"])
    return env, params, options


def check_options(cls: type, overrides: dict[str, Any], agent: str) -> None:
    """``ConfigError`` listing the valid options when ``overrides`` has unknown keys."""
    fields = set(cls.__dataclass_fields__)
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ConfigError(
            f"unknown {agent} option(s) {unknown}; valid options: {sorted(fields - {'env', 'env_params'})}"
        )
