"""Run a sweep: hyperparameter points x seeds, in chunks of runs that are each one
``jit(vmap(train))`` call, sharded across ``jax.devices()``, written to a resumable store.

``run_sweep(spec, out_dir)`` checks the spec (nothing compiles before it passes), plans the
points (grid, random, or optuna proposing each chunk's points from the finished chunks),
splits each variant's runs into equal chunks (the last one padded, so one compile serves them
all), skips chunks already in the store, and runs the rest locally or as Ray tasks
(``backend="ray"``: every chunk of every variant submitted at once, chunks sized so each
worker gets one, progress and live logs streamed back). Run ``r`` of a point uses
``jax.random.key(seed)``, so its numbers equal the same run trained alone (to float32 rounding)
whatever chunk it lands in.

(Over 400 lines: planning, chunk sizing and the one driver loop that serves both backends and
optuna share their state — the store, the manifest's chunk sizes, the progress bars — and read
best together.)
"""

from __future__ import annotations

import itertools
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import jax
import numpy as np
import pandas as pd

from jaxrl_rewards.agents import get_agent
from jaxrl_rewards.core.validation import ConfigError, check_output_path
from jaxrl_rewards.experiments import live_logging
from jaxrl_rewards.experiments.backends import ray as ray_backend
from jaxrl_rewards.experiments.backends.local import ChunkTask, compile_count, execute_chunk
from jaxrl_rewards.experiments.checks import diverged_runs, table_metric_names
from jaxrl_rewards.experiments.runner import _progress
from jaxrl_rewards.experiments.spec import SweepSpec, check_spec, load_spec, spec_from_dict
from jaxrl_rewards.experiments.store import ResultStore


@dataclass
class SweepResult:
    """What ``run_sweep`` did.

    Attributes:
        frame: every finished run x iteration (the store's contents).
        store: the results store.
        chunks_run / chunks_skipped: chunks computed now / found finished in the store.
        compiles: compilations of the chunk function(s) in this process during the sweep.
        wall_s: wall seconds; steps: environment steps computed now (padding excluded).
    """

    frame: pd.DataFrame
    store: ResultStore
    chunks_run: int = 0
    chunks_skipped: int = 0
    compiles: int = 0
    wall_s: float = 0.0
    steps: int = 0
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def steps_per_second(self) -> float:
        """Aggregate environment steps per second of the chunks computed now (compile included)."""
        return self.steps / max(self.wall_s, 1e-9)


# --------------------------------------------------------------------------- planning


def grid_points(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Cartesian product of the grid lists, in the spec's key order (last key fastest)."""
    keys = list(params)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(params[k] for k in keys))]


def random_points(params: Mapping[str, Any], num: int, seed: int) -> list[dict[str, Any]]:
    """``num`` points drawn independently: lists are uniform choices, ranges uniform (or
    log-uniform with ``log``; rounded with ``int``). Deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    points = []
    for _ in range(num):
        point = {}
        for key, dist in params.items():
            if isinstance(dist, list):
                point[key] = dist[int(rng.integers(len(dist)))]
                continue
            low, high = float(dist["low"]), float(dist["high"])
            value = math.exp(rng.uniform(math.log(low), math.log(high))) if dist["log"] else rng.uniform(low, high)
            point[key] = round(value) if dist["int"] else float(value)
        points.append(point)
    return points


def optuna_points(
    spec: SweepSpec, finished: Sequence[tuple[Mapping[str, Any], float]], num: int, chunk: int
) -> list[dict[str, Any]]:
    """Propose ``num`` points with optuna's TPE sampler from the finished points and their
    objective values. A fresh study seeded with ``sample_seed + chunk`` is rebuilt from the
    finished points each time, so a resumed sweep proposes exactly what an uninterrupted one did."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    distributions = {}
    for key, dist in spec.params.items():
        if isinstance(dist, list):
            distributions[key] = optuna.distributions.CategoricalDistribution(tuple(dist))
        elif dist["int"]:
            distributions[key] = optuna.distributions.IntDistribution(
                int(dist["low"]), int(dist["high"]), log=dist["log"]
            )
        else:
            distributions[key] = optuna.distributions.FloatDistribution(
                float(dist["low"]), float(dist["high"]), log=dist["log"]
            )
    sampler = optuna.samplers.TPESampler(seed=spec.sample_seed + chunk, n_startup_trials=max(num, 4))
    study = optuna.create_study(direction=spec.direction, sampler=sampler)
    for point, value in finished:
        params = {k: point[k] for k in distributions}
        study.add_trial(optuna.trial.create_trial(params=params, distributions=distributions, value=float(value)))
    points = []
    for _ in range(num):
        trial = study.ask(distributions)
        points.append(dict(trial.params))
    return points


def estimate_run_bytes(agent: ModuleType, config: Any) -> int:
    """A generous estimate of the device memory one run of a chunk needs: its training state
    (traced with ``eval_shape``, no compile), rollout buffers and metric curves, times 4."""
    state = jax.eval_shape(agent.init, config, jax.random.key(0))
    state_bytes = sum(math.prod(leaf.shape) * max(leaf.dtype.itemsize, 4) for leaf in jax.tree.leaves(state))
    batch = getattr(config, "batch_size", 1024)
    obs_leaves = jax.tree.leaves(getattr(state, "envs", state))
    obs_size = max((math.prod(leaf.shape[1:]) for leaf in obs_leaves if leaf.ndim), default=1)
    rollout = batch * (2 * obs_size + 32) * 4
    curves = getattr(config, "num_iterations", 1) * 64 * 4
    return 4 * (3 * state_bytes + rollout + curves)


def available_bytes(devices: Sequence[Any]) -> int:
    """Free memory to plan chunks with: the devices' limits (accelerators) or the host's
    available RAM (CPU devices share it)."""
    limits = []
    for device in devices:
        stats = device.memory_stats() if hasattr(device, "memory_stats") else None
        if stats and "bytes_limit" in stats:
            limits.append(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
    if limits and len(limits) == len(devices):
        return int(sum(limits))
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 4 << 30


def choose_chunk_size(
    agent: ModuleType,
    config: Any,
    num_runs: int,
    *,
    max_chunk_size: int = 128,
    devices: Sequence[Any] | None = None,
    memory_bytes: int | None = None,
    multiple_of: int = 1,
) -> int:
    """Runs per compiled call: as many as fit half the free memory (``estimate_run_bytes``),
    at most ``max_chunk_size`` and at most what the sweep needs, rounded to a multiple of the
    device count (so chunks shard evenly) and of ``multiple_of`` (optuna: the seed count)."""
    devices = list(jax.devices() if devices is None else devices)
    memory = available_bytes(devices) if memory_bytes is None else memory_bytes
    fit = max(1, int(memory * 0.5 // estimate_run_bytes(agent, config)))
    size = max(1, min(fit, max_chunk_size, num_runs))
    step = math.lcm(len(devices), multiple_of)
    return max(step, size // step * step) if size >= step else step


# --------------------------------------------------------------------------- the sweep


def _objective(frame: pd.DataFrame, metric: str) -> pd.Series:
    """Final value of ``metric`` per point, mean over seeds."""
    if metric not in frame:
        raise ConfigError(f"search.objective: metric {metric!r} not produced; available: {sorted(frame.columns)}")
    last = frame.dropna(subset=[metric]).sort_values("iteration").groupby("run").tail(1)
    return last.groupby("point")[metric].mean()


def _tasks_for(label: str, points: Sequence[Mapping[str, Any]], first_point: int, seeds: Sequence[int],
               chunk_size: int, first_chunk: int) -> list[ChunkTask]:  # fmt: skip
    runs = [(first_point + i, p, s) for i, p in enumerate(points) for s in seeds]
    tasks = []
    for c in range(math.ceil(len(runs) / chunk_size)):
        part = runs[c * chunk_size : (c + 1) * chunk_size]
        tasks.append(
            ChunkTask(
                variant=label,
                chunk=first_chunk + c,
                runs=tuple(pid * len(seeds) + seeds.index(s) for pid, _, s in part),
                point_ids=tuple(pid for pid, _, _ in part),
                points=tuple(p for _, p, _ in part),
                seeds=tuple(s for _, _, s in part),
                chunk_size=chunk_size,
            )
        )
    return tasks


def union_metric_columns(agent: ModuleType, checked: Mapping[str, tuple[Any, Any]]) -> list[str]:
    """The metric columns of every variant's table, united (one store schema; read with
    ``jax.eval_shape``, nothing compiles)."""
    return sorted(set().union(*(table_metric_names(agent, config) for config, _ in checked.values())))


@dataclass
class _Plan:
    """One variant's chunks: its config, swept dtypes, chunk size and tasks (none planned
    ahead for optuna, whose points depend on the finished chunks)."""

    config: Any
    dtypes: Mapping[str, Any]
    size: int
    num_chunks: int
    iterations: int
    ipe: int
    tasks: list[ChunkTask]


def _plan_chunks(spec: SweepSpec, checked: Mapping[str, tuple[Any, Any]], agent: ModuleType,
                 chunk_sizes: dict[str, int], devices: Sequence[Any], slots: int = 1) -> dict[str, _Plan]:  # fmt: skip
    """Every variant's chunk size (kept in ``chunk_sizes``, the manifest's, so a resumed sweep
    reuses it) and tasks. Without a spec chunk size, ``slots`` > 1 (Ray workers) caps the size
    so that the sweep's runs of all variants together make at least ``slots`` chunks."""
    seeds = list(spec.seeds)
    points_of = {}
    if spec.method != "optuna":
        points_of = {label: grid_points(spec.params) if spec.method == "grid" else random_points(
            spec.params, spec.num_samples, spec.sample_seed) for label in checked}  # fmt: skip
    all_runs = sum(len(p) for p in points_of.values()) * len(seeds)
    cap = min(spec.max_chunk_size, ray_backend.spread_chunk_size(all_runs, slots)) if slots > 1 else spec.max_chunk_size
    plans = {}
    for label, (config, dtypes) in checked.items():
        iterations = int(getattr(config, "num_iterations", config.num_evals))
        ipe = iterations // config.num_evals
        if spec.method == "optuna":
            per_chunk = spec.points_per_chunk or (
                max(1, (spec.chunk_size or choose_chunk_size(agent, config, spec.num_samples * len(seeds),
                                                            max_chunk_size=spec.max_chunk_size)) // len(seeds))
            )  # fmt: skip
            size = chunk_sizes.setdefault(label, per_chunk * len(seeds))
            num_chunks = math.ceil(spec.num_samples / (size // len(seeds)))
            plans[label] = _Plan(config, dtypes, size, num_chunks, iterations, ipe, [])
            continue
        points = points_of[label]
        total = len(points) * len(seeds)
        size = chunk_sizes.setdefault(
            label, spec.chunk_size or choose_chunk_size(agent, config, total, max_chunk_size=cap, devices=devices)
        )
        tasks = _tasks_for(label, points, 0, seeds, size, 0)
        plans[label] = _Plan(config, dtypes, size, len(tasks), iterations, ipe, tasks)
    return plans


def _run_labels(tasks: Sequence[ChunkTask]) -> dict[int, dict[str, Any]]:
    """Run id -> labels (variant, swept values, seed) of the runs of ``tasks`` (one variant)."""
    return {
        run: {"variant": task.variant, **point, "seed": seed}
        for task in tasks
        for run, point, seed in zip(task.runs, task.points, task.seeds, strict=True)
    }


def _ray_run(spec: SweepSpec, todo: Sequence[ChunkTask], plans: Mapping[str, _Plan], finish: Callable,
             bar: Any, iter_bar: Any, loggers: Sequence[live_logging.Logger], log_interval: int,
             address: str | None, init_kwargs: Mapping[str, Any] | None, shard: bool) -> dict[str, int]:  # fmt: skip
    """All chunks of all variants as Ray tasks at once; the streamed segment metrics feed one
    ``live_logging.Monitor`` per variant (loggers) and the iteration bar, which counts
    iterations summed over the chunks in flight. Returns node id -> chunks run there."""
    monitors = {
        label: live_logging.Monitor(
            loggers, _run_labels([t for t in todo if t.variant == label]), plan.ipe, log_interval
        )
        for label, plan in plans.items()
    }
    sizes = {(t.variant, r): len(t.runs) for t in todo for r in t.runs}
    bar.update(iter_bar, completed=0, total=sum(plans[t.variant].iterations for t in todo),
               description="compiling", status=f"{len(todo)} Ray task(s)")  # fmt: skip
    progress = [0.0]

    def on_segment(variant: str, run: int, segment: int, metrics: Mapping[str, np.ndarray]) -> None:
        monitors[variant](run, segment, metrics)
        progress[0] += plans[variant].ipe / sizes[(variant, run)]
        bar.update(iter_bar, completed=int(progress[0]), description="iterations")

    try:
        return ray_backend.run_tasks(
            spec, todo, finish, address=address, shard=shard, init_kwargs=init_kwargs, on_segment=on_segment
        )
    finally:
        for monitor in monitors.values():
            monitor.flush()


def run_sweep(
    spec: SweepSpec | Mapping[str, Any] | str | Path,
    out_dir: str | Path,
    *,
    backend: str = "local",
    force: bool = False,
    progress: bool = True,
    shard: bool = True,
    loggers: Sequence[live_logging.Logger] = (),
    log_interval: int = live_logging.DEFAULT_INTERVAL,
    on_chunk: Callable[[ChunkTask, pd.DataFrame], None] | None = None,
    ray_address: str | None = None,
    ray_init_kwargs: Mapping[str, Any] | None = None,
) -> SweepResult:
    """Run (or resume) a sweep and return its results.

    Args:
        spec: a ``SweepSpec``, its dict / TOML-table form, or a path to a TOML file.
        out_dir: the results store (created, or reopened to resume).
        backend: ``"local"`` (chunks one after another on this process's devices) or
            ``"ray"`` (chunks as Ray tasks; ``ray_address`` picks a cluster, default a local one).
        force: discard the store's results if they belong to a different spec.
        progress: progress bars per chunk and per iteration (ETA), fed by host callbacks.
        shard: split each chunk's runs across ``jax.devices()``.
        loggers: live loggers (``live_logging.TensorBoardLogger`` / ``WandbLogger``), either backend.
        log_interval: iterations between logged per-iteration points.
        on_chunk: called after each chunk is written (its task and rows).

    Raises:
        ConfigError: the spec is invalid (before anything compiles), or the store belongs to a
            different spec and ``force`` is false (``store.SpecChangedError``).
    """
    if isinstance(spec, (str, Path)):
        spec = load_spec(spec)
    elif not isinstance(spec, SweepSpec):
        spec = spec_from_dict(spec)
    if backend not in ("local", "ray"):
        raise ConfigError(f"backend must be 'local' or 'ray', got {backend!r}")

    check_output_path(out_dir, "out_dir (--out)", kind="dir")
    agent = get_agent(spec.agent)
    checked = check_spec(spec)
    store = ResultStore(out_dir)
    manifest = store.open(spec.to_dict(), spec.fingerprint(), force=force, param_columns=list(spec.params))
    if len(checked) > 1 and "metric_columns" not in manifest:
        store.update_manifest(metric_columns=union_metric_columns(agent, checked))
    chunk_sizes = dict(manifest.get("chunk_sizes", {}))
    devices = jax.devices()
    seeds = list(spec.seeds)
    result = SweepResult(frame=pd.DataFrame(), store=store)
    compiles_before = compile_count(agent)
    start = time.perf_counter()

    live = True  # one program whether or not anyone listens: the callbacks are no-ops without a monitor
    bar = _progress(progress)
    slots = 1
    if backend == "ray" and not spec.chunk_size and spec.method != "optuna":
        slots = ray_backend.worker_slots(ray_address, ray_init_kwargs)
    plans = _plan_chunks(spec, checked, agent, chunk_sizes, devices, slots)
    store.update_manifest(chunk_sizes=chunk_sizes)

    with bar:
        todo = [t for plan in plans.values() for t in plan.tasks if not store.has_chunk(t.variant, t.chunk, t.runs)]
        result.chunks_skipped = sum(len(plan.tasks) for plan in plans.values()) - len(todo)
        total_chunks = len(todo) + sum(plan.num_chunks for plan in plans.values() if spec.method == "optuna")
        chunk_bar = bar.add_task(f"chunks of {spec.name}", total=total_chunks, status="")
        iter_bar = bar.add_task("compiling", total=None, status="")

        def finish(task: ChunkTask, frame: pd.DataFrame) -> None:
            store.write_chunk(task.variant, task.chunk, frame)
            result.chunks_run += 1
            result.steps += len(task.runs) * int(getattr(plans[task.variant].config, "trained_timesteps", 0))
            final = frame.dropna(subset=[spec.objective]) if spec.objective in frame else frame.iloc[:0]
            status = f"{spec.objective} {final[spec.objective].mean():.1f}" if len(final) else ""
            bar.update(chunk_bar, advance=1, status=status)
            if on_chunk is not None:
                on_chunk(task, frame)

        def local_run(task: ChunkTask) -> None:
            plan = plans[task.variant]
            where = f"{task.variant} {task.chunk + 1}/{plan.num_chunks}"
            bar.update(iter_bar, completed=0, total=plan.iterations, description="compiling", status=where)
            real = set(task.runs)
            calls = [0]

            def on_segment(run: int, segment: int) -> None:
                if run in real:  # iterations of the chunk: its runs advance together
                    calls[0] += 1
                    done = calls[0] // len(real) * plan.ipe
                    bar.update(iter_bar, completed=done, description="iterations", status=where)

            labels = _run_labels([task])
            monitor = live_logging.Monitor(loggers, labels, plan.ipe, log_interval, on_segment)
            with live_logging.active(monitor):
                frame = execute_chunk(agent, plan.config, plan.dtypes, task, shard=shard, live=live)
            finish(task, frame)

        if backend == "ray" and spec.method != "optuna":
            result.extras["nodes"] = _ray_run(
                spec, todo, plans, finish, bar, iter_bar, loggers, log_interval, ray_address, ray_init_kwargs, shard
            )
        elif spec.method != "optuna":
            for task in todo:
                local_run(task)
        for label, plan in plans.items() if spec.method == "optuna" else ():
            seeds_per = len(seeds)
            per_chunk = plan.size // seeds_per
            for c in range(plan.num_chunks):
                if store.has_chunk(label, c):
                    result.chunks_skipped += 1
                    bar.update(chunk_bar, total=max(1, total_chunks - result.chunks_skipped))
                    continue
                done = [store.read_chunk(label, i) for i in range(c)]
                finished: list[tuple[dict[str, Any], float]] = []
                if done:
                    frame = pd.concat(done, ignore_index=True)
                    values = _objective(frame, spec.objective)
                    first = frame.drop_duplicates("point").set_index("point")
                    finished = [({k: first.loc[p, k] for k in spec.params}, values[p]) for p in values.index]
                num = min(per_chunk, spec.num_samples - c * per_chunk)
                proposed = optuna_points(spec, finished, num, c)
                (task,) = _tasks_for(label, proposed, c * per_chunk, seeds, plan.size, c)
                if backend == "ray":
                    ray_backend.run_tasks(
                        spec, [task], finish, address=ray_address, shard=shard, init_kwargs=ray_init_kwargs
                    )
                else:
                    local_run(task)

    result.wall_s = time.perf_counter() - start
    result.compiles = compile_count(agent) - compiles_before
    result.frame = store.load()
    result.extras["diverged"] = diverged_runs(result.frame, list(spec.params))
    return result


__all__ = [
    "SweepResult",
    "choose_chunk_size",
    "estimate_run_bytes",
    "grid_points",
    "optuna_points",
    "random_points",
    "run_sweep",
    "union_metric_columns",
]
