"""Distances between reward functions that ignore potential shaping and positive rescaling.

Two rewards that differ by potential shaping ``R'(s, a, s') = R(s, a, s') + gamma * Phi(s') -
Phi(s)`` and a positive factor induce the same optimal policies in every MDP with those states
and actions; comparing their values directly (L2, correlation) calls them different. These
pseudometrics canonicalise first:

* **EPIC** (Gleave et al., 2021, "Quantifying differences in reward functions"): the canonical
  reward is ``C(R)(s, a, s') = R(s, a, s') + E[gamma * R(s', A, S') - R(s, A, S') - gamma *
  R(S, A, S')]`` with ``S, S' ~ D_S`` and ``A ~ D_A`` independent; the distance is the Pearson
  distance ``sqrt((1 - rho) / 2)`` of the two canonical rewards under a coverage distribution
  ``D`` over transitions. ``C`` removes any potential shaping exactly, and the Pearson
  correlation ignores positive rescaling and shifts, so the distance is 0 for equivalent
  rewards and in ``[0, 1]``.
* **STARC** (Skalse et al., 2023, "STARC: a general framework for quantifying differences
  between reward functions"): canonicalise (here either with EPIC's ``C`` or with
  *value-adjusted levelling* ``c(R)(s, a, s') = R(s, a, s') - V^pi(s) + gamma * V^pi(s')`` for
  a fixed policy ``pi``, which needs the dynamics), normalise to unit (weighted) L2 norm, and
  take half the L2 distance between the normalised rewards; the result is in ``[0, 1]``.

Tabular functions work exactly on arrays ``R[S, A, S']``; ``*_sampled`` functions work on a
jittable reward function and samples of transitions, states and actions (continuous spaces).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core.types import Array
from jaxrl_rewards.core.validation import ConfigError, check_in_range

RewardFn = Callable[[Any, Any, Any], Array]
"""``reward_fn(obs [B, ...], action [B, ...], next_obs [B, ...]) -> [B]`` (batched, jittable)."""


# --------------------------------------------------------------------------- tabular


def _check_tabular(reward: Any, name: str) -> np.ndarray:
    arr = np.asarray(reward, np.float64)
    if arr.ndim != 3 or arr.shape[0] != arr.shape[2]:
        raise ConfigError(f"{name} must be a tabular reward R[S, A, S'] (3-d, S == S'), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ConfigError(f"{name} must be finite")
    return arr


def _distribution(p: Any, size: int, name: str) -> np.ndarray:
    if p is None:
        return np.full(size, 1.0 / size)
    arr = np.asarray(p, np.float64)
    if arr.shape != (size,) or np.any(arr < 0) or not np.isclose(arr.sum(), 1.0):
        raise ConfigError(f"{name} must be a probability vector of length {size}, got {arr!r}")
    return arr


def as_transition_reward(reward: Any, num_next_states: int | None = None) -> np.ndarray:
    """Broadcast a state reward ``R[S]``, a state-action reward ``R[S, A]`` or a transition
    reward ``R[S, A, S']`` to ``R[S, A, S']`` (float64). ``R[S, A]`` needs ``num_next_states``
    only when it is not square in S (it never is: S' = S, so it is taken from ``R``)."""
    arr = np.asarray(reward, np.float64)
    if arr.ndim == 3:
        return arr
    if arr.ndim == 2:
        s = arr.shape[0] if num_next_states is None else num_next_states
        return np.repeat(arr[:, :, None], s, axis=2)
    raise ConfigError(f"reward must be R[S, A] or R[S, A, S'], got shape {arr.shape}")


def epic_canonicalize(reward: Any, gamma: float, state_dist: Any = None, action_dist: Any = None) -> np.ndarray:
    """EPIC canonical reward of a tabular ``R[S, A, S']`` (Gleave et al., 2021).

    ``C(R)(s, a, s') = R(s, a, s') + gamma * E[R(s', A, S')] - E[R(s, A, S')] - gamma *
    E[R(S, A, S')]`` with ``S, S' ~ state_dist`` (default uniform) and ``A ~ action_dist``
    (default uniform). Returns float64 ``[S, A, S']``; potential shaping with discount
    ``gamma`` leaves it unchanged exactly.
    """
    r = _check_tabular(reward, "reward")
    check_in_range(gamma, "gamma", 0.0, 1.0)
    ds = _distribution(state_dist, r.shape[0], "state_dist")
    da = _distribution(action_dist, r.shape[1], "action_dist")
    expected_from = np.einsum("sax,a,x->s", r, da, ds)  # E_{A, S'} R(s, A, S'), [S]
    expected_all = float(ds @ expected_from)
    return r + gamma * expected_from[None, None, :] - expected_from[:, None, None] - gamma * expected_all


def pearson_distance(x: Any, y: Any, weights: Any = None) -> float:
    """``sqrt((1 - rho) / 2)`` with ``rho`` the (weighted) Pearson correlation of ``x`` and ``y``
    (same shape; ``weights`` of that shape, default uniform). A constant input has no defined
    correlation: two constants are at distance 0, a constant and a non-constant at
    ``sqrt(1/2)`` (correlation taken as 0).

    Computed in the stable form ``0.5 * ||x_hat - y_hat||_w`` of the standardised vectors
    ``x_hat = (x - E_w x) / std_w(x)`` (``||x_hat - y_hat||_w^2 = 2 - 2 rho``), so a positive
    affine pair is at distance ~1e-16, not ~1e-8 as ``sqrt((1 - rho) / 2)`` from a rounded
    ``rho`` gives.

    >>> pearson_distance([0.1, 0.2, 0.7], [0.3, 0.6, 2.1]) < 1e-15
    True
    """
    x = np.asarray(x, np.float64).ravel()
    y = np.asarray(y, np.float64).ravel()
    if x.shape != y.shape:
        raise ConfigError(f"pearson_distance: shapes differ, {x.shape} vs {y.shape}")
    w = np.full(x.shape, 1.0 / x.size) if weights is None else np.asarray(weights, np.float64).ravel()
    if w.shape != x.shape or np.any(w < 0) or w.sum() <= 0:
        raise ConfigError("pearson_distance: weights must be non-negative, not all zero, and shaped like x")
    w = w / w.sum()
    xc, yc = x - w @ x, y - w @ y
    vx, vy = w @ (xc * xc), w @ (yc * yc)
    scale = max(np.abs(x).max(initial=0.0), np.abs(y).max(initial=0.0), 1.0)
    tiny = 1e-20 * scale * scale
    if vx <= tiny and vy <= tiny:
        return 0.0
    if vx <= tiny or vy <= tiny:
        return float(np.sqrt(0.5))
    # sqrt((1 - rho) / 2) == 0.5 * ||x_hat - y_hat||_w for the standardised vectors; computing it
    # from the difference avoids the catastrophic cancellation of 1 - rho near rho = 1
    diff = xc / np.sqrt(vx) - yc / np.sqrt(vy)
    return float(min(0.5 * np.sqrt(w @ (diff * diff)), 1.0))


def epic_distance(
    reward_a: Any,
    reward_b: Any,
    gamma: float,
    state_dist: Any = None,
    action_dist: Any = None,
    coverage: Any = None,
) -> float:
    """EPIC distance between two tabular rewards ``R[S, A, S']`` (or ``R[S, A]``), exactly.

    Args:
        reward_a, reward_b: rewards of the same shape.
        gamma: discount of the potential shaping to ignore.
        state_dist, action_dist: ``D_S [S]`` and ``D_A [A]`` of the canonicalisation (uniform).
        coverage: weights ``[S, A, S']`` of the Pearson correlation (default: ``D_S x D_A x D_S``).

    Returns:
        A float in ``[0, 1]``: 0 iff the rewards are equivalent up to shaping and positive scale.
    """
    a, b = as_transition_reward(reward_a), as_transition_reward(reward_b)
    if a.shape != b.shape:
        raise ConfigError(f"epic_distance: reward shapes differ, {a.shape} vs {b.shape}")
    ca = epic_canonicalize(a, gamma, state_dist, action_dist)
    cb = epic_canonicalize(b, gamma, state_dist, action_dist)
    if coverage is None:
        ds = _distribution(state_dist, a.shape[0], "state_dist")
        da = _distribution(action_dist, a.shape[1], "action_dist")
        coverage = ds[:, None, None] * da[None, :, None] * ds[None, None, :]
    return pearson_distance(ca, cb, coverage)


def policy_value(transitions: Any, reward: Any, gamma: float, policy: Any = None) -> np.ndarray:
    """Exact state values ``V^pi [S]`` of ``policy [S, A]`` (default uniform) in a tabular MDP
    ``P[S, A, S']`` with reward ``R[S, A, S']``: ``V = (I - gamma P_pi)^-1 r_pi``."""
    p = np.asarray(transitions, np.float64)
    r = as_transition_reward(reward)
    if p.shape != r.shape:
        raise ConfigError(f"transitions {p.shape} and reward {r.shape} must both be [S, A, S']")
    num_states, num_actions = p.shape[:2]
    pi = np.full((num_states, num_actions), 1.0 / num_actions) if policy is None else np.asarray(policy, np.float64)
    if pi.shape != (num_states, num_actions):
        raise ConfigError(f"policy must be [S, A] = {(num_states, num_actions)}, got {pi.shape}")
    p_pi = np.einsum("sa,sax->sx", pi, p)
    r_pi = np.einsum("sa,sax,sax->s", pi, p, r)
    return np.linalg.solve(np.eye(num_states) - gamma * p_pi, r_pi)


def val_canonicalize(transitions: Any, reward: Any, gamma: float, policy: Any = None) -> np.ndarray:
    """Value-adjusted levelling (Skalse et al., 2023): ``c(R)(s, a, s') = R(s, a, s') -
    V^pi(s) + gamma * V^pi(s')``, ``[S, A, S']``. Invariant to potential shaping (for
    ``gamma < 1``), since shaping moves ``V^pi`` by exactly ``-Phi``."""
    r = as_transition_reward(reward)
    v = policy_value(transitions, r, gamma, policy)
    return r - v[:, None, None] + gamma * v[None, None, :]


def _starc_from_canonical(ca: np.ndarray, cb: np.ndarray, weights: np.ndarray) -> float:
    def normalise(c):
        norm = np.sqrt(np.sum(weights * c * c))
        return c / norm if norm > 1e-12 * max(1.0, np.abs(c).max(initial=0.0)) else np.zeros_like(c)

    na, nb = normalise(ca), normalise(cb)
    return float(0.5 * np.sqrt(np.sum(weights * (na - nb) ** 2)))


def starc_distance(
    reward_a: Any,
    reward_b: Any,
    gamma: float,
    transitions: Any = None,
    policy: Any = None,
    coverage: Any = None,
) -> float:
    """STARC-style distance between tabular rewards (Skalse et al., 2023).

    Canonicalise with value-adjusted levelling under ``policy`` (uniform by default) when
    ``transitions P[S, A, S']`` are given, else with EPIC's canonicalisation (uniform
    distributions); normalise each to unit weighted L2 norm (``coverage [S, A, S']``, default
    uniform; a zero canonical reward stays zero); return half the weighted L2 distance, in
    ``[0, 1]``.
    """
    a, b = as_transition_reward(reward_a), as_transition_reward(reward_b)
    if a.shape != b.shape:
        raise ConfigError(f"starc_distance: reward shapes differ, {a.shape} vs {b.shape}")
    if transitions is None:
        ca, cb = epic_canonicalize(a, gamma), epic_canonicalize(b, gamma)
    else:
        ca, cb = val_canonicalize(transitions, a, gamma, policy), val_canonicalize(transitions, b, gamma, policy)
    w = np.full(a.shape, 1.0 / a.size) if coverage is None else np.asarray(coverage, np.float64)
    if w.shape != a.shape:
        raise ConfigError(f"coverage must be shaped like the rewards {a.shape}, got {w.shape}")
    return _starc_from_canonical(ca, cb, w / w.sum())


# --------------------------------------------------------------------------- sampled (continuous)


def epic_canonicalize_sampled(
    reward_fn: RewardFn,
    obs: Any,
    action: Any,
    next_obs: Any,
    states: Any,
    actions: Any,
    gamma: float,
) -> Array:
    """Monte-Carlo EPIC canonicalisation of ``reward_fn`` on transitions ``(obs, action,
    next_obs)`` (leaves ``[B, ...]``), with ``D_S`` given by ``states [M, ...]`` and ``D_A`` by
    ``actions [M, ...]``: every expectation is a mean over all ``M x M`` (action, next state)
    pairs. Using the same ``states`` for ``S`` and ``S'`` makes shaping cancel exactly.
    Returns ``[B]``. Cost: ``O((B + M) * M^2)`` reward evaluations (jitted)."""
    check_in_range(gamma, "gamma", 0.0, 1.0)
    num = jax.tree.leaves(states)[0].shape[0]
    if jax.tree.leaves(actions)[0].shape[0] != num:
        raise ConfigError("states and actions must hold the same number M of samples")
    return _canonicalize_sampled(reward_fn, obs, action, next_obs, states, actions, jnp.float32(gamma))


def _canonicalize_sampled(reward_fn, obs, action, next_obs, states, actions, gamma):
    num = jax.tree.leaves(states)[0].shape[0]
    # every (action_j, next_state_k) pair
    a_rep = jax.tree.map(lambda x: jnp.repeat(x, num, axis=0), actions)
    s_tile = jax.tree.map(lambda x: jnp.tile(x, (num,) + (1,) * (x.ndim - 1)), states)

    def mean_from(s):  # E_{A, S'} R(s, A, S') for one state s
        s_rep = jax.tree.map(lambda x: jnp.broadcast_to(x, (num * num, *x.shape)), s)
        return reward_fn(s_rep, a_rep, s_tile).mean()

    from_obs = jax.lax.map(mean_from, obs)
    from_next = jax.lax.map(mean_from, next_obs)
    overall = jax.lax.map(mean_from, states).mean()
    return reward_fn(obs, action, next_obs) + gamma * from_next - from_obs - gamma * overall


def epic_distance_sampled(
    reward_a: RewardFn,
    reward_b: RewardFn,
    obs: Any,
    action: Any,
    next_obs: Any,
    states: Any,
    actions: Any,
    gamma: float,
) -> float:
    """EPIC distance estimated on sampled transitions (continuous spaces): canonicalise both
    rewards with :func:`epic_canonicalize_sampled`, then the Pearson distance over the ``B``
    transitions (the coverage distribution is their empirical distribution)."""
    ca = epic_canonicalize_sampled(reward_a, obs, action, next_obs, states, actions, gamma)
    cb = epic_canonicalize_sampled(reward_b, obs, action, next_obs, states, actions, gamma)
    return pearson_distance(np.asarray(ca), np.asarray(cb))


def starc_distance_sampled(
    reward_a: RewardFn,
    reward_b: RewardFn,
    obs: Any,
    action: Any,
    next_obs: Any,
    states: Any,
    actions: Any,
    gamma: float,
) -> float:
    """STARC-style distance on sampled transitions: EPIC canonicalisation (sampled), unit
    empirical L2 norm, half the L2 distance; in ``[0, 1]``."""
    ca = np.asarray(epic_canonicalize_sampled(reward_a, obs, action, next_obs, states, actions, gamma), np.float64)
    cb = np.asarray(epic_canonicalize_sampled(reward_b, obs, action, next_obs, states, actions, gamma), np.float64)
    w = np.full(ca.shape, 1.0 / ca.size)
    return _starc_from_canonical(ca, cb, w)


__all__ = [
    "as_transition_reward",
    "epic_canonicalize",
    "epic_canonicalize_sampled",
    "epic_distance",
    "epic_distance_sampled",
    "pearson_distance",
    "policy_value",
    "starc_distance",
    "starc_distance_sampled",
    "val_canonicalize",
]
