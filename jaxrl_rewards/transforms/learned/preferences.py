"""Bradley-Terry preference reward models, trained inside ``update`` (RLHF from synthetic labels).

Model (Christiano et al., 2017, "Deep reinforcement learning from human preferences"; the
Bradley-Terry model, 1952): a network ``r_theta(x)`` scores each transition's features ``x``
(any of ``obs``, ``action`` (one-hot if discrete), ``next_obs``); a segment ``sigma`` of ``L``
consecutive transitions scores ``R(sigma) = sum_t r_theta(x_t)``, and

    P(sigma_a > sigma_b) = sigmoid(R(sigma_a) - R(sigma_b)).

A label ``y in {0, 0.5, 1}`` (1: ``a`` preferred, 0.5: tie) is fitted by the cross-entropy
``-y log P - (1 - y) log (1 - P)``.

Synthetic labels come from an *oracle*, a function ``oracle(batch) -> [T, N]`` (or
``[T, N, C]`` of ranked components, see ``lexicographic.py``) of the batch, by default the
environment reward ``batch.reward``; use :func:`true_reward_oracle` for ``info["true_reward"]``.
The labeler compares the segments' oracle returns (ties within ``tie_eps`` get 0.5) and flips
each non-tie label with probability ``flip_rate`` (label noise).

Modes:

* **online** (``online=True``): each ``update`` cuts the PPO batch into segments, draws
  ``queries_per_update`` random pairs, labels them (until ``max_queries`` labels were used in
  total: the annotation budget), stores them in a ring buffer of ``capacity`` pairs and takes
  ``num_updates`` Adam steps on minibatches from the buffer;
* **offline** (``dataset=...``): the buffer starts with a fixed :class:`PreferenceDataset`
  (build one with :func:`preference_dataset` or :func:`synthetic_preferences`); with
  ``online=False`` nothing is added and ``update`` only trains.

``apply`` replaces the ``target`` stream's reward with the learned reward (``replace=True``,
the RLHF setting: the agent never sees the oracle) or adds it as a new stream ``name``. With
``num_members = K > 1`` it is an ensemble aggregated as in ``aggregation.py``. With
``standardize=True`` the output is ``(r - mean) / std`` under running statistics of the
model's predictions on the training batches (Bradley-Terry rewards are identified only up to a
constant).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import linen as nn
from flax import struct
from gymnax.environments import spaces

from jaxrl_rewards.core.networks import MLP, orthogonal
from jaxrl_rewards.core.running_stats import RunningMeanStd
from jaxrl_rewards.core.streams import TASK
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey, Stream, Streams, TransformSpec, Transition
from jaxrl_rewards.core.validation import (
    ConfigError,
    check_in_range,
    check_nonnegative,
    check_positive,
    check_positive_int,
)
from jaxrl_rewards.transforms.core import RewardTransform
from jaxrl_rewards.transforms.learned.aggregation import AGGREGATES, aggregate, bootstrap_weights, feature_masks

INPUTS = ("obs", "action", "next_obs")

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


# --------------------------------------------------------------------------- features and segments


def num_discrete_actions(action_space: Any) -> int | None:
    """``n`` for a ``Discrete(n)`` action space (actions are one-hot encoded), else ``None``."""
    return int(action_space.n) if isinstance(action_space, spaces.Discrete) else None


def action_width(inputs: tuple[str, ...], dim: int, obs: Any, next_obs: Any, action: Any, lead: int) -> int | None:
    """The one-hot width of integer (discrete) actions inside features of total width ``dim``
    (recovered from static shapes, so a transform needs no extra static field); ``None`` for
    float actions or when actions are not an input."""
    if "action" not in inputs or jnp.issubdtype(jnp.asarray(action).dtype, jnp.floating):
        return None
    sizes = {"obs": jnp.shape(obs)[lead:], "next_obs": jnp.shape(next_obs)[lead:]}
    return dim - sum(int(np.prod(sizes[n])) for n in inputs if n != "action")


def transition_features(
    obs: Array, action: Array, next_obs: Array, inputs: tuple[str, ...], num_actions: int | None, lead: int
) -> Array:
    """Concatenate the selected inputs of transitions with ``lead`` leading axes into
    features ``[*lead_shape, D]`` (observations flattened, discrete actions one-hot)."""
    parts = []
    for name in inputs:
        if name == "action":
            if num_actions is not None:
                parts.append(jax.nn.one_hot(action, num_actions, dtype=jnp.float32))
            else:
                a = jnp.asarray(action, jnp.float32)
                parts.append(a.reshape((*a.shape[:lead], -1)))
        else:
            x = jnp.asarray(obs if name == "obs" else next_obs, jnp.float32)
            parts.append(x.reshape((*x.shape[:lead], -1)))
    return jnp.concatenate(parts, axis=-1)


def batch_segments(x: Array, segment_length: int) -> Array:
    """Cut a time-major array ``[T, N, ...]`` into segments ``[(T // L) * N, L, ...]`` of ``L``
    consecutive steps of one environment (a trailing ``T % L`` steps are dropped)."""
    num = x.shape[0] // segment_length
    if num < 1:
        raise ConfigError(f"segment_length={segment_length} is longer than the batch (T={x.shape[0]})")
    x = x[: num * segment_length].reshape((num, segment_length, *x.shape[1:]))
    x = jnp.swapaxes(x, 1, 2)  # [S, N, L, ...]
    return x.reshape((num * x.shape[1], segment_length, *x.shape[3:]))


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
    returns = _segment_returns(oracle(batch), segment_length)
    pair_key, label_key = jax.random.split(key)
    ia, ib = _draw_pairs(pair_key, returns.shape[0], num_pairs)
    labels = labeler(returns[ia], returns[ib], label_key, flip_rate, tie_eps)
    take = lambda idx: jax.tree.map(lambda x: x[idx], segs)
    return preference_dataset(take(ia), take(ib), np.asarray(labels))


def _segment_returns(values: Array, segment_length: int) -> Array:
    values = jnp.asarray(values, jnp.float32)
    if values.ndim == 2:
        values = values[..., None]
    return batch_segments(values, segment_length).sum(1)  # [S, C]


def _draw_pairs(key: PRNGKey, num_segments: int, num_pairs: int) -> tuple[Array, Array]:
    """Random pairs of distinct segments (when there are at least two)."""
    ka, kb = jax.random.split(key)
    ia = jax.random.randint(ka, (num_pairs,), 0, num_segments)
    offset = jax.random.randint(kb, (num_pairs,), 1, max(num_segments, 2))
    ib = (ia + offset) % num_segments
    return ia, ib


# --------------------------------------------------------------------------- the model


class RewardNet(nn.Module):
    """Per-transition reward network: features ``[..., D] -> [...]``."""

    hidden_sizes: tuple[int, ...] = (64, 64)
    activation: str = "relu"

    @nn.compact
    def __call__(self, x: Array) -> Array:
        h = MLP(self.hidden_sizes, self.activation)(x)
        return nn.Dense(1, kernel_init=orthogonal(1.0))(h)[..., 0]


class PreferenceBuffer(struct.PyTreeNode):
    """Ring buffer of labelled pairs: features ``seg_a``/``seg_b`` ``[C, L, D]``, ``label [C]``,
    bootstrap ``weight [C, K]``, the number of valid entries ``size`` and the write pointer."""

    seg_a: Array
    seg_b: Array
    label: Array
    weight: Array
    size: Array
    ptr: Array

    def add(self, seg_a: Array, seg_b: Array, label: Array, weight: Array, valid: Array) -> PreferenceBuffer:
        """Write the ``valid`` rows of a ``[Q, ...]`` batch of pairs (ring order)."""
        cap = self.label.shape[0]
        order = jnp.cumsum(valid.astype(jnp.int32)) - 1
        idx = jnp.where(valid, (self.ptr + order) % cap, cap)  # out of range -> dropped
        put = lambda buf, x: buf.at[idx].set(x, mode="drop")
        count = valid.astype(jnp.int32).sum()
        return PreferenceBuffer(
            seg_a=put(self.seg_a, seg_a),
            seg_b=put(self.seg_b, seg_b),
            label=put(self.label, label),
            weight=put(self.weight, weight),
            size=jnp.minimum(self.size + count, cap),
            ptr=(self.ptr + count) % cap,
        )


class RewardModelState(struct.PyTreeNode):
    """State of :class:`PreferenceRewardModel`.

    Attributes:
        params: member network parameters stacked on a leading ``[K]`` axis.
        opt_state: Adam statistics of ``params``.
        masks: per-member feature masks ``[K, D]``.
        buffer: the labelled pairs.
        queries: online labels used so far (int32).
        stats: running statistics of the aggregated predicted reward (for ``standardize``).
    """

    params: Any
    opt_state: Any
    masks: Array
    buffer: PreferenceBuffer
    queries: Array
    stats: RunningMeanStd


class PreferenceRewardModel(RewardTransform):
    """Bradley-Terry reward model (ensemble when ``num_members > 1``); see the module docstring.

    Static fields fix shapes and structure; ``learning_rate``, ``flip_rate``, ``tie_eps``,
    ``lam``, ``alpha``, ``reward_l2`` and ``weight`` are sweepable leaves. Build with
    :func:`preference_reward_model`.
    """

    inputs: tuple[str, ...] = struct.field(pytree_node=False, default=("obs", "action"))
    hidden_sizes: tuple[int, ...] = struct.field(pytree_node=False, default=(64, 64))
    activation: str = struct.field(pytree_node=False, default="relu")
    num_members: int = struct.field(pytree_node=False, default=1)
    aggregate: str = struct.field(pytree_node=False, default="mean")
    bootstrap: bool = struct.field(pytree_node=False, default=False)
    feature_fraction: float = struct.field(pytree_node=False, default=1.0)
    segment_length: int = struct.field(pytree_node=False, default=16)
    capacity: int = struct.field(pytree_node=False, default=2048)
    online: bool = struct.field(pytree_node=False, default=True)
    queries_per_update: int = struct.field(pytree_node=False, default=32)
    max_queries: int = struct.field(pytree_node=False, default=1_000_000)
    num_updates: int = struct.field(pytree_node=False, default=16)
    minibatch_size: int = struct.field(pytree_node=False, default=64)
    oracle: Oracle = struct.field(pytree_node=False, default=reward_oracle)
    labeler: Labeler = struct.field(pytree_node=False, default=bradley_terry_labels)
    target: str = struct.field(pytree_node=False, default=TASK)
    replace_target: bool = struct.field(pytree_node=False, default=True)
    name: str = struct.field(pytree_node=False, default="learned_reward")
    standardize: bool = struct.field(pytree_node=False, default=True)
    dataset: PreferenceDataset | None = None
    learning_rate: Array | float = 1e-3
    flip_rate: Array | float = 0.0
    tie_eps: Array | float = 1e-6
    lam: Array | float = 1.0
    alpha: Array | float = 0.5
    reward_l2: Array | float = 1e-3
    weight: Array | float = 1.0

    # ----- helpers

    def _net(self) -> RewardNet:
        return RewardNet(self.hidden_sizes, self.activation)

    def _features(self, spec_or_n: int | None, obs, action, next_obs, lead: int) -> Array:
        return transition_features(obs, action, next_obs, self.inputs, spec_or_n, lead)

    def member_rewards(self, state: RewardModelState, features: Array) -> Array:
        """Every member's reward for features ``[..., D]`` -> ``[K, ...]``."""
        net = self._net()
        return jax.vmap(lambda p, m: net.apply(p, features * m))(state.params, state.masks)

    def predict(self, state: RewardModelState, features: Array) -> Array:
        """The aggregated (not standardised) reward for features ``[..., D]`` -> ``[...]``."""
        return aggregate(self.member_rewards(state, features), self.aggregate, self.lam, self.alpha)

    # ----- protocol

    def init(self, key: PRNGKey, spec: TransformSpec) -> RewardModelState:
        n_act = num_discrete_actions(spec.action_space)
        ex = spec.example
        dim = int(self._features(n_act, ex.obs, ex.action, ex.next_obs, 2).shape[-1])
        init_key, mask_key, boot_key = jax.random.split(key, 3)
        net = self._net()
        params = jax.vmap(lambda k: net.init(k, jnp.zeros((1, dim), jnp.float32)))(
            jax.random.split(init_key, self.num_members)
        )
        cap, length = self.capacity, self.segment_length
        buffer = PreferenceBuffer(
            seg_a=jnp.zeros((cap, length, dim), jnp.float32),
            seg_b=jnp.zeros((cap, length, dim), jnp.float32),
            label=jnp.zeros((cap,), jnp.float32),
            weight=jnp.zeros((cap, self.num_members), jnp.float32),
            size=jnp.int32(0),
            ptr=jnp.int32(0),
        )
        if self.dataset is not None:
            d = self.dataset
            fa = self._features(n_act, d.a.obs, d.a.action, d.a.next_obs, 2)
            fb = self._features(n_act, d.b.obs, d.b.action, d.b.next_obs, 2)
            weights = bootstrap_weights(boot_key, d.label.shape[0], self.num_members, self.bootstrap)
            buffer = buffer.add(fa, fb, d.label, weights, jnp.ones(d.label.shape, bool))
        return RewardModelState(
            params=params,
            opt_state=optax.scale_by_adam().init(params),
            masks=feature_masks(mask_key, self.num_members, dim, self.feature_fraction),
            buffer=buffer,
            queries=jnp.int32(0),
            stats=RunningMeanStd.create(()),
        )

    def _output(self, state: RewardModelState, reward: Array) -> Array:
        if self.standardize:
            return state.stats.normalize(reward)
        return reward

    def reward(self, state: RewardModelState, batch: Transition, num_actions: int | None) -> Array:
        """The transform's output reward for a ``[T, N]`` batch, ``[T, N]``."""
        feats = self._features(num_actions, batch.obs, batch.action, batch.next_obs, 2)
        return self._output(state, self.predict(state, feats))

    def apply(self, state: RewardModelState, streams: Streams, batch: Transition) -> tuple[Streams, RewardModelState]:
        if self.target not in streams:
            raise ValueError(f"preference reward model: no stream {self.target!r}; streams are {sorted(streams)}")
        reward = self.reward(state, batch, self._num_actions(state, batch))
        base = streams[self.target]
        if self.replace_target:
            return {**streams, self.target: base.replace(reward=reward)}, state
        new = Stream(
            reward=reward, weight=jnp.asarray(self.weight, jnp.float32), discount=base.discount, kind="learned"
        )
        return {**streams, self.name: new}, state

    def _num_actions(self, state: RewardModelState, batch: Transition) -> int | None:
        return action_width(self.inputs, int(state.masks.shape[-1]), batch.obs, batch.next_obs, batch.action, 2)

    def update(
        self, state: RewardModelState, streams: Streams, batch: Transition, key: PRNGKey
    ) -> tuple[RewardModelState, Metrics]:
        del streams
        pair_key, label_key, boot_key, train_key = jax.random.split(key, 4)
        n_act = self._num_actions(state, batch)
        feats = self._features(n_act, batch.obs, batch.action, batch.next_obs, 2)  # [T, N, D]
        buffer, queries = state.buffer, state.queries
        if self.online:
            segs = batch_segments(feats, self.segment_length)
            returns = _segment_returns(self.oracle(batch), self.segment_length)
            ia, ib = _draw_pairs(pair_key, segs.shape[0], self.queries_per_update)
            labels = self.labeler(returns[ia], returns[ib], label_key, self.flip_rate, self.tie_eps)
            allowed = jnp.clip(self.max_queries - queries, 0, self.queries_per_update)
            valid = jnp.arange(self.queries_per_update) < allowed
            weights = bootstrap_weights(boot_key, self.queries_per_update, self.num_members, self.bootstrap)
            buffer = buffer.add(segs[ia], segs[ib], labels, weights, valid)
            queries = queries + allowed.astype(jnp.int32)
        params, opt_state, loss, acc = self._train(state.params, state.opt_state, state.masks, buffer, train_key)
        state = state.replace(params=params, opt_state=opt_state, buffer=buffer, queries=queries)
        members = self.member_rewards(state, feats)
        state = state.replace(stats=state.stats.update(aggregate(members, self.aggregate, self.lam, self.alpha)))
        metrics = {
            "reward_model/loss": loss,
            "reward_model/accuracy": acc,
            "reward_model/queries": queries.astype(jnp.float32),
            "reward_model/buffer_size": buffer.size.astype(jnp.float32),
            "reward_model/member_std": members.std(0).mean() if self.num_members > 1 else jnp.float32(0.0),
        }
        return state, metrics

    def _train(self, params, opt_state, masks, buffer: PreferenceBuffer, key: PRNGKey):
        net = self._net()
        tx = optax.scale_by_adam()
        have = buffer.size > 0

        def member_loss(p, mask, seg_a, seg_b, label, w):
            ra = net.apply(p, seg_a * mask)  # [B, L]
            rb = net.apply(p, seg_b * mask)
            return bt_loss(ra.sum(-1), rb.sum(-1), label, w, self.reward_l2 * 0.5 * (ra**2 + rb**2).mean())

        def step(carry, k):
            params, opt_state = carry
            idx = jax.random.randint(k, (self.minibatch_size,), 0, jnp.maximum(buffer.size, 1))
            sa, sb, lab, w = buffer.seg_a[idx], buffer.seg_b[idx], buffer.label[idx], buffer.weight[idx]

            def total(ps):
                losses, accs = jax.vmap(member_loss, in_axes=(0, 0, None, None, None, 1))(ps, masks, sa, sb, lab, w)
                return losses.sum(), (losses.mean(), accs.mean())

            grads, (loss, acc) = jax.grad(total, has_aux=True)(params)
            grads = optax.clip_by_global_norm(10.0 * self.num_members).update(grads, ())[0]
            updates, new_opt = tx.update(grads, opt_state)
            new_params = jax.tree.map(lambda p, u: p - self.learning_rate * u, params, updates)
            keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(have, a, b), new, old)
            return (keep(new_params, params), keep(new_opt, opt_state)), (loss, acc)

        (params, opt_state), (loss, acc) = jax.lax.scan(
            step, (params, opt_state), jax.random.split(key, self.num_updates)
        )
        return params, opt_state, loss.mean(), acc.mean()


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


def preference_reward_model(
    inputs: tuple[str, ...] = ("obs", "action"),
    *,
    hidden_sizes: tuple[int, ...] = (64, 64),
    activation: str = "relu",
    num_members: int = 1,
    aggregate: str = "mean",
    lam: float = 1.0,
    alpha: float = 0.5,
    bootstrap: bool = False,
    feature_fraction: float = 1.0,
    segment_length: int = 16,
    capacity: int = 2048,
    online: bool = True,
    queries_per_update: int = 32,
    max_queries: int = 1_000_000,
    num_updates: int = 16,
    minibatch_size: int = 64,
    learning_rate: float = 1e-3,
    flip_rate: float = 0.0,
    tie_eps: float = 1e-6,
    reward_l2: float = 1e-3,
    oracle: Oracle = reward_oracle,
    labeler: Labeler = bradley_terry_labels,
    dataset: PreferenceDataset | None = None,
    target: str = TASK,
    replace_target: bool = True,
    name: str = "learned_reward",
    weight: float = 1.0,
    standardize: bool = True,
) -> PreferenceRewardModel:
    """A Bradley-Terry preference reward model trained in ``update`` (see the module docstring).

    Args:
        inputs: which of ``"obs"``, ``"action"``, ``"next_obs"`` the reward sees.
        hidden_sizes, activation: the reward network.
        num_members, aggregate, lam, alpha, bootstrap, feature_fraction: ensemble options
            (see ``aggregation.py``); ``num_members=1`` is a single model.
        segment_length: L, steps per compared segment (must not exceed PPO's ``num_steps``).
        capacity: pairs kept in the buffer (offline datasets must fit).
        online: gather ``queries_per_update`` new labels per update from the batch, up to
            ``max_queries`` in total (the label budget).
        num_updates, minibatch_size, learning_rate: Adam steps per ``update``.
        flip_rate: label noise, probability of flipping a non-tie label.
        tie_eps: oracle return differences within ``tie_eps`` are ties (label 0.5).
        reward_l2: penalty on the squared predicted rewards (fixes the BT shift/scale freedom).
        oracle, labeler: ground truth and labelling rule (``lexicographic.py`` has another).
        dataset: an offline :class:`PreferenceDataset` loaded into the buffer at ``init``.
        target, replace_target, name, weight: replace stream ``target``'s reward, or add a new
            stream ``name`` with weight ``weight``.
        standardize: output ``(r - mean) / std`` under running prediction statistics.
    """
    for field, value in (("inputs", inputs),):
        if not value or any(v not in INPUTS for v in value) or len(set(value)) != len(value):
            raise ConfigError(f"{field} must be a non-empty tuple of distinct names from {INPUTS}, got {value!r}")
    for field, value in (
        ("num_members", num_members),
        ("segment_length", segment_length),
        ("capacity", capacity),
        ("queries_per_update", queries_per_update),
        ("num_updates", num_updates),
        ("minibatch_size", minibatch_size),
    ):
        check_positive_int(value, field)
    if not isinstance(max_queries, (int, np.integer)) or max_queries < 0:
        raise ConfigError(f"max_queries must be a non-negative integer, got {max_queries!r}")
    if aggregate not in AGGREGATES:
        raise ConfigError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")
    if not 0.0 < feature_fraction <= 1.0:
        raise ConfigError(f"feature_fraction must lie in (0, 1], got {feature_fraction!r}")
    check_positive(learning_rate, "learning_rate")
    check_in_range(flip_rate, "flip_rate", 0.0, 1.0)
    check_nonnegative(tie_eps, "tie_eps")
    check_nonnegative(lam, "lam")
    check_in_range(alpha, "alpha", 0.0, 1.0)
    check_nonnegative(reward_l2, "reward_l2")
    if dataset is not None:
        if not isinstance(dataset, PreferenceDataset):
            raise ConfigError(f"dataset must be a PreferenceDataset (see preference_dataset), got {type(dataset)}")
        preference_dataset(dataset.a, dataset.b, np.asarray(dataset.label))
        if dataset.a.obs.shape[1] != segment_length:
            raise ConfigError(
                f"dataset segments have length {dataset.a.obs.shape[1]}, but segment_length={segment_length}"
            )
        if dataset.size > capacity:
            raise ConfigError(f"dataset holds {dataset.size} pairs, more than capacity={capacity}")
    elif not online:
        raise ConfigError("an offline reward model (online=False) needs a dataset")
    return PreferenceRewardModel(
        inputs=tuple(inputs),
        hidden_sizes=tuple(hidden_sizes),
        activation=activation,
        num_members=num_members,
        aggregate=aggregate,
        bootstrap=bootstrap,
        feature_fraction=float(feature_fraction),
        segment_length=segment_length,
        capacity=capacity,
        online=online,
        queries_per_update=queries_per_update,
        max_queries=int(max_queries),
        num_updates=num_updates,
        minibatch_size=minibatch_size,
        oracle=oracle,
        labeler=labeler,
        target=target,
        replace_target=replace_target,
        name=name,
        standardize=standardize,
        dataset=dataset,
        learning_rate=learning_rate,
        flip_rate=flip_rate,
        tie_eps=tie_eps,
        lam=lam,
        alpha=alpha,
        reward_l2=reward_l2,
        weight=weight,
    )


__all__ = [
    "INPUTS",
    "PreferenceBuffer",
    "PreferenceDataset",
    "PreferenceRewardModel",
    "RewardModelState",
    "RewardNet",
    "Segments",
    "action_width",
    "batch_segments",
    "bradley_terry_labels",
    "bt_loss",
    "check_labels",
    "flip_labels",
    "num_discrete_actions",
    "preference_dataset",
    "preference_reward_model",
    "reward_oracle",
    "synthetic_preferences",
    "transition_features",
    "true_reward_oracle",
]
