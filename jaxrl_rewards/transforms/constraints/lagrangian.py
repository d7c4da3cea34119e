"""Lagrangian constraint transforms: one learned multiplier per constraint (PPO-Lagrangian).

A constrained MDP (Altman 1999) maximises the task return ``J_R(pi)`` subject to
``J_{C_i}(pi) <= d_i`` for constraint streams ``i = 1..K``. Its Lagrangian relaxation
(``max_pi min_{lambda >= 0} J_R - sum_i lambda_i (J_{C_i} - d_i)``) is solved by alternating
a policy step on the combined objective with a multiplier step on the measured constraint
violation ``g_i = J_{C_i} - d_i`` (Ray, Achiam & Amodei 2019, "Benchmarking Safe Exploration
in Deep RL": PPO-Lagrangian).

The transform does both halves:

``apply``
    sets the cost streams' weights to ``-lambda_i / (1 + sum_j lambda_j)`` and divides the
    weight of every other stream (the task) by ``1 + sum_j lambda_j`` — the combined
    advantage ``(A_R - sum_i lambda_i A_{C_i}) / (1 + sum_i lambda_i)`` stays on the task's
    scale however large the multipliers grow (Stooke, Achiam & Abbeel 2020). The agent keeps a
    value head per stream, so each ``A_{C_i}`` has its own critic. ``apply`` also tracks every
    environment's running episodic cost across batch boundaries (a scan over ``T`` that resets
    on ``batch.done``) and accumulates the costs of the episodes that finish.
``update``
    measures ``J_{C_i}`` as the mean (undiscounted, or discounted with the stream's discount)
    cost of the episodes finished since the previous update, and moves the multipliers with
    one of the rules of :mod:`~jaxrl_rewards.transforms.constraints.multipliers`
    (``gradient``, ``pid``, ``augmented``, ``switch``), projecting onto ``[0, lambda_max]``. Without finished episodes
    nothing moves.

``sense="lower"`` turns a constraint around (``J_i >= d_i``, ``g = d - J``, stream weight
``+lambda``): a reward component with a threshold whose multiplier is a dynamic weight that
stops pushing once the threshold is met (``jaxrl_rewards.transforms.constraints.thresholds``).

Metrics (PPO logs them under ``transform/``): ``lagrangian/lambda/<stream>`` (the multiplier
the streams use), ``lagrangian/episode_cost/<stream>`` (the latest measured ``J_C``),
``lagrangian/violation_rate/<stream>`` (fraction of the finished episodes whose cost broke
the limit), ``lagrangian/episodes`` and, for ``"augmented"``, ``lagrangian/dual/<stream>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.streams import spec_kinds, stream_kinds, streams_of_kind
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey, Streams, TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError, check_finite, check_in_range, check_nonnegative, check_positive
from jaxrl_rewards.transforms.constraints.multipliers import RULES, LagrangianState, multiplier_step
from jaxrl_rewards.transforms.core import RewardTransform
from jaxrl_rewards.transforms.fields import build, check_choice, factory_signature

MEASURES: tuple[str, ...] = ("episodic", "discounted")
SENSES: tuple[str, ...] = ("upper", "lower")
#: options renamed since earlier versions (old -> new), named in the error message.
RENAMED = {"lr": "learning_rate"}


class Lagrangian(RewardTransform):
    """Learned Lagrange multipliers for constraints on stream returns (see module docstring).

    The one declaration of the Lagrangian's hyperparameters: :func:`lagrangian` and
    :func:`~jaxrl_rewards.transforms.constraints.thresholds.threshold_weights` take these
    fields as options and :meth:`validate` checks them.

    Attributes:
        limits: one budget per constrained stream (scalar for one stream, ``[K]`` for K), in
            units of ``measure``; >= 0 for ``sense="upper"`` (leaf).
        streams: static names of the constrained streams; ``None``: every stream of kind
            ``"cost"`` (``info["cost"]``).
        rule: static, one of ``RULES``: ``"gradient"`` (step ``learning_rate``), ``"pid"``
            (``kp``, ``ki``, ``kd``, smoothing ``alpha_p``, ``alpha_d``), ``"augmented"``
            (step ``learning_rate``, penalty ``rho``) or ``"switch"`` (``switch_weight``).
        measure: static, one of ``MEASURES``: undiscounted episode cost, or the discounted
            cost return with the stream's discount.
        sense: static, one of ``SENSES``: ``"upper"`` (``J <= d``, costs) or ``"lower"``
            (``J >= d``, thresholded reward components).
        normalize: static; divide the combined advantage by ``1 + sum(lambda)``.
        learning_rate, kp, ki, kd, rho, lambda_init, switch_weight: >= 0 (leaves).
        alpha_p, alpha_d: in [0, 1] (leaves).
        lambda_max: optional upper bound of the multipliers, > 0 (``None``: none).
    """

    limits: Array | float = 0.0
    streams: tuple[str, ...] | None = struct.field(pytree_node=False, default=None)
    rule: str = struct.field(pytree_node=False, default="pid")
    measure: str = struct.field(pytree_node=False, default="episodic")
    sense: str = struct.field(pytree_node=False, default="upper")
    normalize: bool = struct.field(pytree_node=False, default=True)
    learning_rate: Array | float = 0.05
    kp: Array | float = 0.1
    ki: Array | float = 0.05
    kd: Array | float = 0.0
    alpha_p: Array | float = 0.0
    alpha_d: Array | float = 0.0
    rho: Array | float = 0.05
    lambda_init: Array | float = 0.0
    lambda_max: Array | float | None = None
    switch_weight: Array | float = 1.0

    # ---------------------------------------------------------------- helpers

    def _who(self) -> str:
        return "threshold_weights" if self.sense == "lower" else "lagrangian"

    def validate(self) -> Lagrangian:
        """Check choices, signs and ranges (element by element, so batched sweep values work),
        the stream names, and one limit per named stream; returns ``self``."""
        who = self._who()
        check_choice(self.rule, RULES, "rule", who)
        check_choice(self.measure, MEASURES, "measure", who)
        check_choice(self.sense, SENSES, "sense", who)
        _check_limits(self.limits, who, allow_negative=self.sense == "lower")
        if self.streams is not None:
            if isinstance(self.streams, str) or not self.streams or len(set(self.streams)) != len(self.streams):
                raise ConfigError(f"{who}: streams must be a tuple of distinct stream names, got {self.streams!r}")
            shape = np.shape(self.limits)
            if len(self.streams) > 1 and (shape == () or shape[-1] != len(self.streams)):
                raise ConfigError(
                    f"{who}: {len(self.streams)} stream(s) {list(self.streams)} but limits of shape {shape}; "
                    "give exactly one limit per stream"
                )
        for name in ("learning_rate", "kp", "ki", "kd", "rho", "lambda_init", "switch_weight"):
            check_nonnegative(getattr(self, name), f"{who}: {name}")
        check_in_range(self.alpha_p, f"{who}: alpha_p", 0.0, 1.0)
        check_in_range(self.alpha_d, f"{who}: alpha_d", 0.0, 1.0)
        if self.lambda_max is not None:
            check_positive(self.lambda_max, f"{who}: lambda_max")
        return self

    def constrained_streams(self, kinds: Mapping[str, str]) -> tuple[str, ...]:
        """The constrained streams among ``kinds`` (``name -> Stream.kind``, see
        ``core.streams.spec_kinds`` / ``stream_kinds``): ``self.streams``, or by default every
        stream of kind ``"cost"``, sorted. Raises ``ConfigError`` if one is missing or the
        number of limits does not match."""
        who = self._who()
        names = tuple(sorted(kinds))
        if self.streams is None:
            chosen = streams_of_kind(kinds, "cost")
            if not chosen:
                raise ConfigError(
                    f'{who}: the environment provides no cost stream (kind "cost", from info["cost"]); its streams '
                    f"are {list(names)}. Use a constrained environment or name the streams to constrain."
                )
        else:
            chosen = tuple(self.streams)
            missing = [n for n in chosen if n not in kinds]
            if missing:
                hint = ' (cost streams come from the env\'s info["cost"])' if any("cost" in n for n in missing) else ""
                raise ConfigError(
                    f"{who}: stream(s) {missing} are not provided by the environment{hint}; "
                    f"available streams: {list(names)}"
                )
        shape = tuple(jnp.shape(self.limits))
        count = 1 if shape == () else shape[-1]
        if len(shape) > 1 or count != len(chosen) or (shape == () and len(chosen) != 1):
            raise ConfigError(
                f"{who}: {len(chosen)} constrained stream(s) {list(chosen)} but limits of shape {shape}; "
                f"give exactly one limit per stream (a [{len(chosen)}] vector)"
            )
        return chosen

    def _limits(self, k: int) -> Array:
        return jnp.broadcast_to(jnp.asarray(self.limits, jnp.float32), (k,))

    def _clip(self, lam: Array) -> Array:
        lam = jnp.maximum(lam, 0.0)
        return lam if self.lambda_max is None else jnp.minimum(lam, self.lambda_max)

    def _sign(self) -> float:
        return 1.0 if self.sense == "upper" else -1.0

    # ---------------------------------------------------------------- protocol

    def init(self, key: PRNGKey, spec: TransformSpec) -> LagrangianState:
        """Multipliers at ``lambda_init`` and empty episode trackers; validates the streams
        against ``spec.streams`` (``ConfigError`` before anything compiles)."""
        del key
        k = len(self.constrained_streams(spec_kinds(spec)))
        n = int(spec.num_envs)
        lam0 = self._clip(jnp.full((k,), self.lambda_init, jnp.float32))
        zeros = jnp.zeros((k,), jnp.float32)
        safe_ki = jnp.where(jnp.asarray(self.ki) > 0, self.ki, 1.0)
        integral0 = jnp.where(jnp.asarray(self.ki) > 0, lam0 / safe_ki, 0.0) if self.rule == "pid" else zeros
        weight0 = zeros if self.rule == "switch" else lam0
        return LagrangianState(
            lam=lam0,
            weight=weight0,
            integral=jnp.broadcast_to(integral0, (k,)).astype(jnp.float32),
            p_avg=zeros,
            d_avg=zeros,
            d_prev=zeros,
            measured=jnp.bool_(False),
            running=jnp.zeros((n, k), jnp.float32),
            discount_pow=jnp.ones((n, k), jnp.float32),
            finished_cost=zeros,
            finished_violations=zeros,
            finished_count=jnp.float32(0.0),
            last_cost=zeros,
            last_violation_rate=zeros,
        )

    def apply(self, state: LagrangianState, streams: Streams, batch: Transition) -> tuple[Streams, LagrangianState]:
        """Weight the streams by the current multipliers and track episodic costs.

        Stream weights: constrained ``-/+ lambda_i / Z``, all others ``w / Z`` with
        ``Z = 1 + sum_i lambda_i`` (``Z = 1`` when ``normalize=False``). Rewards ``[T, N]``
        are not changed.
        """
        names = self.constrained_streams(stream_kinds(streams))
        k = len(names)
        limits = self._limits(k)
        costs = jnp.stack([streams[n].reward for n in names], axis=-1)  # [T, N, K]
        if self.measure == "discounted":
            gammas = jnp.stack([jnp.asarray(streams[n].discount, jnp.float32) for n in names])
        else:
            gammas = jnp.ones((k,), jnp.float32)
        done = batch.done.astype(jnp.float32)  # [T, N]

        def step(carry, xs):
            running, disc, total, violations, count = carry
            c, d = xs
            running = running + disc * c
            disc = disc * gammas
            ended = d[:, None]
            total = total + (running * ended).sum(0)
            broke = self._sign() * (running - limits) > 0
            violations = violations + (broke * ended).sum(0)
            count = count + d.sum()
            keep = 1.0 - ended
            return (running * keep, disc * keep + ended, total, violations, count), None

        init = (
            state.running,
            state.discount_pow,
            state.finished_cost,
            state.finished_violations,
            state.finished_count,
        )
        (running, disc, total, violations, count), _ = jax.lax.scan(step, init, (costs, done))
        state = state.replace(
            running=running,
            discount_pow=disc,
            finished_cost=total,
            finished_violations=violations,
            finished_count=count,
        )

        weight = state.weight
        scale = 1.0 / (1.0 + weight.sum()) if self.normalize else jnp.float32(1.0)
        out = {name: s.replace(weight=jnp.asarray(s.weight * scale, jnp.float32)) for name, s in streams.items()}
        for i, name in enumerate(names):
            out[name] = streams[name].replace(weight=jnp.asarray(self._sign() * -weight[i] * scale, jnp.float32))
        return out, state

    def update(
        self, state: LagrangianState, streams: Streams, batch: Transition, key: PRNGKey
    ) -> tuple[LagrangianState, Metrics]:
        """Move the multipliers with the mean cost of the episodes finished since the last
        update (nothing moves when none finished); returns per-constraint metrics."""
        del batch, key
        names = self.constrained_streams(stream_kinds(streams))
        k = len(names)
        have = state.finished_count > 0
        safe = jnp.maximum(state.finished_count, 1.0)
        cost = jnp.where(have, state.finished_cost / safe, state.last_cost)
        rate = jnp.where(have, state.finished_violations / safe, state.last_violation_rate)
        new = multiplier_step(self, state, cost, self._limits(k))
        new = jax.tree.map(lambda a, b: jnp.where(have, a, b), new, state)
        zeros = jnp.zeros((k,), jnp.float32)
        new = new.replace(
            running=state.running,
            discount_pow=state.discount_pow,
            finished_cost=zeros,
            finished_violations=zeros,
            finished_count=jnp.float32(0.0),
            last_cost=cost,
            last_violation_rate=rate,
        )
        metrics: Metrics = {"lagrangian/episodes": state.finished_count}
        for i, name in enumerate(names):
            metrics[f"lagrangian/lambda/{name}"] = new.weight[i]
            metrics[f"lagrangian/episode_cost/{name}"] = cost[i]
            metrics[f"lagrangian/violation_rate/{name}"] = rate[i]
            if self.rule == "augmented":
                metrics[f"lagrangian/dual/{name}"] = new.lam[i]
        return new, metrics


def _check_limits(limits: Any, who: str, allow_negative: bool) -> None:
    check_finite(limits, f"{who}: limits")
    try:
        arr = np.asarray(limits, np.float64)
    except (TypeError, ValueError, jax.errors.TracerArrayConversionError):
        return
    if arr.ndim > 2:
        raise ConfigError(f"{who}: limits must be a scalar or a [K] vector (one per constraint), got shape {arr.shape}")
    if not allow_negative and np.any(arr < 0):
        raise ConfigError(f"{who}: limits must be >= 0 (a cost budget), got {limits!r}")


def as_limits(limits: Any) -> Any:
    """Limits as given, a tuple or list becoming a float32 ``[K]`` array."""
    return jnp.asarray(limits, jnp.float32) if isinstance(limits, (tuple, list)) else limits


def as_stream_names(streams: Any) -> tuple[str, ...] | None:
    """``None``, or the stream names as a tuple (a single name becomes a 1-tuple)."""
    if streams is None:
        return None
    return (streams,) if isinstance(streams, str) else tuple(streams)


def lagrangian(
    limits: Array | float | tuple[float, ...], streams: tuple[str, ...] | None = None, **options
) -> Lagrangian:
    """Constrain cost streams to ``J_{C_i} <= limits[i]`` with learned multipliers.

    Args:
        limits: one budget per constrained stream (scalar for one stream, ``[K]`` for K), >= 0,
            in units of the ``measure`` (episodic cost, or discounted cost return).
        streams: names of the constrained streams; default: every stream of kind ``"cost"``
            (the ``cost``/``cost_k`` streams of the environment's ``info["cost"]``).
        **options: any other field of :class:`Lagrangian` (``rule``, ``measure``,
            ``normalize``, ``learning_rate``, ``kp``, ``ki``, ``kd``, ``alpha_p``, ``alpha_d``,
            ``rho``, ``lambda_init``, ``lambda_max``, ``switch_weight``), with the class's
            defaults; ``sense`` is always ``"upper"``.

    Raises:
        ConfigError: an unknown option, negative limit, a limit count that does not match
            ``streams``, an unknown rule or measure, negative gains (a missing stream is
            reported by ``init``).
    """
    options = {"limits": as_limits(limits), "streams": as_stream_names(streams), **options}
    lag = build(Lagrangian, "lagrangian", options, exclude=("sense",), renamed=RENAMED)
    check_limit_count(lag)
    return lag


def check_limit_count(lag: Lagrangian) -> None:
    """``ConfigError`` unless there is exactly one limit per named stream. For the factories,
    whose arguments are one run's (unbatched); ``init`` checks again per run."""
    if lag.streams is None:
        return
    shape = np.shape(lag.limits)
    count = 1 if shape == () else shape[-1]
    if count != len(lag.streams) or len(shape) > 1:
        raise ConfigError(
            f"{lag._who()}: {len(lag.streams)} stream(s) {list(lag.streams)} but limits of shape {shape}; "
            "give exactly one limit per stream"
        )


lagrangian.__signature__ = factory_signature(
    Lagrangian, positional=("limits", "streams"), exclude=("sense",), required=("limits",)
)


__all__ = [
    "MEASURES",
    "RULES",
    "SENSES",
    "Lagrangian",
    "LagrangianState",
    "as_limits",
    "as_stream_names",
    "check_limit_count",
    "lagrangian",
    "multiplier_step",
]
