"""History-dependent bandits: satiation (rested rewards) and switching costs (time since the last switch)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.bandits.envs.base import BanditEnv, _f32, _vector
from jaxrl_rewards.core import struct
from jaxrl_rewards.core.types import Array
from jaxrl_rewards.core.validation import check_in_range, check_nonnegative

# ----------------------------------------------------------------------------- history-dependent


class SatiationState(struct.PyTreeNode):
    """Per-arm satiation levels ``[K]``."""

    satiation: Array


class SatiationBandit(BanditEnv):
    """Satiation (rested, rotting) bandit: an arm's reward falls with its recent plays and
    recovers with rest (after the satiation dynamics of recommender studies, e.g. Leqi et al., 2021).

    Satiation ``s_a`` decays geometrically and grows with each play:
    ``s <- decay * s + onehot(arm)``. Pulling ``a`` pays
    ``base[a] * exp(-strength * s_a) + noise_std * N(0, 1)`` with ``s_a`` before the pull.

    Attributes:
        base: rested mean of every arm, ``[K]``; decay in ``[0, 1)``; strength >= 0; noise_std >= 0.
    """

    base: Array = None
    decay: Array = 0.8
    strength: Array = 0.5
    noise_std: Array = 0.1

    def init(self, key):
        del key
        return SatiationState(satiation=jnp.zeros((self.num_arms,), jnp.float32))

    def mean_rewards(self, state, x, t):
        return self.base * jnp.exp(-self.strength * state.satiation)

    def sample(self, key, state, x, arm, t):
        return self.mean_rewards(state, x, t)[arm] + self.noise_std * jax.random.normal(key), jnp.float32(0.0)

    def transition(self, state, arm, t):
        return SatiationState(satiation=self.decay * state.satiation + jax.nn.one_hot(arm, self.num_arms))


def satiation_bandit(
    base: Any = (1.0, 0.9, 0.8, 0.7, 0.6), decay: float = 0.8, strength: float = 0.5, noise_std: float = 0.1
) -> SatiationBandit:
    """A satiation bandit (see ``SatiationBandit``)."""
    arr = _vector(base, "satiation_bandit: base")
    check_in_range(decay, "satiation_bandit: decay", 0.0, 0.999999)
    check_nonnegative(strength, "satiation_bandit: strength")
    check_nonnegative(noise_std, "satiation_bandit: noise_std")
    return SatiationBandit(
        num_arms=arr.shape[0], base=_f32(arr), decay=_f32(decay), strength=_f32(strength), noise_std=_f32(noise_std)
    )


class SwitchState(struct.PyTreeNode):
    """The last arm played (-1 before the first pull) and rounds since the last switch."""

    last_arm: Array
    since_switch: Array


class SwitchingBandit(BanditEnv):
    """Rewards that depend on the time since the last switch (a warm-up / switching-cost bandit):
    staying on an arm ``k`` rounds pays ``base[a] * min(1, (k + 1) / warmup)``, so every switch
    restarts the warm-up (``k = 0`` on the round of a switch).

    Attributes:
        base: ``[K]``; warmup >= 1 rounds; noise_std >= 0.
    """

    base: Array = None
    warmup: Array = 5.0
    noise_std: Array = 0.1

    def init(self, key):
        del key
        return SwitchState(last_arm=jnp.int32(-1), since_switch=jnp.int32(0))

    def mean_rewards(self, state, x, t):
        arms = jnp.arange(self.num_arms)
        stay = jnp.where(arms == state.last_arm, state.since_switch + 1, 0)
        return self.base * jnp.minimum(1.0, (stay + 1.0) / self.warmup)

    def sample(self, key, state, x, arm, t):
        return self.mean_rewards(state, x, t)[arm] + self.noise_std * jax.random.normal(key), jnp.float32(0.0)

    def transition(self, state, arm, t):
        same = arm == state.last_arm
        return SwitchState(last_arm=arm.astype(jnp.int32), since_switch=jnp.where(same, state.since_switch + 1, 0))


def switching_bandit(base: Any = (1.0, 0.9, 0.8, 0.7, 0.6), warmup: float = 5.0, noise_std: float = 0.1):
    """A switching (warm-up) bandit (see ``SwitchingBandit``)."""
    arr = _vector(base, "switching_bandit: base")
    check_in_range(warmup, "switching_bandit: warmup", 1.0, np.inf)
    check_nonnegative(noise_std, "switching_bandit: noise_std")
    return SwitchingBandit(num_arms=arr.shape[0], base=_f32(arr), warmup=_f32(warmup), noise_std=_f32(noise_std))
