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
from jaxrl_rewards.experiments.paths import batch_config
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
    """``jit`` of ``chunk(configs, keys, run_ids, swept) -> metrics`` for a chunk of R runs: the
    agent's ``init`` vmapped over runs, then ``num_evals`` vmapped ``train_segment`` calls in a
    ``lax.scan`` (per run exactly the agent's ``train``), and, when ``live``, one host callback
    per segment carrying every run's metrics ``[R, ...]`` (``live_logging.emit``). ``configs``
    come from :func:`batch_runs` and ``swept`` (static: one bool per config leaf) flags the leaves
    that carry the run axis; the others are shared. All chunks of one variant (same structure,
    size and swept leaves) share one compiled program. A chunk of one run is the run alone
    (``core.batching.vmap_exact``)."""

    def chunk(configs, keys, run_ids, swept):
        axes = _axes_from_flags(configs, swept)
        state = vmap_exact(agent.init, in_axes=(axes, 0))(configs, keys)

        def segment(state, index):
            state, metrics = vmap_exact(agent.train_segment, in_axes=(axes, 0))(configs, state)
            if live:
                live_logging.emit(run_ids, index, metrics)
            return state, metrics

        _, metrics = jax.lax.scan(segment, state, jnp.arange(configs.num_evals))  # num_evals is static
        metrics = jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), metrics)  # [R, num_evals, ...]
        return vmap_exact(agent.merge_segments)(metrics)

    return jax.jit(chunk, static_argnums=3)


def batch_runs(config: Any, points: Sequence[Mapping[str, Any]], dtypes: Mapping[str, Any]) -> tuple[Any, Any]:
    """The config of a chunk of ``R = len(points)`` runs and its ``vmap`` axes:
    ``experiments.paths.batch_config`` of each swept key's ``[R, ...]`` values (``dtypes`` per key;
    keys in any spelling ``experiments.paths.resolve_path`` accepts).

    Only swept leaves carry the run axis (``0``); every other leaf stays as it is, shared by the
    runs (``None``), and so compiles exactly as in the run alone. Broadcast into the batch, a
    shared leaf made XLA round some ops differently (CartPole's ``total_mass`` divides the
    dynamics; as an ``[R]`` operand the division was emitted differently and a chunk of runs
    drifted from the runs alone, issue 20).

    Returns:
        ``(configs, axes)``: ``axes`` has ``config``'s structure with ``0`` / ``None`` leaves,
        for ``vmap(..., in_axes=(axes, ...))``.
    """
    keys = points[0] if points else {}
    return batch_config(config, {key: np.asarray([p[key] for p in points], dtype=dtypes[key]) for key in keys})


def _axes_from_flags(configs: Any, flags: tuple[bool, ...]) -> Any:
    return jax.tree.unflatten(jax.tree.structure(configs), [0 if f else None for f in flags])


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
    configs, axes = batch_runs(config, points, dtypes)
    leaves, treedef = jax.tree.flatten(configs)
    flags = tuple(a == 0 for a in treedef.flatten_up_to(axes))  # hashable: the program's static argument
    mapped = (
        [x for x, f in zip(leaves, flags, strict=True) if f],
        jax.vmap(jax.random.key)(jnp.asarray(seeds, dtype=jnp.uint32)),
        jnp.asarray(runs, dtype=jnp.int32),
    )
    if shard:  # the run axis is split across devices; shared leaves are replicated by jit
        mapped = shard_over_devices(mapped)
    swept_leaves = iter(mapped[0])
    configs = jax.tree.unflatten(treedef, [next(swept_leaves) if f else x for x, f in zip(leaves, flags, strict=True)])
    metrics = jax.device_get(chunk_function(agent, live)(configs, mapped[1], mapped[2], flags))
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
