"""Bandit environments as pure functions.

A bandit environment is a frozen pytree (``flax.struct.PyTreeNode``): its arrays (arm
probabilities, means, parameter vectors, reward tables) are leaves, so ``vmap`` can sweep them;
sizes (``num_arms``, ``context_dim``) are static. Every environment has the same five pure
methods, called once per round ``t`` by ``jaxrl_rewards.bandits.run``:

``init(key) -> state``
    The environment's own state (play history for history-dependent bandits, else ``()``).
``context(key, state, t) -> x``
    The context shown before the pull, ``[context_dim]`` (``[0]`` for non-contextual bandits).
``expected(state, x, t) -> Expected``
    Expected reward ``[K]`` and cost ``[K]`` of every arm this round, the comparator arm used
    for regret and the cost threshold (``inf`` when unconstrained). Only metrics read this.
``sample(key, state, x, arm, t) -> (reward, cost)``
    The observed reward and cost of pulling ``arm`` (scalars).
``transition(state, arm, t) -> state``
    The history update after the pull.

Regret of round ``t`` is ``expected.reward[best] - expected.reward[arm]``: stochastic bandits
compare with the best arm; adversarial ones with the best *fixed* arm in hindsight; constrained
ones with the best *feasible* arm; history-dependent ones with the arm that is best right now
given the history (an instantaneous comparator; compare whole policies by total reward there).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrl_rewards.core.types import Array, PRNGKey
from jaxrl_rewards.core.validation import ConfigError, check_finite, check_in_range, check_nonnegative, check_positive


class Expected(struct.PyTreeNode):
    """What an arm pull yields in expectation this round (for metrics, never for learners).

    Attributes:
        reward: expected reward of every arm, ``[K]``.
        cost: expected cost of every arm, ``[K]`` (zeros when unconstrained).
        best: the comparator arm for regret, int32 scalar.
        threshold: the cost threshold, scalar (``inf`` when unconstrained).
    """

    reward: Array
    cost: Array
    best: Array
    threshold: Array


class BanditEnv(struct.PyTreeNode):
    """Base class: a stateless, context-free bandit. Subclasses override what they need."""

    num_arms: int = struct.field(pytree_node=False, default=2)
    context_dim: int = struct.field(pytree_node=False, default=0)
    #: the largest horizon the environment supports (adversarial tables); ``None`` = any.
    max_horizon: int | None = struct.field(pytree_node=False, default=None)
    #: whether pulls carry a cost with a threshold (constrained bandits).
    constrained: bool = struct.field(pytree_node=False, default=False)

    def init(self, key: PRNGKey) -> Any:
        """Initial environment state; ``()`` for memoryless bandits."""
        del key
        return ()

    def context(self, key: PRNGKey, state: Any, t: Array) -> Array:
        """The context of round ``t``, ``[context_dim]``."""
        del key, state, t
        return jnp.zeros((self.context_dim,), jnp.float32)

    def mean_rewards(self, state: Any, x: Array, t: Array) -> Array:
        """Expected reward of every arm this round, ``[K]``."""
        raise NotImplementedError

    def expected(self, state: Any, x: Array, t: Array) -> Expected:
        """Expected reward/cost of every arm, comparator arm and threshold (see module doc)."""
        means = self.mean_rewards(state, x, t)
        return Expected(
            reward=means,
            cost=jnp.zeros_like(means),
            best=jnp.argmax(means).astype(jnp.int32),
            threshold=jnp.float32(jnp.inf),
        )

    def sample(self, key: PRNGKey, state: Any, x: Array, arm: Array, t: Array) -> tuple[Array, Array]:
        """Observed ``(reward, cost)`` of pulling ``arm``, float32 scalars."""
        raise NotImplementedError

    def transition(self, state: Any, arm: Array, t: Array) -> Any:
        """Environment state after ``arm`` was pulled in round ``t``; unchanged by default."""
        del arm, t
        return state


def _f32(x: Any) -> Array:
    return jnp.asarray(x, jnp.float32)


def _vector(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] < 2:
        raise ConfigError(f"{name} must be a vector with one entry per arm (at least 2 arms), got shape {arr.shape}")
    check_finite(arr, name)
    return arr


# ----------------------------------------------------------------------------- stochastic MABs


class BernoulliBandit(BanditEnv):
    """K-armed Bernoulli bandit: arm ``a`` pays 1 with probability ``probs[a]``, else 0.

    Attributes:
        probs: success probability of every arm, ``[K]`` in ``[0, 1]``.
    """

    probs: Array = None

    def mean_rewards(self, state, x, t):
        return self.probs

    def sample(self, key, state, x, arm, t):
        return jax.random.bernoulli(key, self.probs[arm]).astype(jnp.float32), jnp.float32(0.0)


def bernoulli_bandit(probs: Any) -> BernoulliBandit:
    """A Bernoulli bandit with success probabilities ``probs`` (``[K]``, each in ``[0, 1]``)."""
    arr = _vector(probs, "bernoulli_bandit: probs")
    check_in_range(arr, "bernoulli_bandit: probs", 0.0, 1.0)
    return BernoulliBandit(num_arms=arr.shape[0], probs=_f32(arr))


class GaussianBandit(BanditEnv):
    """K-armed Gaussian bandit: arm ``a`` pays ``N(means[a], stds[a]^2)``.

    Attributes:
        means: ``[K]``; stds: ``[K]`` (> 0).
    """

    means: Array = None
    stds: Array = None

    def mean_rewards(self, state, x, t):
        return self.means

    def sample(self, key, state, x, arm, t):
        return self.means[arm] + self.stds[arm] * jax.random.normal(key), jnp.float32(0.0)


def gaussian_bandit(means: Any, stds: Any = 1.0) -> GaussianBandit:
    """A Gaussian bandit with arm means ``means`` ``[K]`` and noise std ``stds`` (scalar or ``[K]``, > 0)."""
    arr = _vector(means, "gaussian_bandit: means")
    std = np.broadcast_to(np.asarray(stds, np.float64), arr.shape) if np.ndim(stds) == 0 else np.asarray(stds)
    if std.shape != arr.shape:
        raise ConfigError(f"gaussian_bandit: stds must be a scalar or have shape {arr.shape}, got {std.shape}")
    check_positive(std, "gaussian_bandit: stds")
    return GaussianBandit(num_arms=arr.shape[0], means=_f32(arr), stds=_f32(std))


# ----------------------------------------------------------------------------- contextual


class LinearContextualBandit(BanditEnv):
    """Linear contextual bandit (disjoint model, as in Li et al., 2010).

    Each round a context ``x ~ N(0, I_d / d)`` is drawn; arm ``a`` pays
    ``theta[a] . x + noise_std * N(0, 1)``.

    Attributes:
        theta: per-arm parameter vectors, ``[K, d]``.
        noise_std: reward noise, scalar.
    """

    theta: Array = None
    noise_std: Array = 0.1

    def context(self, key, state, t):
        return jax.random.normal(key, (self.context_dim,)) / jnp.sqrt(jnp.float32(self.context_dim))

    def mean_rewards(self, state, x, t):
        return self.theta @ x

    def sample(self, key, state, x, arm, t):
        return self.theta[arm] @ x + self.noise_std * jax.random.normal(key), jnp.float32(0.0)


def linear_contextual_bandit(
    theta: Any, noise_std: float = 0.1, context_dim: int | None = None
) -> LinearContextualBandit:
    """A linear contextual bandit with parameters ``theta`` ``[K, d]``.

    ``context_dim``, if given, must equal ``d`` (a mismatch raises ``ConfigError``).
    """
    arr = np.asarray(theta, np.float64)
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 1:
        raise ConfigError(f"linear_contextual_bandit: theta must be [num_arms >= 2, context_dim >= 1], got {arr.shape}")
    if context_dim is not None and context_dim != arr.shape[1]:
        raise ConfigError(
            f"linear_contextual_bandit: context_dim={context_dim} does not match theta's context dimension "
            f"{arr.shape[1]} (theta has shape {arr.shape})"
        )
    check_finite(arr, "linear_contextual_bandit: theta")
    check_nonnegative(noise_std, "linear_contextual_bandit: noise_std")
    return LinearContextualBandit(
        num_arms=arr.shape[0], context_dim=arr.shape[1], theta=_f32(arr), noise_std=_f32(noise_std)
    )


def random_linear_bandit(num_arms: int, context_dim: int, seed: int = 0, noise_std: float = 0.1):
    """A linear contextual bandit with unit-norm ``theta[a]`` drawn from a fixed seed."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=(num_arms, context_dim))
    theta /= np.linalg.norm(theta, axis=1, keepdims=True)
    return linear_contextual_bandit(theta, noise_std)


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


# ----------------------------------------------------------------------------- registry


def default_bernoulli_probs(num_arms: int) -> np.ndarray:
    """The benchmark's K-armed Bernoulli instance: one best arm at 0.9, the others spread
    evenly over [0.1, 0.7] (so the smallest gap is 0.2)."""
    if num_arms < 2:
        raise ConfigError(f"need at least 2 arms, got {num_arms}")
    return np.concatenate([np.linspace(0.1, 0.7, num_arms - 1), [0.9]])


def _rested_base(num_arms: int) -> np.ndarray:
    return np.linspace(1.0, 0.6, num_arms)


#: name -> (factory(num_arms, horizon, seed) -> env, description), for the CLI and benchmarks.
ENVIRONMENTS = {
    "bernoulli": (
        lambda num_arms, horizon, seed: bernoulli_bandit(default_bernoulli_probs(num_arms)),
        "Bernoulli arms: best 0.9, others evenly in [0.1, 0.7]",
    ),
    "gaussian": (
        lambda num_arms, horizon, seed: gaussian_bandit(default_bernoulli_probs(num_arms), 0.5),
        "Gaussian arms (std 0.5) with the Bernoulli instance's means",
    ),
    "linear": (
        lambda num_arms, horizon, seed: random_linear_bandit(num_arms, 5, seed),
        "linear contextual, d=5, unit-norm theta per arm (seeded)",
    ),
    "adversarial": (
        lambda num_arms, horizon, seed: switching_adversarial_bandit(num_arms, horizon, max(horizon // 20, 1), seed),
        "oblivious sequence: a steady 0.5 arm vs rotating 1-paying arms",
    ),
    "constrained": (
        lambda num_arms, horizon, seed: default_constrained_bandit(num_arms),
        "half the arms feasible (cost <= 0.25), the rest costly (>= 0.8), threshold 0.5",
    ),
    "satiation": (
        lambda num_arms, horizon, seed: satiation_bandit(_rested_base(num_arms)),
        "reward falls with recent plays of an arm, recovers with rest",
    ),
    "switching": (
        lambda num_arms, horizon, seed: switching_bandit(_rested_base(num_arms)),
        "reward warms up with the time since the last switch",
    ),
}


def make_bandit(name: str, num_arms: int = 10, horizon: int = 1000, seed: int = 0) -> BanditEnv:
    """Build a registered bandit (``ENVIRONMENTS``); unknown names raise ``ConfigError``."""
    if name not in ENVIRONMENTS:
        raise ConfigError(f"unknown bandit environment {name!r}; available: {sorted(ENVIRONMENTS)}")
    if isinstance(num_arms, bool) or not isinstance(num_arms, int) or num_arms < 2:
        raise ConfigError(f"num_arms must be an integer >= 2, got {num_arms!r}")
    return ENVIRONMENTS[name][0](num_arms, horizon, seed)


__all__ = [
    "ENVIRONMENTS",
    "AdversarialBandit",
    "BanditEnv",
    "BernoulliBandit",
    "ConstrainedBandit",
    "Expected",
    "GaussianBandit",
    "LinearContextualBandit",
    "SatiationBandit",
    "SatiationState",
    "SwitchState",
    "SwitchingBandit",
    "adversarial_bandit",
    "bernoulli_bandit",
    "constrained_bandit",
    "default_bernoulli_probs",
    "default_constrained_bandit",
    "gaussian_bandit",
    "linear_contextual_bandit",
    "make_bandit",
    "random_linear_bandit",
    "satiation_bandit",
    "switching_adversarial_bandit",
    "switching_bandit",
]
