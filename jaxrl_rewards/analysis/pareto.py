"""Pareto fronts and hypervolume (all objectives maximised), in numpy.

``pareto_mask(points)`` marks the non-dominated points; ``pareto_front(points)`` returns them
sorted; ``hypervolume(points, reference)`` is the Lebesgue measure of the region dominated by
the points and dominating ``reference`` (exact: a sweep in 2-D, recursive slicing in K-D,
While et al., 2006, "A faster algorithm for calculating hypervolume"); ``constrained_select``
maximises one objective subject to lower bounds on the others over a set of candidates.
"""

from __future__ import annotations

import numpy as np

from jaxrl_rewards.core.validation import ConfigError


def _as_points(points) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2:
        raise ValueError(f"points must be a [P, K] array, got shape {pts.shape}")
    if not np.all(np.isfinite(pts)):
        raise ValueError("points must be finite")
    return pts


def pareto_mask(points) -> np.ndarray:
    """Bool ``[P]``: True where no other point is >= in every objective and > in one.
    Duplicates of a non-dominated point are all kept."""
    pts = _as_points(points)
    ge = np.all(pts[:, None, :] >= pts[None, :, :], axis=-1)  # ge[i, j]: i >= j everywhere
    gt = np.any(pts[:, None, :] > pts[None, :, :], axis=-1)
    dominated = np.any(ge & gt, axis=0)  # j dominated by some i
    return ~dominated


def pareto_front(points) -> np.ndarray:
    """The distinct non-dominated points ``[F, K]``, sorted lexicographically."""
    pts = _as_points(points)
    if len(pts) == 0:
        return pts
    front = np.unique(pts[pareto_mask(pts)], axis=0)
    return front


def _hv(points: np.ndarray, reference: np.ndarray) -> float:
    if len(points) == 0:
        return 0.0
    k = points.shape[1]
    if k == 1:
        return float(points[:, 0].max() - reference[0])
    if k == 2:
        front = points[np.argsort(-points[:, 0])]
        volume, best_y = 0.0, reference[1]
        for x, y in front:
            if y > best_y:
                volume += (x - reference[0]) * (y - best_y)
                best_y = y
        return float(volume)
    # slice along the last objective
    order = np.argsort(points[:, -1])
    pts = points[order]
    volume, prev = 0.0, reference[-1]
    for i in range(len(pts)):
        height = pts[i, -1] - prev
        if height > 0:
            volume += height * _hv(pts[i:, :-1], reference[:-1])
            prev = pts[i, -1]
    return float(volume)


def hypervolume(points, reference) -> float:
    """Hypervolume of ``points`` ``[P, K]`` w.r.t. ``reference`` ``[K]`` (maximisation).
    Points that do not strictly dominate the reference contribute nothing."""
    pts = _as_points(points)
    ref = np.asarray(reference, dtype=np.float64)
    if ref.shape != (pts.shape[1],):
        raise ValueError(f"reference must have shape ({pts.shape[1]},), got {ref.shape}")
    pts = pts[np.all(pts > ref, axis=1)]
    if len(pts) == 0:
        return 0.0
    return _hv(pts[pareto_mask(pts)], ref)


def convex_hull_points(front) -> np.ndarray:
    """Points of a Pareto ``front`` ``[F, K]`` that maximise ``w . p`` for some weight ``w >= 0``
    (the only ones a linear scalarisation can select). Exact for 2-D; for K > 2 a dense
    weight grid is used."""
    pts = pareto_front(front)
    k = pts.shape[1]
    if k == 2:
        ws = np.linspace(0.0, 1.0, 20001)
        weights = np.stack([ws, 1 - ws], axis=1)
    else:
        rng = np.random.default_rng(0)
        weights = rng.dirichlet(np.ones(k), size=20000)
    best = np.argmax(weights @ pts.T, axis=1)
    return pts[np.unique(best)]


def constrained_select(points, objective: int, lower_bounds) -> int | None:
    """Index of the candidate that maximises objective ``objective`` subject to lower bounds on
    the others: ``argmax_p points[p, objective]`` s.t. ``points[p, i] >= c_i`` for every bound.

    Unlike a linear scalarisation, this can pick any Pareto point, including the ones in a
    non-convex part of the front (constrained selection of, e.g., a set of trained policies'
    return vectors).

    Args:
        points: candidate return vectors ``[P, K]`` (all objectives maximised).
        objective: index ``j`` in ``[0, K)`` of the objective to maximise.
        lower_bounds: ``{i: c_i}`` or a ``[K]`` array of bounds (``-inf`` or ``nan``: none).

    Returns:
        The index of the best feasible candidate (ties: the one that is best on the remaining
        objectives in index order, then the lowest index), or None if none is feasible.

    >>> constrained_select([[1.0, 5.0], [3.0, 2.0], [4.0, 0.5]], objective=0, lower_bounds={1: 1.0})
    1
    """
    pts = _as_points(points)
    k = pts.shape[1]
    if not isinstance(objective, int | np.integer) or not 0 <= objective < k:
        raise ConfigError(f"constrained_select: objective must be an index in [0, {k}), got {objective!r}")
    bounds = np.full(k, -np.inf)
    if isinstance(lower_bounds, dict):
        for i, c in lower_bounds.items():
            if not isinstance(i, int | np.integer) or not 0 <= i < k:
                raise ConfigError(f"constrained_select: bound on objective {i!r}, valid indices are 0..{k - 1}")
            bounds[i] = float(c)
    else:
        arr = np.asarray(lower_bounds, np.float64)
        if arr.shape != (k,):
            raise ConfigError(f"constrained_select: lower_bounds must be a dict or shape ({k},), got {arr.shape}")
        bounds = np.where(np.isnan(arr), -np.inf, arr)
    feasible = np.flatnonzero(np.all(pts >= bounds, axis=1))
    if len(feasible) == 0:
        return None
    others = [i for i in range(k) if i != objective]
    # np.lexsort sorts by the last key first: objective, then the others in index order, then index
    keys = [feasible] + [-pts[feasible, i] for i in reversed(others)] + [-pts[feasible, objective]]
    return int(feasible[np.lexsort(keys)[0]])


__all__ = ["constrained_select", "convex_hull_points", "hypervolume", "pareto_front", "pareto_mask"]
