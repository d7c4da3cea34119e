"""Throughput measurement shared by ``jaxrl-rewards bench`` and the benchmark scripts: compile
seconds and steps/s of training runs and env-only rollouts, timed in interleaved rounds.

Protocol (``benchmarks/README.md`` explains the numbers):

* every candidate is compiled ahead of time (``jax.jit(f).lower(...).compile()``); its wall time is
  ``compile_s``, and the XLA backend part of it (``CompileMonitor``; on a persistent-cache hit only
  the time to load the executable) is ``backend_compile_s``;
* one untimed warm-up call, then ``rounds`` rounds that call every candidate once, the order
  rotated per round (:func:`interleaved_rounds`), each call ended by ``block_until_ready``;
* ``steps_per_s = env steps per call / median call seconds``; a ratio to a baseline is the median
  of the per-round ratios of call times (:func:`ratio_summary`), robust to load from other jobs.

A training candidate (:func:`training_candidate`) is the runner's ``jit(vmap(agent.train))`` over
``S`` seed keys (the keys ``train_seeds`` uses), so it includes the in-run evaluations; an env-only
candidate (:func:`env_candidate`) is ``lax.scan`` over ``vmap(env.step)`` with uniformly random
actions.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.experiments.compile_cache import CompileMonitor
from jaxrl_rewards.experiments.runner import vmapped


def seed_keys(seeds: int | Sequence[int]) -> jax.Array:
    """PRNG keys ``[S]`` for seeds ``0..S-1`` (or the given seeds), ``key(seed)`` each: the keys
    ``train_seeds`` uses, so a run here and a run there are the same run."""
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise ConfigError("need at least one seed")
    return jax.vmap(jax.random.key)(jnp.asarray(seed_list, dtype=jnp.uint32))


def rotated(items: Sequence[Any], r: int) -> list[Any]:
    """``items`` rotated left by ``r`` (round r of an interleaved timing starts at item r).

    >>> rotated([1, 2, 3], 1)
    [2, 3, 1]
    """
    items = list(items)
    k = r % len(items)
    return items[k:] + items[:k]


def interleaved_rounds(
    candidates: Mapping[str, Callable[[], float]],
    rounds: int,
    on_round: Callable[[int, dict[str, list[float]]], None] | None = None,
) -> dict[str, list[float]]:
    """Time every candidate once per round, for ``rounds`` rounds, order rotated per round (so a
    burst of load from other jobs hits all alike). A candidate is a no-argument callable that
    runs once and returns its wall seconds. ``on_round(r, times)`` is called after each round.
    Returns name -> seconds per round."""
    if rounds < 1:
        raise ConfigError(f"rounds must be >= 1, got {rounds}")
    if not candidates:
        raise ConfigError("need at least one candidate to time")
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for r in range(rounds):
        for name in rotated(list(candidates), r):
            times[name].append(float(candidates[name]()))
        if on_round is not None:
            on_round(r, times)
    return times


def ratio_summary(times: Mapping[str, Sequence[float]], baseline: str) -> dict[str, dict[str, Any]]:
    """Per candidate: ``ratio`` = median over rounds of time / baseline time in the same round,
    ``ratio_of_min_times`` = fastest run / fastest baseline run, the per-round ``rounds`` and the
    ``median_s`` / ``min_s`` of its times."""
    if baseline not in times:
        raise ConfigError(f"baseline {baseline!r} is not a candidate; candidates: {sorted(times)}")
    base = times[baseline]
    out = {}
    for name, ts in times.items():
        per_round = [t / b for t, b in zip(ts, base, strict=True)]
        out[name] = {
            "ratio": float(statistics.median(per_round)),
            "ratio_of_min_times": float(min(ts) / min(base)),
            "rounds": per_round,
            "median_s": float(statistics.median(ts)),
            "min_s": float(min(ts)),
        }
    return out


@dataclass
class Candidate:
    """One ahead-of-time compiled call to time.

    Attributes:
        label: its name in tables.
        compiled: the compiled function; ``compiled(*args)`` runs once.
        args: its arguments.
        steps_per_call: environment steps one call makes (all seeds / envs together).
        compile_s: wall seconds of trace + lower + compile.
        compile_stats: the ``CompileMonitor`` totals of that compile.
        info: what was timed (env, agent, transform, seeds, sizes), copied into the report row.
        times: wall seconds of the timed calls.
    """

    label: str
    compiled: Callable
    args: tuple
    steps_per_call: int
    compile_s: float
    compile_stats: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)
    times: list[float] = field(default_factory=list)
    output: Any = None

    def run(self) -> float:
        """One blocked call; its wall seconds (appended to ``times``)."""
        start = time.perf_counter()
        self.output = jax.block_until_ready(self.compiled(*self.args))
        self.times.append(time.perf_counter() - start)
        return self.times[-1]


def compile_candidate(
    label: str, fn: Callable, args: tuple, steps_per_call: int, info: dict[str, Any] | None = None, warmup: bool = True
) -> Candidate:
    """``jax.jit(fn)`` compiled ahead of time for ``args`` (timed, compile work monitored), plus one
    untimed warm-up call unless ``warmup`` is false."""
    with CompileMonitor() as monitor:
        start = time.perf_counter()
        compiled = (fn if hasattr(fn, "lower") else jax.jit(fn)).lower(*args).compile()
        compile_s = time.perf_counter() - start
    candidate = Candidate(label, compiled, args, steps_per_call, compile_s, monitor.as_dict(), dict(info or {}))
    if warmup:
        candidate.run()
        candidate.times.clear()
    return candidate


def training_candidate(agent: ModuleType, config: Any, seeds: int, label: str, info: dict | None = None) -> Candidate:
    """The runner's ``jit(vmap(agent.train))`` over ``seeds`` seed keys, compiled: one call trains
    every seed for ``config.trained_timesteps`` steps (evaluations included)."""
    agent.validate(config)
    keys = seed_keys(seeds)
    steps = int(config.trained_timesteps) * seeds
    return compile_candidate(label, vmapped(agent, "train"), (config, keys), steps, {"seeds": seeds, **(info or {})})


def env_rollout_fn(env: Any, params: Any, num_envs: int, num_steps: int) -> Callable[[jax.Array], jax.Array]:
    """``f(key) -> total reward``: reset ``num_envs`` envs, then ``lax.scan`` ``num_steps``
    steps of the vmapped ``env.step`` with uniformly random actions (``action_space.sample``)."""
    action_space = env.action_space(params)
    reset = jax.vmap(env.reset, in_axes=(0, None))
    step = jax.vmap(env.step, in_axes=(0, 0, 0, None))
    sample = jax.vmap(action_space.sample)

    def run(key):
        reset_key, run_key = jax.random.split(key)
        _, state = reset(jax.random.split(reset_key, num_envs), params)

        def body(carry, k):
            state, total = carry
            action_key, step_key = jax.random.split(k)
            action = sample(jax.random.split(action_key, num_envs))
            _, state, reward, _, _, _ = step(jax.random.split(step_key, num_envs), state, action, params)
            return (state, total + jnp.sum(reward)), None

        (_, total), _ = jax.lax.scan(body, (state, jnp.float32(0.0)), jax.random.split(run_key, num_steps))
        return total

    return run


def env_candidate(
    env: Any, params: Any, num_envs: int, num_steps: int, label: str, info: dict | None = None
) -> Candidate:
    """An env-only rollout (:func:`env_rollout_fn`) of ``num_envs x num_steps`` steps, compiled."""
    fn = env_rollout_fn(env, params, num_envs, num_steps)
    sizes = {"num_envs": num_envs, "num_steps": num_steps}
    return compile_candidate(label, fn, (jax.random.key(0),), num_envs * num_steps, {**sizes, **(info or {})})


def backend_info() -> dict[str, Any]:
    """The JAX backend, the number of devices and their names."""
    devices = jax.devices()
    return {"backend": jax.default_backend(), "device_count": len(devices), "devices": [str(d) for d in devices]}


def time_candidates(
    candidates: Sequence[Candidate],
    rounds: int,
    baseline: str | None = None,
    on_round: Callable[[int, dict[str, list[float]]], None] | None = None,
) -> list[dict[str, Any]]:
    """Time ``candidates`` in ``rounds`` interleaved rounds; one row per candidate: its ``info``,
    ``label``, ``steps_per_call``, ``compile_s``, ``backend_compile_s``, ``compiles``,
    ``cache_hits``, ``run_s`` (median), ``run_s_all``, ``steps_per_s`` and, with a ``baseline``
    label, ``ratio_vs_baseline`` (median per-round time ratio; > 1: slower than the baseline)."""
    labels = [c.label for c in candidates]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"candidate labels must be unique, got {labels}")
    if baseline is not None and baseline not in labels:
        raise ConfigError(f"baseline {baseline!r} is not a candidate; candidates: {labels}")
    times = interleaved_rounds({c.label: c.run for c in candidates}, rounds, on_round)
    ratios = ratio_summary(times, baseline) if baseline is not None else {}
    rows = []
    for c in candidates:
        run_s = float(statistics.median(times[c.label]))
        row = {
            **c.info,
            "label": c.label,
            "steps_per_call": c.steps_per_call,
            "compile_s": round(c.compile_s, 3),
            "backend_compile_s": c.compile_stats["compile_s"],
            "compiles": c.compile_stats["compiles"],
            "cache_hits": c.compile_stats["cache_hits"],
            "run_s": round(run_s, 6),
            "run_s_all": [round(t, 6) for t in times[c.label]],
            "steps_per_s": round(c.steps_per_call / run_s, 1),
        }
        if baseline is not None:
            row["ratio_vs_baseline"] = round(ratios[c.label]["ratio"], 4)
        rows.append(row)
    return rows


__all__ = [
    "Candidate",
    "backend_info",
    "compile_candidate",
    "env_candidate",
    "env_rollout_fn",
    "interleaved_rounds",
    "ratio_summary",
    "rotated",
    "seed_keys",
    "time_candidates",
    "training_candidate",
]
