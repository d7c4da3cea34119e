"""Constrained-threshold bandits: each pull also yields a cost; the comparator is the best feasible arm."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.bandits.envs.base import BanditEnv, Expected, _f32, _vector
from jaxrl_rewards.core import struct
from jaxrl_rewards.core.types import Array
from jaxrl_rewards.core.validation import ConfigError, check_in_range

# ----------------------------------------------------------------------------- constrained


class ConstrainedBandit(BanditEnv):
    """Bandit with a per-arm cost and a threshold: arm ``a`` pays ``Bernoulli(reward_probs[a])``
    and costs ``Bernoulli(cost_probs[a])``; an arm is feasible when its expected cost is at most
    ``threshold``. The comparator is the best feasible arm (per-round constraint, as in the
    safe/conservative bandit literature, e.g. Amani et al., 2019; Pacchiano et al., 2021).

    Attributes:
        reward_probs: ``[K]``; cost_probs: ``[K]``; threshold: scalar.
    """

    reward_probs: Array = None
    cost_probs: Array = None
    threshold: Array = 0.5
    constrained: bool = struct.field(pytree_node=False, default=True)

    def mean_rewards(self, state, x, t):
        return self.reward_probs

    def expected(self, state, x, t):
        feasible = self.cost_probs <= self.threshold
        best = jnp.argmax(jnp.where(feasible, self.reward_probs, -jnp.inf)).astype(jnp.int32)
        return Expected(reward=self.reward_probs, cost=self.cost_probs, best=best, threshold=_f32(self.threshold))

    def sample(self, key, state, x, arm, t):
        k_r, k_c = jax.random.split(key)
        reward = jax.random.bernoulli(k_r, self.reward_probs[arm]).astype(jnp.float32)
        cost = jax.random.bernoulli(k_c, self.cost_probs[arm]).astype(jnp.float32)
        return reward, cost


def constrained_bandit(reward_probs: Any, cost_probs: Any, threshold: float) -> ConstrainedBandit:
    """A constrained Bernoulli bandit; needs at least one feasible arm (cost prob <= threshold)."""
    r = _vector(reward_probs, "constrained_bandit: reward_probs")
    c = _vector(cost_probs, "constrained_bandit: cost_probs")
    if r.shape != c.shape:
        raise ConfigError(f"constrained_bandit: reward_probs {r.shape} and cost_probs {c.shape} differ in shape")
    check_in_range(r, "constrained_bandit: reward_probs", 0.0, 1.0)
    check_in_range(c, "constrained_bandit: cost_probs", 0.0, 1.0)
    check_in_range(threshold, "constrained_bandit: threshold", 0.0, 1.0)
    if not np.any(c <= threshold):
        raise ConfigError(f"constrained_bandit: no arm is feasible (min cost prob {c.min()} > threshold {threshold})")
    return ConstrainedBandit(num_arms=r.shape[0], reward_probs=_f32(r), cost_probs=_f32(c), threshold=_f32(threshold))


def default_constrained_bandit(num_arms: int = 10) -> ConstrainedBandit:
    """The constrained instance of the benchmark (threshold 0.5). The first ``ceil(K/2)`` arms are
    feasible, with rewards evenly in [0.1, 0.5] and costs evenly in [0.05, 0.25]; the others are
    slightly more rewarding ([0.55, 0.6]) but costly ([0.8, 0.95]), so running over the
    threshold buys little reward (mixing the best feasible arm with an infeasible one to meet
    the threshold only on average gains about 5%)."""
    if num_arms < 2:
        raise ConfigError(f"need at least 2 arms, got {num_arms}")
    feasible = (num_arms + 1) // 2
    rest = num_arms - feasible
    reward = np.concatenate([np.linspace(0.1, 0.5, feasible), np.linspace(0.55, 0.6, rest)])
    cost = np.concatenate([np.linspace(0.05, 0.25, feasible), np.linspace(0.8, 0.95, rest)])
    return constrained_bandit(reward, cost, 0.5)
