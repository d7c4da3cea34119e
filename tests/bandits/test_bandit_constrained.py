"""Constrained bandit algorithms: the optimistic–pessimistic selection rule case by case and the
primal–dual multiplier update. (A learning run of the optimistic–pessimistic algorithm goes
through the CLI in test_bandit_cli.py, to share its compile.)"""

import jax
import jax.numpy as jnp
import pytest

from jaxrl_rewards.bandits import (
    ArmStats,
    bernoulli_bandit,
    optimistic_pessimistic,
    primal_dual,
    run,
)
from jaxrl_rewards.bandits.constrained import DualState
from jaxrl_rewards.core.validation import ConfigError

KEY = jax.random.key(0)


def stats(counts, reward_means, cost_means):
    counts = jnp.asarray(counts, jnp.float32)
    return ArmStats(
        counts=counts,
        reward_sum=counts * jnp.asarray(reward_means, jnp.float32),
        cost_sum=counts * jnp.asarray(cost_means, jnp.float32),
    )


def test_optimistic_pessimistic_selection_rule():
    select = jax.jit(optimistic_pessimistic(threshold=0.5, alpha=0.5).select)  # one compile, not op by op
    t = 1000  # w = 0.5 * sqrt(2 ln(1001) / n): n=1000 -> 0.059, n=4 -> 0.93
    # certified arms 0 and 1 (cost + w <= 0.5); arm 2 is ruled out (cost - w > 0.5): best certified
    s = stats([1000, 1000, 1000], [0.3, 0.4, 0.9], [0.1, 0.2, 0.9])
    assert int(select(s, None, t, KEY)) == 1
    # arm 2 is uncertain (few pulls) and optimistically better: explore it
    s = stats([1000, 1000, 4], [0.3, 0.4, 0.5], [0.1, 0.2, 0.3])
    assert int(select(s, None, t, KEY)) == 2
    # two uncertain candidates: the one with the least optimistic violation (smallest cost - w)
    s = stats([1000, 4, 4], [0.3, 0.9, 0.9], [0.1, 0.9, 0.6])
    assert int(select(s, None, t, KEY)) == 2
    # nothing plausibly feasible: least optimistic violation
    s = stats([1000, 1000, 1000], [0.3, 0.4, 0.9], [0.7, 0.6, 0.9])
    assert int(select(s, None, t, KEY)) == 1
    # unplayed arms come first (infinite width)
    s = stats([1000, 0, 1000], [0.3, 0.0, 0.9], [0.1, 0.0, 0.9])
    assert int(select(s, None, t, KEY)) == 1


def test_primal_dual_multiplier_update_and_lagrangian_choice():
    alg = primal_dual(threshold=0.5, alpha=0.0, step_size=0.1)
    state = alg.init(KEY, 2, 0)
    state = alg.update(state, None, jnp.int32(1), jnp.float32(1.0), jnp.float32(1.0), 0, KEY)
    assert float(state.lam) == pytest.approx(0.05)  # 0 + 0.1 * (1 - 0.5)
    state = alg.update(state, None, jnp.int32(1), jnp.float32(1.0), jnp.float32(0.0), 1, KEY)
    assert float(state.lam) == 0.0  # projected onto lam >= 0
    s = DualState(stats=stats([10, 10], [0.5, 0.9], [0.0, 0.8]), lam=jnp.float32(0.0))
    assert int(alg.select(s, None, 20, KEY)) == 1  # no price on cost: the rewarding arm
    assert int(alg.select(s.replace(lam=jnp.float32(1.0)), None, 20, KEY)) == 0  # 0.5 > 0.9 - 0.8


def test_constrained_algorithms_need_a_constrained_bandit():
    with pytest.raises(ConfigError, match="constrained bandit"):
        run(bernoulli_bandit([0.1, 0.9]), optimistic_pessimistic(0.5), 10, KEY)
    with pytest.raises(ConfigError, match="threshold"):
        primal_dual(threshold=1.5)
