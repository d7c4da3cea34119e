"""Validation: fixed linear weights cannot reach non-convex Pareto points (Vamplew et al., 2011,
Deep Sea Treasure); constrained selection can. Brute force in numpy."""

import numpy as np

from jaxrl_rewards.analysis.pareto import constrained_select, pareto_mask
from jaxrl_rewards.envs.multi_objective.deep_sea_treasure import DeepSeaTreasure


def test_linear_weights_reach_only_the_convex_hull_constrained_selection_reaches_all():
    """Claim: fixed linear weights cannot reach non-convex Pareto points. On Deep Sea Treasure's
    10 Pareto points (treasure, -time), argmax of w . p over 100,001 weights w = (u, 1 - u) picks
    only the 2 points on the convex hull; the 8 others are each strictly below the hull's chord
    (checked directly); max treasure s.t. time >= c reaches every one of the 10."""
    front = DeepSeaTreasure.true_pareto_front()
    assert pareto_mask(front).all() and len(front) == 10
    u = np.linspace(0.0, 1.0, 100_001)
    picked = np.unique(np.argmax(np.stack([u, 1 - u], 1) @ front.T, axis=1))
    assert sorted(map(tuple, front[picked])) == [(1.0, -1.0), (124.0, -19.0)]
    (x0, y0), (x1, y1) = (1.0, -1.0), (124.0, -19.0)
    for x, y in front:
        if (x, y) not in ((x0, y0), (x1, y1)):
            assert y < y0 + (y1 - y0) * (x - x0) / (x1 - x0)  # below the chord: not supported
    reached = {tuple(front[constrained_select(front, 0, {1: time})]) for _, time in front}
    assert reached == set(map(tuple, front))
