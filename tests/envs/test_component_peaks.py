"""ComponentPeaks: closed-form component and gold rewards, and PPO with per-component threshold
constraints (Constrained RLHF, Moskovitz et al. 2023) against the unconstrained sum."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.envs import make
from jaxrl_rewards.transforms import chain, scale, threshold_weights

CENTERS, WIDTHS, GOLD_CENTER = np.array([1.0, -1.0]), np.array([2.0, 2.0]), 0.5


def np_components(a):
    return 1.0 - ((np.clip(a, -2, 2) - CENTERS) / WIDTHS) ** 2


def np_gold(a):
    return 1.0 - (np.clip(a, -2, 2) - GOLD_CENTER) ** 2


PROXY_POINTS = np_components(GOLD_CENTER)  # (0.9375, 0.4375)
GRID = np.linspace(-2, 2, 4001)


def best_fixed_weighting_gold():
    """Brute force: for every weight lambda, the action maximising lambda r_0 + (1 - lambda) r_1
    on a grid, and its gold value; the best over lambda."""
    comps = np.stack([np_components(a) for a in GRID])  # [G, 2]
    best = -np.inf
    for lam in np.linspace(0, 1, 201):
        a = GRID[np.argmax(comps @ np.array([lam, 1 - lam]))]
        best = max(best, np_gold(a))
    return best


def test_rewards_match_closed_form():
    env, params = make("ComponentPeaks-v0")
    _, state = env.reset(jax.random.key(0), params)
    for a in (-3.0, -1.0, 0.0, 0.5, 1.7):
        _, _, reward, terminated, truncated, info = env.step(jax.random.key(1), state, jnp.asarray([a]), params)
        np.testing.assert_allclose([info["rewards"]["c0"], info["rewards"]["c1"]], np_components(a), rtol=1e-5)
        np.testing.assert_allclose(reward, np_components(a).sum(), rtol=1e-5)
        np.testing.assert_allclose(info["true_reward"], np_gold(a), rtol=1e-5, atol=1e-6)
        assert bool(terminated) and not bool(truncated)
    # the sum peaks at a = 0 (gold 0.75), the gold optimum 1 is reachable by a fixed weighting
    assert GRID[np.argmax([np_components(a).sum() for a in GRID])] == pytest.approx(0.0)
    assert best_fixed_weighting_gold() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.slow
def test_ppo_threshold_constraints_reach_the_best_fixed_weighting_while_the_sum_overshoots():
    """Claim (Moskovitz et al. 2023): components thresholded at (just below) their proxy points
    with Lagrange multipliers as dynamic weights reach within 5% of the best fixed weighting's
    gold value without tuning weights; PPO on the unconstrained sum pushes component c1 past its
    proxy point and loses gold. Greedy-policy evaluation, seed 0."""
    thresholds = tuple(PROXY_POINTS - 0.03)
    common = dict(
        num_envs=32,
        num_steps=4,
        total_timesteps=32 * 4 * 100,
        num_minibatches=1,
        update_epochs=4,
        hidden_sizes=(16,),
        num_evals=2,
        eval_episodes=4,
        eval_max_steps=1,
        learning_rate=3e-3,
        ent_coef=0.0,
    )
    constrained = chain(scale(0.0), threshold_weights(thresholds, ("reward_c0", "reward_c1"), learning_rate=0.5))
    results = {}
    for name, transform in (("sum", scale(1.0)), ("constrained", constrained)):
        config = ppo.make_config("ComponentPeaks-v0", transform=transform, **common)
        _, metrics = jax.jit(ppo.train)(config, jax.random.key(0))
        results[name] = {k: float(np.asarray(v)[-1]) for k, v in metrics.items() if k.startswith("eval/return/")}
    best = best_fixed_weighting_gold()
    assert results["constrained"]["eval/return/true_reward"] >= 0.95 * best, results
    assert results["sum"]["eval/return/true_reward"] < 0.85 * best, results
    assert results["sum"]["eval/return/reward_c1"] > PROXY_POINTS[1] + 0.2, results  # overshoot
    assert results["constrained"]["eval/return/reward_c1"] < results["sum"]["eval/return/reward_c1"] - 0.15, results
