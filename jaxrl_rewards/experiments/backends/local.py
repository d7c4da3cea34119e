"""The local backend: one chunk of a sweep as one compiled ``jit(vmap(train))`` call on this
process's devices (sharded across ``jax.devices()``). The Ray backend runs the same function
on its workers, so both give the same numbers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from jaxrl_rewards.core.batching import vmap_exact
from jaxrl_rewards.experiments import live_logging
from jaxrl_rewards.experiments.paths import leaf_paths, resolve_path
from jaxrl_rewards.experiments.runner import exact_timesteps, shard_over_devices
from jaxrl_rewards.experiments.store import chunk_frame


@dataclass(frozen=True)
class ChunkTask:
    """One chunk: its runs (point x seed) and the fixed compiled batch size it runs at."""

    variant: str
    chunk: int
    runs: tuple[int, ...]
    point_ids: tuple[int, ...]
    points: tuple[Mapping[str, Any], ...]
    seeds: tuple[int, ...]
    chunk_size: int


@functools.cache
def chunk_function(agent: ModuleType, live: bool) -> Callable:
    """``jit`` of ``chunk(configs, keys, run_ids) -> metrics`` for a chunk of R runs: the
    agent's ``init`` vmapped over runs, then ``num_evals`` vmapped ``train_segment`` calls in a
    ``lax.scan`` (per run exactly the agent's ``train``), and, when ``live``, one host callback
    per segment carrying every run's metrics ``[R, ...]`` (``live_logging.emit``). Every config
    leaf carries the run axis, so all chunks of the same config structure and size share one
    compiled program. A chunk of one run is the run alone (``core.batching.vmap_exact``)."""

    def chunk(configs, keys, run_ids):
        state = vmap_exact(agent.init)(configs, keys)

        def segment(state, index):
            state, metrics = vmap_exact(agent.train_segment)(configs, state)
            if live:
                live_logging.emit(run_ids, index, metrics)
            return state, metrics

        _, metrics = jax.lax.scan(segment, state, jnp.arange(configs.num_evals))  # num_evals is static
        metrics = jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), metrics)  # [R, num_evals, ...]
        return vmap_exact(agent.merge_segments)(metrics)

    return jax.jit(chunk)


def batch_runs(config: Any, points: Sequence[Mapping[str, Any]], dtypes: Mapping[str, Any]) -> Any:
    """The config with a leading run axis on every leaf: swept leaves take each run's value,
    the others are broadcast. ``points`` has one entry per run, keyed by config paths (any
    spelling ``experiments.paths.resolve_path`` accepts)."""

    size = len(points)
    leaves, treedef = jax.tree.flatten(config)
    swept = {resolve_path(config, key): key for key in (points[0] if points else {})}
    out = []
    for path, leaf in zip(leaf_paths(config, canonical=False), leaves, strict=True):
        if path in swept:
            out.append(np.asarray([p[swept[path]] for p in points], dtype=dtypes[swept[path]]))
        elif isinstance(leaf, jax.Array) and jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            out.append(jnp.broadcast_to(leaf, (size, *leaf.shape)))
        else:  # strongly typed numpy arrays: a Python float leaf and a swept one compile alike
            value = np.asarray(leaf)
            out.append(np.broadcast_to(value, (size, *value.shape)))
    return jax.tree.unflatten(treedef, out)


def execute_chunk(
    agent: ModuleType,
    config: Any,
    dtypes: Mapping[str, Any],
    task: ChunkTask,
    *,
    shard: bool = True,
    live: bool = False,
) -> pd.DataFrame:
    """Run one chunk as one compiled call and return its long table (padding dropped)."""
    real = len(task.runs)
    pad = task.chunk_size - real
    points = list(task.points) + [task.points[-1]] * pad
    seeds = list(task.seeds) + [task.seeds[-1]] * pad
    runs = list(task.runs) + [-1] * pad  # padding runs: id -1, ignored by monitors
    batch = (
        batch_runs(config, points, dtypes),
        jax.vmap(jax.random.key)(jnp.asarray(seeds, dtype=jnp.uint32)),
        jnp.asarray(runs, dtype=jnp.int32),
    )
    if shard:
        batch = shard_over_devices(batch)
    metrics = jax.device_get(chunk_function(agent, live)(*batch))
    metrics = exact_timesteps({k: np.asarray(v)[:real] for k, v in metrics.items()}, config.steps_per_iteration)
    return chunk_frame(
        metrics,
        variant=task.variant,
        chunk=task.chunk,
        runs=task.runs,
        seeds=task.seeds,
        points=task.points,
        point_ids=task.point_ids,
    )


def compile_count(agent: ModuleType) -> int:
    """Compiled programs held by the chunk functions of ``agent`` (both live modes)."""
    total = 0
    for live in (False, True):
        fn = chunk_function(agent, live)
        total += fn._cache_size() if hasattr(fn, "_cache_size") else 0
    return total


__all__ = ["ChunkTask", "batch_runs", "chunk_function", "compile_count", "execute_chunk"]
