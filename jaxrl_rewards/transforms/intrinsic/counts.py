"""Count-based exploration bonuses: exact counts (discrete observations) and SimHash counts.

Bonus (Strehl & Littman 2008, MBIE-EB; Bellemare et al. 2016; Tang et al. 2017, "#Exploration"):

    b(s') = beta / sqrt(N(phi(s')))

where ``phi`` maps the next observation to a cell index and ``N`` counts visits. Counts are
updated with the *whole* batch first, then every transition's bonus is read from the updated
table (so a state seen k times so far, this batch included, pays ``beta / sqrt(k)``).

``phi``:
* ``"onehot"``: ``argmax`` of a flattened one-hot observation (``S = obs size``);
* ``"integer"``: mixed-radix index of an integer observation with finite bounds (``Box`` of an
  integer dtype, or ``Discrete``);
* ``"simhash"``: SimHash (Charikar 2002) ``sign(A g(s'))`` with a fixed Gaussian ``A`` of
  ``hash_bits`` rows, read as a ``hash_bits``-bit integer (``S = 2**hash_bits``);
* a callable ``obs [*obs_shape] -> int`` together with ``num_states``.

``episodic=True`` keeps one table per environment and empties it when the episode ends
(episodic counts, as in NGU's/E3B's episodic count baselines); the table of an unfinished
episode is carried across rollout boundaries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import spaces

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.types import Array, PRNGKey, TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError, check_positive
from jaxrl_rewards.transforms.fields import build, factory_signature
from jaxrl_rewards.transforms.intrinsic.base import IntrinsicBonus, check_choice, flat_obs

INDEX_MODES = ("onehot", "integer", "simhash")


class CountState(struct.PyTreeNode):
    """Counts ``[S]`` (global) or ``[N, S]`` (episodic, one table per env), the SimHash matrix
    ``[D, bits]`` (or ``()``), and the mixed-radix ``low``/``radix`` of integer observations."""

    counts: Array
    projection: Any
    low: Any
    radix: Any


class CountBonus(IntrinsicBonus):
    """``beta / sqrt(N(phi(s')))`` (see module docstring). ``beta`` is a sweepable leaf."""

    WHO: ClassVar[str] = "count_bonus"

    beta: Array | float = 1.0
    index: str | Callable = struct.field(pytree_node=False, default="onehot")
    num_states: int | None = struct.field(pytree_node=False, default=None)
    hash_bits: int = struct.field(pytree_node=False, default=16)
    episodic_counts: bool = struct.field(pytree_node=False, default=False)

    def validate(self) -> CountBonus:
        """Positive ``beta``; ``index`` one of ``INDEX_MODES`` or a callable with a positive
        ``num_states``; ``hash_bits`` an int in [1, 24] (and the common bonus checks)."""
        super().validate()
        who = self.WHO
        check_positive(self.beta, f"{who}: beta")
        if callable(self.index):
            if not isinstance(self.num_states, int) or self.num_states <= 0:
                raise ConfigError(f"{who}: a callable index needs num_states (a positive int)")
        else:
            check_choice(self.index, INDEX_MODES, f"{who}: index")
        if not isinstance(self.hash_bits, int) or not 1 <= self.hash_bits <= 24:
            raise ConfigError(f"{who}: hash_bits must be an int in [1, 24], got {self.hash_bits!r}")
        return self

    def table_size(self, spec: TransformSpec) -> int:
        """Number of count cells S for this spec."""
        if callable(self.index):
            return int(self.num_states)
        if self.index == "simhash":
            return 2**self.hash_bits
        if self.index == "onehot":
            return int(np.prod(jnp.shape(spec.example.obs)[2:], dtype=np.int64))
        low, high = _integer_bounds(spec)
        return int(np.prod(high - low + 1))

    def init_model(self, key: PRNGKey, spec: TransformSpec) -> CountState:
        size = self.table_size(spec)
        shape = (spec.num_envs, size) if self.episodic_counts else (size,)
        projection = low = radix = ()
        if self.index == "simhash":
            dim = int(np.prod(jnp.shape(spec.example.obs)[2:], dtype=np.int64))
            projection = jax.random.normal(key, (dim, self.hash_bits), jnp.float32)
        elif self.index == "integer":
            lo, high = _integer_bounds(spec)
            extent = high - lo + 1
            low = jnp.asarray(lo, jnp.int32)
            radix = jnp.asarray(np.concatenate([np.cumprod(extent[::-1])[::-1][1:], [1]]), jnp.int32)
        return CountState(counts=jnp.zeros(shape, jnp.float32), projection=projection, low=low, radix=radix)

    def cell(self, model: CountState, obs: Array, batch_ndim: int) -> Array:
        """Cell index of observations ``[*batch, *obs_shape]`` -> int32 ``[*batch]``."""
        if callable(self.index):
            fn = self.index
            for _ in range(batch_ndim):
                fn = jax.vmap(fn)
            return jnp.asarray(fn(obs), jnp.int32)
        if self.index == "onehot":
            return jnp.argmax(flat_obs(obs, batch_ndim), axis=-1).astype(jnp.int32)
        if self.index == "simhash":
            bits = (flat_obs(obs, batch_ndim) @ model.projection > 0).astype(jnp.int32)
            return (bits * (2 ** jnp.arange(self.hash_bits, dtype=jnp.int32))).sum(-1)
        x = jnp.asarray(obs).reshape((*jnp.shape(obs)[:batch_ndim], -1)).astype(jnp.int32)
        return ((x - model.low) * model.radix).sum(-1)

    def compute(self, model: CountState, batch: Transition) -> tuple[Array, CountState, dict[str, Array]]:
        idx = self.cell(model, batch.next_obs, 2)  # [T, N]
        if not self.episodic_counts:
            counts = model.counts.at[idx.reshape(-1)].add(1.0)
            n = counts[idx]
            logs = {"visited_cells": (counts > 0).sum().astype(jnp.float32)}
        else:
            rows = jnp.arange(idx.shape[1])

            def step(table, xs):
                i, d = xs
                table = table.at[rows, i].add(1.0)
                n_t = table[rows, i]
                return jnp.where(d[:, None], 0.0, table), n_t

            counts, n = jax.lax.scan(step, model.counts, (idx, batch.done))
            logs = {"episode_cells": (counts > 0).sum(-1).mean().astype(jnp.float32)}
        bonus = self.beta / jnp.sqrt(n)
        logs["mean_count"] = n.mean()
        return bonus, model.replace(counts=counts), logs


def _integer_bounds(spec: TransformSpec) -> tuple[np.ndarray, np.ndarray]:
    space = spec.observation_space
    if isinstance(space, spaces.Discrete):
        return np.zeros(1, np.int64), np.asarray([int(space.n) - 1])
    shape = jnp.shape(spec.example.obs)[2:]
    low = np.broadcast_to(np.asarray(getattr(space, "low", np.nan)), shape).reshape(-1)
    high = np.broadcast_to(np.asarray(getattr(space, "high", np.nan)), shape).reshape(-1)
    integer = jnp.issubdtype(spec.example.obs.dtype, jnp.integer)
    if not (integer and np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        raise ConfigError(
            'count_bonus(index="integer") needs integer observations with finite integer bounds '
            '(use index="onehot" or "simhash" for float observations)'
        )
    return low.astype(np.int64), high.astype(np.int64)


def count_bonus(beta: float = 1.0, **options: Any) -> CountBonus:
    """Count-based bonus ``beta / sqrt(N(phi(s')))`` as a new stream (see module docstring).

    Args:
        beta: bonus scale (sweepable).
        **options: any other field of :class:`CountBonus`: ``index`` (``"onehot"``,
            ``"integer"``, ``"simhash"`` or a callable ``obs -> int``), ``num_states`` (table
            size for a callable ``index``), ``hash_bits`` (SimHash code length k, ``2**k``
            cells), ``episodic_counts`` (reset an environment's counts at its episode ends),
            ``coef`` (the stream's weight), ``discount``, ``episodic`` (the stream's flag;
            default ``episodic_counts``), ``normalize`` (divide by the running std of the
            bonus' discounted return), ``name``.
    """
    if options.get("episodic") is None:
        options = {**options, "episodic": bool(options.get("episodic_counts", False))}
    return build(CountBonus, "count_bonus", {"beta": beta, **options})


count_bonus.__signature__ = factory_signature(CountBonus, positional=("beta",), defaults={"episodic": None})
