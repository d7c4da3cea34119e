"""Exact tabular constrained MDPs: the LP optimum and an exact primal-dual learner.

A discounted constrained MDP (Altman 1999, "Constrained Markov Decision Processes") with
transitions ``P[S, A, S']``, reward ``R[S, A]``, costs ``C[K, S, A]``, start distribution
``mu[S]`` and discount ``gamma`` is solved exactly by a linear program over the discounted
occupancy measure ``rho(s, a) = sum_t gamma^t Pr(s_t = s, a_t = a)``::

    max_rho  sum_{s,a} rho(s,a) R(s,a)
    s.t.     sum_a rho(s',a) - gamma sum_{s,a} P(s'|s,a) rho(s,a) = mu(s')   for every s'
             sum_{s,a} rho(s,a) C_k(s,a) <= d_k                             for every k
             rho >= 0

and the optimal (generally stochastic) policy is ``pi(a|s) = rho(s,a) / sum_a rho(s,a)``.
``solve_cmdp`` solves it with scipy's HiGHS (scipy is imported inside the function: it is a
test extra). ``exact_primal_dual`` runs Lagrangian learning on the same CMDP with exact
returns: natural policy gradient steps on the softmax policy (Agarwal et al. 2021; NPG-PD,
Ding et al. 2020) on the normalised Lagrangian advantage ``(A_R - sum_k lambda_k A_{C_k}) /
(1 + sum_k lambda_k)`` and the multiplier rules of :class:`~jaxrl_rewards.transforms.constraints.lagrangian.Lagrangian`
(``measure`` discounted: ``J_C`` is the discounted cost return from ``mu``).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import linprog  # test-extra dependency

from jaxrl_rewards.core.types import Array, TransformSpec
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms.constraints.lagrangian import multiplier_step


class CMDPSolution(NamedTuple):
    """LP optimum of a constrained MDP.

    Attributes:
        occupancy: discounted occupancy measure ``rho [S, A]`` (sums to ``1 / (1 - gamma)``).
        policy: optimal policy ``pi [S, A]`` (uniform where ``rho(s, .) = 0``).
        reward_return: optimal discounted return ``sum rho * R`` from ``mu``.
        cost_returns: discounted cost returns ``[K]`` of the optimum.
        multipliers: optimal Lagrange multipliers ``lambda* [K] >= 0``, one per constraint: the
            LP duals of the cost constraints, ``lambda*_k = d J_R* / d d_k`` (the optimal
            return gained per unit of extra budget), with the sign convention of
            ``L(pi, lambda) = J_R(pi) - sum_k lambda_k (J_C_k(pi) - d_k)`` (a learned multiplier
            of :func:`exact_primal_dual` / ``lagrangian`` should approach them). By strong
            duality ``J_R* = max_pi L(pi, lambda*)``, and ``lambda*_k = 0`` where the budget is
            slack (complementary slackness).
    """

    occupancy: np.ndarray
    policy: np.ndarray
    reward_return: float
    cost_returns: np.ndarray
    multipliers: np.ndarray


def _as_arrays(transitions, rewards, costs, initial, limits=None):
    P = np.asarray(transitions, np.float64)
    R = np.asarray(rewards, np.float64)
    if P.ndim != 3 or P.shape[0] != P.shape[2] or R.shape != P.shape[:2]:
        raise ConfigError(f"need transitions [S, A, S] and rewards [S, A]; got {P.shape} and {R.shape}")
    if not np.allclose(P.sum(-1), 1.0, atol=1e-8):
        raise ConfigError("transitions[s, a, :] must sum to 1")
    C = np.asarray(costs, np.float64)
    C = C[None] if C.ndim == 2 else C
    if C.shape[1:] != R.shape:
        raise ConfigError(f"costs must be [S, A] or [K, S, A] with [S, A] = {R.shape}; got {np.shape(costs)}")
    num_states = P.shape[0]
    if np.ndim(initial) == 0:
        mu = np.zeros(num_states)
        mu[int(initial)] = 1.0
    else:
        mu = np.asarray(initial, np.float64)
        if mu.shape != (num_states,) or not np.isclose(mu.sum(), 1.0):
            raise ConfigError(f"initial must be a state index or a distribution [S={num_states}]")
    if limits is None:
        return P, R, C, mu, None
    d = np.atleast_1d(np.asarray(limits, np.float64))
    if d.shape != (C.shape[0],):
        raise ConfigError(f"{C.shape[0]} cost function(s) but limits of shape {np.shape(limits)}")
    return P, R, C, mu, d


def solve_cmdp(
    transitions: np.ndarray,
    rewards: np.ndarray,
    costs: np.ndarray,
    limits: float | np.ndarray,
    initial: int | np.ndarray,
    gamma: float,
) -> CMDPSolution:
    """Solve a discounted CMDP exactly by linear programming over occupancy measures.

    Args:
        transitions: ``P[S, A, S']``; rewards: ``R[S, A]``; costs: ``C[S, A]`` or ``[K, S, A]``.
        limits: budgets ``d [K]`` on the discounted cost returns.
        initial: start state index or distribution ``mu [S]``.
        gamma: discount in ``[0, 1)``.

    Raises:
        ConfigError: bad shapes or gamma; ``RuntimeError`` if the LP is infeasible.
    """

    if not 0.0 <= gamma < 1.0:
        raise ConfigError(f"gamma must lie in [0, 1) for the discounted LP, got {gamma}")
    P, R, C, mu, d = _as_arrays(transitions, rewards, costs, initial, limits)
    num_states, num_actions = R.shape
    # flow constraints: rho(s', .) summed - gamma * inflow(s') = mu(s')
    own = np.repeat(np.eye(num_states), num_actions, axis=1)  # [S', S*A]
    inflow = P.reshape(num_states * num_actions, num_states).T  # [S', S*A]
    result = linprog(
        -R.reshape(-1),
        A_ub=C.reshape(C.shape[0], -1),
        b_ub=d,
        A_eq=own - gamma * inflow,
        b_eq=mu,
        bounds=(0, None),
        method="highs",
    )
    if result.status != 0:
        raise RuntimeError(f"CMDP linear program failed: {result.message}")
    rho = np.maximum(result.x.reshape(num_states, num_actions), 0.0)
    total = rho.sum(1, keepdims=True)
    policy = np.where(total > 1e-12, rho / np.maximum(total, 1e-300), 1.0 / num_actions)
    # HiGHS reports d(objective)/d(b_ub) <= 0 for the minimised -J_R; lambda* = -that >= 0
    multipliers = np.maximum(-np.asarray(result.ineqlin.marginals, np.float64), 0.0)
    return CMDPSolution(rho, policy, float((rho * R).sum()), (C * rho[None]).sum((1, 2)), multipliers)


def policy_values(transitions: Array, rewards: Array, policy: Array, gamma: float | Array) -> tuple[Array, Array]:
    """Exact ``V[S]`` and ``Q[S, A]`` of ``policy [S, A]`` for reward ``[S, A]`` (jnp; jittable)."""
    P = jnp.asarray(transitions)
    r_pi = (policy * rewards).sum(-1)
    p_pi = jnp.einsum("sa,sat->st", policy, P)
    v = jnp.linalg.solve(jnp.eye(P.shape[0], dtype=P.dtype) - gamma * p_pi, r_pi)
    q = rewards + gamma * jnp.einsum("sat,t->sa", P, v)
    return v, q


class PrimalDualTrace(NamedTuple):
    """Curves of :func:`exact_primal_dual`, each ``[iterations, ...]``: ``reward_return``,
    ``cost_returns [K]``, ``multipliers [K]`` (the weights used), and the final ``policy [S, A]``."""

    reward_return: Array
    cost_returns: Array
    multipliers: Array
    policy: Array


def exact_primal_dual(
    transform,
    transitions: np.ndarray,
    rewards: np.ndarray,
    costs: np.ndarray,
    initial: int | np.ndarray,
    gamma: float,
    iterations: int = 2000,
    policy_lr: float = 1.0,
) -> PrimalDualTrace:
    """Lagrangian learning with exact returns on a tabular CMDP (jitted ``lax.scan``).

    Each iteration: evaluate the softmax policy exactly; measure ``J_C`` (discounted, from
    ``initial``); update the multipliers with ``transform``'s rule
    (:func:`~jaxrl_rewards.transforms.constraints.lagrangian.multiplier_step`; its ``limits`` are the
    budgets); take an NPG step ``theta += policy_lr / (1 - gamma) * (A_R - sum lambda A_C) /
    (1 + sum lambda)`` with the updated multipliers (the normaliser only when
    ``transform.normalize``).

    Args:
        transform: a :class:`~jaxrl_rewards.transforms.constraints.lagrangian.Lagrangian` (upper sense).
        transitions, rewards, costs, initial, gamma: the CMDP (as for :func:`solve_cmdp`).
        iterations: number of primal-dual iterations (static).
        policy_lr: NPG step size.
    """

    P, R, C, mu, _ = _as_arrays(transitions, rewards, costs, initial)
    num_costs = C.shape[0]
    names = ("cost",) if num_costs == 1 else tuple(f"cost_{k}" for k in range(num_costs))
    spec = TransformSpec(None, None, 1, ("task", *names), None, kinds=("task", *("cost" for _ in names)))
    state0 = transform.init(jax.random.key(0), spec)
    limits = transform._limits(num_costs)
    P32, R32, C32, mu32 = (jnp.asarray(x, jnp.float32) for x in (P, R, C, mu))

    def step(carry, _):
        theta, state = carry
        policy = jax.nn.softmax(theta, axis=-1)
        v_r, q_r = policy_values(P32, R32, policy, gamma)
        v_c, q_c = jax.vmap(lambda c: policy_values(P32, c, policy, gamma))(C32)
        j_r, j_c = mu32 @ v_r, v_c @ mu32
        state = multiplier_step(transform, state, j_c, limits)
        lam = state.weight
        adv = (q_r - v_r[:, None]) - jnp.einsum("k,ksa->sa", lam, q_c - v_c[:, :, None])
        if transform.normalize:
            adv = adv / (1.0 + lam.sum())
        theta = theta + policy_lr / (1.0 - gamma) * adv
        return (theta, state), (j_r, j_c, lam)

    @jax.jit
    def run():
        theta0 = jnp.zeros(R.shape, jnp.float32)
        (theta, _), (j_r, j_c, lam) = jax.lax.scan(step, (theta0, state0), None, length=iterations)
        return PrimalDualTrace(j_r, j_c, lam, jax.nn.softmax(theta, axis=-1))

    return run()


__all__ = ["CMDPSolution", "PrimalDualTrace", "exact_primal_dual", "policy_values", "solve_cmdp"]
