"""MAP-Elites (Mouret & Clune 2015) over greedy MLP policies: all generations in one ``lax.scan``
(package docstring)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrl_rewards.agents.quality_diversity.repertoire import Repertoire, emit, insert, qd_metrics
from jaxrl_rewards.agents.quality_diversity.search_config import (
    MapElitesConfig,
    empty_repertoire,
    evaluate,
    random_population,
    validate,
)
from jaxrl_rewards.core import struct
from jaxrl_rewards.core.types import Array, PRNGKey

# --------------------------------------------------------------------------- MAP-Elites


class MapElitesState(struct.PyTreeNode):
    """MAP-Elites run state: ``repertoire``, ``key``, ``env_steps`` (int32 scalar, used so far)
    and ``generation`` (int32 scalar)."""

    repertoire: Repertoire
    key: PRNGKey
    env_steps: Array
    generation: Array


def init_map_elites(config: MapElitesConfig, key: PRNGKey) -> MapElitesState:
    """Evaluate ``population_size`` random policies and insert them into an empty repertoire."""
    key, init_key, eval_key = jax.random.split(key, 3)
    params = random_population(config, init_key)
    fitness, descriptors, steps = evaluate(config, params, eval_key)
    repertoire = insert(empty_repertoire(config), params, fitness, descriptors)
    return MapElitesState(repertoire, key, steps.sum(), jnp.int32(0))


def map_elites_step(config: MapElitesConfig, state: MapElitesState) -> tuple[MapElitesState, dict[str, Array]]:
    """One generation: ``population_size`` children by :func:`emit` (``iso_sigma``,
    ``line_sigma``), evaluated (:func:`evaluate`) and inserted (:func:`insert`). Returns the new
    state and metrics (float32/int32 scalars): ``coverage``, ``qd_score``, ``best_fitness``
    (:func:`qd_metrics`), ``mean_fitness`` of the children, ``env_steps`` (cumulative)."""
    key, emit_key, eval_key = jax.random.split(state.key, 3)
    children = emit(state.repertoire, emit_key, config.population_size, config.iso_sigma, config.line_sigma)
    fitness, descriptors, steps = evaluate(config, children, eval_key)
    repertoire = insert(state.repertoire, children, fitness, descriptors)
    env_steps = state.env_steps + steps.sum()
    metrics = {
        **qd_metrics(repertoire, config.fitness_offset),
        "mean_fitness": fitness.mean(),
        "env_steps": env_steps,
    }
    return MapElitesState(repertoire, key, env_steps, state.generation + 1), metrics


def run_map_elites(config: MapElitesConfig, key: PRNGKey) -> tuple[MapElitesState, dict[str, Array]]:
    """A whole MAP-Elites run: :func:`init_map_elites`, then ``num_generations`` of
    :func:`map_elites_step` in one ``lax.scan``. Validates first (``ConfigError`` before
    compiling). Jittable and vmappable over ``key`` and the config's leaves. Returns the final
    state and metrics, each ``[num_generations]``."""
    validate(config)
    state = init_map_elites(config, key)
    return jax.lax.scan(lambda s, _: map_elites_step(config, s), state, None, length=config.num_generations)
