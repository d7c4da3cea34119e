"""Pareto fronts and hypervolume (exact values, brute-force property checks)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxrl_rewards.analysis.pareto import convex_hull_points, hypervolume, pareto_front, pareto_mask
from jaxrl_rewards.envs.multi_objective.deep_sea_treasure import DeepSeaTreasure


def test_pareto_mask_exact():
    pts = [[1, 5], [2, 4], [2, 3], [0, 5], [3, 1], [3, 1]]
    np.testing.assert_array_equal(pareto_mask(pts), [True, True, False, False, True, True])
    np.testing.assert_array_equal(pareto_front(pts), [[1, 5], [2, 4], [3, 1]])


def test_hypervolume_2d_exact():
    assert hypervolume([[1, 1]], [0, 0]) == 1.0
    assert hypervolume([[2, 1], [1, 2]], [0, 0]) == 3.0
    assert hypervolume([[2, 1], [1, 2], [0.5, 0.5]], [0, 0]) == 3.0  # dominated point adds nothing
    assert hypervolume([[-1, 5]], [0, 0]) == 0.0


def test_hypervolume_3d_exact():
    assert hypervolume([[1, 1, 1]], [0, 0, 0]) == 1.0
    # two boxes 2x1x1 and 1x2x1 overlapping in a unit cube, plus 1x1x2 overlapping both
    assert hypervolume([[2, 1, 1], [1, 2, 1], [1, 1, 2]], [0, 0, 0]) == pytest.approx(4.0)


def test_deep_sea_treasure_front_and_linear_scalarisation():
    front = DeepSeaTreasure.true_pareto_front()
    assert len(pareto_front(front)) == 10
    assert hypervolume(front, [0, -25]) == pytest.approx(1155.0)
    hull = convex_hull_points(front)
    np.testing.assert_array_equal(hull, [[1, -1], [124, -19]])  # the front is not convex
    assert hypervolume(hull, [0, -25]) == pytest.approx(762.0)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 9)), min_size=1, max_size=6))
def test_hypervolume_matches_grid_count(points):
    """Property: on integer points the exact hypervolume equals the count of dominated unit cells."""
    pts = np.asarray(points, float)
    grid = np.stack(np.meshgrid(*[np.arange(10) + 0.5] * 3, indexing="ij"), -1).reshape(-1, 3)
    count = np.any(np.all(grid[:, None, :] <= pts[None], axis=-1), axis=1).sum()
    assert hypervolume(pts, [0, 0, 0]) == pytest.approx(float(count))
    grid2 = np.stack(np.meshgrid(*[np.arange(10) + 0.5] * 2, indexing="ij"), -1).reshape(-1, 2)
    count2 = np.any(np.all(grid2[:, None, :] <= pts[None, :, :2], axis=-1), axis=1).sum()
    assert hypervolume(pts[:, :2], [0, 0]) == pytest.approx(float(count2))


def test_bad_input():
    with pytest.raises(ValueError, match="reference"):
        hypervolume([[1, 2]], [0, 0, 0])
    with pytest.raises(ValueError, match="finite"):
        pareto_front([[np.nan, 1]])
