"""Gates, multiplicative composition and history-dependent rewards.

Every transform here that needs the past keeps it in its state (per environment, ``[N]`` or
``[N, C]``), scans over the T steps of a batch, resets on episode ends, and carries the state
across rollout boundaries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.streams import TASK
from jaxrl_rewards.core.types import Array, Streams, TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError, check_count, check_finite, check_in_range, check_positive_int
from jaxrl_rewards.transforms.core import RewardTransform


def _check_gate(gate: StepGate | EpisodeGate) -> None:
    """``threshold`` finite (element by element); ``secondary`` a stream other than ``primary``."""
    check_finite(gate.threshold, "gate: threshold")
    if not gate.secondary or gate.secondary == gate.primary:
        raise ConfigError(f"gate: secondary must be a stream other than primary, got {gate.secondary!r}")


def _need(streams: Streams, names: tuple[str, ...], who: str) -> None:
    missing = [n for n in names if n not in streams]
    if missing:
        raise ValueError(f"{who}: unknown stream(s) {missing}; the batch has streams {sorted(streams)}")


# --------------------------------------------------------------------------- gates


class StepGate(RewardTransform):
    """Per-step gate: ``r_sec <- r_sec * [r_primary >= threshold]`` (the secondary objective
    counts only while the primary one is satisfied; lexicographic/"gated" reward design,
    e.g. the conditional rewards of Gábor, Kalmár & Szepesvári, 1998, thresholded
    lexicographic ordering)."""

    secondary: str = struct.field(pytree_node=False, default="")
    primary: str = struct.field(pytree_node=False, default=TASK)
    threshold: Array | float = 0.0

    def validate(self) -> StepGate:
        """``threshold`` finite; ``secondary`` a stream other than ``primary``."""
        _check_gate(self)
        return self

    def apply(self, state: Any, streams: Streams, batch: Transition):
        _need(streams, (self.secondary, self.primary), "gate")
        passed = streams[self.primary].reward >= self.threshold
        sec = streams[self.secondary]
        return {**streams, self.secondary: sec.replace(reward=jnp.where(passed, sec.reward, 0.0))}, state


class EpisodeGateState(struct.PyTreeNode):
    """Running per-episode sums ``[N]`` of the primary and secondary streams."""

    primary: Array
    secondary: Array


class EpisodeGate(RewardTransform):
    """Outcome gate: the secondary stream's episode total is paid at the episode's last step,
    and only if the episode's primary outcome ``sum_t r_primary`` reaches ``threshold``:

    ``r'_sec,t = [done_t] * [P_episode >= threshold] * S_episode`` (0 on other steps),

    with ``P``/``S`` the undiscounted episode sums (thresholded lexicographic ordering on
    episode outcomes, Gábor et al., 1998). Sums are carried across batches in the state.
    Episodes that end by truncation are judged on their partial sums.
    """

    secondary: str = struct.field(pytree_node=False, default="")
    primary: str = struct.field(pytree_node=False, default=TASK)
    threshold: Array | float = 0.0

    def validate(self) -> EpisodeGate:
        """``threshold`` finite; ``secondary`` a stream other than ``primary``."""
        _check_gate(self)
        return self

    def init(self, key, spec: TransformSpec) -> EpisodeGateState:
        z = jnp.zeros((spec.num_envs,), jnp.float32)
        return EpisodeGateState(primary=z, secondary=z)

    def apply(self, state: EpisodeGateState, streams: Streams, batch: Transition):
        _need(streams, (self.secondary, self.primary), "gate")

        def step(carry, xs):
            p_sum, s_sum = carry
            p, s, d = xs
            p_sum, s_sum = p_sum + p, s_sum + s
            paid = jnp.where(d & (p_sum >= self.threshold), s_sum, 0.0)
            return (jnp.where(d, 0.0, p_sum), jnp.where(d, 0.0, s_sum)), paid

        (p_sum, s_sum), paid = jax.lax.scan(
            step,
            (state.primary, state.secondary),
            (streams[self.primary].reward, streams[self.secondary].reward, batch.done),
        )
        sec = streams[self.secondary]
        return {**streams, self.secondary: sec.replace(reward=paid)}, EpisodeGateState(p_sum, s_sum)


def gate(secondary: str, primary: str = TASK, threshold: float = 0.0, per: str = "step") -> RewardTransform:
    """The ``secondary`` stream counts only when ``primary`` passes ``threshold``:
    per step (``per="step"``) or on the episode's outcome (``per="episode"``)."""
    if per == "step":
        return StepGate(secondary=secondary, primary=primary, threshold=threshold).validate()
    if per == "episode":
        return EpisodeGate(secondary=secondary, primary=primary, threshold=threshold).validate()
    raise ConfigError(f"gate: per must be 'step' or 'episode', got {per!r}")


# --------------------------------------------------------------------------- multiplicative


class MultiplicativeState(struct.PyTreeNode):
    """Per-env infraction counts ``[N, K]`` of the current episode and a ``stopped [N]`` flag
    (a terminating infraction happened)."""

    counts: Array
    stopped: Array


class Multiplicative(RewardTransform):
    """Multiplicative composition: a completion reward multiplied down by each infraction
    (as in CARLA leaderboard's driving score, route completion x prod_k p_k^{n_k}, and the
    "rules as multipliers" of Booth et al., 2023's reward-design study), instead of a sum of
    shaped penalty terms.

    ``r'_t = r_completion,t * prod_k factor_k ^ n_k,t`` where ``n_k,t`` counts the infraction
    events (``r_infraction_k > 0``) of the episode up to and including step t. Infractions
    listed in ``terminal`` act as terminations: every reward of the episode after the first
    such event is 0. The result replaces the ``completion`` stream; the infraction streams are
    left as they are (give them weight 0 to use the product only).
    """

    completion: str = struct.field(pytree_node=False, default=TASK)
    infractions: tuple[str, ...] = struct.field(pytree_node=False, default=())
    factors: Array | tuple[float, ...] = ()
    terminal: tuple[str, ...] = struct.field(pytree_node=False, default=())

    def validate(self) -> Multiplicative:
        """One factor per infraction stream, each in ``[0, 1]`` (element by element); every
        ``terminal`` stream is an infraction."""
        if not self.infractions or len(self.factors) != len(self.infractions):
            raise ConfigError(
                f"multiplicative: need one factor per infraction stream; got {len(self.infractions)} streams and "
                f"{len(self.factors)} factors"
            )
        for infraction, factor in zip(self.infractions, self.factors, strict=True):
            check_in_range(factor, f"multiplicative: factors ({infraction!r})", 0.0, 1.0)
        if any(t not in self.infractions for t in self.terminal):
            raise ConfigError(f"multiplicative: terminal {self.terminal} must be among infractions {self.infractions}")
        return self

    def init(self, key, spec: TransformSpec) -> MultiplicativeState:
        return MultiplicativeState(
            counts=jnp.zeros((spec.num_envs, len(self.infractions)), jnp.float32),
            stopped=jnp.zeros((spec.num_envs,), bool),
        )

    def apply(self, state: MultiplicativeState, streams: Streams, batch: Transition):
        _need(streams, (self.completion, *self.infractions), "multiplicative")
        events = jnp.stack([streams[n].reward > 0 for n in self.infractions], axis=-1)  # [T, N, K]
        is_terminal = jnp.asarray([n in self.terminal for n in self.infractions])
        factors = jnp.asarray(self.factors, jnp.float32)

        def step(carry, xs):
            counts, stopped = carry
            r, ev, d = xs
            counts = counts + ev
            mult = jnp.prod(factors**counts, axis=-1)
            paid = jnp.where(stopped, 0.0, r * mult)
            stopped = stopped | jnp.any(ev & is_terminal, axis=-1)
            return (jnp.where(d[:, None], 0.0, counts), jnp.where(d, False, stopped)), paid

        (counts, stopped), paid = jax.lax.scan(
            step, (state.counts, state.stopped), (streams[self.completion].reward, events, batch.done)
        )
        comp = streams[self.completion]
        return {**streams, self.completion: comp.replace(reward=paid)}, MultiplicativeState(counts, stopped)


def multiplicative(
    infractions: tuple[str, ...],
    factors: tuple[float, ...],
    completion: str = TASK,
    terminal: tuple[str, ...] = (),
) -> RewardTransform:
    """Completion reward times ``prod_k factor_k ^ (#infractions_k so far)``; infractions in
    ``terminal`` zero the rest of the episode (see ``Multiplicative``)."""
    infractions, terminal = tuple(infractions), tuple(terminal)
    Multiplicative(completion=completion, infractions=infractions, factors=tuple(factors), terminal=terminal).validate()
    return Multiplicative(
        completion=completion, infractions=infractions, factors=tuple(float(f) for f in factors), terminal=terminal
    )


# --------------------------------------------------------------------------- coverage


class Coverage(RewardTransform):
    """Coverage reward paying only marginal gains: a visited set per environment (bool
    ``[N, C]``) of cells ``cell(next_obs)``; a step pays ``bonus`` when it enters a cell not
    yet in the set (a submodular coverage objective, Krause & Golovin, 2014; episodic
    novelty as in Never Give Up, Badia et al., 2020). With ``per_episode`` the set is
    cleared at episode ends (counted for the step that ends the episode first), otherwise it
    is kept for the whole run. The bonus goes to a new stream ``name`` (weight ``weight``).
    """

    cell: Callable[[Any], Array] = struct.field(pytree_node=False, default=None)
    num_cells: int = struct.field(pytree_node=False, default=1)
    bonus: Array | float = 1.0
    weight: Array | float = 1.0
    name: str = struct.field(pytree_node=False, default="coverage")
    per_episode: bool = struct.field(pytree_node=False, default=True)

    def validate(self) -> Coverage:
        """``cell`` callable, ``num_cells`` a positive int (static), ``bonus`` and ``weight`` finite."""
        if not callable(self.cell):
            raise ConfigError("coverage: cell must be a callable obs -> int cell index")
        check_positive_int(self.num_cells, "coverage: num_cells")
        check_finite(self.bonus, "coverage: bonus")
        check_finite(self.weight, "coverage: weight")
        return self

    def init(self, key, spec: TransformSpec) -> Array:
        return jnp.zeros((spec.num_envs, self.num_cells), bool)

    def apply(self, state: Array, streams: Streams, batch: Transition):
        if self.name in streams:
            raise ValueError(f"coverage: stream {self.name!r} already exists")
        cells = jax.vmap(jax.vmap(self.cell))(batch.next_obs).astype(jnp.int32)  # [T, N]
        reset = batch.done if self.per_episode else jnp.zeros_like(batch.done)
        rows = jnp.arange(state.shape[0])

        def step(visited, xs):
            c, d = xs
            new = ~visited[rows, c]
            visited = visited.at[rows, c].set(True)
            return jnp.where(d[:, None], False, visited), new.astype(jnp.float32)

        visited, new = jax.lax.scan(step, state, (cells, reset))
        task = streams[TASK] if TASK in streams else next(iter(streams.values()))
        stream = task.replace(
            reward=self.bonus * new, weight=jnp.asarray(self.weight, jnp.float32), episodic=True, kind="intrinsic"
        )
        return {**streams, self.name: stream}, visited


def coverage(
    cell: Callable[[Any], Array],
    num_cells: int,
    bonus: float = 1.0,
    *,
    weight: float = 1.0,
    name: str = "coverage",
    per_episode: bool = True,
) -> RewardTransform:
    """A new stream paying ``bonus`` for each first visit of a cell ``cell(obs) in [0,
    num_cells)`` (see ``Coverage``)."""
    return Coverage(
        cell=cell, num_cells=num_cells, bonus=bonus, weight=weight, name=name, per_episode=per_episode
    ).validate()


# --------------------------------------------------------------------------- per-episode counter


class CappedCount(RewardTransform):
    """Per-episode counter: the events of a stream (``r > 0``) pay only the first
    ``max_count`` times in each episode, ``r'_t = r_t * [n_t <= max_count]`` with ``n_t`` the
    number of events so far in the episode (including t). Stops a repeatable bonus from
    being farmed (the "reward hacking by repetition" failure, Amodei et al., 2016, Concrete
    problems in AI safety). Counts ``[N]`` live in the state across batches.
    """

    stream: str = struct.field(pytree_node=False, default=TASK)
    max_count: Array | int = 1

    def validate(self) -> CappedCount:
        """``max_count`` a whole number >= 1, element by element (swept values too)."""
        check_count(self.max_count, "capped_count: max_count")
        return self

    def init(self, key, spec: TransformSpec) -> Array:
        return jnp.zeros((spec.num_envs,), jnp.int32)

    def apply(self, state: Array, streams: Streams, batch: Transition):
        _need(streams, (self.stream,), "capped_count")

        def step(n, xs):
            r, d = xs
            n = n + (r > 0).astype(jnp.int32)
            paid = jnp.where((r > 0) & (n > self.max_count), 0.0, r)
            return jnp.where(d, 0, n), paid

        counts, paid = jax.lax.scan(step, state, (streams[self.stream].reward, batch.done))
        s = streams[self.stream]
        return {**streams, self.stream: s.replace(reward=paid)}, counts


def capped_count(stream: str = TASK, max_count: int = 1) -> RewardTransform:
    """Positive rewards of ``stream`` pay only for the first ``max_count`` events per episode."""
    return CappedCount(stream=stream, max_count=max_count).validate()


__all__ = [
    "CappedCount",
    "Coverage",
    "EpisodeGate",
    "EpisodeGateState",
    "Multiplicative",
    "MultiplicativeState",
    "StepGate",
    "capped_count",
    "coverage",
    "gate",
    "multiplicative",
]
