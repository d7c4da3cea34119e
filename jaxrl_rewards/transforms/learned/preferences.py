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

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrl_rewards.core import struct
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
from jaxrl_rewards.transforms.fields import build, factory_signature
from jaxrl_rewards.transforms.learned.aggregation import AGGREGATES, aggregate, bootstrap_weights, feature_masks
from jaxrl_rewards.transforms.learned.features import (
    INPUTS,
    RewardNet,
    action_width,
    batch_segments,
    num_discrete_actions,
    transition_features,
)
from jaxrl_rewards.transforms.learned.preference_data import (
    Labeler,
    Oracle,
    PreferenceDataset,
    Segments,
    bradley_terry_labels,
    bt_loss,
    check_labels,
    draw_pairs,
    flip_labels,
    preference_dataset,
    reward_oracle,
    segment_returns,
    synthetic_preferences,
    true_reward_oracle,
)

# --------------------------------------------------------------------------- the model


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

    def validate(self) -> PreferenceRewardModel:
        """Inputs from ``INPUTS``; positive integer sizes; ``aggregate`` in ``AGGREGATES``;
        ``feature_fraction`` in (0, 1]; positive ``learning_rate``; ``flip_rate`` and ``alpha``
        in [0, 1]; non-negative ``tie_eps``, ``lam``, ``reward_l2``; a dataset that fits the
        segment length and capacity (an offline model needs one); returns ``self``."""
        for field, value in (("inputs", self.inputs),):
            if not value or any(v not in INPUTS for v in value) or len(set(value)) != len(value):
                raise ConfigError(f"{field} must be a non-empty tuple of distinct names from {INPUTS}, got {value!r}")
        for field, value in (
            ("num_members", self.num_members),
            ("segment_length", self.segment_length),
            ("capacity", self.capacity),
            ("queries_per_update", self.queries_per_update),
            ("num_updates", self.num_updates),
            ("minibatch_size", self.minibatch_size),
        ):
            check_positive_int(value, field)
        if not isinstance(self.max_queries, (int, np.integer)) or self.max_queries < 0:
            raise ConfigError(f"max_queries must be a non-negative integer, got {self.max_queries!r}")
        if self.aggregate not in AGGREGATES:
            raise ConfigError(f"aggregate must be one of {AGGREGATES}, got {self.aggregate!r}")
        if not 0.0 < self.feature_fraction <= 1.0:
            raise ConfigError(f"feature_fraction must lie in (0, 1], got {self.feature_fraction!r}")
        check_positive(self.learning_rate, "learning_rate")
        check_in_range(self.flip_rate, "flip_rate", 0.0, 1.0)
        check_nonnegative(self.tie_eps, "tie_eps")
        check_nonnegative(self.lam, "lam")
        check_in_range(self.alpha, "alpha", 0.0, 1.0)
        check_nonnegative(self.reward_l2, "reward_l2")
        if self.dataset is not None:
            if not isinstance(self.dataset, PreferenceDataset):
                raise ConfigError(f"dataset must be a PreferenceDataset (preference_dataset), got {type(self.dataset)}")
            if not isinstance(self.dataset.label, jax.core.Tracer):  # a dataset batched under vmap is checked eagerly
                preference_dataset(self.dataset.a, self.dataset.b, np.asarray(self.dataset.label))
            if self.dataset.a.obs.shape[1] != self.segment_length:
                raise ConfigError(
                    f"dataset segments have length {self.dataset.a.obs.shape[1]}, segment_length={self.segment_length}"
                )
            if self.dataset.size > self.capacity:
                raise ConfigError(f"dataset holds {self.dataset.size} pairs, more than capacity={self.capacity}")
        elif not self.online:
            raise ConfigError("an offline reward model (online=False) needs a dataset")
        return self

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
            returns = segment_returns(self.oracle(batch), self.segment_length)
            ia, ib = draw_pairs(pair_key, segs.shape[0], self.queries_per_update)
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


def preference_reward_model(inputs: tuple[str, ...] = ("obs", "action"), **options: Any) -> PreferenceRewardModel:
    """A Bradley-Terry preference reward model trained in ``update`` (see the module docstring).

    Args (any field of :class:`PreferenceRewardModel`):
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
    options = {"inputs": tuple(inputs), **options}
    for name, convert in (("hidden_sizes", tuple), ("feature_fraction", float), ("max_queries", _as_int)):
        if name in options:
            options[name] = convert(options[name])
    return build(PreferenceRewardModel, "preference_reward_model", options)


def _as_int(value: Any) -> Any:
    return int(value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value


preference_reward_model.__signature__ = factory_signature(PreferenceRewardModel, positional=("inputs",))


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
