"""Distilled annotator bonus: an intrinsic reward learned from few (synthetic) annotator labels.

An annotator (a person, or an expensive model such as a VLM judging "is this state
interesting / making progress?") is too slow to label every observation. As in reward
distillation from AI / human feedback on states (e.g. Klissarov et al., 2023, "Motif:
intrinsic motivation from artificial intelligence feedback", which distils an LLM's
preferences into a reward model), we query it on a few observations per update (a label
budget), fit a small network, and pay the network's output as an intrinsic stream:

* ``mode="classification"``: the annotator returns a label in {0, 1}; the network is fitted by
  logistic regression and the bonus is ``sigmoid(logit(s'))``;
* ``mode="ranking"``: the annotator returns a score; random pairs of labelled observations
  are compared (Bradley-Terry on ``score_a > score_b``) and the bonus is the network output,
  standardised by running statistics.

The bonus is a new stream ``name`` (weight ``coef``, sweepable) computed on ``next_obs``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.running_stats import RunningMeanStd
from jaxrl_rewards.core.streams import TASK
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey, Stream, Streams, TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError, check_nonnegative, check_positive, check_positive_int
from jaxrl_rewards.transforms.core import RewardTransform
from jaxrl_rewards.transforms.learned.features import RewardNet
from jaxrl_rewards.transforms.models import adam, gradient_steps, scaled_apply

MODES = ("classification", "ranking")


class AnnotatorState(struct.PyTreeNode):
    """Network parameters, Adam state, labelled observations ``obs [C, D]`` / ``label [C]``,
    buffer size/pointer, labels used, and running statistics of the ranking output."""

    params: Any
    opt_state: Any
    obs: Array
    label: Array
    size: Array
    ptr: Array
    queries: Array
    stats: RunningMeanStd


class AnnotatorBonus(RewardTransform):
    """Intrinsic bonus distilled from an annotator (see the module docstring)."""

    annotator: Callable[[Array], Array] = struct.field(pytree_node=False, default=None)
    mode: str = struct.field(pytree_node=False, default="classification")
    queries_per_update: int = struct.field(pytree_node=False, default=8)
    max_queries: int = struct.field(pytree_node=False, default=256)
    capacity: int = struct.field(pytree_node=False, default=256)
    num_updates: int = struct.field(pytree_node=False, default=16)
    minibatch_size: int = struct.field(pytree_node=False, default=64)
    hidden_sizes: tuple[int, ...] = struct.field(pytree_node=False, default=(64,))
    name: str = struct.field(pytree_node=False, default="annotator")
    coef: Array | float = 0.1
    learning_rate: Array | float = 3e-3

    def validate(self) -> AnnotatorBonus:
        """``annotator`` callable, ``mode`` in ``MODES``, the sizes positive ints and
        ``max_queries`` a non-negative int (static); ``coef >= 0`` and ``learning_rate > 0``
        (element by element: swept values too)."""
        who = "annotator_bonus"
        if not callable(self.annotator):
            raise ConfigError(f"{who}: annotator must be a function obs -> label, got {type(self.annotator).__name__}")
        if self.mode not in MODES:
            raise ConfigError(f"{who}: mode must be one of {MODES}, got {self.mode!r}")
        for field in ("queries_per_update", "capacity", "num_updates", "minibatch_size"):
            check_positive_int(getattr(self, field), f"{who}: {field}")
        if isinstance(self.max_queries, bool) or not isinstance(self.max_queries, int) or self.max_queries < 0:
            raise ConfigError(f"{who}: max_queries must be a non-negative int, got {self.max_queries!r}")
        check_nonnegative(self.coef, f"{who}: coef")
        check_positive(self.learning_rate, f"{who}: learning_rate")
        return self

    def _net(self) -> RewardNet:
        return RewardNet(self.hidden_sizes, "relu")

    @staticmethod
    def _flat(obs: Array, lead: int) -> Array:
        x = jnp.asarray(obs, jnp.float32)
        return x.reshape((*x.shape[:lead], -1))

    def init(self, key: PRNGKey, spec: TransformSpec) -> AnnotatorState:
        dim = self._flat(spec.example.obs, 2).shape[-1]
        params = self._net().init(key, jnp.zeros((1, dim), jnp.float32))
        return AnnotatorState(
            params=params,
            opt_state=adam(1.0).init(params),
            obs=jnp.zeros((self.capacity, dim), jnp.float32),
            label=jnp.zeros((self.capacity,), jnp.float32),
            size=jnp.int32(0),
            ptr=jnp.int32(0),
            queries=jnp.int32(0),
            stats=RunningMeanStd.create(()),
        )

    def bonus(self, state: AnnotatorState, obs: Array, lead: int = 2) -> Array:
        """The bonus (before ``coef``) for observations with ``lead`` leading axes."""
        out = self._net().apply(state.params, self._flat(obs, lead))
        return jax.nn.sigmoid(out) if self.mode == "classification" else state.stats.normalize(out)

    def apply(self, state: AnnotatorState, streams: Streams, batch: Transition) -> tuple[Streams, AnnotatorState]:
        base = streams[TASK] if TASK in streams else next(iter(streams.values()))
        new = Stream(
            reward=self.bonus(state, batch.next_obs),
            weight=jnp.asarray(self.coef, jnp.float32),
            discount=base.discount,
            kind="intrinsic",
        )
        return {**streams, self.name: new}, state

    def update(
        self, state: AnnotatorState, streams: Streams, batch: Transition, key: PRNGKey
    ) -> tuple[AnnotatorState, Metrics]:
        del streams
        pick_key, train_key = jax.random.split(key)
        flat = self._flat(batch.next_obs, 2).reshape((-1, state.obs.shape[-1]))
        raw = batch.next_obs.reshape((-1, *batch.next_obs.shape[2:]))
        idx = jax.random.randint(pick_key, (self.queries_per_update,), 0, flat.shape[0])
        labels = jnp.asarray(jax.vmap(self.annotator)(raw[idx]), jnp.float32)
        allowed = jnp.clip(self.max_queries - state.queries, 0, self.queries_per_update)
        valid = jnp.arange(self.queries_per_update) < allowed
        order = jnp.cumsum(valid.astype(jnp.int32)) - 1
        slots = jnp.where(valid, (state.ptr + order) % self.capacity, self.capacity)
        count = allowed.astype(jnp.int32)
        state = state.replace(
            obs=state.obs.at[slots].set(flat[idx], mode="drop"),
            label=state.label.at[slots].set(labels, mode="drop"),
            size=jnp.minimum(state.size + count, self.capacity),
            ptr=(state.ptr + count) % self.capacity,
            queries=state.queries + count,
        )
        net, tx, have = self._net(), adam(1.0), state.size > 0

        def loss_fn(params, k):
            ka, kb = jax.random.split(k)
            ia = jax.random.randint(ka, (self.minibatch_size,), 0, jnp.maximum(state.size, 1))
            out_a = net.apply(params, state.obs[ia])
            if self.mode == "classification":
                y = state.label[ia]
                return (y * jax.nn.softplus(-out_a) + (1 - y) * jax.nn.softplus(out_a)).mean()
            ib = jax.random.randint(kb, (self.minibatch_size,), 0, jnp.maximum(state.size, 1))
            out_b = net.apply(params, state.obs[ib])
            diff = state.label[ia] - state.label[ib]
            y = jnp.where(diff > 0, 1.0, jnp.where(diff < 0, 0.0, 0.5))
            logit = out_a - out_b
            return (y * jax.nn.softplus(-logit) + (1 - y) * jax.nn.softplus(logit)).mean()

        params, opt_state, losses = gradient_steps(
            loss_fn,
            tx,
            state.params,
            state.opt_state,
            jax.random.split(train_key, self.num_updates),
            apply=scaled_apply(self.learning_rate),
            pass_params=False,
            guard=have,
        )
        state = state.replace(params=params, opt_state=opt_state)
        if self.mode == "ranking":
            state = state.replace(stats=state.stats.update(net.apply(params, flat)))
        return state, {"annotator/loss": losses.mean(), "annotator/queries": state.queries.astype(jnp.float32)}


def annotator_bonus(
    annotator: Callable[[Array], Array],
    mode: str = "classification",
    coef: float = 0.1,
    queries_per_update: int = 8,
    max_queries: int = 256,
    capacity: int = 256,
    num_updates: int = 16,
    minibatch_size: int = 64,
    hidden_sizes: tuple[int, ...] = (64,),
    learning_rate: float = 3e-3,
    name: str = "annotator",
) -> AnnotatorBonus:
    """A distilled annotator bonus stream (see the module docstring).

    Args:
        annotator: ``annotator(obs) -> label`` for ONE observation (jittable; vmapped):
            {0, 1} for classification, a score for ranking.
        mode: ``"classification"`` or ``"ranking"``.
        coef: the stream's weight (sweepable).
        queries_per_update, max_queries: labels requested per update and in total (budget).
        capacity, num_updates, minibatch_size, hidden_sizes, learning_rate: the distilled model.
    """
    return AnnotatorBonus(
        annotator=annotator,
        mode=mode,
        queries_per_update=queries_per_update,
        max_queries=max_queries,
        capacity=capacity,
        num_updates=num_updates,
        minibatch_size=minibatch_size,
        hidden_sizes=tuple(hidden_sizes),
        name=name,
        coef=coef,
        learning_rate=learning_rate,
    ).validate()


__all__ = ["MODES", "AnnotatorBonus", "AnnotatorState", "annotator_bonus"]
