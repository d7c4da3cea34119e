"""Preference data: oracles, synthetic Bradley-Terry labels, segment pairs and datasets.

Synthetic labels come from an *oracle*, a function ``oracle(batch) -> [T, N]`` (or
``[T, N, C]`` of ranked components, see ``lexicographic.py``) of the batch, by default the
environment reward ``batch.reward`` (:func:`true_reward_oracle` reads ``info["true_reward"]``).
A labeler compares two segments' oracle returns (ties within ``tie_eps`` get 0.5) and flips
each non-tie label with probability ``flip_rate``. :func:`bt_loss` is the Bradley-Terry
cross-entropy ``-y log P - (1 - y) log (1 - P)`` with ``P = sigmoid(R_a - R_b)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.types import Array, PRNGKey, Transition
from jaxrl_rewards.core.validation import ConfigError, check_in_range, check_positive_int
from jaxrl_rewards.transforms.learned.features import batch_segments

Oracle = Callable[[Transition], Array]
"""``oracle(batch [T, N]) -> rewards [T, N]`` or ranked components ``[T, N, C]``."""

Labeler = Callable[[Array, Array, PRNGKey, Array, Array], Array]
"""``labeler(returns_a [M, C], returns_b [M, C], key, flip_rate, tie_eps) -> labels [M]``."""


# --------------------------------------------------------------------------- oracles and labels


def reward_oracle(batch: Transition) -> Array:
    """The environment reward, ``[T, N]``."""
    return batch.reward


def true_reward_oracle(batch: Transition) -> Array:
    """``info["true_reward"]`` of proxy-reward environments, ``[T, N]``."""
    return batch.info["true_reward"]


def flip_labels(labels: Array, key: PRNGKey, flip_rate: Array | float) -> Array:
    """Flip each label ``y -> 1 - y`` with probability ``flip_rate`` (ties 0.5 stay 0.5), ``[M]``."""
    flip = jax.random.uniform(key, labels.shape) < flip_rate
    return jnp.where(flip, 1.0 - labels, labels)


def bradley_terry_labels(
    returns_a: Array, returns_b: Array, key: PRNGKey, flip_rate: Array | float = 0.0, tie_eps: Array | float = 1e-6
) -> Array:
    """Synthetic preference labels from segment returns ``[M]`` or ``[M, 1]``: 1 where
    ``a`` has the larger return, 0 where ``b`` has, 0.5 within ``tie_eps``; then each label is
    flipped with probability ``flip_rate``. Returns float32 ``[M]``."""
    ra = returns_a.reshape(returns_a.shape[0], -1)[:, 0]
    rb = returns_b.reshape(returns_b.shape[0], -1)[:, 0]
    diff = ra - rb
    labels = jnp.where(diff > tie_eps, 1.0, jnp.where(diff < -tie_eps, 0.0, 0.5))
    return flip_labels(labels.astype(jnp.float32), key, flip_rate)


# --------------------------------------------------------------------------- datasets


class Segments(struct.PyTreeNode):
    """A batch of ``M`` trajectory segments of length ``L``: ``obs [M, L, ...]``,
    ``action [M, L, ...]``, ``next_obs [M, L, ...]``."""

    obs: Array
    action: Array
    next_obs: Array


class PreferenceDataset(struct.PyTreeNode):
    """``M`` labelled pairs: segments ``a`` and ``b`` (each :class:`Segments` ``[M, L, ...]``)
    and ``label [M]`` in ``{0, 0.5, 1}`` (1: ``a`` preferred). Build with
    :func:`preference_dataset`, which checks shapes and labels."""

    a: Segments
    b: Segments
    label: Array

    @property
    def size(self) -> int:
        return int(self.label.shape[0])


def check_labels(labels: Any, name: str = "labels") -> np.ndarray:
    """Raise ``ConfigError`` unless ``labels`` is a 1-d array of values in {0, 0.5, 1}."""
    arr = np.asarray(labels, np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ConfigError(f"{name} must be a non-empty 1-d array [M], got shape {arr.shape}")
    bad = ~np.isin(arr, (0.0, 0.5, 1.0))
    if np.any(bad):
        raise ConfigError(
            f"{name} must take values in {{0, 1, 0.5}} (1: first segment preferred, 0.5: tie); "
            f"got {sorted(set(arr[bad].tolist()))[:5]} at {int(bad.sum())} position(s)"
        )
    return arr


def preference_dataset(a: Segments, b: Segments, labels: Any) -> PreferenceDataset:
    """Check and build a :class:`PreferenceDataset`.

    Raises:
        ConfigError: segments of ``a`` and ``b`` differ in shape, their leaves disagree on
            ``[M, L]``, the labels are not ``[M]`` or take values outside {0, 1, 0.5}.
    """
    arr = check_labels(labels)
    m = arr.shape[0]
    for side, seg in (("a", a), ("b", b)):
        if not isinstance(seg, Segments):
            raise ConfigError(f"segments {side} must be a Segments(obs, action, next_obs), got {type(seg).__name__}")
        for field in ("obs", "action", "next_obs"):
            shape = np.shape(getattr(seg, field))
            if len(shape) < 2 or shape[0] != m:
                raise ConfigError(f"segments {side}.{field} must be [M, L, ...] with M = {m} labels; got shape {shape}")
    length = np.shape(a.obs)[1]
    for field in ("obs", "action", "next_obs"):
        sa, sb = np.shape(getattr(a, field)), np.shape(getattr(b, field))
        if sa != sb:
            raise ConfigError(f"segments a.{field} {sa} and b.{field} {sb} must have the same shape")
        if sa[1] != length:
            raise ConfigError(f"every segment field must have length L = {length}; {field} has {sa[1]}")
    return PreferenceDataset(
        a=jax.tree.map(jnp.asarray, a), b=jax.tree.map(jnp.asarray, b), label=jnp.asarray(arr, jnp.float32)
    )


def synthetic_preferences(
    key: PRNGKey,
    batch: Transition,
    num_pairs: int,
    segment_length: int,
    flip_rate: float = 0.0,
    oracle: Oracle = reward_oracle,
    labeler: Labeler = bradley_terry_labels,
    tie_eps: float = 1e-6,
) -> PreferenceDataset:
    """A fixed (offline) preference dataset from a ``[T, N]`` batch: cut it into segments,
    draw ``num_pairs`` random pairs and label them with ``labeler`` on the oracle's segment
    returns, flipping labels with probability ``flip_rate``."""
    check_positive_int(num_pairs, "num_pairs")
    check_positive_int(segment_length, "segment_length")
    check_in_range(flip_rate, "flip_rate", 0.0, 1.0)
    segs = Segments(*(batch_segments(x, segment_length) for x in (batch.obs, batch.action, batch.next_obs)))
    returns = segment_returns(oracle(batch), segment_length)
    pair_key, label_key = jax.random.split(key)
    ia, ib = draw_pairs(pair_key, returns.shape[0], num_pairs)
    labels = labeler(returns[ia], returns[ib], label_key, flip_rate, tie_eps)
    take = lambda idx: jax.tree.map(lambda x: x[idx], segs)
    return preference_dataset(take(ia), take(ib), np.asarray(labels))


def segment_returns(values: Array, segment_length: int) -> Array:
    values = jnp.asarray(values, jnp.float32)
    if values.ndim == 2:
        values = values[..., None]
    return batch_segments(values, segment_length).sum(1)  # [S, C]


def draw_pairs(key: PRNGKey, num_segments: int, num_pairs: int) -> tuple[Array, Array]:
    """Random pairs of distinct segments (when there are at least two)."""
    ka, kb = jax.random.split(key)
    ia = jax.random.randint(ka, (num_pairs,), 0, num_segments)
    offset = jax.random.randint(kb, (num_pairs,), 1, max(num_segments, 2))
    ib = (ia + offset) % num_segments
    return ia, ib


def bt_loss(
    return_a: Array, return_b: Array, label: Array, weight: Array | None = None, extra: Array | float = 0.0
) -> tuple[Array, Array]:
    """Weighted Bradley-Terry cross-entropy of predicted segment returns ``[B]`` against labels
    ``[B]`` (1: ``a`` preferred): ``sum_i w_i * CE_i / max(sum_i w_i, 1) + extra``, and the
    weighted accuracy on non-tied labels. Returns ``(loss, accuracy)`` scalars."""
    logit = return_a - return_b
    ce = label * jax.nn.softplus(-logit) + (1.0 - label) * jax.nn.softplus(logit)
    w = jnp.ones_like(label) if weight is None else weight
    loss = (w * ce).sum() / jnp.maximum(w.sum(), 1.0) + extra
    decided = (label != 0.5).astype(jnp.float32) * w
    correct = ((logit > 0) == (label > 0.5)).astype(jnp.float32)
    acc = (decided * correct).sum() / jnp.maximum(decided.sum(), 1.0)
    return loss, acc


__all__ = [
    "Labeler",
    "Oracle",
    "PreferenceDataset",
    "Segments",
    "bradley_terry_labels",
    "bt_loss",
    "check_labels",
    "draw_pairs",
    "flip_labels",
    "preference_dataset",
    "reward_oracle",
    "segment_returns",
    "synthetic_preferences",
    "true_reward_oracle",
]
