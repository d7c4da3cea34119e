"""Constrained bandit algorithms: each arm has a reward and a cost, and the cost of the arm
played should stay at or below ``threshold`` (see ``ConstrainedBandit``).

Both algorithms learn from the reward signal and the cost signal that ``run`` hands them
(the ``cost`` stream after the reward transform).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl_rewards.bandits.algorithms import ArmStats, BanditAlgorithm, argmax_random
from jaxrl_rewards.core import struct
from jaxrl_rewards.core.types import Array
from jaxrl_rewards.core.validation import ConfigError, check_in_range, check_nonnegative


class _Constrained(BanditAlgorithm):
    uses_cost: bool = struct.field(pytree_node=False, default=True)
    threshold: Array = 0.5

    def check(self, env):
        if not env.constrained:
            raise ConfigError(f"{type(self).__name__} needs a constrained bandit (one whose pulls have a cost)")


class OptimisticPessimistic(_Constrained):
    """Optimistic–pessimistic constrained UCB (optimism for reward, pessimism for cost, in the
    spirit of Pacchiano et al., 2021). With ``w = alpha * sqrt(2 ln t / n)`` per arm:

    * optimistic reward ``U_r = mean_r + w``;
    * pessimistic cost ``U_c = mean_c + w`` and optimistic cost ``L_c = mean_c - w``;
    * certified-feasible arms ``S = {U_c <= threshold}``; plausibly feasible arms
      ``P = {L_c <= threshold}`` (not yet ruled out; ``S`` is a subset).

    Each round: if the best plausibly feasible arm by ``U_r`` is certified, play it
    (``argmax_S U_r``). Otherwise some uncertain arm ``a in P \\ S`` might beat every certified
    arm (``U_r(a) > max_S U_r``); play the one among those with the least optimistic violation
    (``argmin L_c``), which is the arm most likely to be certified. If no arm is plausibly
    feasible, play ``argmin_a L_c(a)`` (the least optimistic violation).

    A purely pessimistic rule (only ever play ``argmax_S U_r``) stops learning about every
    arm it has not certified once one arm is certified (per-arm costs share no structure), so
    uncertain arms are explored, cheapest-looking first; arms are ruled out as soon as
    ``L_c > threshold``, so violation grows like ``log T`` instead of linearly.
    """

    alpha: Array = 0.5

    def select(self, state: ArmStats, x, t, key):
        w = state.width(t, self.alpha)
        cost = jnp.where(state.counts > 0, state.mean_cost(), 0.0)
        ucb_reward = state.mean_reward() + w
        certified = cost + w <= self.threshold
        plausible = cost - w <= self.threshold
        best_certified = jnp.max(jnp.where(certified, ucb_reward, -jnp.inf))
        best_plausible = jnp.max(jnp.where(plausible, ucb_reward, -jnp.inf))
        uncertain = plausible & ~certified & (ucb_reward > best_certified)
        k_exploit, k_explore, k_fallback = jax.random.split(key, 3)
        exploit = argmax_random(k_exploit, jnp.where(certified, ucb_reward, -jnp.inf))
        explore = argmax_random(k_explore, jnp.where(uncertain, -(cost - w), -jnp.inf))
        fallback = argmax_random(k_fallback, -(cost - w))
        use_certified = jnp.any(certified) & (best_certified >= best_plausible)
        return jnp.where(use_certified, exploit, jnp.where(jnp.any(uncertain), explore, fallback)).astype(jnp.int32)


def optimistic_pessimistic(threshold: float, alpha: float = 0.5) -> OptimisticPessimistic:
    """The optimistic–pessimistic constrained algorithm for cost ``threshold`` (sweepable)."""
    check_in_range(threshold, "optimistic_pessimistic: threshold", 0.0, 1.0)
    check_nonnegative(alpha, "optimistic_pessimistic: alpha")
    return OptimisticPessimistic(threshold=jnp.float32(threshold), alpha=jnp.float32(alpha))


class DualState(struct.PyTreeNode):
    """Arm statistics and the Lagrange multiplier ``lam >= 0``."""

    stats: ArmStats
    lam: Array


class PrimalDual(_Constrained):
    """Primal–dual (Lagrangian) UCB baseline (as in bandits with knapsacks, Badanidiyuru et al.,
    2013; Agrawal & Devanur, 2014): play ``argmax_a U_r(a) - lam * L_c(a)`` with optimistic reward
    ``U_r = mean_r + w`` and optimistic cost ``L_c = mean_c - w``; after each pull
    ``lam <- max(0, lam + step_size * (cost - threshold))`` (projected dual ascent)."""

    alpha: Array = 0.5
    step_size: Array = 0.05

    def init(self, key, num_arms, context_dim):
        return DualState(stats=ArmStats.zeros(num_arms), lam=jnp.float32(0.0))

    def select(self, state: DualState, x, t, key):
        w = state.stats.width(t, self.alpha)
        lagrangian = state.stats.mean_reward() + w - state.lam * jnp.maximum(state.stats.mean_cost() - w, 0.0)
        return argmax_random(key, jnp.where(state.stats.counts > 0, lagrangian, jnp.inf))

    def update(self, state: DualState, x, arm, reward, cost, t, key):
        lam = jnp.maximum(state.lam + self.step_size * (cost - self.threshold), 0.0)
        return DualState(stats=state.stats.add(arm, reward, cost), lam=lam)


def primal_dual(threshold: float, alpha: float = 0.5, step_size: float = 0.05) -> PrimalDual:
    """The primal–dual baseline for cost ``threshold`` with dual step size ``step_size``."""
    check_in_range(threshold, "primal_dual: threshold", 0.0, 1.0)
    check_nonnegative(alpha, "primal_dual: alpha")
    check_nonnegative(step_size, "primal_dual: step_size")
    return PrimalDual(threshold=jnp.float32(threshold), alpha=jnp.float32(alpha), step_size=jnp.float32(step_size))


__all__ = ["DualState", "OptimisticPessimistic", "PrimalDual", "optimistic_pessimistic", "primal_dual"]
