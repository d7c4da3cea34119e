"""Checkpoints of long runs (orbax): the full training state and the metrics so far, saved
between training segments; a restarted run resumes from the latest one and ends with exactly
the numbers of the uninterrupted run.

``train_checkpointed(agent, config, seeds, directory)`` is ``runner.train_seeds`` with a
checkpoint after every ``save_every`` segments (one segment = ``iterations_per_eval``
iterations and an evaluation, one call of the compiled ``jit(vmap(train_segment))``). The
state is the agent's own pytree (for PPO: ``PPOState`` — parameters, optimiser state,
observation statistics, environment states, reward-transform state, episode trackers, PRNG
key, iteration), so nothing is recomputed or re-seeded on resume.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.experiments.runner import (
    RunResult,
    TrainingDivergedError,
    _concat,
    _progress,
    check_finite_metrics,
    exact_timesteps,
    shard_over_devices,
    vmapped,
)


class Interrupted(RuntimeError):
    """Raised by ``train_checkpointed(stop_after=k)`` after ``k`` segments (tests, demos)."""


def _is_key(x: Any) -> bool:
    return jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def _to_saveable(state: Any) -> Any:
    """Typed PRNG keys -> their raw ``uint32`` data (what orbax can store)."""
    return jax.tree.map(lambda x: jax.random.key_data(x) if _is_key(x) else x, state)


def _abstract(tree: Any) -> Any:
    device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=device), tree)


def describe(value: Any, depth: int = 0) -> str:
    """A stable text description of a config value for :func:`config_fingerprint`: the same in
    every process (no memory addresses, no ``repr`` of arbitrary objects). Numbers and strings by
    ``repr``; arrays by dtype, shape and values (typed PRNG keys by their raw data); dataclasses
    (configs, transforms, env params) by type and fields; other objects (an env) by type and
    their simple attributes; functions by module and qualified name."""
    if depth > 12:
        return "..."
    if value is None or isinstance(value, (bool, int, float, str, complex)):
        return repr(value)
    if isinstance(value, (tuple, list)):
        return "(" + ",".join(describe(v, depth + 1) for v in value) + ")"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k!r}:{describe(value[k], depth + 1)}" for k in sorted(value, key=str)) + "}"
    if isinstance(value, (np.ndarray, np.generic, jax.Array)):
        if _is_key(value):
            value = jax.random.key_data(value)
        arr = np.asarray(value)
        return f"array({arr.dtype},{arr.shape},{arr.tolist()!r})"
    name = f"{type(value).__module__}.{type(value).__qualname__}"
    if dataclasses.is_dataclass(value):
        fields = ",".join(f"{f.name}={describe(getattr(value, f.name), depth + 1)}" for f in dataclasses.fields(value))
        return f"{name}({fields})"
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    simple = {k: v for k, v in sorted(vars(value).items()) if isinstance(v, (bool, int, float, str))} if hasattr(
        value, "__dict__") else {}  # fmt: skip
    return f"{name}({describe(simple, depth + 1)})"


def config_fingerprint(config: Any) -> str:
    """A hash of a stable description of a config (:func:`describe`: leaves' values and the
    static structure, the env by type and settings), to refuse resuming a checkpoint with a
    different configuration. Equal configs give equal fingerprints in every process."""
    return hashlib.sha256(describe(config).encode()).hexdigest()[:16]


def train_checkpointed(
    agent: ModuleType,
    config: Any,
    seeds: int | Sequence[int],
    directory: str | Path,
    *,
    save_every: int = 1,
    max_to_keep: int = 2,
    shard: bool = True,
    progress: bool = True,
    description: str = "training",
    stop_after: int | None = None,
) -> RunResult:
    """Train ``agent`` on ``seeds`` (one vmapped call per segment), checkpointing to
    ``directory`` and resuming from its latest checkpoint if there is one.

    Args:
        agent: a module with ``validate``, ``init``, ``train_segment`` (e.g. ``agents.ppo``).
        config: the agent config; must equal the checkpoint's (else ``ConfigError``).
        seeds: a count or explicit seeds (must equal the checkpoint's).
        directory: the orbax checkpoint directory.
        save_every: segments between checkpoints (the last segment is always saved).
        max_to_keep: checkpoints kept.
        stop_after: stop with ``Interrupted`` once this many segments are done in total.

    Returns:
        The ``RunResult`` of the whole run (restored segments included); ``extras`` says
        ``resumed_from`` (segments restored).
    """
    import orbax.checkpoint as ocp

    agent.validate(config)
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    keys = jax.vmap(jax.random.key)(jnp.asarray(seed_list, dtype=jnp.uint32))
    init = vmapped(agent, "init")
    segment = vmapped(agent, "train_segment")
    num_segments = config.num_evals
    meta = {"seeds": seed_list, "num_evals": num_segments, "config": config_fingerprint(config)}

    directory = Path(directory).absolute()
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, enable_async_checkpointing=False, create=True)
    chunks: list[dict[str, np.ndarray]] = []
    start = time.perf_counter()
    with ocp.CheckpointManager(directory, options=options, item_names=("state", "curves", "meta")) as manager:
        latest = manager.latest_step()
        abstract_state = jax.eval_shape(init, config, keys)
        if latest is None:
            state = init(config, keys)
            done = 0
        else:
            stored_meta = manager.restore(latest, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
            if stored_meta != meta:
                raise ConfigError(
                    f"checkpoint in {directory} belongs to a different run ({stored_meta} != {meta}); "
                    "use another directory"
                )
            abstract_metrics = jax.eval_shape(segment, config, abstract_state)[1]
            stacked = {k: jax.ShapeDtypeStruct((latest, *v.shape), v.dtype) for k, v in abstract_metrics.items()}
            restored = manager.restore(
                latest,
                args=ocp.args.Composite(
                    state=ocp.args.StandardRestore(_abstract(jax.eval_shape(_to_saveable, abstract_state))),
                    curves=ocp.args.StandardRestore(_abstract(stacked)),
                ),
            )
            state = jax.tree.map(
                lambda like, x: jax.random.wrap_key_data(x, impl=jax.random.key_impl(like)) if _is_key(like) else x,
                _key_template(abstract_state, keys),
                restored["state"],
            )
            chunks = [
                exact_timesteps({k: np.asarray(v[i]) for k, v in restored["curves"].items()},
                                config.steps_per_iteration, i * config.iterations_per_eval)
                for i in range(latest)
            ]  # fmt: skip
            done = latest
        if shard:
            state = shard_over_devices(state)
        first_done = None
        bar = _progress(progress)
        with bar:
            task = bar.add_task(description, total=num_segments, completed=done, status="")
            for index in range(done, num_segments):
                if stop_after is not None and index >= stop_after:
                    raise Interrupted(f"stopped after {index} segments (checkpoint in {directory})")
                state, metrics = segment(config, state)
                metrics = {k: np.asarray(v) for k, v in jax.device_get(metrics).items()}
                metrics = exact_timesteps(metrics, config.steps_per_iteration, index * config.iterations_per_eval)
                chunks.append(metrics)
                first_done = first_done or time.perf_counter()
                bar.update(task, advance=1)
                try:
                    check_finite_metrics(
                        {k: v for k, v in metrics.items() if not k.startswith("eval/")},
                        index * config.iterations_per_eval,
                    )
                except FloatingPointError as err:
                    raise TrainingDivergedError(f"training diverged: {err}", _concat(chunks)) from None
                if (index + 1) % save_every == 0 or index + 1 == num_segments:
                    stacked_np = {k: np.stack([c[k] for c in chunks]) for k in chunks[0]}
                    manager.save(
                        index + 1,
                        args=ocp.args.Composite(
                            state=ocp.args.StandardSave(_to_saveable(jax.device_get(state))),
                            curves=ocp.args.StandardSave(stacked_np),
                            meta=ocp.args.JsonSave(meta),
                        ),
                    )
        manager.wait_until_finished()
    end = time.perf_counter()
    first_done = first_done or end
    return RunResult(
        metrics=_concat(chunks),
        seeds=seed_list,
        compile_s=first_done - start,
        run_s=end - first_done,
        total_s=end - start,
        timesteps=config.trained_timesteps,
        extras={"resumed_from": done, "checkpoint_dir": str(directory)},
    )


def _key_template(abstract_state: Any, keys: jax.Array) -> Any:
    """Leaves of the abstract state, with typed-key leaves replaced by a concrete key of the
    same implementation (so ``wrap_key_data`` knows the implementation)."""
    return jax.tree.map(lambda x: keys if _is_key(x) else x, abstract_state)


def latest_checkpoint(directory: str | Path) -> int | None:
    """The last saved segment count in ``directory`` (``None`` if there is none)."""
    import orbax.checkpoint as ocp

    path = Path(directory).absolute()
    if not path.exists():
        return None
    with ocp.CheckpointManager(path, options=ocp.CheckpointManagerOptions(read_only=True)) as manager:
        return manager.latest_step()


__all__ = ["Interrupted", "config_fingerprint", "describe", "latest_checkpoint", "train_checkpointed"]
