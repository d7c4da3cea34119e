"""Sweep throughput: a 64-run sweep (8 learning rates x 8 seeds) of PPO on CartPole-v1 as one
compiled chunk vs the same 64 runs trained one after another.

    python benchmarks/sweep_throughput.py            # ~32k steps per run
    python benchmarks/sweep_throughput.py --quick    # smoke test, written to a temp dir

Protocol: the sweep goes through ``run_sweep`` (the real path: spec -> store) and we count the
compiled programs it created. The baseline compiles ``jax.jit(ppo.train)`` once (the learning
rate is a pytree leaf, so one compile serves all 64 runs) and calls it 64 times, each ended by
``block_until_ready``. We report aggregate environment steps per second both including and
excluding compilation (for the sweep: a second, timed execution of the same chunk).
Writes ``benchmarks/results/sweep_throughput.{json,md}`` atomically.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from harness import QUICK_PPO, compile_training, log, machine_info, make_parser, parse_args, publish

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.experiments.backends.local import ChunkTask, compile_count, execute_chunk
from jaxrl_rewards.experiments.spec import check_spec, spec_from_dict
from jaxrl_rewards.experiments.sweep import run_sweep

LRS = [1e-4, 2.5e-4, 5e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2]


def main(argv: Sequence[str] | None = None) -> int:
    """Time the sweep chunk and the separate runs; write ``sweep_throughput.{json,md}`` to ``--out``."""
    parser = make_parser("sweep_throughput", __doc__)
    parser.add_argument("--steps", type=int, default=32_768, help="environment steps per run")
    args = parse_args(parser, argv)
    steps = 128 if args.quick else args.steps
    lrs, seeds = (LRS[:2], 2) if args.quick else (LRS, 8)
    config_opts: dict[str, Any] = {"total_timesteps": steps, "num_evals": 4}
    if args.quick:
        config_opts.update({**QUICK_PPO, "hidden_sizes": list(QUICK_PPO["hidden_sizes"]), "num_evals": 2})
    spec = spec_from_dict(
        {
            "name": "sweep_throughput",
            "seeds": seeds,
            "config": config_opts,
            "search": {"chunk_size": len(lrs) * seeds},
            "params": {"learning_rate": lrs},
        }
    )
    runs = len(lrs) * seeds

    # --- the sweep: one chunk, one compile
    with tempfile.TemporaryDirectory() as store:
        log(f"sweep of {runs} runs ...")
        result = run_sweep(spec, store, progress=False)
    trained = int(result.steps // runs)
    sweep_total_s = result.wall_s
    log(f"sweep: {result.compiles} compile(s), {sweep_total_s:.1f} s incl. compile")
    config, dtypes = check_spec(spec)["default"]
    points = [{"learning_rate": lr} for lr in lrs for _ in range(seeds)]
    task = ChunkTask("default", 0, tuple(range(runs)), tuple(i // seeds for i in range(runs)), tuple(points),
                     tuple(s for _ in lrs for s in range(seeds)), runs)  # fmt: skip
    before = compile_count(ppo)
    start = time.perf_counter()
    again = execute_chunk(ppo, config, dtypes, task, live=True)
    sweep_run_s = time.perf_counter() - start
    assert compile_count(ppo) == before, "the second execution recompiled"
    same = bool(np.allclose(again["eval/return/task"].dropna(), result.frame["eval/return/task"].dropna()))

    # --- the baseline: 64 separate runs of the compiled single-run train
    key_config = config
    single = compile_training(ppo, key_config, jax.random.key(0), label="single run", warmup=False)
    compiled, base_compile_s = single.compiled, single.compile_s
    start = time.perf_counter()
    finals = []
    for lr in lrs:
        for seed in range(seeds):
            _, metrics = compiled(key_config.replace(learning_rate=np.float32(lr)), jax.random.key(seed))
            finals.append(float(jax.block_until_ready(metrics["eval/return/task"])[-1]))
    base_run_s = time.perf_counter() - start
    log(f"separate runs: compile {base_compile_s:.1f} s, run {base_run_s:.1f} s")

    total_steps = runs * trained
    data = {
        "runs": runs,
        "learning_rates": lrs,
        "seeds": seeds,
        "steps_per_run": trained,
        "config": {k: getattr(config, k) for k in ("num_envs", "num_steps", "num_minibatches", "update_epochs")},
        "sweep": {
            "compiles": result.compiles,
            "total_s_incl_compile": sweep_total_s,
            "run_s": sweep_run_s,
            "steps_per_s_incl_compile": total_steps / sweep_total_s,
            "steps_per_s": total_steps / sweep_run_s,
            "second_execution_equal": same,
        },
        "separate": {
            "compiles": 1,
            "compile_s": base_compile_s,
            "run_s": base_run_s,
            "steps_per_s_incl_compile": total_steps / (base_compile_s + base_run_s),
            "steps_per_s": total_steps / base_run_s,
        },
        "machine": {**machine_info(), "cpus": os.cpu_count()},
    }
    data["ratio"] = data["sweep"]["steps_per_s"] / data["separate"]["steps_per_s"]
    data["ratio_incl_compile"] = (
        data["sweep"]["steps_per_s_incl_compile"] / data["separate"]["steps_per_s_incl_compile"]
    )
    s, b = data["sweep"], data["separate"]
    md = f"""# Sweep throughput: {runs} PPO runs on CartPole-v1 ({len(lrs)} learning rates x {seeds} seeds)

{trained:,} environment steps per run ({total_steps:,} in all); PPO defaults (num_envs={config.num_envs},
num_steps={config.num_steps}). Command: `python benchmarks/sweep_throughput.py`. Machine: {os.cpu_count()} CPU
cores, 1-minute load average {data["machine"]["loadavg_start"][0]:.2f} at the start (both sides ran in the same
process, one after the other).

| | compiles | compile + run (s) | run only (s) | aggregate steps/s (run only) | steps/s incl. compile |
|---|---|---|---|---|---|
| sweep: one `jit(vmap(train))` chunk via `run_sweep` | {s["compiles"]} | {s["total_s_incl_compile"]:.1f} | {s["run_s"]:.1f} | {s["steps_per_s"]:,.0f} | {s["steps_per_s_incl_compile"]:,.0f} |
| {runs} separate runs of `jit(train)` | {b["compiles"]} | {b["compile_s"] + b["run_s"]:.1f} | {b["run_s"]:.1f} | {b["steps_per_s"]:,.0f} | {b["steps_per_s_incl_compile"]:,.0f} |

**Ratio sweep / separate: {data["ratio"]:.2f}x** (run only), {data["ratio_incl_compile"]:.2f}x including compilation.
The sweep compiled {s["compiles"]} program for all {runs} runs.
"""  # noqa: E501
    return publish(args.out, "sweep_throughput", data, md)


if __name__ == "__main__":
    sys.exit(main())
