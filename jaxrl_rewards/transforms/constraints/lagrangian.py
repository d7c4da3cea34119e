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
    one of the rules below, projecting onto ``[0, lambda_max]``. Without finished episodes
    nothing moves.

Update rules (``g = J_C - d``, per constraint):

* ``"gradient"``: projected gradient ascent (SGD, not Adam) on the dual,
  ``lambda <- clip(lambda + lr * g, 0, lambda_max)``.
* ``"pid"``: PID Lagrangian (Stooke, Achiam & Abbeel 2020, "Responsive Safety in RL by PID
  Lagrangian Methods", Alg. 2): ``I <- max(0, I + g)``,
  ``lambda = clip(kp * P + ki * I + kd * max(0, D - D_prev), 0, lambda_max)``, where ``P`` is
  an exponential moving average (``alpha_p``) of ``g`` and ``D`` one (``alpha_d``) of ``J_C``.
  With ``kp = kd = 0`` it is exactly ``"gradient"`` with ``lr = ki``; the proportional and
  derivative terms damp the oscillation (cost overshoot) that the pure integral causes.
* ``"augmented"``: augmented Lagrangian / method of multipliers for inequality constraints
  (Hestenes 1969; Powell 1969; Rockafellar 1973): the policy maximises
  ``J_R - (1 / 2 rho) sum_i (max(0, lambda_i + rho g_i)^2 - lambda_i^2)``, whose gradient
  weights cost ``i`` by ``max(0, lambda_i + rho g_i)``; so the streams get that weight
  (with the latest measured ``g``) and the multiplier moves as in ``"gradient"``.
* ``"switch"``: a dynamic weight without memory: ``lambda_i = switch_weight * [g_i > 0]`` —
  the stream is pushed only while its constraint is violated.

``sense="lower"`` turns a constraint around (``J_i >= d_i``, ``g = d - J``, stream weight
``+lambda``): a reward component with a threshold whose multiplier is a dynamic weight that
stops pushing once the threshold is met (``jaxrl_rewards.transforms.constraints.thresholds``).

Metrics (PPO logs them under ``transform/``): ``lagrangian/lambda/<stream>`` (the multiplier
the streams use), ``lagrangian/episode_cost/<stream>`` (the latest measured ``J_C``),
``lagrangian/violation_rate/<stream>`` (fraction of the finished episodes whose cost broke
the limit), ``lagrangian/episodes`` and, for ``"augmented"``, ``lagrangian/dual/<stream>``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrl_rewards.core.types import Array, Metrics, PRNGKey, Streams, TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError, check_finite, check_in_range, check_nonnegative, check_positive
from jaxrl_rewards.transforms.core import RewardTransform

RULES: tuple[str, ...] = ("gradient", "pid", "augmented", "switch")
MEASURES: tuple[str, ...] = ("episodic", "discounted")
SENSES: tuple[str, ...] = ("upper", "lower")


class LagrangianState(struct.PyTreeNode):
    """State of a :class:`Lagrangian` transform with K constraints and N environments.

    Attributes:
        lam: the dual variables (multipliers), ``[K]``.
        weight: the multipliers the streams are weighted with, ``[K]`` (``lam`` except for
            ``"augmented"``, ``max(0, lam + rho g)``, and ``"switch"``).
        integral: PID integral term, ``[K]``.
        p_avg: PID smoothed violation (proportional term), ``[K]``.
        d_avg: PID smoothed cost (derivative term), ``[K]``.
        d_prev: ``d_avg`` before the latest update, ``[K]``.
        measured: whether any cost was measured yet (bool scalar).
        running: cost so far of each environment's unfinished episode, ``[N, K]``.
        discount_pow: ``gamma^t`` of each environment's next step (discounted measure), ``[N, K]``.
        finished_cost: summed cost of the episodes finished since the last update, ``[K]``.
        finished_violations: how many of them broke the limit, ``[K]``.
        finished_count: how many finished (float32 scalar).
        last_cost: latest measured mean episodic cost, ``[K]``.
        last_violation_rate: latest violation rate, ``[K]``.
    """

    lam: Array
    weight: Array
    integral: Array
    p_avg: Array
    d_avg: Array
    d_prev: Array
    measured: Array
    running: Array
    discount_pow: Array
    finished_cost: Array
    finished_violations: Array
    finished_count: Array
    last_cost: Array
    last_violation_rate: Array


class Lagrangian(RewardTransform):
    """Learned Lagrange multipliers for constraints on stream returns (see module docstring).

    Build with :func:`lagrangian` (or :func:`jaxrl_rewards.transforms.constraints.thresholds.threshold_weights`),
    which validates the inputs. Leaves (sweepable): ``limits``, ``lr``, ``kp``, ``ki``, ``kd``,
    ``alpha_p``, ``alpha_d``, ``rho``, ``lambda_init``, ``lambda_max``, ``switch_weight``.
    Static: the stream names, ``rule``, ``measure``, ``sense``, ``normalize``.
    """

    limits: Array | float = 0.0
    streams: tuple[str, ...] | None = struct.field(pytree_node=False, default=None)
    rule: str = struct.field(pytree_node=False, default="pid")
    measure: str = struct.field(pytree_node=False, default="episodic")
    sense: str = struct.field(pytree_node=False, default="upper")
    normalize: bool = struct.field(pytree_node=False, default=True)
    lr: Array | float = 0.05
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

    def constrained_streams(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """The constrained streams among ``names``: ``self.streams``, or by default every
        ``cost``/``cost_k`` stream (``sense="upper"``). Raises ``ConfigError`` if one is missing
        or the number of limits does not match."""
        who = "threshold_weights" if self.sense == "lower" else "lagrangian"
        if self.streams is None:
            chosen = tuple(n for n in names if n == "cost" or (n.startswith("cost_") and n[5:].isdigit()))
            if not chosen:
                raise ConfigError(
                    f'{who}: the environment provides no cost stream (no info["cost"]); its streams are '
                    f"{list(names)}. Use a constrained environment or name the streams to constrain."
                )
        else:
            chosen = tuple(self.streams)
            missing = [n for n in chosen if n not in names]
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
        k = len(self.constrained_streams(tuple(spec.streams)))
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
        names = self.constrained_streams(tuple(sorted(streams)))
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
        names = self.constrained_streams(tuple(sorted(streams)))
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


def multiplier_step(transform: Lagrangian, state: LagrangianState, cost: Array, limits: Array) -> LagrangianState:
    """One multiplier update from a measured constraint return ``cost [K]`` (pure).

    Implements the rules of the module docstring with ``g = cost - limits`` (``limits - cost``
    for ``sense="lower"``); every multiplier is projected onto ``[0, lambda_max]``. Exposed so
    exact (tabular) primal-dual methods can drive the same rules with exact returns.
    """
    t = transform
    g = t._sign() * (jnp.asarray(cost, jnp.float32) - limits)
    measured = jnp.ones_like(state.measured)
    if t.rule == "gradient":
        lam = t._clip(state.lam + t.lr * g)
        return state.replace(lam=lam, weight=lam, measured=measured)
    if t.rule == "augmented":
        lam = t._clip(state.lam + t.lr * g)
        return state.replace(lam=lam, weight=t._clip(lam + t.rho * g), measured=measured)
    if t.rule == "switch":
        weight = jnp.where(g > 0, jnp.asarray(t.switch_weight, jnp.float32), 0.0)
        return state.replace(lam=weight, weight=weight, measured=measured)
    # PID (Stooke et al. 2020, Alg. 2)
    integral = jnp.maximum(state.integral + g, 0.0)
    if t.lambda_max is not None:  # anti-windup: the integral alone never exceeds the bound
        integral = jnp.where(
            jnp.asarray(t.ki) > 0, jnp.minimum(integral, t.lambda_max / jnp.maximum(t.ki, 1e-12)), integral
        )
    cost_sense = t._sign() * jnp.asarray(cost, jnp.float32)
    p_avg = jnp.where(state.measured, t.alpha_p * state.p_avg + (1.0 - t.alpha_p) * g, g)
    d_avg = jnp.where(state.measured, t.alpha_d * state.d_avg + (1.0 - t.alpha_d) * cost_sense, cost_sense)
    derivative = jnp.where(state.measured, jnp.maximum(d_avg - state.d_avg, 0.0), 0.0)
    lam = t._clip(t.kp * p_avg + t.ki * integral + t.kd * derivative)
    return state.replace(
        lam=lam, weight=lam, integral=integral, p_avg=p_avg, d_avg=d_avg, d_prev=state.d_avg, measured=measured
    )


def _check_choice(value: str, choices: tuple[str, ...], name: str, who: str) -> None:
    if value not in choices:
        raise ConfigError(f"{who}: {name} must be one of {list(choices)}, got {value!r}")


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


def make_lagrangian(
    limits: Array | float | tuple[float, ...],
    streams: tuple[str, ...] | None = None,
    *,
    rule: str = "pid",
    measure: str = "episodic",
    sense: str = "upper",
    normalize: bool = True,
    lr: float = 0.05,
    kp: float = 0.1,
    ki: float = 0.05,
    kd: float = 0.0,
    alpha_p: float = 0.0,
    alpha_d: float = 0.0,
    rho: float = 0.05,
    lambda_init: float = 0.0,
    lambda_max: float | None = None,
    switch_weight: float = 1.0,
    who: str = "lagrangian",
) -> Lagrangian:
    """Validated :class:`Lagrangian` constructor shared by ``lagrangian`` and ``threshold_weights``."""
    _check_choice(rule, RULES, "rule", who)
    _check_choice(measure, MEASURES, "measure", who)
    _check_choice(sense, SENSES, "sense", who)
    _check_limits(limits, who, allow_negative=sense == "lower")
    if streams is not None:
        if isinstance(streams, str):
            streams = (streams,)
        streams = tuple(streams)
        if not streams or len(set(streams)) != len(streams):
            raise ConfigError(f"{who}: streams must be distinct stream names, got {streams!r}")
        shape = np.shape(limits)
        count = 1 if shape == () else shape[-1]
        if count != len(streams) or (shape == () and len(streams) != 1):
            raise ConfigError(
                f"{who}: {len(streams)} stream(s) {list(streams)} but limits of shape {shape}; "
                "give exactly one limit per stream"
            )
    for value, name in ((lr, "lr"), (kp, "kp"), (ki, "ki"), (kd, "kd"), (rho, "rho"), (lambda_init, "lambda_init")):
        check_nonnegative(value, f"{who}: {name}")
    check_nonnegative(switch_weight, f"{who}: switch_weight")
    check_in_range(alpha_p, f"{who}: alpha_p", 0.0, 1.0)
    check_in_range(alpha_d, f"{who}: alpha_d", 0.0, 1.0)
    if lambda_max is not None:
        check_positive(lambda_max, f"{who}: lambda_max")
    if isinstance(limits, (tuple, list)):
        limits = jnp.asarray(limits, jnp.float32)
    return Lagrangian(
        limits=limits,
        streams=streams,
        rule=rule,
        measure=measure,
        sense=sense,
        normalize=bool(normalize),
        lr=lr,
        kp=kp,
        ki=ki,
        kd=kd,
        alpha_p=alpha_p,
        alpha_d=alpha_d,
        rho=rho,
        lambda_init=lambda_init,
        lambda_max=lambda_max,
        switch_weight=switch_weight,
    )


def lagrangian(
    limits: Array | float | tuple[float, ...],
    streams: tuple[str, ...] | None = None,
    *,
    rule: str = "pid",
    measure: str = "episodic",
    normalize: bool = True,
    lr: float = 0.05,
    kp: float = 0.1,
    ki: float = 0.05,
    kd: float = 0.0,
    alpha_p: float = 0.0,
    alpha_d: float = 0.0,
    rho: float = 0.05,
    lambda_init: float = 0.0,
    lambda_max: float | None = None,
) -> Lagrangian:
    """Constrain cost streams to ``J_{C_i} <= limits[i]`` with learned multipliers.

    Args:
        limits: one budget per constrained stream (scalar for one stream, ``[K]`` for K), >= 0,
            in units of the ``measure`` (episodic cost, or discounted cost return).
        streams: names of the constrained streams; default: every ``cost``/``cost_k`` stream
            the environment provides through ``info["cost"]``.
        rule: ``"gradient"`` (SGD on lambda, step ``lr``), ``"pid"`` (``kp``, ``ki``, ``kd``,
            smoothing ``alpha_p``, ``alpha_d``), ``"augmented"`` (step ``lr``, penalty ``rho``)
            or ``"switch"`` (see the module docstring).
        measure: ``"episodic"`` (undiscounted episode cost) or ``"discounted"`` (discounted
            cost return with the stream's discount).
        normalize: divide the combined advantage by ``1 + sum(lambda)``.
        lambda_init: initial multiplier; ``lambda_max``: optional upper bound (``None``: none).

    Raises:
        ConfigError: negative limit, a limit count that does not match ``streams``, an unknown
            rule or measure, negative gains (a missing stream is reported by ``init``).
    """
    return make_lagrangian(
        limits,
        streams,
        rule=rule,
        measure=measure,
        normalize=normalize,
        lr=lr,
        kp=kp,
        ki=ki,
        kd=kd,
        alpha_p=alpha_p,
        alpha_d=alpha_d,
        rho=rho,
        lambda_init=lambda_init,
        lambda_max=lambda_max,
    )


__all__ = ["MEASURES", "RULES", "Lagrangian", "LagrangianState", "lagrangian", "make_lagrangian", "multiplier_step"]
