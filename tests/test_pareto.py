"""Pareto fronts and hypervolume (exact values, brute-force property checks)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxrl_rewards.analysis.pareto import (
    constrained_select,
    convex_hull_points,
    hypervolume,
    pareto_front,
    pareto_mask,
)
from jaxrl_rewards.core.validation import ConfigError
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


def test_constrained_select_reaches_non_convex_deep_sea_treasure_points():
    """Max treasure s.t. time >= c picks every Pareto point of Deep Sea Treasure as c varies,
    including the 8 that no linear weighting selects."""
    front = DeepSeaTreasure.true_pareto_front()
    for treasure, time in front:
        assert tuple(front[constrained_select(front, 0, {1: time})]) == (treasure, time)
    assert constrained_select(front, 0, {1: 0.0}) is None  # every path takes time


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=8),
    st.integers(0, 2),
    st.tuples(st.integers(-1, 5), st.integers(-1, 5), st.integers(-1, 5)),
)
def test_constrained_select_matches_brute_force(points, objective, bounds):
    pts = np.asarray(points, float)
    lower = np.where(np.asarray(bounds) < 0, np.nan, bounds).astype(float)
    lower[objective] = np.nan
    best, best_key = None, None
    for p, row in enumerate(pts):
        if all(np.isnan(c) or row[i] >= c for i, c in enumerate(lower)):
            key = (row[objective], *[row[i] for i in range(3) if i != objective], -p)
            if best_key is None or key > best_key:
                best, best_key = p, key
    assert constrained_select(pts, objective, lower) == best
    as_dict = {i: c for i, c in enumerate(lower) if not np.isnan(c)}
    assert constrained_select(pts, objective, as_dict) == best


def test_bad_input():
    with pytest.raises(ConfigError, match=r"objective must be an index in \[0, 2\)"):
        constrained_select([[1, 2]], 2, {})
    with pytest.raises(ConfigError, match=r"valid indices are 0\.\.1"):
        constrained_select([[1, 2]], 0, {5: 1.0})
    with pytest.raises(ValueError, match="reference"):
        hypervolume([[1, 2]], [0, 0, 0])
    with pytest.raises(ValueError, match="finite"):
        pareto_front([[np.nan, 1]])
