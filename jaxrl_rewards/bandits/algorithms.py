"""Bandit algorithms as pure functions.

Every algorithm is a frozen pytree whose fields are its hyperparameters (array leaves, so
``vmap`` sweeps them; sizes are static) with three pure methods:

``init(key, num_arms, context_dim) -> state``
``select(state, x, t, key) -> arm``               (int32 scalar; ``x`` is the context ``[d]``)
``update(state, x, arm, reward, cost, t, key) -> state``

``reward`` and ``cost`` are the *learning signals* after the reward transform (see
``jaxrl_rewards.bandits.run``). Unplayed arms have an infinite index in the index policies,
so each arm is played once first (in random order); ties are broken uniformly at random.
``check(env)`` raises ``ConfigError`` for an algorithm/environment mismatch before compiling.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.types import Array, PRNGKey
from jaxrl_rewards.core.validation import ConfigError, check_in_range, check_nonnegative, check_positive


def argmax_random(key: PRNGKey, values: Array) -> Array:
    """Index of the maximum of ``values`` ``[K]``, ties broken uniformly at random (int32)."""
    ties = values >= jnp.max(values)
    return jnp.argmax(jnp.where(ties, jax.random.uniform(key, values.shape), -1.0)).astype(jnp.int32)


class ArmStats(struct.PyTreeNode):
    """Per-arm sufficient statistics: pulls ``[K]``, reward sums ``[K]``, cost sums ``[K]``."""

    counts: Array
    reward_sum: Array
    cost_sum: Array

    @staticmethod
    def zeros(num_arms: int) -> ArmStats:
        z = jnp.zeros((num_arms,), jnp.float32)
        return ArmStats(counts=z, reward_sum=z, cost_sum=z)

    def add(self, arm: Array, reward: Array, cost: Array) -> ArmStats:
        return ArmStats(
            counts=self.counts.at[arm].add(1.0),
            reward_sum=self.reward_sum.at[arm].add(reward),
            cost_sum=self.cost_sum.at[arm].add(cost),
        )

    def mean_reward(self) -> Array:
        return self.reward_sum / jnp.maximum(self.counts, 1.0)

    def mean_cost(self) -> Array:
        return self.cost_sum / jnp.maximum(self.counts, 1.0)

    def width(self, t: Array, alpha: Array) -> Array:
        """Hoeffding width ``alpha * sqrt(2 ln(t) / n)``, ``inf`` for unplayed arms, ``[K]``."""
        log_t = jnp.log(jnp.maximum(jnp.asarray(t, jnp.float32), 1.0) + 1.0)
        w = alpha * jnp.sqrt(2.0 * log_t / jnp.maximum(self.counts, 1.0))
        return jnp.where(self.counts > 0, w, jnp.inf)


class BanditAlgorithm(struct.PyTreeNode):
    """Base class. ``uses_cost``: the algorithm learns from the cost signal (constrained)."""

    uses_cost: bool = struct.field(pytree_node=False, default=False)

    def check(self, env: Any) -> None:
        """Raise ``ConfigError`` if this algorithm cannot run on ``env``. Default: anything goes."""
        del env

    def init(self, key: PRNGKey, num_arms: int, context_dim: int) -> Any:
        del key, context_dim
        return ArmStats.zeros(num_arms)

    def select(self, state: Any, x: Array, t: Array, key: PRNGKey) -> Array:
        raise NotImplementedError

    def update(self, state: Any, x: Array, arm: Array, reward: Array, cost: Array, t: Array, key: PRNGKey) -> Any:
        del x, t, key
        return state.add(arm, reward, cost)


class EpsilonGreedy(BanditAlgorithm):
    """ε-greedy (Sutton & Barto, 2018, §2.2): with probability ``epsilon`` a uniformly random
    arm, else ``argmax_a mean_a`` (each arm once first). ``epsilon = 0`` is greedy."""

    epsilon: Array = 0.1

    def select(self, state, x, t, key):
        k_explore, k_arm, k_tie = jax.random.split(key, 3)
        index = jnp.where(state.counts > 0, state.mean_reward(), jnp.inf)
        greedy = argmax_random(k_tie, index)
        random_arm = jax.random.randint(k_arm, (), 0, index.shape[0], jnp.int32)
        return jnp.where(jax.random.uniform(k_explore) < self.epsilon, random_arm, greedy)


def epsilon_greedy(epsilon: float = 0.1) -> EpsilonGreedy:
    """ε-greedy with exploration rate ``epsilon`` in ``[0, 1]`` (sweepable)."""
    check_in_range(epsilon, "epsilon_greedy: epsilon", 0.0, 1.0)
    return EpsilonGreedy(epsilon=jnp.asarray(epsilon, jnp.float32))


def greedy() -> EpsilonGreedy:
    """Greedy: ε-greedy with ε = 0 (each arm once, then always the best empirical mean)."""
    return epsilon_greedy(0.0)


class UCB1(BanditAlgorithm):
    """UCB1 (Auer, Cesa-Bianchi & Fischer, 2002): ``argmax_a mean_a + alpha * sqrt(2 ln t / n_a)``
    (``alpha = 1`` is UCB1 for rewards in [0, 1])."""

    alpha: Array = 1.0

    def select(self, state, x, t, key):
        return argmax_random(key, state.mean_reward() + state.width(t, self.alpha))


def ucb1(alpha: float = 1.0) -> UCB1:
    """UCB1 with exploration scale ``alpha`` >= 0 (sweepable)."""
    check_nonnegative(alpha, "ucb1: alpha")
    return UCB1(alpha=jnp.asarray(alpha, jnp.float32))


class BetaState(struct.PyTreeNode):
    """Beta posterior parameters ``[K]`` each."""

    alpha: Array
    beta: Array


class BetaThompson(BanditAlgorithm):
    """Thompson sampling with Beta posteriors (Thompson, 1933; Agrawal & Goyal, 2012):
    sample ``p_a ~ Beta(alpha_a, beta_a)``, play ``argmax p_a``. Rewards in [0, 1] that are not
    binary are turned into a Bernoulli(reward) success (Agrawal & Goyal's trick); signals
    outside [0, 1] are clipped first."""

    prior_alpha: Array = 1.0
    prior_beta: Array = 1.0

    def init(self, key, num_arms, context_dim):
        ones = jnp.ones((num_arms,), jnp.float32)
        return BetaState(alpha=ones * self.prior_alpha, beta=ones * self.prior_beta)

    def select(self, state, x, t, key):
        return jnp.argmax(jax.random.beta(key, state.alpha, state.beta)).astype(jnp.int32)

    def update(self, state, x, arm, reward, cost, t, key):
        success = jax.random.bernoulli(key, jnp.clip(reward, 0.0, 1.0)).astype(jnp.float32)
        return BetaState(alpha=state.alpha.at[arm].add(success), beta=state.beta.at[arm].add(1.0 - success))


def beta_thompson(prior_alpha: float = 1.0, prior_beta: float = 1.0) -> BetaThompson:
    """Beta–Bernoulli Thompson sampling with a ``Beta(prior_alpha, prior_beta)`` prior (> 0)."""
    check_positive(prior_alpha, "beta_thompson: prior_alpha")
    check_positive(prior_beta, "beta_thompson: prior_beta")
    return BetaThompson(
        prior_alpha=jnp.asarray(prior_alpha, jnp.float32), prior_beta=jnp.asarray(prior_beta, jnp.float32)
    )


class GaussianThompson(BanditAlgorithm):
    """Gaussian Thompson sampling (Agrawal & Goyal, 2013): prior ``N(prior_mean, prior_var)``,
    known noise variance ``noise_var``; posterior precision ``1/prior_var + n/noise_var`` and mean
    ``(prior_mean/prior_var + sum_r/noise_var) / precision``; play ``argmax`` of a posterior sample."""

    prior_mean: Array = 0.0
    prior_var: Array = 1.0
    noise_var: Array = 0.25

    def select(self, state, x, t, key):
        precision = 1.0 / self.prior_var + state.counts / self.noise_var
        mean = (self.prior_mean / self.prior_var + state.reward_sum / self.noise_var) / precision
        return jnp.argmax(mean + jax.random.normal(key, mean.shape) / jnp.sqrt(precision)).astype(jnp.int32)


def gaussian_thompson(prior_mean: float = 0.0, prior_var: float = 1.0, noise_var: float = 0.25) -> GaussianThompson:
    """Gaussian Thompson sampling; ``prior_var`` and ``noise_var`` > 0."""
    check_positive(prior_var, "gaussian_thompson: prior_var")
    check_positive(noise_var, "gaussian_thompson: noise_var")
    return GaussianThompson(
        prior_mean=jnp.asarray(prior_mean, jnp.float32),
        prior_var=jnp.asarray(prior_var, jnp.float32),
        noise_var=jnp.asarray(noise_var, jnp.float32),
    )


class EXP3(BanditAlgorithm):
    """EXP3 (Auer, Cesa-Bianchi, Freund & Schapire, 2002) for rewards in [0, 1]:
    ``p = (1 - gamma) softmax(log w) + gamma / K``; after pulling ``a`` with reward ``r``,
    ``log w_a += gamma * (r / p_a) / K``. Signals are clipped to [0, 1]."""

    gamma: Array = 0.1

    def init(self, key, num_arms, context_dim):
        return jnp.zeros((num_arms,), jnp.float32)

    def probabilities(self, log_w: Array) -> Array:
        """Arm probabilities ``[K]``."""
        return (1.0 - self.gamma) * jax.nn.softmax(log_w) + self.gamma / log_w.shape[0]

    def select(self, state, x, t, key):
        return jax.random.choice(key, state.shape[0], p=self.probabilities(state)).astype(jnp.int32)

    def update(self, state, x, arm, reward, cost, t, key):
        p = self.probabilities(state)[arm]
        log_w = state.at[arm].add(self.gamma * jnp.clip(reward, 0.0, 1.0) / p / state.shape[0])
        return log_w - jnp.max(log_w)


def exp3(gamma: float = 0.1) -> EXP3:
    """EXP3 with exploration/learning rate ``gamma`` in ``(0, 1]``."""
    check_in_range(gamma, "exp3: gamma", 1e-9, 1.0)
    return EXP3(gamma=jnp.asarray(gamma, jnp.float32))


class LinearState(struct.PyTreeNode):
    """Per-arm ridge regression: inverse design matrices ``[K, d, d]`` and ``b = sum r x`` ``[K, d]``."""

    a_inv: Array
    b: Array


class _Linear(BanditAlgorithm):
    """Shared parts of the disjoint linear models (one ridge regression per arm)."""

    context_dim: int = struct.field(pytree_node=False, default=0)
    regularization: Array = 1.0

    def check(self, env):
        if env.context_dim < 1:
            raise ConfigError(f"{type(self).__name__} needs a contextual bandit; the environment has no context")
        if self.context_dim != env.context_dim:
            raise ConfigError(
                f"{type(self).__name__}: context_dim={self.context_dim} does not match the environment's "
                f"context dimension {env.context_dim}"
            )

    def init(self, key, num_arms, context_dim):
        eye = jnp.eye(context_dim, dtype=jnp.float32) / self.regularization
        return LinearState(
            a_inv=jnp.broadcast_to(eye, (num_arms, context_dim, context_dim)),
            b=jnp.zeros((num_arms, context_dim), jnp.float32),
        )

    def update(self, state, x, arm, reward, cost, t, key):
        a_inv = state.a_inv[arm]
        ax = a_inv @ x
        a_inv = a_inv - jnp.outer(ax, ax) / (1.0 + x @ ax)  # Sherman–Morrison
        return LinearState(a_inv=state.a_inv.at[arm].set(a_inv), b=state.b.at[arm].add(reward * x))


class LinUCB(_Linear):
    """LinUCB, disjoint model (Li, Chu, Langford & Schapire, 2010): per arm
    ``theta_a = A_a^{-1} b_a`` with ``A_a = lambda I + sum x x^T``; play
    ``argmax_a theta_a . x + alpha * sqrt(x^T A_a^{-1} x)``. ``alpha = 0`` is greedy."""

    alpha: Array = 1.0

    def select(self, state, x, t, key):
        theta = jnp.einsum("kij,kj->ki", state.a_inv, state.b)
        width = jnp.sqrt(jnp.maximum(jnp.einsum("i,kij,j->k", x, state.a_inv, x), 0.0))
        return argmax_random(key, theta @ x + self.alpha * width)


def linucb(context_dim: int, alpha: float = 1.0, regularization: float = 1.0) -> LinUCB:
    """LinUCB for contexts of dimension ``context_dim`` (must match the environment)."""
    check_nonnegative(alpha, "linucb: alpha")
    check_positive(regularization, "linucb: regularization")
    if isinstance(context_dim, bool) or not isinstance(context_dim, int) or context_dim < 1:
        raise ConfigError(f"linucb: context_dim must be a positive integer, got {context_dim!r}")
    return LinUCB(context_dim=context_dim, alpha=jnp.float32(alpha), regularization=jnp.float32(regularization))


class LinearThompson(_Linear):
    """Linear Thompson sampling (Agrawal & Goyal, 2013), disjoint model: sample
    ``theta_a ~ N(A_a^{-1} b_a, v^2 A_a^{-1})`` per arm, play ``argmax_a theta_a . x``."""

    scale: Array = 0.5

    def select(self, state, x, t, key):
        mean = jnp.einsum("kij,kj->ki", state.a_inv, state.b)
        chol = jnp.linalg.cholesky(state.a_inv + 1e-6 * jnp.eye(x.shape[0]))
        z = jax.random.normal(key, mean.shape)
        theta = mean + self.scale * jnp.einsum("kij,kj->ki", chol, z)
        return jnp.argmax(theta @ x).astype(jnp.int32)


def linear_thompson(context_dim: int, scale: float = 0.5, regularization: float = 1.0) -> LinearThompson:
    """Linear Thompson sampling with posterior scale ``scale`` (``v``) for contexts of ``context_dim``."""
    check_nonnegative(scale, "linear_thompson: scale")
    check_positive(regularization, "linear_thompson: regularization")
    if isinstance(context_dim, bool) or not isinstance(context_dim, int) or context_dim < 1:
        raise ConfigError(f"linear_thompson: context_dim must be a positive integer, got {context_dim!r}")
    return LinearThompson(context_dim=context_dim, scale=jnp.float32(scale), regularization=jnp.float32(regularization))


class RoundRobin(BanditAlgorithm):
    """Rotate through the arms: play ``t mod K`` (a non-learning baseline for history-dependent
    bandits, where rotation avoids satiation)."""

    def init(self, key, num_arms, context_dim):
        return jnp.int32(num_arms)

    def select(self, state, x, t, key):
        return (jnp.asarray(t, jnp.int32) % state).astype(jnp.int32)

    def update(self, state, x, arm, reward, cost, t, key):
        return state


class FixedArm(BanditAlgorithm):
    """Always play ``arm`` (an int32 leaf, so ``vmap`` evaluates every fixed arm at once)."""

    arm: Array = 0

    def check(self, env):
        arm = np.asarray(self.arm) if not isinstance(self.arm, jax.core.Tracer) else None
        if arm is not None and not np.all((arm >= 0) & (arm < env.num_arms)):
            raise ConfigError(f"fixed_arm: arm {self.arm} is out of range for {env.num_arms} arms")

    def init(self, key, num_arms, context_dim):
        return ()

    def select(self, state, x, t, key):
        return jnp.asarray(self.arm, jnp.int32)

    def update(self, state, x, arm, reward, cost, t, key):
        return state


def round_robin() -> RoundRobin:
    """Play arms 0, 1, ..., K-1, 0, 1, ... ."""
    return RoundRobin()


def fixed_arm(arm: int = 0) -> FixedArm:
    """Always play ``arm``."""
    return FixedArm(arm=jnp.asarray(arm, jnp.int32))


__all__ = [
    "EXP3",
    "UCB1",
    "ArmStats",
    "BanditAlgorithm",
    "BetaState",
    "BetaThompson",
    "EpsilonGreedy",
    "FixedArm",
    "GaussianThompson",
    "LinUCB",
    "LinearState",
    "LinearThompson",
    "RoundRobin",
    "argmax_random",
    "beta_thompson",
    "epsilon_greedy",
    "exp3",
    "fixed_arm",
    "gaussian_thompson",
    "greedy",
    "linear_thompson",
    "linucb",
    "round_robin",
    "ucb1",
]
