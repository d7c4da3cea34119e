"""Bounding and normalisation of rewards: centred sigmoid, decoupled per-stream
normalisation, clip-to-range, and the Delta and Clip forms of process rewards.

(``clip`` and return-based ``normalize_rewards`` live in ``transforms/basic.py``.)
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.running_stats import RunningMeanStd
from jaxrl_rewards.core.streams import TASK, map_rewards, select_streams
from jaxrl_rewards.core.types import Array, Streams, TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError, check_finite, check_ordered, check_positive
from jaxrl_rewards.transforms.core import RewardTransform

StreamSelection = tuple[str, ...] | None


def _names(spec_streams: tuple[str, ...], selection: StreamSelection, who: str) -> tuple[str, ...]:
    names = tuple(spec_streams) if selection is None else tuple(selection)
    missing = [n for n in names if n not in spec_streams]
    if missing:
        raise ValueError(f"{who}: unknown stream(s) {missing}; the batch has streams {list(spec_streams)}")
    return names


# --------------------------------------------------------------------------- centred sigmoid


class CenteredSigmoid(RewardTransform):
    """Centred and bounded reward: ``r <- 2 * sigmoid((r - ref) / temperature) - 1`` in ``(-1, 1)``.

    The logistic squash bounds rewards of unknown scale (as reward models' outputs are
    squashed/normalised in Christiano et al., 2017, and bounded rewards are advised by
    Mnih et al., 2015's clipping); centring first makes "better than usual" positive.
    ``ref`` is the running mean of the stream's rewards (updated with the batch before use)
    when ``baseline is None``, or elementwise the reward of the ``baseline`` stream (e.g. the
    reward a reference policy or a previous model gets, ``[T, N]``).
    """

    temperature: Array | float = 1.0
    streams: StreamSelection = struct.field(pytree_node=False, default=(TASK,))
    baseline: str | None = struct.field(pytree_node=False, default=None)

    def validate(self) -> CenteredSigmoid:
        """``temperature > 0`` (element by element); the baseline stream is not squashed."""
        check_positive(self.temperature, "centered_sigmoid: temperature")
        if self.baseline is not None and self.streams is not None and self.baseline in self.streams:
            raise ConfigError("centered_sigmoid: the baseline stream cannot also be squashed")
        return self

    def init(self, key, spec: TransformSpec) -> dict[str, RunningMeanStd]:
        if self.baseline is not None:
            if self.baseline not in spec.streams:
                raise ValueError(f"centered_sigmoid: no baseline stream {self.baseline!r} in {list(spec.streams)}")
            return {}
        return {n: RunningMeanStd.create(()) for n in _names(spec.streams, self.streams, "centered_sigmoid")}

    def apply(self, state: dict[str, RunningMeanStd], streams: Streams, batch: Transition):
        names = select_streams(streams, self.streams, "centered_sigmoid")
        if self.baseline is not None:
            ref = streams[self.baseline].reward
            out = map_rewards(
                streams, names, lambda _, s: 2.0 * jax.nn.sigmoid((s.reward - ref) / self.temperature) - 1
            )
            return out, state
        new_state = {n: state[n].update(streams[n].reward) for n in names}
        out = map_rewards(
            streams, names, lambda n, s: 2.0 * jax.nn.sigmoid((s.reward - new_state[n].mean) / self.temperature) - 1
        )
        return out, {**state, **new_state}


def centered_sigmoid(
    temperature: Array | float = 1.0, streams: StreamSelection = (TASK,), baseline: str | None = None
) -> RewardTransform:
    """``r <- 2 sigmoid((r - ref) / temperature) - 1``; ``ref`` = running mean, or the
    ``baseline`` stream's reward (see ``CenteredSigmoid``)."""
    return CenteredSigmoid(
        temperature=temperature, streams=None if streams is None else tuple(streams), baseline=baseline
    ).validate()


# --------------------------------------------------------------------------- decoupled normalisation


class DecoupledNormalize(RewardTransform):
    """Decoupled normalisation: each stream standardised by its *own* running statistics
    before the streams are weighted, ``r_k <- (r_k - center * mu_k) / sqrt(var_k + eps)``.

    Normalising the weighted sum ``sum_k w_k r_k`` instead lets the largest-scale objective
    dominate; decoupling makes the weights ``w_k`` mean what they say (as in multi-task
    PopArt, Hessel et al., 2019). Statistics are running batch statistics, updated with the
    batch before use; GDPO's per-*group* decoupled normalisation of episode returns is the
    ``gdpo`` advantage estimator (``agents/estimators.py``), not this transform.
    """

    streams: StreamSelection = struct.field(pytree_node=False, default=None)
    center: bool = struct.field(pytree_node=False, default=True)
    eps: Array | float = 1e-8

    def validate(self) -> DecoupledNormalize:
        """``eps > 0``, element by element (swept values too)."""
        check_positive(self.eps, "decoupled_normalize: eps")
        return self

    def init(self, key, spec: TransformSpec) -> dict[str, RunningMeanStd]:
        return {n: RunningMeanStd.create(()) for n in _names(spec.streams, self.streams, "decoupled_normalize")}

    def apply(self, state: dict[str, RunningMeanStd], streams: Streams, batch: Transition):
        select_streams(streams, tuple(state), "decoupled_normalize")
        new_state = {n: state[n].update(streams[n].reward) for n in state}

        def norm(name, s):
            stats = new_state[name]
            mean = stats.mean if self.center else 0.0
            return (s.reward - mean) / jnp.sqrt(stats.var + self.eps)

        return map_rewards(streams, tuple(state), norm), new_state


def decoupled_normalize(streams: StreamSelection = None, center: bool = True, eps: float = 1e-8) -> RewardTransform:
    """Standardise each selected stream separately (``None``: all) before weighting."""
    return DecoupledNormalize(
        streams=None if streams is None else tuple(streams), center=bool(center), eps=eps
    ).validate()


# --------------------------------------------------------------------------- clip to range


class ClipToRange(RewardTransform):
    """Map a dense reward's known range ``[low, high]`` affinely onto ``[out_low, out_high]``
    and clip: ``r <- clip(out_low + (r - low) (out_high - out_low) / (high - low), out_low,
    out_high)`` (bounded per-step rewards, as in DeepMind control suite's ``tolerance``
    rewards in ``[0, 1]``, Tassa et al., 2018)."""

    low: Array | float = 0.0
    high: Array | float = 1.0
    out_low: Array | float = 0.0
    out_high: Array | float = 1.0
    streams: StreamSelection = struct.field(pytree_node=False, default=(TASK,))

    def validate(self) -> ClipToRange:
        """All four bounds finite and ``low < high``, element by element (swept values too)."""
        for name in ("low", "high", "out_low", "out_high"):
            check_finite(getattr(self, name), f"clip_to_range: {name}")
        check_ordered(self.low, self.high, "clip_to_range: high must exceed low", strict=True)
        return self

    def apply(self, state: Any, streams: Streams, batch: Transition):
        names = select_streams(streams, self.streams, "clip_to_range")
        lo, hi = jnp.minimum(self.out_low, self.out_high), jnp.maximum(self.out_low, self.out_high)

        def fn(_, s):
            mapped = self.out_low + (s.reward - self.low) * (self.out_high - self.out_low) / (self.high - self.low)
            return jnp.clip(mapped, lo, hi)

        return map_rewards(streams, names, fn), state


def clip_to_range(
    low: float,
    high: float,
    out_low: float = 0.0,
    out_high: float = 1.0,
    streams: StreamSelection = (TASK,),
) -> RewardTransform:
    """Rescale ``[low, high]`` to ``[out_low, out_high]`` and clip (see ``ClipToRange``)."""
    return ClipToRange(
        low=low, high=high, out_low=out_low, out_high=out_high, streams=None if streams is None else tuple(streams)
    ).validate()


# --------------------------------------------------------------------------- process rewards: delta and clip

DELTA_LAST = ("zero", "keep")


class DeltaReward(RewardTransform):
    """Delta form of a process reward (Gao et al., 2024, "On designing effective RL reward at
    training time for LLM reasoning"): ``r'_t = r_t - r_{t+1}`` within an episode.

    The shaped rewards telescope: the return from step ``k`` of an episode ending at step ``T``
    is ``sum_{t>=k} r'_t = r_k - r_T`` (``last="zero"``: the last step gets ``r'_T = 0``) or
    ``r_k`` (``last="keep"``: ``r'_T = r_T``, i.e. ``r_{T+1} = 0``, as in Gao et al.). Either way
    the return does not grow with the number of steps, so repeating a well-rewarded step earns
    nothing (the step-repetition hack of summed process rewards).

    Episode ends are ``batch.done`` (terminations and truncations). Where the batch cuts an
    episode (last row, not done) the unseen ``r_{t+1}`` is taken as ``r_t`` (``r'_t = 0``) and
    the critic's bootstrap carries the rest: the telescoping is exact for episodes that end
    inside the batch. Stateless.
    """

    last: str = struct.field(pytree_node=False, default="zero")
    streams: StreamSelection = struct.field(pytree_node=False, default=(TASK,))

    def validate(self) -> DeltaReward:
        """``last`` is one of ``DELTA_LAST``."""
        if self.last not in DELTA_LAST:
            raise ConfigError(f"delta_reward: last={self.last!r} is not one of {list(DELTA_LAST)}")
        return self

    def init(self, key, spec: TransformSpec) -> dict:
        _names(spec.streams, self.streams, "delta_reward")
        return {}

    def apply(self, state: dict, streams: Streams, batch: Transition):
        names = select_streams(streams, self.streams, "delta_reward")
        done = jnp.asarray(batch.done, bool)

        def fn(_, s):
            r = s.reward
            following = jnp.concatenate([r[1:], r[-1:]], axis=0)  # r_{t+1}; r_t at the batch end
            end_value = r if self.last == "zero" else jnp.zeros_like(r)
            return r - jnp.where(done, end_value, following)

        return map_rewards(streams, names, fn), state


def delta_reward(last: str = "zero", streams: StreamSelection = (TASK,)) -> RewardTransform:
    """``r'_t = r_t - r_{t+1}`` within episodes; the last step gets 0 (``last="zero"``) or
    ``r_T`` (``last="keep"``) (see ``DeltaReward``)."""
    return DeltaReward(last=last, streams=None if streams is None else tuple(streams)).validate()


class ClipProcess(RewardTransform):
    """Clip form of a process reward (Gao et al., 2024): ``r' = min(r - eta, 0)``.

    Every step's reward is at most 0, so an episode's return can only fall with more steps:
    repeating a step (or padding an answer) never pays, unlike summed process rewards. ``eta``
    is the threshold a step must reach to cost nothing (a leaf: sweepable).
    """

    eta: Array | float = 0.0
    streams: StreamSelection = struct.field(pytree_node=False, default=(TASK,))

    def validate(self) -> ClipProcess:
        """``eta`` finite, element by element (swept values too)."""
        check_finite(self.eta, "clip_process: eta")
        return self

    def apply(self, state: Any, streams: Streams, batch: Transition):
        names = select_streams(streams, self.streams, "clip_process")
        return map_rewards(streams, names, lambda _, s: jnp.minimum(s.reward - self.eta, 0.0)), state


def clip_process(eta: float = 0.0, streams: StreamSelection = (TASK,)) -> RewardTransform:
    """``r' = min(r - eta, 0)`` on the selected streams (see ``ClipProcess``)."""
    return ClipProcess(eta=eta, streams=None if streams is None else tuple(streams)).validate()


__all__ = [
    "CenteredSigmoid",
    "ClipProcess",
    "ClipToRange",
    "DecoupledNormalize",
    "DeltaReward",
    "centered_sigmoid",
    "clip_process",
    "clip_to_range",
    "decoupled_normalize",
    "delta_reward",
]
