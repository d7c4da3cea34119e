"""Critic-free group advantages: pure functions on returns of rollouts that share a start state
(consecutive groups of ``group_size`` along the last axis), used by the group estimators of
``agents/estimators.py`` (which re-exports them).

* :func:`group_relative` (GRPO, Shao et al., 2024), with a std floor ``max(sigma, eps)`` or
  ``sigma + eps`` (:func:`floored_std`);
* :func:`gdpo` (GDPO, Liu et al., 2026): each reward stream normalised within its group, then
  combined (and optionally standardised over the batch);
* :func:`rloo` (REINFORCE leave-one-out, Kool et al., 2019);
* :func:`anchor_state` (GiGPO's step-level anchor groups, Feng et al., 2025).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl_rewards.core.types import Array
from jaxrl_rewards.core.validation import ConfigError


def _groups(returns: Array, group_size: int) -> Array:
    if returns.shape[-1] % group_size:
        raise ValueError(f"group_size={group_size} must divide the number of rollouts {returns.shape[-1]}")
    return returns.reshape((*returns.shape[:-1], returns.shape[-1] // group_size, group_size))


#: how a std floor ``eps`` enters a group's denominator: ``max(sigma, eps)`` or ``sigma + eps``
FLOOR_MODES = ("max", "add")


def floored_std(std: Array, std_floor: Array | float, floor_mode: str = "max") -> Array:
    """The denominator of a normalised advantage: ``max(std, floor) + 1e-8`` (``"max"``) or
    ``std + floor + 1e-8`` (``"add"``, the additive floor that also damps groups whose spread is
    just above the floor); same shape as ``std``."""
    if floor_mode == "max":
        return jnp.maximum(std, std_floor) + 1e-8
    if floor_mode == "add":
        return std + std_floor + 1e-8
    raise ConfigError(f"std_floor_mode={floor_mode!r} is not one of {list(FLOOR_MODES)}")


def group_relative(
    returns: Array, group_size: int, std_floor: Array | float = 0.0, scale: bool = True, floor_mode: str = "max"
) -> Array:
    """GRPO advantages of ``returns [..., N]`` (consecutive groups of ``group_size``), ``[..., N]``:
    ``(R_i - mean_g R) / floored_std(std_g R, std_floor, floor_mode)``."""
    g = _groups(returns, group_size)
    centred = g - g.mean(-1, keepdims=True)
    if scale:
        centred = centred / floored_std(g.std(-1, keepdims=True), std_floor, floor_mode)
    return centred.reshape(returns.shape)


def gdpo(
    returns: Array,
    group_size: int,
    weights: Array,
    std_floor: Array | float = 0.0,
    floor_mode: str = "max",
    batch_normalize: bool = True,
) -> Array:
    """GDPO advantages (group reward-decoupled normalisation, Liu et al., 2026) of per-stream
    returns ``[N, K]``: each stream is normalised within its group separately, then the streams
    are combined, ``A_i = sum_k w_k (R_ik - mean_g R_k) / floored_std(std_g R_k)``, and, with
    ``batch_normalize``, standardised over the batch, ``(A - mean_N A) / (std_N A + 1e-8)``.
    Returns ``[N]``.

    GRPO normalises the weighted sum ``sum_k w_k R_ik`` instead, which maps distinct reward
    combinations to the same advantage: with two binary rewards and a group of two rollouts,
    ``(0, 0)`` vs ``(1, 1)`` and ``(0, 0)`` vs ``(1, 0)`` both get GRPO advantages ``(-1, 1)``;
    GDPO gives ``(-2, 2)`` and ``(-1, 1)`` (before the batch normalisation).

    >>> import jax.numpy as jnp
    >>> pairs = jnp.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0], [1.0, 0.0]])  # [N=4, K=2], groups of 2
    >>> gdpo(pairs, 2, jnp.ones(2), batch_normalize=False).round(4).tolist()
    [-2.0, 2.0, -1.0, 1.0]
    """
    per_stream = jax.vmap(lambda r: group_relative(r, group_size, std_floor, True, floor_mode), in_axes=-1, out_axes=-1)
    combined = (per_stream(returns) * weights).sum(-1)
    if batch_normalize:
        combined = (combined - combined.mean()) / (combined.std() + 1e-8)
    return combined


def rloo(returns: Array, group_size: int) -> Array:
    """Leave-one-out advantages ``R_i - mean_{j != i} R_j`` within groups, ``[..., N]``."""
    if group_size < 2:
        raise ValueError("rloo needs group_size >= 2")
    g = _groups(returns, group_size)
    others = (g.sum(-1, keepdims=True) - g) / (group_size - 1)
    return (g - others).reshape(returns.shape)


def anchor_state(
    step_returns: Array,
    states: Array,
    group_ids: Array,
    mask: Array,
    std_floor: Array | float = 0.0,
    floor_mode: str = "max",
) -> Array:
    """Anchor-state step advantages (GiGPO): normalise each step's return within the steps of
    the same group that visit an identical state.

    Args:
        step_returns: ``[M]`` returns-to-go of M steps.
        states: ``[M, D]`` the steps' states (compared exactly).
        group_ids: ``[M]`` start-state group of each step (anchors never cross groups).
        mask: ``[M]`` which steps count (e.g. inside the first episode).
        std_floor: floor of the anchor group's std (``floor_mode``: see :func:`floored_std`).

    Returns:
        ``[M]`` advantages, 0 for masked steps and for steps alone in their anchor group.
    """
    same = jnp.all(states[:, None, :] == states[None, :, :], axis=-1)
    same = same & (group_ids[:, None] == group_ids[None, :]) & mask[None, :] & mask[:, None]
    w = same.astype(step_returns.dtype)
    count = w.sum(-1)
    mean = (w * step_returns[None, :]).sum(-1) / jnp.maximum(count, 1.0)
    var = (w * (step_returns[None, :] - mean[:, None]) ** 2).sum(-1) / jnp.maximum(count, 1.0)
    adv = (step_returns - mean) / floored_std(jnp.sqrt(var), std_floor, floor_mode)
    return jnp.where(mask & (count > 1), adv, 0.0)


__all__ = ["FLOOR_MODES", "anchor_state", "floored_std", "gdpo", "group_relative", "rloo"]
