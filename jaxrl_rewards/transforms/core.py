"""The reward-transform protocol, composition, and lifting user functions into streams.

A ``RewardTransform`` is a pytree (a frozen dataclass): its *fields* are its hyperparameters
(array leaves, so a sweep can ``vmap`` over them) or static settings
(``struct.field(pytree_node=False)``); its three pure methods follow optax's
``init``/``update`` pattern, split in two because reward transforms both *rewrite* a batch
and *learn* from it:

``init(key, spec) -> state``
    Build the transform's state (running statistics, model parameters, multipliers...).
``apply(state, streams, batch) -> (streams, state)``
    Rewrite or add streams on a time-major ``[T, N]`` batch (``T = 1`` for online agents).
    Cheap; may update running statistics or per-episode memories carried across batches.
``update(state, streams, batch, key) -> (state, metrics)``
    Learn once per training iteration (models, multipliers). ``streams`` are the final
    streams of the whole chain. The arguments come in ``apply``'s order (state, streams,
    batch), then the key.

Why a dataclass rather than a ``NamedTuple`` of closures (as optax does): hyperparameters
captured in closures are invisible to ``vmap``'s ``in_axes``; as dataclass fields they are
ordinary pytree leaves, so ``vmap(train, in_axes=(config_axes, 0))`` sweeps transform
hyperparameters exactly like learning rates. Closures are still welcome: see
``transform_from_functions``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.streams import TASK, spec_kinds
from jaxrl_rewards.core.types import STREAM_KINDS, Array, Metrics, PRNGKey, Stream, Streams, TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError, check_finite, check_in_range
from jaxrl_rewards.transforms.fields import check_choice


class RewardTransform(struct.PyTreeNode):
    """Base class of all reward transforms: identity by default. Subclass and override."""

    def validate(self) -> RewardTransform:
        """Check the hyperparameters' values and return ``self``.

        Raises ``ConfigError`` naming the field and its valid values or choices. Concrete
        leaves are checked element by element (a config batched for a sweep is checked before
        ``vmap``); traced leaves are skipped. Factories call it, and so does every agent's
        ``validate(config)``. Default: nothing to check.
        """
        return self

    def init(self, key: PRNGKey, spec: TransformSpec) -> Any:
        """Initial state. Default: no state (``()``)."""
        del key, spec
        return ()

    def apply(self, state: Any, streams: Streams, batch: Transition) -> tuple[Streams, Any]:
        """Rewrite ``streams`` (rewards ``[T, N]``) for ``batch``. Default: unchanged."""
        del batch
        return streams, state

    def update(self, state: Any, streams: Streams, batch: Transition, key: PRNGKey) -> tuple[Any, Metrics]:
        """Learn from a batch once per iteration. Default: nothing to learn, no metrics."""
        del streams, batch, key
        return state, {}


class Identity(RewardTransform):
    """Leaves every stream unchanged. ``chain()`` of nothing is the identity."""


def identity() -> RewardTransform:
    """The identity transform (the default of every agent)."""
    return Identity()


class Chain(RewardTransform):
    """Apply transforms left to right; the state is the tuple of their states.

    Nested chains are flattened and identities dropped by ``chain``, so chaining is
    associative down to the state structure: ``chain(a, chain(b, c)) == chain(chain(a, b), c)``.
    A chain of one transform behaves exactly as that transform (same keys, same numbers).

    Members have names (``names``, static): the registry names when built from text or TOML
    (``transforms.registry.build_transforms``), else the snake-case class names, repeats
    numbered ``_2``, ``_3``. Config paths address a member's leaves by its name
    (``transform.<name>.<field>``, see ``experiments.paths``). Each member reports its metrics
    under its own keys; where two members report the same key, each copy is reported as
    ``<member name>/<key>`` instead.
    """

    transforms: tuple[RewardTransform, ...] = ()
    names: tuple[str, ...] = struct.field(pytree_node=False, default=())

    def validate(self) -> Chain:
        """Validate every member (``ConfigError`` from the first invalid one); returns ``self``."""
        for transform in self.transforms:
            transform.validate()
        return self

    @property
    def member_names(self) -> tuple[str, ...]:
        """One name per member (``names`` if given, else derived from the class names)."""
        if self.names:
            return self.names
        return unique_names([snake_case(type(t).__name__) for t in self.transforms])

    def _keys(self, key: PRNGKey) -> list[PRNGKey]:
        if len(self.transforms) == 1:
            return [key]
        return list(jax.random.split(key, max(len(self.transforms), 1)))

    def init(self, key: PRNGKey, spec: TransformSpec) -> tuple[Any, ...]:
        """Initialise every transform with the spec of the streams it will receive: each sees
        the streams added or removed by the transforms before it (traced abstractly, nothing
        is computed)."""
        states = []
        for i, (transform, k) in enumerate(zip(self.transforms, self._keys(key), strict=False)):
            state = transform.init(k, spec)
            states.append(state)
            if i + 1 < len(self.transforms):
                spec = spec_after(transform, state, spec)
        return tuple(states)

    def apply(self, state: tuple[Any, ...], streams: Streams, batch: Transition) -> tuple[Streams, tuple[Any, ...]]:
        new_states = []
        for transform, sub_state in zip(self.transforms, state, strict=True):
            streams, sub_state = transform.apply(sub_state, streams, batch)
            new_states.append(sub_state)
        return streams, tuple(new_states)

    def update(
        self, state: tuple[Any, ...], streams: Streams, batch: Transition, key: PRNGKey
    ) -> tuple[tuple[Any, ...], Metrics]:
        new_states, reported = [], []
        for transform, sub_state, k in zip(self.transforms, state, self._keys(key), strict=False):
            sub_state, sub_metrics = transform.update(sub_state, streams, batch, k)
            new_states.append(sub_state)
            reported.append(sub_metrics)
        counts: dict[str, int] = {}
        for sub_metrics in reported:
            for name in sub_metrics:
                counts[name] = counts.get(name, 0) + 1
        metrics = {}
        for member, sub_metrics in zip(self.member_names, reported, strict=True):
            for name, value in sub_metrics.items():
                metrics[name if counts[name] == 1 else f"{member}/{name}"] = value
        return tuple(new_states), metrics


def snake_case(name: str) -> str:
    """``NormalizeRewards`` -> ``normalize_rewards``."""
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


def unique_names(names: Sequence[str]) -> tuple[str, ...]:
    """Repeats get ``_2``, ``_3``...: ``(scale, scale, clip)`` -> ``(scale, scale_2, clip)``."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return tuple(out)


def _streams_out(transform: RewardTransform, state: Any, spec: TransformSpec) -> Streams:
    """The (abstract) streams ``transform.apply`` returns for zero-reward placeholders of
    ``spec.streams`` (with their kinds) on ``spec.example``'s ``[1, N]`` shape."""
    shape = spec.example.reward.shape
    kinds = spec_kinds(spec)

    def run(state):
        placeholder = {
            name: Stream(
                reward=jnp.zeros(shape, jnp.float32),
                weight=jnp.float32(1.0),
                discount=jnp.float32(0.99),
                kind=kinds[name],
            )
            for name in spec.streams
        }
        out, _ = transform.apply(state, placeholder, spec.example)
        return out

    return jax.eval_shape(run, state)


def streams_after(transform: RewardTransform, state: Any, spec: TransformSpec) -> tuple[str, ...]:
    """Names of the streams ``transform.apply`` returns when it receives ``spec.streams``
    (found with ``jax.eval_shape`` on zero-reward placeholder streams of ``spec.example``'s
    ``[1, N]`` shape; nothing is computed)."""
    return tuple(sorted(_streams_out(transform, state, spec)))


def spec_after(transform: RewardTransform, state: Any, spec: TransformSpec) -> TransformSpec:
    """The spec the next member of a chain receives: ``spec`` with the names and kinds of the
    streams ``transform.apply`` returns (traced abstractly, as ``streams_after``)."""
    out = _streams_out(transform, state, spec)
    names = tuple(sorted(out))
    return spec._replace(streams=names, kinds=tuple(out[n].kind for n in names))


def chain(*transforms: RewardTransform, names: Sequence[str] | None = None) -> RewardTransform:
    """Compose transforms: ``apply`` runs them left to right, ``update`` runs each on the final
    streams. Nested chains are flattened (keeping their members' names) and identities dropped.

    Args:
        *transforms: the members, in order.
        names: optional member names, one per transform (a nested chain contributes its
            members' names); default: snake-case class names.
    """
    if names is not None and len(names) != len(transforms):
        raise ValueError(f"chain(): {len(names)} names for {len(transforms)} transforms")
    flat: list[RewardTransform] = []
    flat_names: list[str] = []
    for i, t in enumerate(transforms):
        if not isinstance(t, RewardTransform):
            raise TypeError(f"chain() takes RewardTransform instances; got {type(t).__name__}")
        if isinstance(t, Chain):
            flat.extend(t.transforms)
            flat_names.extend(t.member_names)
        elif not isinstance(t, Identity):
            flat.append(t)
            flat_names.append(names[i] if names is not None else snake_case(type(t).__name__))
    return Chain(transforms=tuple(flat), names=unique_names(flat_names))


class FunctionTransform(RewardTransform):
    """A transform made of plain functions (see ``transform_from_functions``).

    ``hparams`` is passed as the first argument of each function and is a pytree leaf, so
    it can be swept with ``vmap`` like any dataclass field.
    """

    init_fn: Callable | None = struct.field(pytree_node=False, default=None)
    apply_fn: Callable | None = struct.field(pytree_node=False, default=None)
    update_fn: Callable | None = struct.field(pytree_node=False, default=None)
    hparams: Any = ()

    def init(self, key, spec):
        return () if self.init_fn is None else self.init_fn(self.hparams, key, spec)

    def apply(self, state, streams, batch):
        return (streams, state) if self.apply_fn is None else self.apply_fn(self.hparams, state, streams, batch)

    def update(self, state, streams, batch, key):
        return (state, {}) if self.update_fn is None else self.update_fn(self.hparams, state, streams, batch, key)


def transform_from_functions(
    init: Callable | None = None,
    apply: Callable | None = None,
    update: Callable | None = None,
    hparams: Any = (),
) -> RewardTransform:
    """Build a transform from pure functions, optax-style.

    Args:
        init: ``(hparams, key, spec) -> state``; default: no state.
        apply: ``(hparams, state, streams, batch) -> (streams, state)``; default: unchanged.
        update: ``(hparams, state, streams, batch, key) -> (state, metrics)``; default: no-op.
        hparams: pytree of hyperparameters handed to every function (sweepable leaves).
    """
    return FunctionTransform(init_fn=init, apply_fn=apply, update_fn=update, hparams=hparams)


def _per_transition(fn: Callable, batch: Transition) -> Array:
    """Evaluate ``fn(obs, action, next_obs, info)`` on every transition of a ``[T, N]`` batch."""
    inner = jax.vmap(fn, in_axes=(0, 0, 0, 0))
    return jax.vmap(inner, in_axes=(0, 0, 0, 0))(batch.obs, batch.action, batch.next_obs, batch.info)


class LiftedReward(RewardTransform):
    """Adds a new stream computed by a user reward function (see ``lift``)."""

    fn: Callable = struct.field(pytree_node=False, default=None)
    name: str = struct.field(pytree_node=False, default="bonus")
    weight: Array | float = 1.0
    discount: Array | float | None = None
    episodic: bool = struct.field(pytree_node=False, default=True)
    kind: str = struct.field(pytree_node=False, default="other")

    def validate(self) -> LiftedReward:
        """``fn`` callable, ``weight`` finite, ``discount`` in [0, 1], ``kind`` a stream kind."""
        if not callable(self.fn):
            raise ConfigError(f"lift: fn must be a function (obs, action, next_obs, info) -> reward, got {self.fn!r}")
        check_choice(self.kind, STREAM_KINDS, "kind", "lift")
        check_finite(self.weight, "lift: weight")
        if self.discount is not None:
            check_in_range(self.discount, "lift: discount", 0.0, 1.0)
        return self

    def apply(self, state, streams, batch):
        if self.name in streams:
            raise ValueError(
                f"lift: stream {self.name!r} already exists; use add_term(fn, to={self.name!r}) "
                "to add to an existing stream"
            )
        reward = jnp.asarray(_per_transition(self.fn, batch), jnp.float32)
        discount = streams[TASK].discount if self.discount is None else self.discount
        new = Stream(
            reward=reward,
            weight=jnp.asarray(self.weight, jnp.float32),
            discount=jnp.asarray(discount, jnp.float32),
            episodic=self.episodic,
            kind=self.kind,
        )
        return {**streams, self.name: new}, state


def lift(
    fn: Callable[[Any, Array, Any, dict], Array],
    name: str,
    *,
    weight: Array | float = 1.0,
    discount: Array | float | None = None,
    episodic: bool = True,
    kind: str = "other",
) -> RewardTransform:
    """Lift a jittable reward function into a new stream.

    Args:
        fn: ``fn(obs, action, next_obs, info) -> scalar`` for ONE transition; it is vmapped
            over ``[T, N]``. ``next_obs`` is the true final observation on episode ends.
        name: the new stream's name (must not exist yet).
        weight: the stream's weight in the combined advantage.
        discount: the stream's discount; ``None`` copies the task stream's discount.
        episodic: whether the stream's returns stop at episode ends.
        kind: the stream's ``Stream.kind`` (one of ``core.types.STREAM_KINDS``).
    """
    return LiftedReward(fn=fn, name=name, weight=weight, discount=discount, episodic=episodic, kind=kind).validate()


class AddTerm(RewardTransform):
    """Adds ``coef * fn(obs, action, next_obs, info)`` to an existing stream (see ``add_term``)."""

    fn: Callable = struct.field(pytree_node=False, default=None)
    to: str = struct.field(pytree_node=False, default=TASK)
    coef: Array | float = 1.0

    def validate(self) -> AddTerm:
        """``fn`` callable and ``coef`` finite."""
        if not callable(self.fn):
            raise ConfigError(f"add_term: fn must be a function (obs, action, next_obs, info) -> term, got {self.fn!r}")
        check_finite(self.coef, "add_term: coef")
        return self

    def apply(self, state, streams, batch):
        if self.to not in streams:
            raise ValueError(f"add_term: no stream {self.to!r}; the batch has streams {sorted(streams)}")
        term = jnp.asarray(_per_transition(self.fn, batch), jnp.float32)
        target = streams[self.to]
        return {**streams, self.to: target.replace(reward=target.reward + self.coef * term)}, state


def add_term(
    fn: Callable[[Any, Array, Any, dict], Array], to: str = TASK, coef: Array | float = 1.0
) -> RewardTransform:
    """Add ``coef * fn(obs, action, next_obs, info)`` (per transition, vmapped over ``[T, N]``)
    to the existing stream ``to``. ``coef`` is a sweepable leaf."""
    return AddTerm(fn=fn, to=to, coef=coef).validate()
