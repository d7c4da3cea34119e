"""Novelty search (Lehman & Stanley 2011) over greedy MLP policies: kNN novelty against a
ring-buffer archive, (mu + lambda) selection on a rank mix of novelty and fitness (package docstring)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_rewards.agents.quality_diversity.repertoire import (
    Repertoire,
    insert,
    qd_metrics,
)
from jaxrl_rewards.agents.quality_diversity.search_config import (
    NoveltyConfig,
    empty_repertoire,
    evaluate,
    random_population,
    validate,
)
from jaxrl_rewards.core import struct
from jaxrl_rewards.core.types import Array, PRNGKey
from jaxrl_rewards.core.validation import (
    ConfigError,
    check_positive_int,
)

# --------------------------------------------------------------------------- novelty search


def pairwise_distances(a: Array, b: Array) -> Array:
    """Euclidean distances ``||a_i - b_j||`` (``[N, D]``, ``[M, D]`` -> ``[N, M]``)."""
    return jnp.sqrt(jnp.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1))


def novelty(descriptors: Array, archive: Array, archive_valid: Array, k: int) -> Array:
    """Novelty of each of ``B`` descriptors ``[B, D]``: the mean distance to its ``k`` nearest
    neighbours among the valid archive entries (``archive [A, D]``, ``archive_valid [A]`` bool)
    and the *other* ``B - 1`` descriptors: ``n_i = (1 / k_i) sum_{j in kNN(i)} ||b_i - b_j||``,
    with ``k_i = min(k, #neighbours)``. ``ConfigError`` (at trace time) if ``k`` exceeds
    ``A + B - 1`` or the descriptor dims differ. Returns float32 ``[B]``."""
    descriptors = jnp.asarray(descriptors, jnp.float32)
    archive = jnp.asarray(archive, jnp.float32)
    if descriptors.ndim != 2 or archive.ndim != 2 or descriptors.shape[1] != archive.shape[1]:
        raise ConfigError(
            f"descriptors [B, D] and archive [A, D] must share D, got {descriptors.shape} and {archive.shape}"
        )
    if jnp.shape(archive_valid) != archive.shape[:1]:
        raise ConfigError(f"archive_valid must have shape {archive.shape[:1]}, got {jnp.shape(archive_valid)}")
    batch, slots = descriptors.shape[0], archive.shape[0]
    check_positive_int(k, "k")
    if k > slots + batch - 1:
        raise ConfigError(f"k={k} exceeds the {slots} archive slots + {batch - 1} other descriptors")
    to_archive = jnp.where(archive_valid[None, :], pairwise_distances(descriptors, archive), jnp.inf)
    to_pop = jnp.where(jnp.eye(batch, dtype=bool), jnp.inf, pairwise_distances(descriptors, descriptors))
    nearest = -jax.lax.top_k(-jnp.concatenate([to_archive, to_pop], axis=1), k)[0]  # [B, k], ascending
    valid = jnp.isfinite(nearest)
    return jnp.where(valid, nearest, 0.0).sum(1) / jnp.maximum(valid.sum(1), 1)


def _ranks01(x: Array) -> Array:
    """Ranks scaled to ``[0, 1]`` (0 = smallest; ties by index)."""
    ranks = jnp.argsort(jnp.argsort(x, stable=True), stable=True)
    return ranks.astype(jnp.float32) / max(x.shape[0] - 1, 1)


class NoveltyState(struct.PyTreeNode):
    """Novelty-search run state.

    Attributes:
        params, fitness ``[N]``, descriptors ``[N, D]``: the current population (N =
            ``population_size``).
        archive: ``[A, D]`` ring buffer of descriptors; ``archive_count`` (int32, entries
            written, capped at A) and ``archive_next`` (int32, next slot).
        repertoire: every evaluated policy inserted into the descriptor grid (coverage, QD-score).
        key, env_steps (int32), generation (int32).
    """

    params: Any
    fitness: Array
    descriptors: Array
    archive: Array
    archive_count: Array
    archive_next: Array
    repertoire: Repertoire
    key: PRNGKey
    env_steps: Array
    generation: Array


def archive_insert(archive: Array, count: Array, next_slot: Array, new: Array) -> tuple[Array, Array, Array]:
    """Write ``new [M, D]`` into the ring buffer ``archive [A, D]`` at slots
    ``(next_slot + j) mod A``; returns ``(archive, min(count + M, A), (next_slot + M) mod A)``."""
    slots, m = archive.shape[0], new.shape[0]
    index = (next_slot + jnp.arange(m)) % slots
    return archive.at[index].set(new), jnp.minimum(count + m, slots), (next_slot + m) % slots


def init_novelty_search(config: NoveltyConfig, key: PRNGKey) -> NoveltyState:
    """Evaluate ``population_size`` random policies: the first population (and the passive
    repertoire); the archive starts empty."""
    key, init_key, eval_key = jax.random.split(key, 3)
    params = random_population(config, init_key)
    fitness, descriptors, steps = evaluate(config, params, eval_key)
    repertoire = insert(empty_repertoire(config), params, fitness, descriptors)
    return NoveltyState(
        params=params,
        fitness=fitness,
        descriptors=descriptors,
        archive=jnp.zeros((config.archive_size, config.descriptor_dim), jnp.float32),
        archive_count=jnp.int32(0),
        archive_next=jnp.int32(0),
        repertoire=repertoire,
        key=key,
        env_steps=steps.sum(),
        generation=jnp.int32(0),
    )


def novelty_step(config: NoveltyConfig, state: NoveltyState) -> tuple[NoveltyState, dict[str, Array]]:
    """One generation of (mu + lambda) novelty search, ``mu = lambda = N``:

    1. child ``i`` = parent ``i`` + ``sigma * N(0, I)``; evaluate the ``N`` children;
    2. pool = parents + children (``2N``); novelty of each against the archive and the rest of
       the pool (:func:`novelty`, ``k``);
    3. score ``s = (1 - w) rank01(novelty) + w rank01(fitness)`` (``w = reward_weight``); the
       ``N`` best scores form the next population;
    4. the ``archive_add`` most novel children enter the archive (:func:`archive_insert`); all
       children enter the passive repertoire.

    Metrics as :func:`map_elites_step`, plus ``mean_novelty`` of the pool."""
    key, noise_key, eval_key = jax.random.split(state.key, 3)
    leaves, treedef = jax.tree.flatten(state.params)
    noise_keys = jax.random.split(noise_key, len(leaves))
    children = jax.tree.unflatten(
        treedef,
        [x + config.sigma * jax.random.normal(k, x.shape, x.dtype) for k, x in zip(noise_keys, leaves, strict=True)],
    )
    fitness, descriptors, steps = evaluate(config, children, eval_key)
    pool_params = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), state.params, children)
    pool_fitness = jnp.concatenate([state.fitness, fitness])
    pool_desc = jnp.concatenate([state.descriptors, descriptors])
    valid = jnp.arange(config.archive_size) < state.archive_count
    pool_novelty = novelty(pool_desc, state.archive, valid, config.k)
    safe_fitness = jnp.where(jnp.isnan(pool_fitness), -jnp.inf, pool_fitness)
    score = (1.0 - config.reward_weight) * _ranks01(pool_novelty) + config.reward_weight * _ranks01(safe_fitness)
    keep = jax.lax.top_k(score, config.population_size)[1]
    n = config.population_size
    newest = jax.lax.top_k(pool_novelty[n:], config.archive_add)[1]
    archive, count, next_slot = archive_insert(
        state.archive, state.archive_count, state.archive_next, descriptors[newest]
    )
    repertoire = insert(state.repertoire, children, fitness, descriptors)
    env_steps = state.env_steps + steps.sum()
    new_state = NoveltyState(
        params=jax.tree.map(lambda p: p[keep], pool_params),
        fitness=pool_fitness[keep],
        descriptors=pool_desc[keep],
        archive=archive,
        archive_count=count,
        archive_next=next_slot,
        repertoire=repertoire,
        key=key,
        env_steps=env_steps,
        generation=state.generation + 1,
    )
    metrics = {
        **qd_metrics(repertoire, config.fitness_offset),
        "mean_fitness": fitness.mean(),
        "mean_novelty": pool_novelty.mean(),
        "env_steps": env_steps,
    }
    return new_state, metrics


def run_novelty_search(config: NoveltyConfig, key: PRNGKey) -> tuple[NoveltyState, dict[str, Array]]:
    """A whole novelty-search run: :func:`init_novelty_search`, then ``num_generations`` of
    :func:`novelty_step` in one ``lax.scan``. Validates first (``ConfigError`` before compiling);
    jittable and vmappable over ``key`` and the config's leaves (``reward_weight = 1`` is the
    reward-greedy ES baseline). Returns the final state and metrics, each ``[num_generations]``."""
    validate(config)
    state = init_novelty_search(config, key)
    return jax.lax.scan(lambda s, _: novelty_step(config, s), state, None, length=config.num_generations)
