"""Bandit metrics on ``BanditTrace``s (``[S, T]``: S runs of T rounds). Pure ``jnp`` functions,
so they also run inside ``jit``; ``summarize`` returns plain Python floats for tables."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.bandits.run import BanditTrace
from jaxrl_rewards.core.types import Array
from jaxrl_rewards.core.validation import ConfigError


def cumulative_regret(trace: BanditTrace) -> Array:
    """Cumulative expected regret ``R(t) = sum_{s <= t} regret_s``, ``[S, T]``."""
    return jnp.cumsum(trace.regret, axis=-1)


def regret_growth_ratio(trace: BanditTrace) -> Array:
    """``mean_S R(T) / mean_S R(T/4)``: about 4 for linear regret, about 1 + ln 4 / ln(T/4) for
    logarithmic regret; the issue's sublinearity criterion is ``< 2.5``. Scalar; NaN when
    ``R(T/4) <= 0`` (possible against a fixed or feasible comparator)."""
    curve = cumulative_regret(trace).reshape(-1, trace.regret.shape[-1]).mean(axis=0)
    horizon = curve.shape[0]
    if horizon < 4:
        raise ConfigError(f"regret_growth_ratio needs a horizon of at least 4, got {horizon}")
    quarter = curve[horizon // 4 - 1]
    return jnp.where(quarter > 0, curve[-1] / jnp.where(quarter > 0, quarter, 1.0), jnp.nan)


def late_regret_rate(trace: BanditTrace) -> Array:
    """Mean regret per round over the last quarter of the rounds, ``[S]``: tends to 0 for
    sublinear regret, stays positive for linear regret."""
    horizon = trace.regret.shape[-1]
    return trace.regret[..., horizon - max(horizon // 4, 1) :].mean(axis=-1)


def cumulative_violation(trace: BanditTrace) -> Array:
    """Cumulative per-round constraint violation ``sum_{s <= t} max(0, E[c(a_s)] - threshold)``, ``[S, T]``."""
    return jnp.cumsum(trace.violation, axis=-1)


def long_term_violation(trace: BanditTrace) -> Array:
    """Long-term (budget) violation ``max(0, sum_t (E[c(a_t)] - threshold))``, ``[S]``: the
    constraint on average, which over- and under-spending rounds can cancel; 0 if unconstrained."""
    threshold = jnp.asarray(trace.threshold)[..., None]
    excess = jnp.where(jnp.isfinite(threshold), trace.expected_cost - threshold, 0.0)
    return jnp.maximum(excess.sum(axis=-1), 0.0)


def best_arm_fraction(trace: BanditTrace) -> Array:
    """Fraction of pulls on the comparator (best) arm, per run, ``[S]``."""
    return trace.best.astype(jnp.float32).mean(axis=-1)


def suffix_failure(trace: BanditTrace, suffix: float = 0.5, min_fraction: float = 0.05) -> Array:
    """Whether each run "failed in its suffix": in the last ``suffix`` fraction of rounds it
    played the best arm in fewer than ``min_fraction`` of the pulls. ``[S]`` bool."""
    if not 0.0 < suffix <= 1.0:
        raise ConfigError(f"suffix must lie in (0, 1], got {suffix}")
    horizon = trace.best.shape[-1]
    start = horizon - max(round(suffix * horizon), 1)
    return trace.best[..., start:].astype(jnp.float32).mean(axis=-1) < min_fraction


def suffix_failure_rate(trace: BanditTrace, suffix: float = 0.5, min_fraction: float = 0.05) -> Array:
    """Fraction of runs with a suffix failure (see ``suffix_failure``), scalar."""
    return suffix_failure(trace, suffix, min_fraction).astype(jnp.float32).mean()


def _mean_ci(values: Any) -> tuple[float, float]:
    """Mean and a 95% normal-approximation half-width over runs."""
    arr = np.asarray(values, np.float64).reshape(-1)
    half = 1.96 * arr.std(ddof=1) / np.sqrt(arr.size) if arr.size > 1 else 0.0
    return float(arr.mean()), float(half)


def summarize(trace: BanditTrace) -> dict[str, float]:
    """Summary over the S runs of a ``[S, T]`` trace: final regret (mean, 95% CI), regret
    growth ratio, regret per round in the last quarter, total reward per run, best-arm
    fraction, suffix-failure rate, cumulative and long-term violation."""
    regret = cumulative_regret(trace)[..., -1]
    violation = cumulative_violation(trace)[..., -1]
    regret_mean, regret_ci = _mean_ci(regret)
    violation_mean, violation_ci = _mean_ci(violation)
    reward_mean, reward_ci = _mean_ci(trace.expected_reward.sum(axis=-1))
    return {
        "runs": int(np.prod(trace.regret.shape[:-1])),
        "horizon": int(trace.regret.shape[-1]),
        "final_regret": regret_mean,
        "final_regret_ci95": regret_ci,
        "regret_ratio_T_over_T4": float(regret_growth_ratio(trace)),
        "late_regret_per_round": float(late_regret_rate(trace).mean()),
        "total_expected_reward": reward_mean,
        "total_expected_reward_ci95": reward_ci,
        "best_arm_fraction": float(best_arm_fraction(trace).mean()),
        "suffix_failure_rate": float(suffix_failure_rate(trace)),
        "cumulative_violation": violation_mean,
        "cumulative_violation_ci95": violation_ci,
        "long_term_violation": float(long_term_violation(trace).mean()),
    }


__all__ = [
    "best_arm_fraction",
    "cumulative_regret",
    "cumulative_violation",
    "late_regret_rate",
    "long_term_violation",
    "regret_growth_ratio",
    "suffix_failure",
    "suffix_failure_rate",
    "summarize",
]
