"""Host-side driver: train many seeds of an agent in one compiled call per segment, with a
progress bar, non-finite detection and metrics gathered as numpy arrays.

The agent's pure ``train(config, key)`` is ``init`` followed by ``num_evals`` calls of
``train_segment``; here each segment is one call of ``jit(vmap(train_segment))`` so the
host can show progress and stop on divergence between segments. Compilation happens once.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column

from jaxrl_rewards.core.batching import vmap_exact


class TrainingDivergedError(RuntimeError):
    """Training produced non-finite values. ``metrics`` holds everything up to the failure."""

    def __init__(self, message: str, metrics: dict[str, np.ndarray]):
        super().__init__(message)
        self.metrics = metrics


@dataclass
class RunResult:
    """Metrics of a multi-seed run.

    Attributes:
        metrics: name -> array ``[S, num_iterations]`` (per-iteration) or ``[S, num_evals]``
            (``eval/...``).
        seeds: the seeds, length S.
        compile_s: seconds spent in the first segment (compilation + one segment).
        run_s: wall seconds of all segments after the first.
        total_s: total wall seconds.
        timesteps: environment steps per seed.
    """

    metrics: dict[str, np.ndarray]
    seeds: list[int]
    compile_s: float
    run_s: float
    total_s: float
    timesteps: int
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def steps_per_second(self) -> float:
        """Aggregate environment steps per second over all seeds, compile time excluded
        where possible (segments after the first)."""
        segments = max(int(self.metrics[next(k for k in self.metrics if k.startswith("eval/"))].shape[1]), 1)
        if segments > 1 and self.run_s > 0:
            return self.timesteps * len(self.seeds) * (segments - 1) / segments / self.run_s
        return self.timesteps * len(self.seeds) / max(self.total_s, 1e-9)

    def final_eval_returns(self, stream: str = "task") -> np.ndarray:
        """Final evaluation return per seed, ``[S]``."""
        return self.metrics[f"eval/return/{stream}"][:, -1]


def check_finite_metrics(metrics: dict[str, np.ndarray], iteration_offset: int = 0) -> None:
    """Raise ``FloatingPointError`` naming the first iteration and metrics that went non-finite
    (or where non-finite gradients were skipped). ``metrics`` are ``[S, iterations]``."""
    problems = []
    skipped = metrics.get("nonfinite_updates")
    if skipped is not None and np.any(skipped > 0):
        first = int(np.argmax(np.any(skipped > 0, axis=0)))
        problems.append(f"non-finite gradients (updates skipped) from iteration {iteration_offset + first}")
    for name, value in metrics.items():
        value = np.asarray(value)
        if not np.issubdtype(value.dtype, np.floating) or np.all(np.isfinite(value)):
            continue
        bad = ~np.isfinite(value.reshape(value.shape[0], value.shape[1] if value.ndim > 1 else 1, -1))
        first = int(np.argmax(bad.any(axis=(0, 2))))
        problems.append(f"{name} is non-finite from iteration {iteration_offset + first}")
    if problems:
        raise FloatingPointError("; ".join(problems))


def exact_timesteps(
    metrics: dict[str, np.ndarray], steps_per_iteration: int, first_iteration: int = 0
) -> dict[str, np.ndarray]:
    """``metrics`` with ``timesteps`` and ``eval/timesteps`` recounted exactly as int64 on the
    host. Inside ``jit`` they are float32 products of int32 counters (x64 is off), which round
    past 2**24 steps and wrap past 2**31; here they are ``(iteration + 1) * steps_per_iteration``
    with the iteration counted from ``first_iteration`` (a segment's offset) and the static
    ``steps_per_iteration`` (a host int).

    Shapes: ``timesteps [S, I]`` (I iterations) -> ``(first_iteration + 1 + arange(I)) * spi``;
    ``eval/timesteps`` either ``[S]`` (one segment: after its last iteration,
    ``(first_iteration + I) * spi``) or ``[S, E]`` (E evaluations, one every ``I // E``
    iterations: ``(first_iteration + (e + 1) * I // E) * spi``).

    >>> out = exact_timesteps({"timesteps": np.zeros((1, 2), np.float32)}, 2**31, first_iteration=1)
    >>> out["timesteps"].tolist()
    [[4294967296, 6442450944]]
    """
    out = dict(metrics)
    spi = np.int64(steps_per_iteration)
    if "timesteps" not in metrics:
        return out
    seeds, iterations = np.shape(metrics["timesteps"])[:2]
    counts = (np.int64(first_iteration) + 1 + np.arange(iterations, dtype=np.int64)) * spi
    out["timesteps"] = np.broadcast_to(counts, (seeds, iterations)).copy()
    if "eval/timesteps" in metrics:
        shape = np.shape(metrics["eval/timesteps"])
        if len(shape) == 1:
            out["eval/timesteps"] = np.full(shape, (np.int64(first_iteration) + iterations) * spi, np.int64)
        else:
            evals = shape[1]
            per_eval = iterations // max(evals, 1)
            at = (np.int64(first_iteration) + (np.arange(evals, dtype=np.int64) + 1) * per_eval) * spi
            out["eval/timesteps"] = np.broadcast_to(at, shape).copy()
    return out


def _concat(chunks: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    out = {}
    for name in chunks[0]:
        if name.startswith("eval/"):
            out[name] = np.stack([c[name] for c in chunks], axis=1)
        else:
            out[name] = np.concatenate([c[name] for c in chunks], axis=1)
    return out


def shard_over_devices(batch: Any, devices: Sequence[Any] | None = None) -> Any:
    """Place a pytree whose leaves have a leading run axis ``[S, ...]`` across ``devices``
    (default: all of ``jax.devices()``), split along that axis. ``jit`` then runs each device's
    share of a vmapped computation on that device. Left unsharded when there is one device or
    S is not a multiple of the device count."""
    devices = list(jax.devices() if devices is None else devices)
    sizes = {leaf.shape[0] for leaf in jax.tree.leaves(batch)}
    if len(devices) < 2 or len(sizes) != 1 or next(iter(sizes)) % len(devices):
        return batch
    mesh = jax.sharding.Mesh(np.asarray(devices), ("runs",))
    return jax.device_put(batch, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("runs")))


@functools.cache
def vmapped(agent: ModuleType, name: str) -> Callable:
    """``jit(vmap(agent.<name>, in_axes=(None, 0)))`` (shared config, batched state or keys); jit
    caches it per config structure. A batch of one runs as the function alone
    (``core.batching.vmap_exact``), so a one-seed call gives the bits of ``jit(agent.<name>)``."""
    return jax.jit(vmap_exact(getattr(agent, name), in_axes=(None, 0)))


def train_seeds(
    agent: ModuleType,
    config: Any,
    seeds: int | Sequence[int] = 1,
    *,
    shard: bool = True,
    progress: bool = True,
    description: str = "training",
    on_segment: Callable[[int, dict[str, np.ndarray]], None] | None = None,
) -> RunResult:
    """Train ``agent`` (a module with ``validate``, ``init``, ``train_segment``) on several seeds.

    Args:
        agent: e.g. ``jaxrl_rewards.agents.ppo``.
        config: the agent's config (validated eagerly before anything compiles).
        seeds: a count (seeds ``0..n-1``) or explicit seeds.
        shard: split the seeds across ``jax.devices()`` (when there are several and the
            seed count is a multiple of the device count).
        progress: show a rich progress bar (per segment, with ETA).
        description: label of the progress bar.
        on_segment: called after each segment with its index and its metrics (``[S, ...]``).

    Raises:
        TrainingDivergedError: non-finite values appeared; partial metrics are attached.
    """
    agent.validate(config)
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise ValueError("need at least one seed")
    keys = jax.vmap(jax.random.key)(jnp.asarray(seed_list, dtype=jnp.uint32))
    if shard:
        keys = shard_over_devices(keys)
    init = vmapped(agent, "init")
    segment = vmapped(agent, "train_segment")
    num_segments = config.num_evals
    iters = config.iterations_per_eval

    chunks: list[dict[str, np.ndarray]] = []
    start = time.perf_counter()
    first_done = start
    bar = _progress(progress)
    with bar:
        task = bar.add_task(f"{description} (compiling)", total=num_segments, status="")
        state = init(config, keys)
        for index in range(num_segments):
            state, metrics = segment(config, state)
            metrics = {k: np.asarray(v) for k, v in jax.device_get(metrics).items()}
            metrics = exact_timesteps(metrics, config.steps_per_iteration, index * iters)
            chunks.append(metrics)
            if index == 0:
                first_done = time.perf_counter()
                bar.update(task, description=description)
            ret = metrics.get("eval/return/task")
            bar.update(task, advance=1, status="" if ret is None else f"eval return {np.mean(ret):.1f}")
            if on_segment is not None:
                on_segment(index, metrics)
            try:
                check_finite_metrics({k: v for k, v in metrics.items() if not k.startswith("eval/")}, index * iters)
            except FloatingPointError as err:
                raise TrainingDivergedError(f"training diverged: {err}", _concat(chunks)) from None
    end = time.perf_counter()
    return RunResult(
        metrics=_concat(chunks),
        extras={"devices": len({d for leaf in jax.tree.leaves(state) for d in leaf.devices()})},
        seeds=seed_list,
        compile_s=first_done - start,
        run_s=end - first_done,
        total_s=end - start,
        timesteps=config.trained_timesteps,
    )


class _NoProgress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def add_task(self, *args, **kwargs):
        return 0

    def update(self, *args, **kwargs):
        pass


def _progress(enabled: bool):
    if not enabled:
        return _NoProgress()

    return Progress(*progress_columns(), transient=False)


def progress_columns() -> tuple[Any, ...]:
    """The columns of every progress bar: label, bar, count, elapsed, ETA, status. The count
    and times have fixed widths; the label (at most 28 characters) and the status give way
    first (cut with an ellipsis), so an 80-column terminal still shows count and ETA."""
    return (
        TextColumn("{task.description}", style="bold", markup=False,
                   table_column=Column(max_width=28, no_wrap=True, overflow="ellipsis")),
        BarColumn(bar_width=16),
        MofNCompleteColumn(table_column=Column(min_width=11, no_wrap=True, justify="right")),
        TimeElapsedColumn(table_column=Column(min_width=7, no_wrap=True)),
        TimeRemainingColumn(table_column=Column(min_width=7, no_wrap=True)),
        TextColumn("{task.fields[status]}", markup=False,
                   table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis")),
    )  # fmt: skip
