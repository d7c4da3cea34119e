"""Bandits with the library's contract: environments and algorithms are pure pytrees, a run is
one jittable function (``run``), many seeds are one compiled call (``run_seeds``), and every
algorithm learns from the signal a ``RewardTransform`` produces (see ``bandits.run`` for the
convention: each pull is a ``[1, 1]`` ``Transition`` with ``obs`` = context, ``action`` = arm
and ``info["cost"]``).
"""

from jaxrl_rewards.bandits.algorithms import (
    EXP3,
    UCB1,
    ArmStats,
    BanditAlgorithm,
    BetaThompson,
    EpsilonGreedy,
    FixedArm,
    GaussianThompson,
    LinearThompson,
    LinUCB,
    RoundRobin,
    beta_thompson,
    epsilon_greedy,
    exp3,
    fixed_arm,
    gaussian_thompson,
    greedy,
    linear_thompson,
    linucb,
    round_robin,
    ucb1,
)
from jaxrl_rewards.bandits.constrained import OptimisticPessimistic, PrimalDual, optimistic_pessimistic, primal_dual
from jaxrl_rewards.bandits.envs import (
    ENVIRONMENTS,
    AdversarialBandit,
    BanditEnv,
    BernoulliBandit,
    ConstrainedBandit,
    GaussianBandit,
    LinearContextualBandit,
    SatiationBandit,
    SwitchingBandit,
    adversarial_bandit,
    bernoulli_bandit,
    constrained_bandit,
    gaussian_bandit,
    linear_contextual_bandit,
    make_bandit,
    random_linear_bandit,
    satiation_bandit,
    switching_adversarial_bandit,
    switching_bandit,
)
from jaxrl_rewards.bandits.metrics import (
    best_arm_fraction,
    cumulative_regret,
    cumulative_violation,
    late_regret_rate,
    long_term_violation,
    regret_growth_ratio,
    suffix_failure,
    suffix_failure_rate,
    summarize,
)
from jaxrl_rewards.bandits.run import BanditTrace, check_run, run, run_seeds, seed_keys, transform_spec
from jaxrl_rewards.core.validation import ConfigError


def _needs_dim(factory):
    def build(env: BanditEnv, **kwargs):
        if env.context_dim < 1:
            raise ConfigError(f"{factory.__name__} needs a contextual bandit; the environment has no context")
        return factory(env.context_dim, **kwargs)

    return build


def _needs_threshold(factory):
    def build(env: BanditEnv, **kwargs):
        return factory(float(env.threshold), **kwargs) if env.constrained else factory(0.5, **kwargs)

    return build


#: name -> (factory(env, **hyperparameters) -> algorithm, description), for the CLI and benchmarks.
ALGORITHMS = {
    "greedy": (lambda env, **kw: greedy(**kw), "greedy (epsilon-greedy with epsilon = 0)"),
    "epsilon_greedy": (lambda env, **kw: epsilon_greedy(**kw), "epsilon-greedy (epsilon=0.1)"),
    "ucb1": (lambda env, **kw: ucb1(**kw), "UCB1, Auer et al. 2002"),
    "thompson_beta": (lambda env, **kw: beta_thompson(**kw), "Beta-Bernoulli Thompson sampling"),
    "thompson_gaussian": (lambda env, **kw: gaussian_thompson(**kw), "Gaussian Thompson sampling"),
    "exp3": (lambda env, **kw: exp3(**kw), "EXP3 for adversarial bandits, Auer et al. 2002"),
    "linucb": (_needs_dim(linucb), "LinUCB (disjoint), Li et al. 2010; contextual envs"),
    "linear_thompson": (_needs_dim(linear_thompson), "linear Thompson sampling, Agrawal & Goyal 2013"),
    "optimistic_pessimistic": (
        _needs_threshold(optimistic_pessimistic),
        "constrained: optimistic reward, pessimistic cost (constrained envs)",
    ),
    "primal_dual": (_needs_threshold(primal_dual), "constrained: Lagrangian UCB with dual ascent on lambda"),
    "round_robin": (lambda env, **kw: round_robin(**kw), "rotate through the arms (t mod K)"),
    "fixed_arm": (lambda env, **kw: fixed_arm(**kw), "always the same arm (arm=0)"),
}


def make_algorithm(name: str, env: BanditEnv, **hyperparameters) -> BanditAlgorithm:
    """Build a registered algorithm (``ALGORITHMS``) for ``env``; unknown names raise ``ConfigError``."""

    if name not in ALGORITHMS:
        raise ConfigError(f"unknown bandit algorithm {name!r}; available: {sorted(ALGORITHMS)}")
    try:
        return ALGORITHMS[name][0](env, **hyperparameters)
    except TypeError as err:
        raise ConfigError(f"algorithm {name}: {err}") from None


__all__ = [
    "ALGORITHMS",
    "ENVIRONMENTS",
    "EXP3",
    "UCB1",
    "AdversarialBandit",
    "ArmStats",
    "BanditAlgorithm",
    "BanditEnv",
    "BanditTrace",
    "BernoulliBandit",
    "BetaThompson",
    "ConstrainedBandit",
    "EpsilonGreedy",
    "FixedArm",
    "GaussianBandit",
    "GaussianThompson",
    "LinUCB",
    "LinearContextualBandit",
    "LinearThompson",
    "OptimisticPessimistic",
    "PrimalDual",
    "RoundRobin",
    "SatiationBandit",
    "SwitchingBandit",
    "adversarial_bandit",
    "bernoulli_bandit",
    "best_arm_fraction",
    "beta_thompson",
    "check_run",
    "constrained_bandit",
    "cumulative_regret",
    "cumulative_violation",
    "epsilon_greedy",
    "exp3",
    "fixed_arm",
    "gaussian_bandit",
    "gaussian_thompson",
    "greedy",
    "late_regret_rate",
    "linear_contextual_bandit",
    "linear_thompson",
    "linucb",
    "long_term_violation",
    "make_algorithm",
    "make_bandit",
    "optimistic_pessimistic",
    "primal_dual",
    "random_linear_bandit",
    "regret_growth_ratio",
    "round_robin",
    "run",
    "run_seeds",
    "satiation_bandit",
    "seed_keys",
    "suffix_failure",
    "suffix_failure_rate",
    "summarize",
    "switching_adversarial_bandit",
    "switching_bandit",
    "transform_spec",
    "ucb1",
]
