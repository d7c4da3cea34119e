"""Validation: reward-free exploration, then planning for rewards handed over later (Jin,
Krishnamurthy, Simchowitz & Yu, 2020), against numpy value iteration computed in the test."""

import numpy as np

from jaxrl_rewards.analysis.reward_free import ModelCounts, estimate_mdp, plan

S, A, GAMMA = 8, 3, 0.9


def random_mdp(seed):
    """Transitions with entries in tenths (so 10 visits per pair give the exact model)."""
    rng = np.random.default_rng(seed)
    p = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            p[s, a] = np.bincount(rng.integers(0, S, size=10), minlength=S) / 10.0
    return p


def goal_values(p, goal, policy=None):
    """Value from state 0 of entering ``goal`` (+1, then the episode ends): optimal by numpy value
    iteration, or of a deterministic ``policy [S]`` by a linear solve."""
    alive = np.ones(S)
    alive[goal] = 0.0
    r = p[:, :, goal]
    if policy is None:
        v = np.zeros(S)
        for _ in range(2000):
            v = (r + GAMMA * p @ (alive * v)).max(1) * alive
        return v[0]
    p_pi, r_pi = p[np.arange(S), policy] * alive[None], r[np.arange(S), policy] * alive
    return np.linalg.solve(np.eye(S) - GAMMA * p_pi, r_pi)[0]


def random_walk_counts(p, steps, seed):
    """Explore without any reward: uniform random actions from state 0, counting N(s, a, s')."""
    rng = np.random.default_rng(seed)
    counts, s = np.zeros((S, A, S)), 0
    for _ in range(steps):
        a = rng.integers(A)
        s2 = rng.choice(S, p=p[s, a])
        counts[s, a, s2] += 1
        s = s2
    return ModelCounts(transitions=counts, terminal=np.zeros(S))


def scores(p, counts):
    model = estimate_mdp(counts)
    out = []
    for goal in range(1, S):
        onehot = np.eye(S)[goal]
        done = onehot.astype(bool)
        policy = plan(model, onehot, GAMMA, done)
        out.append(goal_values(p, goal, policy) / goal_values(p, goal))
    return np.asarray(out)


def test_planning_on_the_explored_model_serves_every_later_reward():
    """Claim: explore once without a reward, then plan for any reward handed over later on the
    empirical model. With the exact model (10 visits per pair) every goal's planned policy is
    optimal to 1e-9; after 20,000 reward-free random-walk steps every goal reaches >= 95% of the
    optimal value; after only 20 steps some goal does not (the model has not seen enough)."""
    p = random_mdp(0)
    exact = ModelCounts(transitions=10.0 * p, terminal=np.zeros(S))
    np.testing.assert_allclose(scores(p, exact), 1.0, atol=1e-9)
    assert scores(p, random_walk_counts(p, 20_000, 1)).min() >= 0.95
    assert scores(p, random_walk_counts(p, 20, 1)).min() < 0.9
