"""Implicit step rewards from outcome labels (OPRL-style outcome-supervised process rewards).

Only the outcome of an episode is labelled (``y = 1`` if its undiscounted task return exceeds
``threshold``); a step-reward model ``r_φ(s, a) = w · φ(s, a)`` is fitted so that the episode's
summed step rewards predict the outcome,

    P(y = 1 | episode) = σ(b + Σ_t r_φ(s_t, a_t)),   loss = BCE + l2 · |w|^2,

and ``r_φ`` is then paid at every step: the credit of a delayed, sparse outcome is spread onto
the steps whose (state, action) predicts it. Features ``φ(s, a)``: ``flatten(obs) ⊗ onehot(a)``
for discrete actions (exact credit per pair with one-hot observations), ``[obs, action]`` for
continuous ones.

Episodes are read from the batch ``[T, N]``: only those that start after an episode end inside
the batch and end inside it are labelled (an episode cut by the batch edges has no known start
or outcome). ``update`` takes ``num_updates`` Adam steps on the batch's complete episodes.

The output is a new stream ``"implicit"`` (kind ``"learned"``, weight ``coef``, the task's
discount) or, with ``replace_task=True``, the task stream's rewards are replaced by ``r_φ``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.streams import TASK
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey, Stream, Streams, TransformSpec, Transition
from jaxrl_rewards.core.validation import (
    ConfigError,
    check_finite,
    check_nonnegative,
    check_positive,
    check_positive_int,
)
from jaxrl_rewards.transforms.core import RewardTransform
from jaxrl_rewards.transforms.models import adam, gradient_steps


class OutcomeRewardState(struct.PyTreeNode):
    """``params = {"w": [F], "b": scalar}``, the Adam state and (static) the number of
    discrete actions (``None`` for continuous actions)."""

    params: dict[str, Array]
    opt_state: Any
    num_actions: int | None = struct.field(pytree_node=False, default=None)


def episode_segments(done: Array) -> tuple[Array, Array]:
    """Episode ids and completeness for a batch's ``done [T, N]``.

    Returns:
        ``segment [T, N]`` int32: ``n * (T + 1) + (episodes finished before t in env n)``;
        ``complete [N * (T + 1)]`` bool: the segment started after a ``done`` inside the batch
        and ends with one.
    """
    steps, envs = done.shape
    d = done.astype(jnp.int32)
    before = jnp.cumsum(d, axis=0) - d  # episodes finished before step t
    segment = jnp.arange(envs)[None, :] * (steps + 1) + before
    ends = jax.ops.segment_sum(d.reshape(-1), segment.reshape(-1), num_segments=envs * (steps + 1))
    local = jnp.tile(jnp.arange(steps + 1), envs)
    return segment, (ends > 0) & (local > 0)


def features(obs: Array, action: Array, num_actions: int | None) -> Array:
    """``φ(s, a)``: ``[..., D * A]`` (``flatten(obs) ⊗ onehot(a)``) for discrete actions
    (``num_actions`` given), else ``[..., D + action_dim]``."""
    batch_shape = action.shape if num_actions else action.shape[:-1]
    flat = jnp.asarray(obs, jnp.float32).reshape((*batch_shape, -1))
    if num_actions:
        onehot = jax.nn.one_hot(action, num_actions)
        return (flat[..., :, None] * onehot[..., None, :]).reshape((*flat.shape[:-1], -1))
    return jnp.concatenate([flat, jnp.asarray(action, jnp.float32)], -1)


class OutcomeReward(RewardTransform):
    """Implicit step rewards fitted to outcome labels (module docstring).

    Attributes:
        threshold: an episode's outcome is ``return > threshold`` (leaf).
        learning_rate: Adam step size (leaf).
        l2: weight decay on ``w`` (leaf).
        coef: weight of the ``"implicit"`` stream (leaf).
        num_updates: static, Adam steps per ``update``.
        replace_task: static, replace the task stream's rewards instead of adding a stream.
        name: static, the new stream's name.
    """

    threshold: Array | float = 0.5
    learning_rate: Array | float = 0.1
    l2: Array | float = 1e-3
    coef: Array | float = 1.0
    num_updates: int = struct.field(pytree_node=False, default=20)
    replace_task: bool = struct.field(pytree_node=False, default=False)
    name: str = struct.field(pytree_node=False, default="implicit")

    def validate(self) -> OutcomeReward:
        """``threshold`` and ``coef`` finite, ``learning_rate > 0``, ``l2 >= 0`` (element by
        element: swept values too); ``num_updates`` a positive int, ``name`` non-empty."""
        check_finite(self.threshold, "outcome_reward: threshold")
        check_positive(self.learning_rate, "outcome_reward: learning_rate")
        check_nonnegative(self.l2, "outcome_reward: l2")
        check_finite(self.coef, "outcome_reward: coef")
        check_positive_int(self.num_updates, "outcome_reward: num_updates")
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"outcome_reward: name must be a non-empty string, got {self.name!r}")
        return self

    def init(self, key: PRNGKey, spec: TransformSpec) -> OutcomeRewardState:
        del key
        n = getattr(spec.action_space, "n", None)
        num_actions = int(n) if n is not None else None
        example = spec.example
        dim = features(example.obs[0], example.action[0], num_actions).shape[-1]
        params = {"w": jnp.zeros((dim,), jnp.float32), "b": jnp.float32(0.0)}
        return OutcomeRewardState(
            params=params, opt_state=adam(self.learning_rate).init(params), num_actions=num_actions
        )

    def step_rewards(self, state: OutcomeRewardState, batch: Transition) -> Array:
        """``r_φ(s_t, a_t)`` for the batch, ``[T, N]``."""
        return features(batch.obs, batch.action, state.num_actions) @ state.params["w"]

    def apply(self, state: OutcomeRewardState, streams: Streams, batch: Transition) -> tuple[Streams, Any]:
        if TASK not in streams:
            raise ValueError(f"outcome_reward: no {TASK!r} stream; the batch has streams {sorted(streams)}")
        reward = self.step_rewards(state, batch)
        task = streams[TASK]
        if self.replace_task:
            return {**streams, TASK: task.replace(reward=reward)}, state
        if self.name in streams:
            raise ValueError(f"outcome_reward: stream {self.name!r} already exists")
        new = Stream(reward=reward, weight=jnp.asarray(self.coef, jnp.float32), discount=task.discount, kind="learned")
        return {**streams, self.name: new}, state

    def loss(self, params: dict[str, Array], phi: Array, batch: Transition) -> tuple[Array, Array]:
        """``(mean BCE over complete episodes + l2 |w|^2, number of complete episodes)``."""
        segment, complete = episode_segments(batch.done)
        count = complete.shape[0]
        logits = params["b"] + jax.ops.segment_sum((phi @ params["w"]).reshape(-1), segment.reshape(-1), count)
        returns = jax.ops.segment_sum(batch.reward.reshape(-1), segment.reshape(-1), count)
        label = (returns > self.threshold).astype(jnp.float32)
        bce = jnp.logaddexp(0.0, logits) - label * logits  # -[y log σ + (1 - y) log(1 - σ)]
        mask = complete.astype(jnp.float32)
        episodes = mask.sum()
        return (bce * mask).sum() / jnp.maximum(episodes, 1.0) + self.l2 * jnp.sum(params["w"] ** 2), episodes

    def update(
        self, state: OutcomeRewardState, streams: Streams, batch: Transition, key: PRNGKey
    ) -> tuple[Any, Metrics]:
        del streams, key
        phi = features(batch.obs, batch.action, state.num_actions)
        params, opt_state, (losses, episodes) = gradient_steps(
            lambda p: self.loss(p, phi, batch),
            adam(self.learning_rate),
            state.params,
            state.opt_state,
            length=self.num_updates,
            has_aux=True,
        )
        return state.replace(params=params, opt_state=opt_state), {
            "outcome_loss": losses[-1],
            "outcome_episodes": episodes[-1],
        }


def outcome_reward(
    threshold: Array | float = 0.5,
    learning_rate: Array | float = 0.1,
    l2: Array | float = 1e-3,
    coef: Array | float = 1.0,
    num_updates: int = 20,
    replace_task: bool = False,
    name: str = "implicit",
) -> RewardTransform:
    """Implicit step rewards learned from episode outcomes (module docstring); ``ConfigError``
    on bad values."""
    return OutcomeReward(
        threshold=threshold,
        learning_rate=learning_rate,
        l2=l2,
        coef=coef,
        num_updates=num_updates,
        replace_task=bool(replace_task),
        name=name,
    ).validate()


__all__ = ["OutcomeReward", "OutcomeRewardState", "episode_segments", "features", "outcome_reward"]
