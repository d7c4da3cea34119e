"""Timed training through the library: the runner's ``train_seeds``, and what it cannot do
(an ahead-of-time compiled ``jit(vmap(train))`` for final states and timing, batched configs)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import jax
import numpy as np

from jaxrl_rewards.experiments.bench import seed_keys
from jaxrl_rewards.experiments.runner import RunResult, train_seeds, vmapped

from .cli import log

#: PPO / PQN sizes a ``--quick`` run overrides: one tiny iteration shape, one short evaluation.
QUICK_PPO: dict[str, Any] = {
    "num_envs": 4,
    "num_steps": 16,
    "update_epochs": 1,
    "num_minibatches": 1,
    "hidden_sizes": (16,),
    "num_evals": 1,
    "eval_episodes": 1,
    "eval_max_steps": 16,
}


def train_runs(agent: ModuleType, config: Any, seeds: int | Sequence[int], label: str = "training") -> RunResult:
    """Train ``seeds`` seeds of ``agent`` with ``config`` through the library's runner
    (``train_seeds``, no progress bar); metrics ``[S, iterations]`` / ``[S, num_evals]``."""
    result = train_seeds(agent, config, seeds, progress=False, description=label)
    log(f"{label}: {len(result.seeds)} seed(s) x {result.timesteps:,} steps in {result.total_s:.1f}s")
    return result


@dataclass
class CompiledTraining:
    """An ahead-of-time compiled training call: ``agent.train`` vmapped over ``keys [S]`` (the
    runner's cached ``jit(vmap(train))``), or over one unbatched key. ``run()`` returns
    ``(state, metrics)`` (blocked), ``timed()`` also records its wall time in ``times``."""

    agent: ModuleType
    config: Any
    keys: jax.Array
    compiled: Callable
    compile_s: float
    label: str = "training"
    times: list[float] = field(default_factory=list)
    output: Any = None

    @property
    def seeds(self) -> int:
        """Runs per call: S, or 1 for an unbatched key."""
        return 1 if self.keys.ndim == 0 else int(self.keys.shape[0])

    def run(self) -> tuple[Any, dict[str, Any]]:
        """One call: ``(state, metrics)``, leaves ``[S, ...]`` (no S for an unbatched key)."""
        self.output = jax.block_until_ready(self.compiled(self.config, self.keys))
        return self.output

    def timed(self) -> float:
        """One call; its wall seconds (appended to ``times``)."""
        start = time.perf_counter()
        self.run()
        self.times.append(time.perf_counter() - start)
        return self.times[-1]

    def metrics(self) -> dict[str, np.ndarray]:
        """The last call's metrics as numpy (running once if it never ran)."""
        if self.output is None:
            self.run()
        return {k: np.asarray(v) for k, v in jax.device_get(self.output[1]).items()}


def compile_training(
    agent: ModuleType, config: Any, keys: jax.Array | int, label: str = "training", warmup: bool = True
) -> CompiledTraining:
    """Compile ``agent.train`` ahead of time (``lower().compile()``, its wall time is
    ``compile_s``) for ``keys``: an int S means ``seed_keys(S)``; a key array ``[S]`` is vmapped
    (``runner.vmapped(agent, "train")``); a single key (shape ``()``) trains one unbatched run
    (``jit(agent.train)``, as a peer library's single-run call). ``warmup`` makes one untimed call."""
    agent.validate(config)
    keys = seed_keys(keys) if isinstance(keys, int) else keys
    fn = jax.jit(agent.train) if keys.ndim == 0 else vmapped(agent, "train")
    start = time.perf_counter()
    compiled = fn.lower(config, keys).compile()
    run = CompiledTraining(agent, config, keys, compiled, time.perf_counter() - start, label)
    if warmup:
        run.run()
    log(f"{label}: compiled in {run.compile_s:.1f}s")
    return run


def train_batched(
    agent: ModuleType, config: Any, config_axes: Any, keys: jax.Array | int, *, paired: bool = False
) -> tuple[Any, Any]:
    """Train a batch of configs (leaves with a leading axis L where ``config_axes`` says 0, e.g.
    from ``experiments.paths.batch_config``) in one call: ``(state, metrics)``.

    * default: every config times every key ``[S]``, leaves ``[L, S, ...]``;
    * ``paired``: config i with key i (L = S), leaves ``[S, ...]`` (e.g. seed i with dataset i).

    ``config_axes=None`` is the runner's ``jit(vmap(train))`` over the keys alone."""
    keys = seed_keys(keys) if isinstance(keys, int) else keys
    if config_axes is None:
        return jax.block_until_ready(vmapped(agent, "train")(config, keys))
    if paired:
        fn = jax.jit(jax.vmap(agent.train, in_axes=(config_axes, 0)))
    else:
        fn = jax.jit(jax.vmap(vmapped(agent, "train"), in_axes=(config_axes, None)))
    return jax.block_until_ready(fn(config, keys))
