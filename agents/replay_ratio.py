"""Adaptive replay ratio: few gradient steps per environment step while the critic's plasticity
is still changing fast, many once it has settled (Ma et al., 2023, "Revisiting plasticity in
visual reinforcement learning": a high replay ratio early destroys plasticity, a low one wastes
samples later; their Adaptive RR switches from low to high when the critic's fraction of active
units (FAU) stops changing).

* :func:`active_fraction` is the plasticity signal: the FAU of an MLP torso on a replay batch.
* :class:`AdaptiveReplayRatioConfig` is the config mixin (``max_num_updates``, ``rr_check_every``,
  ``rr_tolerance``); :class:`ReplayRatioState` and :func:`next_ratio_state` are the switch.
* :func:`dynamic_updates` runs a data-dependent number of gradient steps inside ``jit`` / ``vmap``.

The rule, checked every ``rr_check_every`` iterations once learning has started: with ``f_t`` the
FAU at check t, switch (for good) from ``num_updates`` to ``max_num_updates`` gradient steps per
iteration as soon as ``|f_t - f_{t-1}| < rr_tolerance``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxrl_rewards.agents.config import AgentConfig, static
from jaxrl_rewards.core import struct
from jaxrl_rewards.core.networks import NormedMLP
from jaxrl_rewards.core.types import Array, PRNGKey
from jaxrl_rewards.core.validation import ConfigError, check_in_range, check_positive_int

#: the reference FAU before the first check: no FAU in [0, 1] is within a tolerance <= 1 of it
_NO_REFERENCE = 2.0


class AdaptiveReplayRatioConfig(AgentConfig):
    """Mixin: ``max_num_updates`` (static; ``0`` = off, a fixed ``num_updates``) gradient steps per
    iteration once the critic's FAU has settled: ``|FAU_t - FAU_{t-1}| < rr_tolerance`` (a leaf
    in ``[0, 1]``) between checks ``rr_check_every`` iterations apart (static)."""

    max_num_updates: int = static(0)
    rr_check_every: int = static(100)
    rr_tolerance: Array | float = 0.01

    def check_fields(self) -> None:
        """Shared checks, plus: ``max_num_updates`` 0 or above ``num_updates``, ``rr_check_every``
        a positive int, ``rr_tolerance`` in ``[0, 1]``."""
        super().check_fields()
        low = getattr(self, "num_updates", 1)
        if not isinstance(self.max_num_updates, int) or not (self.max_num_updates == 0 or self.max_num_updates > low):
            raise ConfigError(
                f"max_num_updates must be 0 (fixed replay ratio) or an integer above num_updates={low}, "
                f"got {self.max_num_updates!r}"
            )
        check_positive_int(self.rr_check_every, "rr_check_every")
        check_in_range(self.rr_tolerance, "rr_tolerance", 0.0, 1.0)

    @property
    def adaptive_replay_ratio(self) -> bool:
        """Whether the replay ratio adapts (``max_num_updates > 0``)."""
        return self.max_num_updates > 0


class ReplayRatioState(struct.PyTreeNode):
    """``high``: switched to ``max_num_updates`` (bool scalar); ``reference``: the FAU at the
    latest check (float32 scalar; 2.0 before the first)."""

    high: Array
    reference: Array

    @classmethod
    def create(cls) -> ReplayRatioState:
        return cls(high=jnp.bool_(False), reference=jnp.float32(_NO_REFERENCE))


def active_fraction(module: nn.Module, params: Any, inputs: Array) -> Array:
    """FAU of ``module``'s ``NormedMLP`` torso on a batch ``inputs [B, D]``: the share of hidden
    units whose pre-activation (after the layer norm, when there is one) is positive,
    ``(1 / sum_l B H_l) sum_l sum_{b, h} 1[z_{l, b, h} > 0]`` over every hidden layer l of width
    ``H_l``. For ReLU this is the fraction of units that are active (not dormant)."""

    def capture(mdl: nn.Module, _name: str) -> bool:
        # the layer whose output feeds the activation: the layer norm when there is one
        if not isinstance(mdl.parent, NormedMLP):
            return False
        return isinstance(mdl, nn.LayerNorm if mdl.parent.layer_norm else nn.Dense)

    _, variables = module.apply(params, inputs, capture_intermediates=capture, mutable=["intermediates"])
    preactivations = jax.tree.leaves(variables["intermediates"])
    active = sum(jnp.sum(z > 0) for z in preactivations)
    total = sum(z.size for z in preactivations)
    return active.astype(jnp.float32) / total


def next_ratio_state(
    state: ReplayRatioState, fau: Array, iteration: Array, check_every: int, tolerance: Array, learning: Array
) -> ReplayRatioState:
    """One iteration of the switch: at a check (``learning`` and ``iteration % check_every == 0``)
    compare ``fau`` with the previous check's and switch to the high ratio (for good) when they
    differ by less than ``tolerance``; the check's FAU becomes the new reference."""
    check = jnp.logical_and(learning, iteration % check_every == 0)
    settled = jnp.logical_and(check, jnp.abs(fau - state.reference) < tolerance)
    return ReplayRatioState(high=jnp.logical_or(state.high, settled), reference=jnp.where(check, fau, state.reference))


def dynamic_updates(
    step: Callable[[Any, PRNGKey], tuple[Any, tuple[Array, Array]]], carry: Any, key: PRNGKey, count: Array
) -> tuple[Any, Array, Array]:
    """``count`` (a traced int) calls of ``step(carry, key_i) -> (carry, (loss, aux))`` with
    ``key_i = fold_in(key, i)``; returns the carry and the mean loss and aux (0 when
    ``count == 0``). Under ``vmap`` every run takes its own number of steps."""

    def body(i, state):
        carry, loss_sum, aux_sum = state
        carry, (loss, aux) = step(carry, jax.random.fold_in(key, i))
        return carry, loss_sum + loss, aux_sum + aux

    carry, loss_sum, aux_sum = jax.lax.fori_loop(0, count, body, (carry, jnp.float32(0.0), jnp.float32(0.0)))
    inv = 1.0 / jnp.maximum(count, 1).astype(jnp.float32)
    return carry, loss_sum * inv, aux_sum * inv
