"""Shared machinery of the intrinsic bonuses: the ``IntrinsicBonus`` base transform.

Every bonus adds one stream (default name ``"intrinsic"``) with its own weight (``coef``),
discount and static ``episodic`` flag, so PPO learns it with its own value head. A subclass
implements three hooks:

``init_model(key, spec) -> model_state``
    models, optimiser states, counters...
``compute(model_state, batch) -> (bonus [T, N], model_state, logs)``
    the raw bonus of every transition of a ``[T, N]`` batch (may update counts/memories),
    plus a dict of scalar log values (its components).
``learn(model_state, batch, key) -> (model_state, metrics)``
    train the bonus' models once per iteration (default: nothing).

The base class optionally divides the bonus by the running std of its discounted return
(``normalize=True``, Burda et al. 2019; reuses ``NormalizeRewards``), keeps the latest logs
in its state and reports them with the learning metrics from ``update`` as
``<name>/<component>`` (PPO logs them per iteration as ``transform/<name>/...``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey, Stream, Streams, TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError, check_in_range, check_nonnegative
from jaxrl_rewards.transforms.basic import NormalizeRewards
from jaxrl_rewards.transforms.core import RewardTransform


class BonusState(struct.PyTreeNode):
    """State of an ``IntrinsicBonus``.

    Attributes:
        model: the subclass' own state (counts, network parameters, memories).
        norm: ``NormalizeState`` of the return-based normalisation, or ``()``.
        logs: scalar components of the latest batch's bonus (reported by ``update``).
    """

    model: Any
    norm: Any
    logs: dict[str, Array]


def flat_obs(obs: Array, batch_ndim: int) -> Array:
    """Flatten observations ``[*batch, *obs_shape]`` to float32 ``[*batch, D]``."""
    obs = jnp.asarray(obs, jnp.float32)
    return obs.reshape((*obs.shape[:batch_ndim], -1))


def obs_dim(spec: TransformSpec) -> int:
    """Flattened observation size from the spec's example batch."""
    return int(np.prod(jnp.shape(spec.example.obs)[2:], dtype=np.int64))


def check_bonus_common(coef: Any, discount: Any, who: str) -> None:
    """Eager checks shared by every bonus factory (raise ``ConfigError``)."""
    check_nonnegative(coef, f"{who}: coef")
    check_in_range(discount, f"{who}: discount", 0.0, 1.0)


def check_model_sizes(who: str, **sizes: Any) -> None:
    """Raise ``ConfigError`` unless every size is a positive int."""
    for label, value in sizes.items():
        if not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{who}: {label} must be a positive int, got {value!r}")


def sizes_as_tuples(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with a ``hidden_sizes`` list (from TOML or the CLI) made a tuple (static)."""
    if "hidden_sizes" in options:
        return {**options, "hidden_sizes": tuple(options["hidden_sizes"])}
    return options


def check_choice(value: Any, choices: tuple, name: str) -> None:
    """Raise ``ConfigError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ConfigError(f"{name} must be one of {choices}, got {value!r}")


class IntrinsicBonus(RewardTransform):
    """Base class: adds ``coef``-weighted stream ``name`` carrying a bonus (see module docstring).

    Fields shared by all bonuses:
        coef: the stream's weight in PPO's combined advantage (sweepable leaf).
        discount: the stream's own discount (sweepable leaf).
        name: static stream name (must not exist yet).
        episodic: static; ``False`` lets returns run on through episode ends (RND).
        normalize: static; divide the bonus by the running std of its discounted return.
    """

    #: the factory's name, used in error messages (a class constant, not a field).
    WHO: ClassVar[str] = "intrinsic bonus"

    coef: Array | float = 1.0
    discount: Array | float = 0.99
    name: str = struct.field(pytree_node=False, default="intrinsic")
    episodic: bool = struct.field(pytree_node=False, default=False)
    normalize: bool = struct.field(pytree_node=False, default=False)

    def validate(self) -> IntrinsicBonus:
        """``coef >= 0`` and ``discount`` in [0, 1] (subclasses add their own checks)."""
        check_bonus_common(self.coef, self.discount, self.WHO)
        return self

    # ---- hooks for subclasses
    def init_model(self, key: PRNGKey, spec: TransformSpec) -> Any:
        """Initial model state (default: none)."""
        del key, spec
        return ()

    def compute(self, model: Any, batch: Transition) -> tuple[Array, Any, dict[str, Array]]:
        """Raw bonus ``[T, N]`` of a batch, the new model state and scalar logs."""
        raise NotImplementedError

    def learn(self, model: Any, batch: Transition, key: PRNGKey) -> tuple[Any, Metrics]:
        """Train the models on a batch (default: nothing)."""
        del batch, key
        return model, {}

    # ---- the transform protocol
    def _normalizer(self) -> NormalizeRewards:
        return NormalizeRewards(streams=(self.name,), clip=None)

    def init(self, key: PRNGKey, spec: TransformSpec) -> BonusState:
        """Model state, normaliser state and zeroed logs (shapes from ``spec.example``)."""
        model = self.init_model(key, spec)
        norm = ()
        if self.normalize:
            norm = self._normalizer().init(key, spec._replace(streams=(self.name,)))
        state = BonusState(model=model, norm=norm, logs={})
        _, _, logs = self._bonus(state, spec.example)
        return state.replace(logs=jax.tree.map(jnp.zeros_like, logs))

    def _bonus(self, state: BonusState, batch: Transition) -> tuple[Array, BonusState, dict[str, Array]]:
        """Bonus ``[T, N]`` after optional normalisation, the new state and the logs."""
        raw, model, logs = self.compute(state.model, batch)
        raw = jnp.asarray(raw, jnp.float32)
        logs = {**logs, "raw_mean": raw.mean(), "raw_max": raw.max()}
        bonus, norm = raw, state.norm
        if self.normalize:
            stream = Stream(
                reward=raw, weight=jnp.float32(1.0), discount=self.discount, episodic=self.episodic, kind="intrinsic"
            )
            out, norm = self._normalizer().apply(state.norm, {self.name: stream}, batch)
            bonus = out[self.name].reward
            logs["return_std"] = norm.stats[self.name].std
        logs["bonus_mean"] = bonus.mean()
        return bonus, BonusState(model=model, norm=norm, logs=logs), logs

    def bonus(self, state: BonusState, batch: Transition) -> tuple[Array, BonusState]:
        """The bonus ``[T, N]`` of a batch and the new state (used by combinations)."""
        bonus, state, logs = self._bonus(state, batch)
        return bonus, state.replace(logs=logs)

    def apply(self, state: BonusState, streams: Streams, batch: Transition) -> tuple[Streams, BonusState]:
        """Add stream ``name`` (reward ``[T, N]``, weight ``coef``, own discount/episodic flag)."""
        if self.name in streams:
            raise ValueError(
                f"{type(self).__name__}: stream {self.name!r} already exists; give this bonus another name= "
                "or combine bonuses with combine_bonuses()"
            )
        bonus, state = self.bonus(state, batch)
        stream = Stream(
            reward=bonus,
            weight=jnp.asarray(self.coef, jnp.float32),
            discount=jnp.asarray(self.discount, jnp.float32),
            episodic=self.episodic,
            kind="intrinsic",
        )
        return {**streams, self.name: stream}, state

    def update(self, state: BonusState, streams: Streams, batch: Transition, key: PRNGKey) -> tuple[Any, Metrics]:
        """Train the models (``learn``); metrics: the latest bonus components and learning losses."""
        del streams
        model, metrics = self.learn(state.model, batch, key)
        out = {f"{self.name}/{k}": v for k, v in state.logs.items()}
        out.update({f"{self.name}/{k}": v for k, v in metrics.items()})
        return state.replace(model=model), out
