"""Aggregate statistics of final scores, after Agarwal et al., "Deep RL at the Edge of the
Statistical Precipice" (NeurIPS 2021), the statistics of ``rliable``:

- ``iqm``: interquartile mean, the mean of the middle 50% of runs (25% trimmed each side);
- ``iqm_ci``: its percentile-bootstrap CI, resampling runs (rliable's stratified bootstrap
  reduces to this with one task, our case: one environment per report);
- ``probability_of_improvement``: ``P(X > Y) = mean_ij [x_i > y_j] + 0.5 [x_i = y_j]`` (the
  Mann-Whitney U statistic over ``n m``), with a bootstrap CI resampling both sides;
- ``performance_profile``: ``F(tau) = fraction of runs with score > tau`` with bootstrap bands.

Computed here with numpy / scipy rather than by ``rliable`` itself: rliable 1.2.0 (its current
release) needs ``arch < 8``, and arch 7.x fails to import with pandas 3 (``deprecate_kwarg``),
while arch 8 removed the ``random_state`` argument rliable passes; the formulas are the paper's.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import bootstrap, trim_mean

#: Fewer seeds than this: bootstrap CIs are shown with a caveat (they are not meaningful).
MIN_SEEDS_FOR_CI = 3


def iqm(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """Interquartile mean along ``axis`` (25% trimmed on each side)."""

    return trim_mean(np.asarray(values, np.float64), 0.25, axis=axis)


def iqm_ci(values: np.ndarray, confidence: float = 0.95, reps: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the IQM of ``values`` ``[n]`` (resampling
    runs). One value gives a zero-width interval."""

    values = np.asarray(values, np.float64)
    if values.size < 2 or np.all(values == values[0]):
        return float(values.mean()), float(values.mean())
    res = bootstrap(
        (values,), lambda x, axis: iqm(x, axis=axis), n_resamples=reps, confidence_level=confidence,
        method="percentile", random_state=np.random.default_rng(seed), vectorized=True,
    )  # fmt: skip
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def _poi(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``P(X > Y)`` of the last axis of ``x`` ``[..., n]`` against ``y`` ``[..., m]``."""
    diff = x[..., :, None] - y[..., None, :]
    return ((diff > 0) + 0.5 * (diff == 0)).mean(axis=(-2, -1))


def probability_of_improvement(
    x: np.ndarray, y: np.ndarray, confidence: float = 0.95, reps: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """``(P(X > Y), ci_low, ci_high)``: the probability that a run of X scores higher than a
    run of Y (ties count half), with a percentile-bootstrap CI resampling the runs of X and Y
    independently.

    >>> probability_of_improvement([3.0, 4.0], [1.0, 3.0])[0]
    0.875
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    point = float(_poi(x, y))
    rng = np.random.default_rng(seed)
    xs = x[rng.integers(0, x.size, (reps, x.size))]
    ys = y[rng.integers(0, y.size, (reps, y.size))]
    samples = _poi(xs, ys)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(samples, [alpha, 1 - alpha])
    return point, float(low), float(high)


def performance_profile(
    values: np.ndarray, taus: np.ndarray, confidence: float = 0.95, reps: int = 1000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(F, low, high)`` each ``[len(taus)]``: the fraction of runs with a score above each
    threshold ``tau`` and its percentile-bootstrap band (resampling runs).

    >>> performance_profile([1.0, 2.0, 3.0, 4.0], [0.0, 2.5, 5.0])[0].tolist()
    [1.0, 0.5, 0.0]
    """
    values, taus = np.asarray(values, np.float64), np.asarray(taus, np.float64)
    point = (values[:, None] > taus[None, :]).mean(axis=0)
    rng = np.random.default_rng(seed)
    samples = values[rng.integers(0, values.size, (reps, values.size))]
    curves = (samples[:, :, None] > taus[None, None, :]).mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(curves, [alpha, 1 - alpha], axis=0)
    return point, low, high


__all__ = ["MIN_SEEDS_FOR_CI", "iqm", "iqm_ci", "performance_profile", "probability_of_improvement"]
