"""Validation: group-normalised estimators (GRPO, Shao et al., 2024; GDPO, Liu et al., 2026) --
what normalising the sum collapses, how a tiny group std amplifies near-ties and what the floors
do, and which estimator is invariant to what. Exact, by enumeration and closed forms."""

import itertools

import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.agents import estimators


def test_gdpo_keeps_apart_binary_reward_combinations_that_grpo_collapses():
    """Claim (GDPO): normalising the sum of rewards within a group collapses distinct reward
    combinations; normalising each reward separately, then combining, does not. Enumerated over
    every group of two rollouts with two binary rewards: GRPO gives 3 distinct advantage vectors
    (+-1 or 0 whatever the combination), GDPO 5, and GDPO ranks a group's better rollout higher
    exactly when it is better on more rewards."""
    pairs = list(itertools.product((0.0, 1.0), repeat=2))
    groups = np.array([[a, b] for a in pairs for b in pairs], np.float32)  # [16, 2 rollouts, 2 rewards]
    returns = groups.reshape(-1, 2)  # [32, K=2], consecutive groups of 2
    grpo = np.asarray(estimators.group_relative(jnp.asarray(returns.sum(1)), 2)).reshape(16, 2)
    gdpo = np.asarray(estimators.gdpo(jnp.asarray(returns), 2, jnp.ones(2), batch_normalize=False)).reshape(16, 2)
    assert len({tuple(np.round(v, 5)) for v in grpo}) == 3
    assert len({tuple(np.round(v, 5)) for v in gdpo}) == 5
    # brute force: each reward that differs in the group contributes +-1 to GDPO's advantage
    wins = (groups[:, 1] - groups[:, 0]).sum(-1)  # how many more rewards rollout 1 gets
    np.testing.assert_allclose(gdpo[:, 1], wins, atol=1e-5)
    np.testing.assert_allclose(grpo[:, 1], np.sign(wins), atol=1e-5)


def test_tiny_group_std_amplifies_near_ties_and_the_floors_bound_it():
    """Claim: dividing by a tiny group std turns near-ties into large advantages; a std floor
    stops it. Group (0, delta): GRPO gives -+1 for every delta > 0 (a 1/delta amplification of
    the spread); max(sigma, eps) gives -+delta / (2 eps) when delta / 2 < eps; the additive floor
    sigma + eps gives -+(delta / 2) / (delta / 2 + eps)."""
    eps = 0.5
    for delta in (1e-4, 1e-2, 0.3, 4.0):
        r = jnp.asarray([0.0, delta])
        sigma = delta / 2
        np.testing.assert_allclose(estimators.group_relative(r, 2), [-1, 1], rtol=1e-3)
        expected_max = sigma / (max(sigma, eps) + 1e-8)
        np.testing.assert_allclose(estimators.group_relative(r, 2, eps), [-expected_max, expected_max], rtol=2e-3)
        expected_add = sigma / (sigma + eps + 1e-8)
        added = estimators.group_relative(r, 2, eps, floor_mode="add")
        np.testing.assert_allclose(added, [-expected_add, expected_add], rtol=2e-3)


def test_estimator_invariances_per_group_shift_and_per_stream_scale():
    """Claim: know which estimators are invariant to per-start-state shifts and to positive
    scaling. GRPO and GDPO ignore a per-group constant; RLOO too; RLOO scales with a positive
    factor while GRPO does not; GDPO also ignores a positive rescaling of *one* reward stream,
    which changes GRPO's advantages (checked here on random returns, to float precision)."""
    rng = np.random.default_rng(0)
    returns = rng.normal(size=(12, 2)).astype(np.float32)  # 3 groups of 4, 2 streams
    shift = np.repeat(rng.normal(size=(3, 1)) * 10, 4, axis=0).astype(np.float32)
    base_gdpo = np.asarray(estimators.gdpo(jnp.asarray(returns), 4, jnp.ones(2)))
    total = returns.sum(1)
    base_grpo = np.asarray(estimators.group_relative(jnp.asarray(total), 4))
    base_rloo = np.asarray(estimators.rloo(jnp.asarray(total), 4))
    shifted = returns + shift
    np.testing.assert_allclose(estimators.gdpo(jnp.asarray(shifted), 4, jnp.ones(2)), base_gdpo, atol=1e-4)
    np.testing.assert_allclose(estimators.group_relative(jnp.asarray(shifted.sum(1)), 4), base_grpo, atol=1e-4)
    np.testing.assert_allclose(estimators.rloo(jnp.asarray(shifted.sum(1)), 4), base_rloo, atol=1e-4)
    np.testing.assert_allclose(estimators.rloo(jnp.asarray(7.0 * total), 4), 7.0 * base_rloo, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(estimators.group_relative(jnp.asarray(7.0 * total), 4), base_grpo, atol=1e-4)
    one_scaled = returns * np.array([25.0, 1.0], np.float32)
    np.testing.assert_allclose(estimators.gdpo(jnp.asarray(one_scaled), 4, jnp.ones(2)), base_gdpo, atol=1e-4)
    grpo_scaled = np.asarray(estimators.group_relative(jnp.asarray(one_scaled.sum(1)), 4))
    assert np.abs(grpo_scaled - base_grpo).max() > 0.1
