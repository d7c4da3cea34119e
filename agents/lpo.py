"""Learned policy optimisation (LPO / TA-LPO): evolve PPO's drift objective with an evolution
strategy (``evosax``'s OpenAI-ES), each population member scored by inner PPO runs that are
``vmap``ped over the population and seeds in one compiled call per generation.

* The objective: ``agents.drift`` (``F_θ(ρ, A, p) >= 0``, zero with zero slope at ``ρ = 1``,
  conditioned on training progress ``p``), used by PPO with ``objective="drift"``.
* The outer loop (:func:`evolve`): ES over the flat ``θ``; fitness = mean greedy evaluation
  return over the inner run's evaluations (area under the learning curve), averaged over
  ``seeds_per_member`` seeds; evosax minimises, so it is handed ``-fitness``.
* :func:`save_objective` / :func:`load_objective`: the discovered ``θ`` as ``.npz`` + JSON
  (atomic writes); reuse it with ``ppo.make_config(..., objective="drift", drift_params=θ)``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from evosax.algorithms import Open_ES
from jax.flatten_util import ravel_pytree

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.agents.drift import DRIFT_KEYS, check_drift, init_drift
from jaxrl_rewards.core import struct
from jaxrl_rewards.core.files import atomic_write_bytes, atomic_write_text
from jaxrl_rewards.core.types import Array, PRNGKey
from jaxrl_rewards.core.validation import ConfigError, check_positive, check_positive_int


class LPOResult(struct.PyTreeNode):
    """Outcome of :func:`evolve`.

    Attributes:
        drift_params: the ES mean after the last generation (the discovered objective).
        best_params: the best-scoring population member seen.
        fitness: ``[generations, population_size]`` fitness (mean eval return) of every member.
        mean_fitness: ``[generations]`` population mean fitness.
    """

    drift_params: dict[str, Array]
    best_params: dict[str, Array]
    fitness: Array
    mean_fitness: Array


def fitness_fn(config: ppo.PPOConfig, unravel: Any) -> Any:
    """``(flat θ [P, D], keys [P, S]) -> fitness [P]``: mean over seeds of the mean greedy
    evaluation return of ``ppo.train`` with ``drift_params = unravel(θ)`` (jitted, vmapped)."""

    def one(flat, key):
        cfg = config.replace(drift_params=unravel(flat))
        _, metrics = ppo.train(cfg, key)
        return metrics["eval/return/task"].mean()

    return jax.jit(jax.vmap(jax.vmap(one, in_axes=(None, 0)), in_axes=(0, 0)))


def evolve(
    config: ppo.PPOConfig,
    key: PRNGKey,
    generations: int,
    population_size: int,
    seeds_per_member: int = 1,
    sigma: float = 0.1,
    learning_rate: float = 0.05,
    init: dict[str, Array] | None = None,
    log: Any = None,
) -> LPOResult:
    """Evolve PPO's drift objective on ``config``'s environment and budget (module docstring).

    ``ConfigError`` before compiling for ``population_size < 2`` (ES needs at least two members;
    even sizes: antithetic sampling), bad sizes or a bad ``init``."""
    if not isinstance(population_size, int) or population_size < 2 or population_size % 2:
        raise ConfigError(f"population_size must be an even integer >= 2 (antithetic pairs), got {population_size!r}")
    check_positive_int(generations, "generations")
    check_positive_int(seeds_per_member, "seeds_per_member")
    check_positive(sigma, "sigma")
    check_positive(learning_rate, "learning_rate")
    init_key, key = jax.random.split(key)
    theta = init_drift(init_key) if init is None else init
    check_drift(theta)
    flat0, unravel = ravel_pytree(theta)
    config = ppo.validate(config.replace(objective="drift", drift_params=theta))
    es = Open_ES(
        population_size=population_size,
        solution=flat0,
        optimizer=optax.adam(learning_rate),
        std_schedule=optax.constant_schedule(sigma),
    )
    params = es.default_params
    key, k0 = jax.random.split(key)
    state = es.init(k0, flat0, params)
    ask, tell = jax.jit(es.ask), jax.jit(es.tell)
    score = fitness_fn(config, unravel)
    history, best, best_flat = [], -np.inf, flat0
    for gen in range(generations):
        key, k_ask, k_eval, k_tell = jax.random.split(key, 4)
        population, state = ask(k_ask, state, params)
        keys = jax.random.split(k_eval, population_size * seeds_per_member).reshape(population_size, seeds_per_member)
        fitness = np.asarray(score(population, keys).mean(1))
        state, _ = tell(k_tell, population, jnp.asarray(-fitness), state, params)
        history.append(fitness)
        if fitness.max() > best:
            best, best_flat = float(fitness.max()), population[int(fitness.argmax())]
        if log is not None:
            log(f"generation {gen}: mean {fitness.mean():.1f}, best {fitness.max():.1f}")
    fit = jnp.asarray(np.stack(history))
    return LPOResult(
        drift_params=unravel(state.mean), best_params=unravel(best_flat), fitness=fit, mean_fitness=fit.mean(1)
    )


def save_objective(params: dict[str, Array], path: str | Path, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``θ`` to ``<path>.npz`` and ``<path>.json`` (metadata) atomically; returns the npz path."""
    check_drift(params)
    base = Path(path).with_suffix("")
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(params[k]) for k in DRIFT_KEYS})
    atomic_write_bytes(base.with_suffix(".npz"), buffer.getvalue())
    header = {"format": "jaxrl_rewards.lpo_drift", "version": 1, "metadata": dict(metadata or {})}
    atomic_write_text(base.with_suffix(".json"), json.dumps(header, indent=2, sort_keys=True))
    return base.with_suffix(".npz")


def load_objective(path: str | Path) -> dict[str, Array]:
    """Read ``θ`` written by :func:`save_objective`; ``ConfigError`` if missing or malformed."""
    npz = Path(path).with_suffix(".npz")
    if not npz.exists():
        raise ConfigError(f"load_objective: {str(npz)!r} does not exist")
    with np.load(npz) as data:
        params = {k: jnp.asarray(data[k]) for k in data.files}
    check_drift(params)
    return params


__all__ = ["LPOResult", "evolve", "fitness_fn", "load_objective", "save_objective"]
