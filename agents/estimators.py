"""Advantage estimators as swappable pure functions (PPO's ``advantage`` config field picks one).

Critic-based estimators work per stream on ``[T, N, K]`` arrays with the calling convention of
``gae`` (``values`` = ``V(s_t)``, ``next_values`` = the value to bootstrap from after step t,
``nonterminal`` = 0 on terminations, ``continues`` = 0 where the recursion stops after step t)
and return ``(advantages, value_targets)``:

* ``gae``: generalised advantage estimation (Schulman et al., 2016),
  ``A_t = sum_l (gamma lambda)^l delta_{t+l}``, ``delta_t = r_t + gamma V' - V(s_t)``.
* ``n_step``: ``G_t = sum_{i<n} gamma^i r_{t+i} + gamma^n V(s_{t+n})`` (cut at episode ends,
  bootstrapping on truncation and at the batch end), ``A_t = G_t - V(s_t)``.
* ``monte_carlo``: the discounted return to the episode end, bootstrapping only where the
  episode is cut (truncation, batch end); equal to GAE with lambda = 1.
* ``min_form``: the min-form return of PURE (Cheng et al., 2025, "Stop summation: min-form
  credit assignment"): ``G_t = min(r_t, G_{t+1})`` -- the value of a state is the *minimum* of
  the rewards ahead -- with ``G_t = r_t`` on terminations and ``min(r_t, V')`` where the
  episode is cut; ``A_t = G_t - V(s_t)``.

Critic-free group estimators work on returns of rollouts that start from the same state
(``group_size`` consecutive environments share a start state; see PPO's ``group_size``):

* ``group_relative``: GRPO (Shao et al., 2024): ``A_i = (R_i - mean_g R) / (max(std_g R, floor) + 1e-8)``
  (population std; ``scale=False`` drops the division, as Dr. GRPO, Liu et al. 2025, does).
* ``rloo``: REINFORCE leave-one-out (Kool et al., 2019; Ahmadian et al., 2024):
  ``A_i = R_i - mean_{j != i} R_j``.
* ``anchor_state``: step-level groups of GiGPO (Feng et al., 2025): steps of rollouts in the
  same group that visit an identical state form an anchor group; each step's discounted
  return-to-go is normalised within its anchor group (singletons get 0).

Invariances (tested as properties): ``group_relative`` (with floor 0) and ``anchor_state`` are
unchanged by adding a per-group constant and by positive scaling; ``rloo`` is unchanged by a
per-group constant and scales with positive scaling; ``min_form`` returns shift by a constant.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl_rewards.core.types import Array

#: critic-based estimators (per stream, need a critic) and critic-free group estimators
CRITIC_ESTIMATORS = ("gae", "n_step", "monte_carlo", "min_form")
GROUP_ESTIMATORS = ("group_relative", "rloo", "anchor_state")
ESTIMATORS = CRITIC_ESTIMATORS + GROUP_ESTIMATORS


def gae(
    rewards: Array,
    values: Array,
    next_values: Array,
    nonterminal: Array,
    continues: Array,
    discounts: Array,
    gae_lambda: Array | float,
) -> tuple[Array, Array]:
    """Generalised advantage estimation for K streams at once.

    Args:
        rewards, values, next_values, nonterminal, continues: ``[T, N, K]`` (see module doc).
        discounts: per-stream discount, ``[K]``.
        gae_lambda: scalar lambda.

    Returns:
        advantages and value targets (``advantages + values``), both ``[T, N, K]``.
    """
    deltas = rewards + discounts * nonterminal * next_values - values

    def step(carry, xs):
        delta, cont = xs
        carry = delta + discounts * gae_lambda * cont * carry
        return carry, carry

    _, adv = jax.lax.scan(step, jnp.zeros_like(deltas[0]), (deltas, continues), reverse=True)
    return adv, adv + values


def monte_carlo(
    rewards: Array, values: Array, next_values: Array, nonterminal: Array, continues: Array, discounts: Array
) -> tuple[Array, Array]:
    """Discounted return to the episode end (bootstrapping where cut); ``[T, N, K]`` each."""
    return gae(rewards, values, next_values, nonterminal, continues, discounts, 1.0)


def n_step(
    rewards: Array,
    values: Array,
    next_values: Array,
    nonterminal: Array,
    continues: Array,
    discounts: Array,
    n: int,
) -> tuple[Array, Array]:
    """n-step returns ``G^(n)_t`` (``n`` static) and advantages ``G - V``; ``[T, N, K]`` each.

    Recursion: ``G^(m)_t = r_t + gamma nonterminal_t [cont_t G^(m-1)_{t+1} + (1 - cont_t) V'_t]``
    and ``G^(0)_{t+1} = V'_t`` (the batch end always cuts).
    """
    cont = continues.at[-1].set(0.0)
    ahead = next_values  # the estimate of what follows step t, from 0 more steps: V'_t
    for _ in range(n):
        returns = rewards + discounts * nonterminal * ahead
        following = jnp.concatenate([returns[1:], next_values[-1:]], axis=0)
        ahead = cont * following + (1.0 - cont) * next_values
    return returns - values, returns


def min_form(
    rewards: Array, values: Array, next_values: Array, nonterminal: Array, continues: Array
) -> tuple[Array, Array]:
    """Min-form returns ``G_t = min(r_t, G_{t+1})`` and advantages ``G - V``; ``[T, N, K]`` each."""
    cont = continues.at[-1].set(0.0)

    def step(following, xs):
        r, nv, nonterm, c = xs
        ahead = jnp.where(c > 0, following, nv)
        g = jnp.where(nonterm > 0, jnp.minimum(r, ahead), r)
        return g, g

    _, returns = jax.lax.scan(step, jnp.zeros_like(rewards[0]), (rewards, next_values, nonterminal, cont), reverse=True)
    return returns - values, returns


# --------------------------------------------------------------------------- group estimators


def _groups(returns: Array, group_size: int) -> Array:
    if returns.shape[-1] % group_size:
        raise ValueError(f"group_size={group_size} must divide the number of rollouts {returns.shape[-1]}")
    return returns.reshape((*returns.shape[:-1], returns.shape[-1] // group_size, group_size))


def group_relative(returns: Array, group_size: int, std_floor: Array | float = 0.0, scale: bool = True) -> Array:
    """GRPO advantages of ``returns [..., N]`` (consecutive groups of ``group_size``), ``[..., N]``."""
    g = _groups(returns, group_size)
    centred = g - g.mean(-1, keepdims=True)
    if scale:
        centred = centred / (jnp.maximum(g.std(-1, keepdims=True), std_floor) + 1e-8)
    return centred.reshape(returns.shape)


def rloo(returns: Array, group_size: int) -> Array:
    """Leave-one-out advantages ``R_i - mean_{j != i} R_j`` within groups, ``[..., N]``."""
    if group_size < 2:
        raise ValueError("rloo needs group_size >= 2")
    g = _groups(returns, group_size)
    others = (g.sum(-1, keepdims=True) - g) / (group_size - 1)
    return (g - others).reshape(returns.shape)


def anchor_state(
    step_returns: Array, states: Array, group_ids: Array, mask: Array, std_floor: Array | float = 0.0
) -> Array:
    """Anchor-state step advantages (GiGPO): normalise each step's return within the steps of
    the same group that visit an identical state.

    Args:
        step_returns: ``[M]`` returns-to-go of M steps.
        states: ``[M, D]`` the steps' states (compared exactly).
        group_ids: ``[M]`` start-state group of each step (anchors never cross groups).
        mask: ``[M]`` which steps count (e.g. inside the first episode).
        std_floor: floor of the anchor group's std.

    Returns:
        ``[M]`` advantages, 0 for masked steps and for steps alone in their anchor group.
    """
    same = jnp.all(states[:, None, :] == states[None, :, :], axis=-1)
    same = same & (group_ids[:, None] == group_ids[None, :]) & mask[None, :] & mask[:, None]
    w = same.astype(step_returns.dtype)
    count = w.sum(-1)
    mean = (w * step_returns[None, :]).sum(-1) / jnp.maximum(count, 1.0)
    var = (w * (step_returns[None, :] - mean[:, None]) ** 2).sum(-1) / jnp.maximum(count, 1.0)
    adv = (step_returns - mean) / (jnp.maximum(jnp.sqrt(var), std_floor) + 1e-8)
    return jnp.where(mask & (count > 1), adv, 0.0)


def first_episode(rewards: Array, done: Array) -> tuple[Array, Array]:
    """Mask and return of each rollout's first episode.

    Args:
        rewards: ``[T, N]``; done: ``[T, N]`` episode ends.

    Returns:
        mask ``[T, N]`` (steps up to and including the first episode end) and the undiscounted
        first-episode return ``[N]`` (a partial sum if the episode did not end in the batch).
    """
    ended_before = jnp.cumsum(done.astype(jnp.int32), axis=0) - done.astype(jnp.int32)
    mask = ended_before == 0
    return mask, (rewards * mask).sum(0)


def returns_to_go(rewards: Array, done: Array, gamma: Array | float) -> Array:
    """Discounted return-to-go inside each episode, ``[T, N]`` (no bootstrap)."""

    def step(following, xs):
        r, d = xs
        g = r + gamma * (1.0 - d) * following
        return g, g

    _, out = jax.lax.scan(step, jnp.zeros_like(rewards[0]), (rewards, done.astype(rewards.dtype)), reverse=True)
    return out
