"""Hierarchical (lexicographic) comparison of ranked reward components to label preferences.

Instead of hand-tuning weights ``w_1 R_1 + w_2 R_2 + ...``, rank the components by importance
(safety before progress before comfort, say) and compare two segments component by component
(lexicographic order, as in lexicographic multi-objective RL, Gabor et al., 1998, and
rule-based reward composition): the first component whose segment returns differ by more
than its tolerance ``eps_c`` decides the label; if all tie, the label is 0.5. A Bradley-Terry
reward model trained on such labels (``preference_reward_model(labeler=lexicographic_labels,
oracle=component_oracle(...))``) learns one scalar reward that respects the ranking where the
data allow, with no weights to tune.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.types import Array, PRNGKey, Transition
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms.learned.preferences import flip_labels, preference_reward_model


def lexicographic_labels(
    returns_a: Array, returns_b: Array, key: PRNGKey, flip_rate: Array | float = 0.0, tie_eps: Array | float = 1e-6
) -> Array:
    """Labels from ranked component returns ``[M, C]`` (column 0 most important).

    For each pair, the first component ``c`` with ``|R_c(a) - R_c(b)| > tie_eps_c`` decides
    (1 if ``a`` is larger, else 0); all tied -> 0.5. ``tie_eps`` is a scalar or ``[C]``. Each
    decided label is flipped with probability ``flip_rate``. Returns float32 ``[M]``.
    """
    ra = returns_a.reshape(returns_a.shape[0], -1)
    rb = returns_b.reshape(returns_b.shape[0], -1)
    diff = ra - rb
    decides = jnp.abs(diff) > jnp.broadcast_to(jnp.asarray(tie_eps, jnp.float32), diff.shape[-1:])
    any_decides = decides.any(-1)
    first = jnp.argmax(decides, axis=-1)  # first True column (0 if none)
    sign = jnp.take_along_axis(diff, first[:, None], axis=-1)[:, 0] > 0
    labels = jnp.where(any_decides, sign.astype(jnp.float32), 0.5)
    return flip_labels(labels, key, flip_rate)


class ComponentOracle(struct.PyTreeNode):
    """Oracle returning ranked components ``[T, N, C]`` from ``batch.info["rewards"]`` (a dict
    of named ``[T, N]`` components, or an array ``[T, N, M]`` indexed by position)."""

    order: tuple[Any, ...] = struct.field(pytree_node=False, default=())

    def __call__(self, batch: Transition) -> Array:
        components = batch.info["rewards"]
        return jnp.stack(
            [jnp.asarray(components[k] if isinstance(k, str) else components[..., k]) for k in self.order], axis=-1
        )

    def __hash__(self) -> int:
        return hash((type(self), self.order))


def component_oracle(order: Sequence[str | int]) -> ComponentOracle:
    """An oracle stacking ``info["rewards"]`` components in ``order`` (most important first)."""
    if not order:
        raise ConfigError("component_oracle needs at least one component name")
    return ComponentOracle(order=tuple(order))


def lexicographic_reward_model(order: Sequence[str | int], tolerances: Sequence[float] | float = 1e-6, **kwargs: Any):
    """A Bradley-Terry reward model trained on lexicographic labels of the ranked components
    ``order`` of ``info["rewards"]`` (ties within ``tolerances``, scalar or one per component).
    ``**kwargs`` go to :func:`~jaxrl_rewards.transforms.learned.preferences.preference_reward_model`."""
    tol = jnp.asarray(tolerances, jnp.float32)
    if tol.ndim > 1 or (tol.ndim == 1 and tol.shape[0] != len(order)) or bool(jnp.any(tol < 0)):
        raise ConfigError(f"tolerances must be >= 0, a scalar or one per component ({len(order)}), got {tolerances}")
    return preference_reward_model(oracle=component_oracle(order), labeler=lexicographic_labels, tie_eps=tol, **kwargs)


__all__ = ["ComponentOracle", "component_oracle", "lexicographic_labels", "lexicographic_reward_model"]
