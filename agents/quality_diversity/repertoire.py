"""Quality diversity: the MAP-Elites grid repertoire (best fitness per cell), its QD metrics and
the iso+line-DD emitter (package docstring)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.agents.config import static as _static
from jaxrl_rewards.core import struct
from jaxrl_rewards.core.types import Array, PRNGKey
from jaxrl_rewards.core.validation import (
    ConfigError,
    check_positive_int,
)

# --------------------------------------------------------------------------- repertoire


class Repertoire(struct.PyTreeNode):
    """A MAP-Elites grid: one elite per cell of a regular grid over ``[0, 1]^D``.

    Attributes:
        params: the elites' policy params, every leaf ``[C, ...]`` (zeros where empty).
        fitness: ``[C]`` float32, ``-inf`` where empty.
        descriptors: ``[C, D]`` float32, the elites' descriptors (zeros where empty).
        num_cells_per_dim: ``(n_1, ..., n_D)`` (static); ``C = prod n_d``.
    """

    params: Any
    fitness: Array
    descriptors: Array
    num_cells_per_dim: tuple[int, ...] = _static(())

    @property
    def filled(self) -> Array:
        """``[C]`` bool: the cell holds an elite."""
        return self.fitness > -jnp.inf

    @property
    def descriptor_dim(self) -> int:
        """``D``."""
        return len(self.num_cells_per_dim)


def cells_per_dim(num_cells_per_dim: Any, descriptor_dim: int) -> tuple[int, ...]:
    """``(n_1, ..., n_D)`` from an int (the same for every dim) or a length-``D`` sequence of
    positive ints; ``ConfigError`` otherwise."""
    check_positive_int(descriptor_dim, "descriptor_dim")
    cells = (num_cells_per_dim,) * descriptor_dim if np.ndim(num_cells_per_dim) == 0 else tuple(num_cells_per_dim)
    if len(cells) != descriptor_dim:
        raise ConfigError(
            f"num_cells_per_dim={num_cells_per_dim!r} has {len(cells)} entries, the descriptor has "
            f"{descriptor_dim} dims: give one count per dim (or one int for all)"
        )
    for n in cells:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ConfigError(f"num_cells_per_dim must be integers >= 1, got {num_cells_per_dim!r}")
    return tuple(int(n) for n in cells)


def init_repertoire(num_cells_per_dim: int | tuple[int, ...], descriptor_dim: int, params_template: Any) -> Repertoire:
    """An empty repertoire of ``C = prod(num_cells_per_dim)`` cells for descriptors of
    ``descriptor_dim`` dims and policies shaped like ``params_template`` (one unbatched policy).
    An int ``num_cells_per_dim`` is used for every dim. ``ConfigError`` for counts < 1 or a tuple
    whose length is not ``descriptor_dim``."""
    cells = cells_per_dim(num_cells_per_dim, descriptor_dim)
    total = int(np.prod(cells))
    params = jax.tree.map(lambda x: jnp.zeros((total, *jnp.shape(x)), jnp.result_type(x)), params_template)
    return Repertoire(
        params=params,
        fitness=jnp.full((total,), -jnp.inf, jnp.float32),
        descriptors=jnp.zeros((total, len(cells)), jnp.float32),
        num_cells_per_dim=cells,
    )


def cell_index(descriptors: Array, num_cells_per_dim: tuple[int, ...]) -> Array:
    """Flat cell of each descriptor (``[..., D]`` -> int32 ``[...]``): per dim
    ``i_d = clip(floor(b_d * n_d), 0, n_d - 1)``, then row-major ``sum_d i_d * prod_{e > d} n_e``
    (values outside ``[0, 1]`` fall in the border cells)."""
    n = jnp.asarray(num_cells_per_dim, jnp.int32)
    idx = jnp.clip(jnp.floor(descriptors * n).astype(jnp.int32), 0, n - 1)
    strides = np.cumprod((1, *num_cells_per_dim[::-1]))[:-1][::-1].astype(np.int32)
    return (idx * jnp.asarray(strides)).sum(-1)


def _check_batch(repertoire: Repertoire, params: Any, fitness: Array, descriptors: Array) -> int:
    """``ConfigError`` unless ``fitness [B]``, ``descriptors [B, D]`` (D of the repertoire) and
    every params leaf ``[B, ...]`` agree; returns B. Shapes are static, so this runs at trace time."""
    d = repertoire.descriptor_dim
    if jnp.ndim(descriptors) != 2 or jnp.shape(descriptors)[1] != d:
        raise ConfigError(
            f"descriptors must have shape [batch, {d}] (the repertoire's descriptor dim is {d}), "
            f"got {tuple(jnp.shape(descriptors))}"
        )
    batch = jnp.shape(descriptors)[0]
    if jnp.shape(fitness) != (batch,):
        raise ConfigError(f"fitness must have shape [{batch}] (one per descriptor), got {tuple(jnp.shape(fitness))}")
    for leaf, ref in zip(jax.tree.leaves(params), jax.tree.leaves(repertoire.params), strict=False):
        if jnp.shape(leaf) != (batch, *jnp.shape(ref)[1:]):
            raise ConfigError(
                f"params leaves must be [{batch}, ...] matching the repertoire's "
                f"{tuple(jnp.shape(ref)[1:])}, got {tuple(jnp.shape(leaf))}"
            )
    if jax.tree.structure(params) != jax.tree.structure(repertoire.params):
        raise ConfigError("params do not have the repertoire's tree structure")
    return batch


def insert(repertoire: Repertoire, params: Any, fitness: Array, descriptors: Array) -> Repertoire:
    """Add a batch of ``B`` candidates (params leaves ``[B, ...]``, ``fitness [B]``,
    ``descriptors [B, D]``), keeping the best per cell.

    Candidate ``i`` goes to cell ``c_i = cell_index(descriptors_i)``. Per cell ``c`` the batch's
    best ``f*_c = max_{i: c_i = c} f_i`` (NaN counts as ``-inf``; among equal bests the lowest
    index wins) replaces the elite iff ``f*_c > fitness_c`` (strictly; an empty cell holds
    ``-inf``). Equivalent to inserting the candidates one by one in index order with the strict
    rule. ``ConfigError`` for mismatched shapes (e.g. a descriptor dim other than the
    repertoire's), raised at trace time, before compiling."""
    batch = _check_batch(repertoire, params, fitness, descriptors)
    num_cells = repertoire.fitness.shape[0]
    descriptors = jnp.asarray(descriptors, jnp.float32)
    fitness = jnp.asarray(fitness, jnp.float32)
    fitness = jnp.where(jnp.isnan(fitness), -jnp.inf, fitness)
    cells = cell_index(descriptors, repertoire.num_cells_per_dim)
    best = jax.ops.segment_max(fitness, cells, num_segments=num_cells)  # -inf for cells without candidates
    is_best = (fitness == best[cells]) & (fitness > -jnp.inf)
    order = jnp.arange(batch, dtype=jnp.int32)
    winner = jax.ops.segment_min(jnp.where(is_best, order, batch), cells, num_segments=num_cells)
    winner = jnp.clip(winner, 0, batch - 1)
    improve = best > repertoire.fitness

    def pick(old, new):
        mask = improve.reshape((num_cells,) + (1,) * (old.ndim - 1))
        return jnp.where(mask, new[winner], old)

    return repertoire.replace(
        params=jax.tree.map(pick, repertoire.params, params),
        fitness=jnp.where(improve, best, repertoire.fitness),
        descriptors=pick(repertoire.descriptors, descriptors),
    )


def qd_metrics(repertoire: Repertoire, fitness_offset: Array | float) -> dict[str, Array]:
    """``coverage = mean(filled)``, ``qd_score = sum_{filled c} max(f_c - fitness_offset, 0)`` and
    ``best_fitness = max_c f_c`` (``-inf`` if empty); float32 scalars."""
    filled = repertoire.filled
    return {
        "coverage": filled.mean(dtype=jnp.float32),
        "qd_score": jnp.where(filled, jnp.maximum(repertoire.fitness - fitness_offset, 0.0), 0.0).sum(),
        "best_fitness": repertoire.fitness.max(),
    }


# --------------------------------------------------------------------------- emitter


def iso_line_variation(key: PRNGKey, x: Any, y: Any, iso_sigma: Array | float, line_sigma: Array | float) -> Any:
    """Iso+line-DD mutation of parents ``x`` towards ``y`` (pytrees, leaves ``[B, ...]``):
    ``child = x + iso_sigma * eps + line_sigma * z * (y - x)``, ``eps ~ N(0, I)`` per entry,
    ``z ~ N(0, 1)`` one per child (shared by its leaves)."""
    leaves, treedef = jax.tree.flatten(x)
    batch = jnp.shape(leaves[0])[0]
    line_key, *iso_keys = jax.random.split(key, len(leaves) + 1)
    z = jax.random.normal(line_key, (batch,), jnp.float32)
    out = []
    for k, a, b in zip(iso_keys, leaves, jax.tree.leaves(y), strict=True):
        zz = z.reshape((batch,) + (1,) * (a.ndim - 1))
        out.append(a + iso_sigma * jax.random.normal(k, a.shape, a.dtype) + line_sigma * zz * (b - a))
    return jax.tree.unflatten(treedef, out)


def sample_elites(repertoire: Repertoire, key: PRNGKey, batch_size: int) -> Any:
    """``batch_size`` elites drawn uniformly (with replacement) from the filled cells; params
    leaves ``[batch_size, ...]``. The repertoire must not be empty."""
    logits = jnp.where(repertoire.filled, 0.0, -jnp.inf)
    cells = jax.random.categorical(key, logits, shape=(batch_size,))
    return jax.tree.map(lambda p: p[cells], repertoire.params)


def emit(
    repertoire: Repertoire, key: PRNGKey, batch_size: int, iso_sigma: Array | float, line_sigma: Array | float
) -> Any:
    """``batch_size`` children: parents ``x`` and ``y`` drawn by :func:`sample_elites`, then
    :func:`iso_line_variation`. Params leaves ``[batch_size, ...]``."""
    kx, ky, kv = jax.random.split(key, 3)
    x = sample_elites(repertoire, kx, batch_size)
    y = sample_elites(repertoire, ky, batch_size)
    return iso_line_variation(kv, x, y, iso_sigma, line_sigma)
