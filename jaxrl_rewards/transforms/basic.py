"""Elementary transforms: scaling, clipping and running reward normalisation."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.running_stats import RunningMeanStd
from jaxrl_rewards.core.streams import TASK, map_rewards, select_streams
from jaxrl_rewards.core.types import Array, Metrics, Streams, TransformSpec, Transition
from jaxrl_rewards.core.validation import check_finite, check_ordered, check_positive
from jaxrl_rewards.transforms.core import RewardTransform

StreamSelection = tuple[str, ...] | None


class Scale(RewardTransform):
    """``r <- factor * r`` on the selected streams (``streams=None``: all of them)."""

    factor: Array | float = 1.0
    streams: StreamSelection = struct.field(pytree_node=False, default=(TASK,))

    def validate(self) -> Scale:
        """``factor`` finite, element by element (swept values too)."""
        check_finite(self.factor, "scale: factor")
        return self

    def apply(self, state: Any, streams: Streams, batch: Transition) -> tuple[Streams, Any]:
        names = select_streams(streams, self.streams, "scale")
        return map_rewards(streams, names, lambda _, s: s.reward * self.factor), state


def scale(factor: Array | float, streams: StreamSelection = (TASK,)) -> RewardTransform:
    """Multiply the rewards of ``streams`` by ``factor`` (a sweepable leaf)."""
    return Scale(factor=factor, streams=streams).validate()


class Clip(RewardTransform):
    """``r <- clip(r, low, high)`` on the selected streams."""

    low: Array | float = -1.0
    high: Array | float = 1.0
    streams: StreamSelection = struct.field(pytree_node=False, default=(TASK,))

    def validate(self) -> Clip:
        """``low`` and ``high`` finite, ``low <= high``, element by element (swept values too)."""
        check_finite(self.low, "clip: low")
        check_finite(self.high, "clip: high")
        check_ordered(self.low, self.high, "clip: low must not exceed high")
        return self

    def apply(self, state: Any, streams: Streams, batch: Transition) -> tuple[Streams, Any]:
        names = select_streams(streams, self.streams, "clip")
        return map_rewards(streams, names, lambda _, s: jnp.clip(s.reward, self.low, self.high)), state


def clip(low: Array | float = -1.0, high: Array | float = 1.0, streams: StreamSelection = (TASK,)) -> RewardTransform:
    """Clip the rewards of ``streams`` to ``[low, high]`` (both sweepable leaves)."""
    return Clip(low=low, high=high, streams=streams).validate()


class NormalizeState(struct.PyTreeNode):
    """Per-stream state of ``NormalizeRewards``.

    Attributes:
        returns: running discounted return of each environment, ``[N]`` per stream.
        stats: running statistics of those returns, per stream.
    """

    returns: dict[str, Array]
    stats: dict[str, RunningMeanStd]


class NormalizeRewards(RewardTransform):
    """Return-based running reward normalisation, per stream (as in PPO's reward scaling).

    For each selected stream and environment, a running discounted return
    ``G_t = r_t + gamma * G_{t-1} * (1 - done_{t-1})`` is kept (for a non-episodic stream the
    return never resets). Its running variance ``Var[G]`` is updated with the batch, and the
    stream's reward is divided by ``sqrt(Var[G] + eps)`` (not centred, so the sign of rewards
    and the optimal policy of the stream are preserved), then optionally clipped to
    ``[-clip, clip]``. ``gamma`` is the stream's own discount.
    """

    streams: StreamSelection = struct.field(pytree_node=False, default=(TASK,))
    eps: Array | float = 1e-8
    clip: Array | float | None = 10.0

    def validate(self) -> NormalizeRewards:
        """``eps > 0`` and ``clip > 0`` (when set), element by element (swept values too)."""
        check_positive(self.eps, "normalize_rewards: eps")
        if self.clip is not None:
            check_positive(self.clip, "normalize_rewards: clip")
        return self

    def init(self, key, spec: TransformSpec) -> NormalizeState:
        names = spec.streams if self.streams is None else self.streams
        missing = [n for n in names if n not in spec.streams]
        if missing:
            raise ValueError(
                f"normalize_rewards: unknown stream(s) {missing}; the batch has streams {list(spec.streams)}"
            )
        return NormalizeState(
            returns={n: jnp.zeros((spec.num_envs,), jnp.float32) for n in names},
            stats={n: RunningMeanStd.create(()) for n in names},
        )

    def apply(self, state: NormalizeState, streams: Streams, batch: Transition) -> tuple[Streams, NormalizeState]:
        names = tuple(state.returns)
        select_streams(streams, names, "normalize_rewards")
        done = batch.done
        returns, stats, out = {}, {}, dict(streams)
        for name in names:
            stream = streams[name]
            reset = done if stream.episodic else jnp.zeros_like(done)

            def step(g, xs, gamma=stream.discount):
                r, d = xs
                g = r + gamma * g
                return jnp.where(d, 0.0, g), g

            g_last, g_seq = jax.lax.scan(step, state.returns[name], (stream.reward, reset))
            new_stats = state.stats[name].update(g_seq)
            scaled = stream.reward / jnp.sqrt(new_stats.var + self.eps)
            if self.clip is not None:
                scaled = jnp.clip(scaled, -self.clip, self.clip)
            returns[name], stats[name] = g_last, new_stats
            out[name] = stream.replace(reward=scaled)
        return out, NormalizeState(returns=returns, stats=stats)

    def update(self, state: NormalizeState, streams, batch, key) -> tuple[NormalizeState, Metrics]:
        metrics = {f"normalize/{n}_return_std": s.std for n, s in state.stats.items()}
        return state, metrics


def normalize_rewards(
    streams: StreamSelection = (TASK,), eps: float = 1e-8, clip: float | None = 10.0
) -> RewardTransform:
    """Divide each selected stream's reward by the running std of its discounted return.

    Args:
        streams: names of the streams to normalise (``None``: all).
        eps: added to the variance before the square root.
        clip: clip normalised rewards to ``[-clip, clip]``; ``None`` disables clipping.
    """
    return NormalizeRewards(streams=None if streams is None else tuple(streams), eps=eps, clip=clip).validate()
