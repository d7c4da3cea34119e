"""Core data types: transitions, reward streams and the spec transforms are built from.

Everything here is a pytree, so it flows through ``jit``, ``vmap`` and ``lax.scan``.
Batches are time-major: leading axes ``[T, N]`` (T steps of N parallel environments).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxrl_rewards.core import struct

Array = jax.Array
PRNGKey = jax.Array
Streams = dict[str, "Stream"]
Metrics = dict[str, Array]

#: The kinds of reward stream (``Stream.kind``, static). Transforms find streams by kind, never
#: by name patterns:
#:
#: * ``"task"``: the environment reward (``env_streams``' ``"task"``).
#: * ``"cost"``: a constraint cost from ``info["cost"]`` (``"cost"`` or ``"cost_<k>"``); what
#:   ``lagrangian`` constrains by default.
#: * ``"component"``: an objective component from ``info["rewards"]`` (``"reward_<name>"``).
#: * ``"true_reward"``: the hidden true reward of a proxy-reward environment (measured only).
#: * ``"intrinsic"``: an exploration bonus (counts, RND, ICM, E3B, coverage, annotator...).
#: * ``"shaping"``: a shaping term kept as its own stream (``potential_shaping(as_stream=...)``).
#: * ``"learned"``: a learned reward added as a new stream (preference models, imitation).
#: * ``"penalty"``: a regularisation penalty (KL or occupancy penalty toward a reference).
#: * ``"other"``: anything else (the default: ``lift`` and hand-built streams).
STREAM_KINDS: tuple[str, ...] = (
    "task",
    "cost",
    "component",
    "true_reward",
    "intrinsic",
    "shaping",
    "learned",
    "penalty",
    "other",
)


class Transition(struct.PyTreeNode):
    """A time-major batch of environment transitions.

    Attributes:
        obs: observations the actions were taken in, ``[T, N, *obs_shape]``.
        action: actions, ``[T, N, *action_shape]``.
        next_obs: the observation the action led to, ``[T, N, *obs_shape]``. On an
            episode end this is the *true final observation* (``info["final_observation"]``),
            never the reset observation of the next episode.
        reward: the environment's reward, ``[T, N]``.
        terminated: the episode ended in a terminal state (no bootstrapping), ``[T, N]`` bool.
        truncated: the episode was cut by a time limit (bootstrap from ``next_obs``),
            ``[T, N]`` bool.
        info: extra signals, each ``[T, N, ...]``: ``"cost"`` (``[T, N]`` or ``[T, N, K]``),
            ``"rewards"`` (dict of named objective components), ``"true_reward"``.
    """

    obs: Any
    action: Array
    next_obs: Any
    reward: Array
    terminated: Array
    truncated: Array
    info: dict[str, Any] = struct.field(default_factory=dict)

    @property
    def done(self) -> Array:
        """Episode ended for any reason, ``[T, N]`` bool."""
        return jnp.logical_or(self.terminated, self.truncated)


class Stream(struct.PyTreeNode):
    """One named reward stream of a batch, with the metadata agents need to learn from it.

    Attributes:
        reward: the stream's rewards, ``[T, N]``.
        weight: scalar weight of this stream's advantage in the combined objective. May come
            from transform state (e.g. ``-lambda`` for a Lagrangian cost stream).
        discount: scalar discount used for this stream's returns and value head; a leaf so
            it can be swept with ``vmap``.
        episodic: static. ``True``: returns stop at episode ends (terminations cut the
            bootstrap, truncations bootstrap from the final observation). ``False``: the
            stream is treated as one continuing process across episode boundaries (RND's
            intrinsic stream).
        kind: static; what the stream is, one of ``STREAM_KINDS`` (``"task"``, ``"cost"``,
            ``"component"``, ``"intrinsic"``...). Set by ``env_streams`` and by the transforms
            that add streams; transforms select streams by kind (the Lagrangian constrains every
            ``"cost"`` stream by default). Default ``"other"``.
    """

    reward: Array
    weight: Array = struct.field(default_factory=lambda: jnp.float32(1.0))
    discount: Array = struct.field(default_factory=lambda: jnp.float32(0.99))
    episodic: bool = struct.field(pytree_node=False, default=True)
    kind: str = struct.field(pytree_node=False, default="other")


class TransformSpec(NamedTuple):
    """Static description handed to ``RewardTransform.init``.

    Attributes:
        observation_space: the environment's observation space (gymnax ``spaces``).
        action_space: the environment's action space.
        num_envs: N, the number of parallel environments in every batch.
        streams: names of the streams the transform receives, in order.
        example: a ``Transition`` of shape ``[1, N, ...]`` filled with zeros, for building
            models (network shapes) without touching the environment.
        kinds: the ``Stream.kind`` of each of ``streams`` (same order). Optional: when empty,
            ``core.streams.spec_kinds`` reads the kinds of the environment's streams from
            ``example`` (and calls any other stream ``"other"``); ``Chain`` fills it in for the
            members after the first.
    """

    observation_space: Any
    action_space: Any
    num_envs: int
    streams: tuple[str, ...]
    example: Transition
    kinds: tuple[str, ...] = ()
