"""Oblivious adversarial bandits: a fixed reward table per round, regret against the best fixed arm."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.bandits.envs.base import BanditEnv, Expected, _f32
from jaxrl_rewards.core.types import Array
from jaxrl_rewards.core.validation import ConfigError, check_in_range

# ----------------------------------------------------------------------------- adversarial


class AdversarialBandit(BanditEnv):
    """Oblivious adversarial bandit: a reward table fixed in advance, ``rewards[t, a]`` in [0, 1].

    The comparator is the best fixed arm in hindsight over the whole table
    (``argmax_a sum_t rewards[t, a]``), so summed per-round regret is the usual adversarial
    regret (Auer et al., 2002).

    Attributes:
        rewards: ``[H, K]``; the horizon of a run may not exceed ``H``.
    """

    rewards: Array = None

    def mean_rewards(self, state, x, t):
        return self.rewards[t]

    def expected(self, state, x, t):
        means = self.rewards[t]
        return Expected(
            reward=means,
            cost=jnp.zeros_like(means),
            best=jnp.argmax(self.rewards.sum(axis=0)).astype(jnp.int32),
            threshold=jnp.float32(jnp.inf),
        )

    def sample(self, key, state, x, arm, t):
        return self.rewards[t, arm], jnp.float32(0.0)


def adversarial_bandit(rewards: Any) -> AdversarialBandit:
    """An oblivious adversarial bandit from a reward table ``[H, K]`` with entries in ``[0, 1]``."""
    arr = np.asarray(rewards, np.float64)
    if arr.ndim != 2 or arr.shape[1] < 2 or arr.shape[0] < 1:
        raise ConfigError(f"adversarial_bandit: rewards must be a table [horizon, num_arms >= 2], got {arr.shape}")
    check_in_range(arr, "adversarial_bandit: rewards", 0.0, 1.0)
    return AdversarialBandit(num_arms=arr.shape[1], max_horizon=arr.shape[0], rewards=_f32(arr))


def switching_adversarial_bandit(num_arms: int, horizon: int, period: int = 100, seed: int = 0) -> AdversarialBandit:
    """An oblivious sequence: arm 0 pays 0.5 every round while the other arms take turns, each
    paying 1 for ``period`` rounds and 0 otherwise, so arm 0 is the best fixed arm in hindsight
    (a learner that tracks the current winner can beat it: regret may be negative). 10% of the
    entries are flipped towards the other extreme by 0.1, drawn once from ``seed``."""
    if num_arms < 2 or horizon < 1 or period < 1:
        raise ConfigError("switching_adversarial_bandit: need num_arms >= 2, horizon >= 1, period >= 1")
    rng = np.random.default_rng(seed)
    table = np.zeros((horizon, num_arms))
    table[:, 0] = 0.5
    leader = 1 + (np.arange(horizon) // period) % (num_arms - 1)
    table[np.arange(horizon), leader] = 1.0
    table = np.clip(table + 0.1 * (rng.random(table.shape) < 0.1) * np.where(table > 0.5, -1, 1), 0, 1)
    return adversarial_bandit(table)
