"""Reward streams: building them from an environment batch, checking them, collapsing them.

A batch carries one or more named reward streams (``dict[str, Stream]``). The environment
provides the first ones:

* ``"task"`` (kind ``"task"``): the environment reward (weight 1).
* ``"cost"`` (scalar ``info["cost"]``) or ``"cost_0" ... "cost_{K-1}"`` (``info["cost"]`` of
  shape ``[K]``), kind ``"cost"``: constraint costs, weight 0 until a constraint transform
  prices them.
* ``"reward_<name>"`` for each entry of a dict ``info["rewards"]`` (or ``"reward_<i>"`` for
  an array ``[M]``), kind ``"component"``: objective components, weight 0 until a weighting
  transform uses them.
* ``"true_reward"`` from ``info["true_reward"]`` (proxy-reward environments), kind
  ``"true_reward"``: weight 0, kept so its returns are measured.

Streams with weight 0 still get a value head and per-stream return metrics. Code that looks
for streams of one sort uses their static ``kind`` (``streams_of_kind``), not their names.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax.numpy as jnp

from jaxrl_rewards.core.types import STREAM_KINDS, Array, Stream, Streams, TransformSpec, Transition

TASK = "task"


def _stream(reward: Array, weight: float, discount: Array, kind: str) -> Stream:
    return Stream(
        reward=jnp.asarray(reward, jnp.float32),
        weight=jnp.float32(weight),
        discount=jnp.asarray(discount, jnp.float32),
        episodic=True,
        kind=kind,
    )


def _vector_streams(prefix: str, values: Array, discount: Array, kind: str) -> Streams:
    """``[T, N]`` -> one stream ``prefix``; ``[T, N, K]`` -> streams ``prefix_0 .. prefix_{K-1}``."""
    values = jnp.asarray(values)
    if values.ndim == 2:
        return {prefix: _stream(values, 0.0, discount, kind)}
    if values.ndim == 3:
        return {f"{prefix}_{k}": _stream(values[..., k], 0.0, discount, kind) for k in range(values.shape[-1])}
    raise ValueError(
        f'info["{prefix}"] must be a scalar or a vector per step (batch shape [T, N] or '
        f"[T, N, K]); got batch shape {values.shape}"
    )


def env_streams(batch: Transition, discount: Array | float) -> Streams:
    """The streams an environment batch provides (see the module docstring).

    Args:
        batch: a ``[T, N]`` transition batch.
        discount: scalar discount given to every environment stream.

    Returns:
        ``dict[str, Stream]`` with rewards ``[T, N]``.
    """
    streams: Streams = {TASK: _stream(batch.reward, 1.0, discount, "task")}
    info = batch.info
    if "cost" in info:
        streams.update(_vector_streams("cost", info["cost"], discount, "cost"))
    if "rewards" in info:
        components = info["rewards"]
        if isinstance(components, Mapping):
            for name, value in components.items():
                streams[f"reward_{name}"] = _stream(value, 0.0, discount, "component")
        else:
            streams.update(_vector_streams("reward", components, discount, "component"))
    if "true_reward" in info:
        streams["true_reward"] = _stream(info["true_reward"], 0.0, discount, "true_reward")
    return streams


def streams_of_kind(kinds: Mapping[str, str] | Streams, kind: str) -> tuple[str, ...]:
    """The names (sorted) of the streams of one ``kind``.

    Args:
        kinds: a ``dict[str, Stream]`` or a ``name -> kind`` mapping (``spec_kinds``).
        kind: one of ``STREAM_KINDS``.
    """
    if kind not in STREAM_KINDS:
        raise ValueError(f"unknown stream kind {kind!r}; the kinds are {list(STREAM_KINDS)}")
    return tuple(n for n in sorted(kinds) if _kind_of(kinds[n]) == kind)


def _kind_of(entry: Stream | str) -> str:
    return entry.kind if isinstance(entry, Stream) else entry


def stream_kinds(streams: Streams) -> dict[str, str]:
    """``name -> kind`` of a dict of streams."""
    return {name: s.kind for name, s in streams.items()}


def spec_kinds(spec: TransformSpec) -> dict[str, str]:
    """``name -> kind`` of the streams a transform receives (``spec.streams``).

    ``spec.kinds`` when given; otherwise the kinds ``env_streams`` gives the environment's
    streams of ``spec.example`` (so a spec built from names alone still knows which streams are
    costs), and ``"other"`` for any stream the environment does not provide.
    """
    if spec.kinds:
        if len(spec.kinds) != len(spec.streams):
            raise ValueError(f"TransformSpec: {len(spec.kinds)} kinds for {len(spec.streams)} streams")
        return dict(zip(spec.streams, spec.kinds, strict=True))
    env = {} if spec.example is None else stream_kinds(env_streams(spec.example, 0.0))
    return {name: env.get(name, "other") for name in spec.streams}


def stream_names(streams: Streams) -> tuple[str, ...]:
    """Stream names in the canonical (sorted) order used for value heads and metrics."""
    return tuple(sorted(streams))


def check_streams(streams: Streams, batch_shape: tuple[int, ...], where: str = "transform") -> None:
    """Raise a ``ValueError`` naming the stream if any reward is not ``batch_shape`` or any
    weight/discount is not a scalar. Works on concrete arrays and on ``jax.ShapeDtypeStruct``s
    (so it can run under ``jax.eval_shape`` before anything compiles)."""
    if not isinstance(streams, Mapping) or not streams:
        raise ValueError(f"{where} must return a non-empty dict of Stream; got {type(streams).__name__}")
    for name, stream in streams.items():
        if not isinstance(stream, Stream):
            raise ValueError(f"{where}: stream {name!r} is a {type(stream).__name__}, not a Stream")
        if stream.kind not in STREAM_KINDS:
            raise ValueError(f"{where}: stream {name!r} has kind {stream.kind!r}; the kinds are {list(STREAM_KINDS)}")
        if tuple(stream.reward.shape) != tuple(batch_shape):
            raise ValueError(
                f"{where}: stream {name!r} has reward shape {tuple(stream.reward.shape)}, "
                f"expected the batch shape [T, N] = {tuple(batch_shape)}"
            )
        for field in ("weight", "discount"):
            shape = tuple(jnp.shape(getattr(stream, field)))
            if shape != ():
                raise ValueError(f"{where}: stream {name!r} has {field} of shape {shape}; it must be a scalar")


def scalarize(streams: Streams) -> Array:
    """Collapse streams into one reward ``sum_k weight_k * reward_k``, ``[T, N]``.

    For agents that want a single scalar reward. Note that agents with one value head per
    stream (PPO here) combine *advantages* instead, which respects each stream's discount.
    """
    return sum(s.weight * s.reward for s in (streams[k] for k in stream_names(streams)))


def stack_streams(streams: Streams) -> tuple[Array, Array, Array, tuple[bool, ...]]:
    """Stack streams in canonical order.

    Returns:
        rewards ``[T, N, K]``, weights ``[K]``, discounts ``[K]`` and the static tuple of
        episodic flags (length K).
    """
    names = stream_names(streams)
    rewards = jnp.stack([streams[k].reward for k in names], axis=-1)
    weights = jnp.stack([jnp.asarray(streams[k].weight, jnp.float32) for k in names])
    discounts = jnp.stack([jnp.asarray(streams[k].discount, jnp.float32) for k in names])
    episodic = tuple(bool(streams[k].episodic) for k in names)
    return rewards, weights, discounts, episodic


def select_streams(streams: Streams, names: tuple[str, ...] | None, who: str) -> tuple[str, ...]:
    """Resolve a transform's stream selection. ``None`` means every stream; unknown names
    raise a ``ValueError`` that lists the available streams."""
    if names is None:
        return stream_names(streams)
    missing = [n for n in names if n not in streams]
    if missing:
        raise ValueError(f"{who}: unknown stream(s) {missing}; the batch has streams {list(stream_names(streams))}")
    return tuple(names)


def map_rewards(streams: Streams, names: tuple[str, ...], fn) -> Streams:
    """Return a copy of ``streams`` with ``fn(name, stream) -> reward [T, N]`` applied to ``names``."""
    out = dict(streams)
    for name in names:
        out[name] = streams[name].replace(reward=fn(name, streams[name]))
    return out


__all__ = [
    "TASK",
    "check_streams",
    "env_streams",
    "map_rewards",
    "scalarize",
    "select_streams",
    "spec_kinds",
    "stack_streams",
    "stream_kinds",
    "stream_names",
    "streams_of_kind",
]
