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

import numpy as np

from jaxrl_rewards.bandits.envs.adversarial import AdversarialBandit, adversarial_bandit, switching_adversarial_bandit
from jaxrl_rewards.bandits.envs.base import BanditEnv, Expected
from jaxrl_rewards.bandits.envs.constrained import ConstrainedBandit, constrained_bandit, default_constrained_bandit
from jaxrl_rewards.bandits.envs.history import (
    SatiationBandit,
    SatiationState,
    SwitchingBandit,
    SwitchState,
    satiation_bandit,
    switching_bandit,
)
from jaxrl_rewards.bandits.envs.stochastic import (
    BernoulliBandit,
    GaussianBandit,
    LinearContextualBandit,
    bernoulli_bandit,
    gaussian_bandit,
    linear_contextual_bandit,
    random_linear_bandit,
)
from jaxrl_rewards.core.validation import ConfigError

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
