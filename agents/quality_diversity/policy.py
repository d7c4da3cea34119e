"""Quality diversity: the policy (a small greedy MLP), its rollout and the behaviour descriptors
read from the trajectory (package docstring: the shapes and the descriptors)."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_rewards.core.types import Array, PRNGKey
from jaxrl_rewards.core.validation import (
    ConfigError,
    close_matches,
)

#: descriptor name -> its dimension D
DESCRIPTORS: dict[str, int] = {"final_position": 2, "final_position_visits": 3}


# --------------------------------------------------------------------------- policy


def init_policy(
    key: PRNGKey, obs_dim: int, num_actions: int, hidden_sizes: tuple[int, ...] = (), scale: Array | float = 1.0
) -> tuple[dict[str, Array], ...]:
    """Random MLP parameters: layer ``l`` has ``w [n_l, n_{l+1}] ~ scale * N(0, 1) / sqrt(n_l)``
    and ``b [n_{l+1}] = 0``, sizes ``obs_dim -> *hidden_sizes -> num_actions``. Returns a tuple of
    ``{"w", "b"}`` dicts (float32)."""
    sizes = (int(obs_dim), *hidden_sizes, int(num_actions))
    keys = jax.random.split(key, len(sizes) - 1)
    return tuple(
        {
            "w": scale * jax.random.normal(k, (n_in, n_out), jnp.float32) / math.sqrt(n_in),
            "b": jnp.zeros((n_out,), jnp.float32),
        }
        for k, n_in, n_out in zip(keys, sizes[:-1], sizes[1:], strict=True)
    )


def policy_logits(params: tuple[dict[str, Array], ...], obs: Array) -> Array:
    """Logits ``[num_actions]`` of the MLP for one observation (flattened): ``h = tanh(h W + b)``
    on hidden layers, linear output."""
    h = jnp.reshape(obs, (-1,)).astype(jnp.float32)
    for i, layer in enumerate(params):
        h = h @ layer["w"] + layer["b"]
        if i + 1 < len(params):
            h = jnp.tanh(h)
    return h


def policy_action(params: tuple[dict[str, Array], ...], obs: Array) -> Array:
    """The greedy action ``argmax(policy_logits(params, obs))`` (int32 scalar; ties: lowest index)."""
    return jnp.argmax(policy_logits(params, obs)).astype(jnp.int32)


# --------------------------------------------------------------------------- rollout and descriptors


def check_env(env: Any, env_params: Any, descriptor: str) -> None:
    """``ConfigError`` unless ``env`` can be described: a known ``descriptor``, an int ``size``
    and ``info["pos"]`` of shape ``(2,)`` (found with ``jax.eval_shape``; nothing compiles)."""
    if descriptor not in DESCRIPTORS:
        raise ConfigError(
            f"descriptor={descriptor!r} is not one of {list(DESCRIPTORS)}{close_matches(descriptor, DESCRIPTORS)}"
        )
    if not (hasattr(env, "reset") and hasattr(env, "step")):
        raise ConfigError(f"env must be an environment object with reset/step, got {type(env).__name__}")
    if not isinstance(getattr(env, "size", None), int):
        raise ConfigError(f"{env!r} has no integer `size`: descriptors need a grid env such as 'DeceptiveMaze-v0'")

    def one_step(key):
        _, state = env.reset(key, env_params)
        return env.step(key, state, jnp.int32(0), env_params)[5]

    info = jax.eval_shape(one_step, jax.random.key(0))
    if "pos" not in info or tuple(info["pos"].shape) != (2,):
        got = tuple(info["pos"].shape) if "pos" in info else "no 'pos' key"
        raise ConfigError(
            f"{env!r}: descriptors need info['pos'] of shape (2,) (row, col), got {got}; info keys: {sorted(info)}"
        )


def rollout(
    params: Any, env: Any, env_params: Any, key: PRNGKey, horizon: int, descriptor: str = "final_position"
) -> tuple[Array, Array, Array]:
    """One greedy episode of ``params`` from ``env.reset``.

    Runs ``horizon`` steps (static) but counts only those up to the first ``terminated or
    truncated``: ``return = sum_{t <= t_end} r_t``, ``env_steps = t_end + 1`` (``horizon`` if the
    episode does not end). Descriptor ``[D]`` from ``p`` = ``info["pos"]`` (row, col) after the
    last counted step: ``"final_position"``: ``(p_col, p_row) / (size - 1)``;
    ``"final_position_visits"``: also ``|cells visited after a step| / size^2``.

    Returns ``(episode_return float32 [], descriptor float32 [D], env_steps int32 [])``.
    """
    size = int(env.size)
    keys = jax.random.split(key, horizon + 1)
    obs, state = env.reset(keys[0], env_params)

    def body(carry, step_key):
        obs, state, done, ret, steps, pos, visited = carry
        action = policy_action(params, obs)
        obs, state, reward, terminated, truncated, info = env.step(step_key, state, action, env_params)
        active = ~done
        cell_pos = jnp.asarray(info["pos"], jnp.int32)
        ret = ret + jnp.where(active, reward, 0.0)
        steps = steps + active.astype(jnp.int32)
        pos = jnp.where(active, cell_pos, pos)
        visited = visited.at[cell_pos[0] * size + cell_pos[1]].max(active)
        done = done | (active & (terminated | truncated))
        return (obs, state, done, ret, steps, pos, visited), None

    init = (
        obs,
        state,
        jnp.bool_(False),
        jnp.float32(0.0),
        jnp.int32(0),
        jnp.zeros(2, jnp.int32),
        jnp.zeros(size * size, bool),
    )
    (_, _, _, ret, steps, pos, visited), _ = jax.lax.scan(body, init, keys[1:])
    xy = jnp.stack([pos[1], pos[0]]).astype(jnp.float32) / (size - 1)
    if descriptor == "final_position_visits":
        xy = jnp.concatenate([xy, visited.mean(keepdims=True, dtype=jnp.float32)])
    return ret, xy, steps
