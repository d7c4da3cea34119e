"""Overhead of the intrinsic bonuses: PPO + bonus wall time vs plain PPO, in the same run.

Run from the repository root with the main venv:

    python benchmarks/intrinsic_overhead.py                  # DeepSea-v0 size 20, 8 seeds
    python benchmarks/intrinsic_overhead.py --env CartPole-v1 --rounds 7
    python benchmarks/intrinsic_overhead.py --quick          # smoke test, temp dir

Each variant is ``jax.jit(jax.vmap(ppo.train, in_axes=(None, 0)))`` over 8 seeds, compiled
ahead of time (``lower().compile()``), called once untimed, then timed in ``--rounds`` rounds;
within a round every variant runs once, in an order rotated per round (the machine is shared,
so single timings are noisy). The ratio of a variant is the median over rounds of its time
divided by plain PPO's time in the same round. Targets (issue 6): PPO + RND <= 2x, PPO +
counts <= 1.2x. Results: ``benchmarks/results/intrinsic_overhead.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np
from bench_machine import machine_info

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.envs import make
from jaxrl_rewards.experiments.results import atomic_write_text
from jaxrl_rewards.transforms import identity
from jaxrl_rewards.transforms.intrinsic import combine_bonuses, count_bonus, e3b_bonus, icm_bonus, rnd_bonus

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"
_T0 = time.perf_counter()
TARGETS = {"counts": 1.2, "rnd": 2.0}


def log(msg: str) -> None:
    print(f"[intrinsic_overhead {time.perf_counter() - _T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def variants(onehot: bool) -> dict[str, Any]:
    index = "onehot" if onehot else "simhash"
    return {
        "plain": identity(),
        "counts": count_bonus(index=index),
        "rnd": rnd_bonus(),
        "icm": icm_bonus(),
        "e3b": e3b_bonus(),
        "episodic x global counts": combine_bonuses(
            count_bonus(index=index, hash_bits=10, episodic_counts=True), count_bonus(index=index)
        ),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="DeepSea-v0")
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", nargs="*", default=None, help="variant names (plain is always included)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.rounds, args.seeds = 4096, 2, 2
    out_dir = args.out_dir or (Path(tempfile.gettempdir()) / "jaxrl_rewards_bench_quick" if args.quick else RESULTS_DIR)
    env_kwargs = {"size": 20} if args.env == "DeepSea-v0" else {}
    env, params = make(args.env, **env_kwargs)
    onehot = args.env in ("DeepSea-v0", "KeyDoor-v0")
    chosen = variants(onehot)
    if args.only:
        chosen = {k: v for k, v in chosen.items() if k == "plain" or k in args.only}
    base = dict(num_envs=16, num_steps=32, update_epochs=4, num_minibatches=4, learning_rate=1e-3, num_evals=1)
    keys = jax.random.split(jax.random.key(0), args.seeds)
    compiled, compile_s = {}, {}
    for name, transform in chosen.items():
        config = ppo.make_config(env, params, transform=transform, total_timesteps=args.steps, **base)
        t = time.perf_counter()
        fn = jax.jit(jax.vmap(ppo.train, in_axes=(None, 0))).lower(config, keys).compile()
        jax.block_until_ready(fn(config, keys))
        compile_s[name] = time.perf_counter() - t
        compiled[name] = (fn, config)
        log(f"{name}: compiled + first call {compile_s[name]:.1f}s")
    names = list(compiled)
    times: dict[str, list[float]] = {n: [] for n in names}
    ratios: dict[str, list[float]] = {n: [] for n in names}
    for r in range(args.rounds):
        k = r % len(names)
        round_times = {}
        for n in names[k:] + names[:k]:
            fn, config = compiled[n]
            t = time.perf_counter()
            jax.block_until_ready(fn(config, keys))
            round_times[n] = time.perf_counter() - t
        for n in names:
            times[n].append(round_times[n])
            ratios[n].append(round_times[n] / round_times["plain"])
        log(f"round {r + 1}/{args.rounds}: " + ", ".join(f"{n} {round_times[n]:.2f}s" for n in names))
    trained = compiled["plain"][1].trained_timesteps * args.seeds
    rows = []
    for n in names:
        rows.append(
            {
                "variant": n,
                "compile_and_first_call_s": round(compile_s[n], 2),
                "run_s_median": round(statistics.median(times[n]), 3),
                "run_s_all": [round(x, 3) for x in times[n]],
                "steps_per_s": round(trained / statistics.median(times[n])),
                "ratio_vs_plain": round(statistics.median(ratios[n]), 3),
                "ratio_rounds": [round(x, 3) for x in ratios[n]],
                "ratio_of_min_times": round(min(times[n]) / min(times["plain"]), 3),
                "target": TARGETS.get(n),
            }
        )
    result = {
        "env": args.env,
        "env_kwargs": env_kwargs,
        "seeds": args.seeds,
        "steps_per_seed": compiled["plain"][1].trained_timesteps,
        "ppo": base,
        "rounds": args.rounds,
        "rows": rows,
        "machine": machine_info(
            loadavg_end=list(os.getloadavg()),
            shared="yes: 2 cores shared with the coordinator and other agents' jobs",
        ),
    }
    lines = [
        "# Intrinsic-bonus overhead (issue 6)",
        "",
        f"`python benchmarks/intrinsic_overhead.py --env {args.env}`: PPO on {args.env} {env_kwargs or ''} "
        f"(16 envs x 32 steps, 4 epochs x 4 minibatches), {args.seeds} seeds in one vmapped call, "
        f"{result['steps_per_seed']:,} steps per seed; median over {args.rounds} interleaved rounds of "
        "(variant time / plain PPO time in the same round). The machine was **shared** (2 CPU cores, other "
        f"agents' jobs running; load average at the end {np.round(os.getloadavg(), 1).tolist()}), so "
        "absolute times are noisy; the ratios are what the rounds control for.",
        "",
        "| variant | median wall s | steps/s (all seeds) | ratio vs plain PPO | target | ratio of fastest runs |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        target = "" if row["target"] is None else f"≤ {row['target']}×"
        ok = "" if row["target"] is None else (" ✓" if row["ratio_vs_plain"] <= row["target"] else " ✗")
        lines.append(
            f"| {row['variant']} | {row['run_s_median']:.2f} | {row['steps_per_s']:,} | "
            f"**{row['ratio_vs_plain']:.2f}×**{ok} | {target} | {row['ratio_of_min_times']:.2f}× |"
        )
    atomic_write_text(out_dir / "intrinsic_overhead.json", json.dumps(result, indent=1))
    atomic_write_text(out_dir / "intrinsic_overhead.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
