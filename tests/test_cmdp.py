"""Exact CMDP solutions by LP, and Lagrangian learning reaching the LP optimum."""

import numpy as np
import pytest

from jaxrl_rewards.analysis.cmdp import exact_primal_dual, policy_values, solve_cmdp
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.envs.constrained.lava_grid import LavaGrid
from jaxrl_rewards.transforms.constraints.lagrangian import lagrangian

pytest.importorskip("scipy")

GAMMA = 0.95


def two_action_cmdp():
    """One state, two actions looping on it: a pays r=1, c=1; b pays r=0, c=0. With budget d
    on the discounted cost, the optimum plays a with probability p = d (1 - gamma):
    return = cost = d."""
    P = np.ones((1, 2, 1))
    R = np.array([[1.0, 0.0]])
    C = np.array([[1.0, 0.0]])
    return P, R, C


def test_lp_analytic_two_action_cmdp():
    P, R, C = two_action_cmdp()
    d = 8.0
    sol = solve_cmdp(P, R, C, d, 0, GAMMA)
    np.testing.assert_allclose(sol.reward_return, d, rtol=1e-8)
    np.testing.assert_allclose(sol.cost_returns, [d], rtol=1e-8)
    np.testing.assert_allclose(sol.policy[0], [d * (1 - GAMMA), 1 - d * (1 - GAMMA)], rtol=1e-8)
    np.testing.assert_allclose(sol.occupancy.sum(), 1 / (1 - GAMMA), rtol=1e-8)


@pytest.fixture(scope="module")
def lava():
    env = LavaGrid()
    mdp = env.tabular_mdp(env.default_params.replace(slip_prob=0.1))
    free = solve_cmdp(mdp.transitions, mdp.rewards, mdp.costs, 1e6, mdp.initial_state, GAMMA)
    limit = 0.3 * float(free.cost_returns[0])
    sol = solve_cmdp(mdp.transitions, mdp.rewards, mdp.costs, limit, mdp.initial_state, GAMMA)
    return mdp, free, sol, limit


def test_lp_unconstrained_matches_value_iteration_and_constraint_is_active(lava):
    mdp, free, sol, limit = lava
    v = np.zeros(mdp.rewards.shape[0])
    for _ in range(2000):
        v = (mdp.rewards + GAMMA * mdp.transitions @ v).max(1)
    np.testing.assert_allclose(free.reward_return, v[mdp.initial_state], rtol=1e-6)
    np.testing.assert_allclose(sol.cost_returns[0], limit, rtol=1e-6)  # the budget binds
    assert sol.reward_return < free.reward_return - 0.05
    # the LP policy's exact returns equal the LP objective
    v_r, _ = policy_values(mdp.transitions, mdp.rewards, sol.policy, GAMMA)
    v_c, _ = policy_values(mdp.transitions, mdp.costs, sol.policy, GAMMA)
    np.testing.assert_allclose(v_r[mdp.initial_state], sol.reward_return, rtol=1e-5)
    np.testing.assert_allclose(v_c[mdp.initial_state], limit, rtol=1e-5)


@pytest.mark.parametrize(
    "rule,kwargs",
    [
        ("pid", dict(kp=2.0, ki=1.0)),
        ("augmented", dict(learning_rate=1.0, rho=2.0)),
        ("gradient", dict(learning_rate=1.0)),
    ],
)
def test_lagrangian_learning_reaches_lp_optimum(lava, rule, kwargs):
    mdp, _, sol, limit = lava
    transform = lagrangian(limit, rule=rule, measure="discounted", **kwargs)
    trace = exact_primal_dual(
        transform, mdp.transitions, mdp.rewards, mdp.costs, mdp.initial_state, GAMMA, iterations=3000, policy_lr=0.1
    )
    j_r, j_c = np.asarray(trace.reward_return), np.asarray(trace.cost_returns)[:, 0]
    if rule == "gradient":  # plain gradient ascent oscillates: its average iterate (a mixed policy) converges
        j_r, j_c = j_r[-600:].mean(keepdims=True), j_c[-600:].mean(keepdims=True)
    assert abs(j_r[-1] / sol.reward_return - 1) < 0.05, (j_r[-1], sol.reward_return)
    assert abs(j_c[-1] / limit - 1) < 0.05, (j_c[-1], limit)


def test_two_constraints_lp_and_primal_dual():
    """Two cost functions with different budgets on the two-action CMDP plus a third action."""
    P = np.ones((1, 3, 1))
    R = np.array([[1.0, 0.6, 0.0]])
    C = np.array([[[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]]])
    limits = (4.0, 6.0)
    sol = solve_cmdp(P, R, C, limits, 0, GAMMA)
    np.testing.assert_allclose(sol.cost_returns, limits, rtol=1e-7)
    np.testing.assert_allclose(sol.reward_return, 4.0 + 0.6 * 6.0, rtol=1e-7)
    trace = exact_primal_dual(
        lagrangian(limits, rule="pid", measure="discounted", kp=0.2, ki=0.05),
        P,
        R,
        C,
        0,
        GAMMA,
        iterations=3000,
        policy_lr=0.05,
    )
    np.testing.assert_allclose(np.asarray(trace.cost_returns)[-1], limits, rtol=0.05)
    np.testing.assert_allclose(np.asarray(trace.reward_return)[-1], sol.reward_return, rtol=0.05)
    np.testing.assert_allclose(np.asarray(trace.multipliers)[-1], [1.0, 0.6], rtol=0.05)  # analytic duals


def test_lp_duals_closed_form_and_slack_constraint():
    """One state, actions (r, c) = (1, 1), (0.6, 0), (0, 0) ... : with budget 4 on cost 1 binding
    and a slack second budget, lambda* = (1 - 0.6) / (1 - 0) = 0.4 and 0 (d J_R / d d by hand:
    each unit of budget moves occupancy from the 0.6-action to the 1-action)."""
    P = np.ones((1, 3, 1))
    R = np.array([[1.0, 0.6, 0.0]])
    C = np.array([[[1.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]]])
    sol = solve_cmdp(P, R, C, (4.0, 1.0), 0, GAMMA)
    np.testing.assert_allclose(sol.multipliers, [0.4, 0.0], atol=1e-9)
    np.testing.assert_allclose(solve_cmdp(P, R, C[:1], 1e6, 0, GAMMA).multipliers, [0.0], atol=1e-12)
    # the two-constraint CMDP above: lambda* = (1.0, 0.6), the rewards each budget buys
    C2 = np.array([[[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]]])
    np.testing.assert_allclose(solve_cmdp(P, R, C2, (4.0, 6.0), 0, GAMMA).multipliers, [1.0, 0.6], atol=1e-9)


def test_lp_duals_satisfy_strong_duality_by_value_iteration():
    """Random CMDP, two binding budgets: the Lagrangian reward R - lambda* . C solved without
    constraints by numpy value iteration gives max_pi L = J_R* (strong duality)."""
    rng = np.random.default_rng(3)
    S, A = 5, 3
    P = rng.dirichlet(np.ones(S), size=(S, A))
    R = rng.uniform(size=(S, A))
    C = rng.uniform(size=(2, S, A)) * (R[None] + 0.2)  # costly where rewarding: budgets bind
    free = solve_cmdp(P, R, C, (1e6, 1e6), 0, GAMMA)
    limits = 0.7 * free.cost_returns
    sol = solve_cmdp(P, R, C, limits, 0, GAMMA)
    lam = sol.multipliers
    assert np.all(lam > 1e-3)
    v = np.zeros(S)
    reward = R - np.einsum("k,ksa->sa", lam, C)
    for _ in range(3000):
        v = (reward + GAMMA * P @ v).max(1)
    np.testing.assert_allclose(v[0] + lam @ limits, sol.reward_return, rtol=1e-7)


def test_bad_cmdp_inputs():
    P, R, C = two_action_cmdp()
    with pytest.raises(ConfigError, match="limits"):
        solve_cmdp(P, R, C, (1.0, 2.0), 0, GAMMA)
    with pytest.raises(ConfigError, match="gamma"):
        solve_cmdp(P, R, C, 1.0, 0, 1.0)
    with pytest.raises(ConfigError, match="sum to 1"):
        solve_cmdp(2 * P, R, C, 1.0, 0, GAMMA)
