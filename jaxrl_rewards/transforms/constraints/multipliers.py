"""The multiplier update rules of the Lagrangian transforms, and their state.

Update rules (``g = J_C - d``, per constraint):

* ``"gradient"``: projected gradient ascent (SGD, not Adam) on the dual,
  ``lambda <- clip(lambda + learning_rate * g, 0, lambda_max)``.
* ``"pid"``: PID Lagrangian (Stooke, Achiam & Abbeel 2020, "Responsive Safety in RL by PID
  Lagrangian Methods", Alg. 2): ``I <- max(0, I + g)``,
  ``lambda = clip(kp * P + ki * I + kd * max(0, D - D_prev), 0, lambda_max)``, where ``P`` is
  an exponential moving average (``alpha_p``) of ``g`` and ``D`` one (``alpha_d``) of ``J_C``.
  With ``kp = kd = 0`` it is exactly ``"gradient"`` with ``learning_rate = ki``; the proportional and
  derivative terms damp the oscillation (cost overshoot) that the pure integral causes.
* ``"augmented"``: augmented Lagrangian / method of multipliers for inequality constraints
  (Hestenes 1969; Powell 1969; Rockafellar 1973): the policy maximises
  ``J_R - (1 / 2 rho) sum_i (max(0, lambda_i + rho g_i)^2 - lambda_i^2)``, whose gradient
  weights cost ``i`` by ``max(0, lambda_i + rho g_i)``; so the streams get that weight
  (with the latest measured ``g``) and the multiplier moves as in ``"gradient"``.
* ``"switch"``: a dynamic weight without memory: ``lambda_i = switch_weight * [g_i > 0]`` —
  the stream is pushed only while its constraint is violated.

``sense="lower"`` flips the sign of ``g`` (``g = d - J``).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.types import Array

RULES: tuple[str, ...] = ("gradient", "pid", "augmented", "switch")


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


def multiplier_step(transform: Any, state: LagrangianState, cost: Array, limits: Array) -> LagrangianState:
    """One multiplier update from a measured constraint return ``cost [K]`` (pure).

    Implements the rules of the module docstring with ``g = cost - limits`` (``limits - cost``
    for ``sense="lower"``); every multiplier is projected onto ``[0, lambda_max]``. Exposed so
    exact (tabular) primal-dual methods can drive the same rules with exact returns.
    ``transform`` is a :class:`~jaxrl_rewards.transforms.constraints.lagrangian.Lagrangian`.
    """
    t = transform
    g = t._sign() * (jnp.asarray(cost, jnp.float32) - limits)
    measured = jnp.ones_like(state.measured)
    if t.rule == "gradient":
        lam = t._clip(state.lam + t.learning_rate * g)
        return state.replace(lam=lam, weight=lam, measured=measured)
    if t.rule == "augmented":
        lam = t._clip(state.lam + t.learning_rate * g)
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


__all__ = ["RULES", "LagrangianState", "multiplier_step"]
