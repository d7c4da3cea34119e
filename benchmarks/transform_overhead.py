"""Overhead of each stateless reward transform of issue 4 on a PPO run, against plain PPO in the
same process.

Every variant is PPO on ``SparseGridWorld-v0`` (8x8, one-hot obs) with the same config and
seeds, differing only in the transform. Each is compiled ahead of time, called once untimed,
then timed ``--repeats`` rounds; candidates are interleaved round by round (order rotated) so a
burst of load from other jobs hits all alike. The ratio of a variant is the median over rounds
of ``time(variant) / time(plain)`` in that round.

    python benchmarks/transform_overhead.py           # full run
    python benchmarks/transform_overhead.py --quick   # smoke test (temp dir)
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

import jax
import jax.numpy as jnp
from bench_machine import machine_info

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.envs import make
from jaxrl_rewards.experiments.results import atomic_write_text
from jaxrl_rewards.transforms.bounding import clip_to_range
from jaxrl_rewards.transforms.noise import correct_binary_noise, gaussian_noise, sign_flip
from jaxrl_rewards.transforms.objectives import static_weights
from jaxrl_rewards.transforms.shaping import non_potential_shaping, potential_shaping

ROOT = Path(__file__).resolve().parent.parent
SIZE = 8


def distance_potential(obs):
    idx = jnp.argmax(obs)
    return -((SIZE - 1 - idx // SIZE) + (SIZE - 1 - idx % SIZE)) / (SIZE - 1)


def variants() -> dict:
    return {
        "plain": None,
        "potential_shaping": potential_shaping(distance_potential),
        "non_potential_shaping": non_potential_shaping(lambda o, a, n, i: 0.01 * (a == 1)),
        "clip_to_range": clip_to_range(-1.0, 1.0, -1.0, 1.0),
        "static_weights": static_weights({"task": 0.5}),
        "sign_flip": sign_flip(0.1),
        "gaussian_noise": gaussian_noise(0.1),
        "correct_binary_noise": correct_binary_noise(0.05, 0.05),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=65536)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=str, default=None)
    args = parser.parse_args()
    if args.quick:
        args.steps, args.repeats = 4096, 2
    out_dir = Path(args.out) if args.out else (Path(tempfile.mkdtemp()) if args.quick else ROOT / "benchmarks/results")

    load_start = list(os.getloadavg())
    env, params = make("SparseGridWorld-v0", size=SIZE)
    base = dict(total_timesteps=args.steps, num_envs=16, num_steps=64, num_evals=1, eval_episodes=4)
    keys = jax.vmap(jax.random.key)(jnp.arange(args.seeds, dtype=jnp.uint32))
    compiled, compile_s = {}, {}
    for name, transform in variants().items():
        cfg = ppo.make_config(env, params, **base, **({} if transform is None else {"transform": transform}))
        fn = jax.vmap(ppo.train, in_axes=(None, 0))
        t = time.perf_counter()
        compiled[name] = (jax.jit(fn).lower(cfg, keys).compile(), cfg)
        compile_s[name] = time.perf_counter() - t
        jax.block_until_ready(compiled[name][0](cfg, keys))  # warm-up
        print(f"compiled {name} in {compile_s[name]:.1f}s", file=sys.stderr, flush=True)

    names = list(compiled)
    times = {n: [] for n in names}
    for r in range(args.repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            fn, cfg = compiled[name]
            t = time.perf_counter()
            jax.block_until_ready(fn(cfg, keys))
            times[name].append(time.perf_counter() - t)
        print(f"round {r}: " + ", ".join(f"{n} {times[n][-1]:.2f}s" for n in names), file=sys.stderr, flush=True)
    ratios = {n: statistics.median(a / b for a, b in zip(times[n], times["plain"], strict=True)) for n in names}
    min_ratios = {n: min(times[n]) / min(times["plain"]) for n in names}
    steps = args.steps // (16 * 64) * 16 * 64 * args.seeds
    payload = {
        "args": vars(args),
        "ppo": base,
        "env": f"SparseGridWorld-v0 size {SIZE}",
        "compile_s": compile_s,
        "run_s": times,
        "median_run_s": {n: statistics.median(v) for n, v in times.items()},
        "steps_per_s": {n: steps / statistics.median(v) for n, v in times.items()},
        "ratio_to_plain": ratios,
        "ratio_of_fastest_runs": min_ratios,
        "loadavg_start": load_start,
        "machine": machine_info(loadavg_end=list(os.getloadavg())),
    }
    atomic_write_text(out_dir / "transform_overhead.json", json.dumps(payload, indent=1))
    atomic_write_text(out_dir / "transform_overhead.md", render(payload))
    print(render(payload))


def render(p: dict) -> str:
    a = p["args"]
    lines = [
        "# Reward-transform overhead (issue 4 stateless transforms) vs plain PPO",
        "",
        f"PPO on {p['env']}, {a['seeds']} seeds vmapped, {a['steps']} steps per seed, {a['repeats']} interleaved "
        "rounds; ratio = median over rounds of time(variant) / time(plain) in the same round (target <= 1.05). "
        "Machine: 2 CPU cores shared with other jobs (other helpers' tests and benchmarks ran at the same time).",
        "",
        f"Load average at start / end: {p['loadavg_start'][0]:.1f} / {p['machine']['loadavg_end'][0]:.1f} "
        "(on 2 cores): under this load single runs vary several-fold, so the ratios below carry that noise; "
        "the fastest-run ratio (least-disturbed runs) is the better estimate of the true overhead.",
        "",
        "| transform | median run (s) | fastest run (s) | env steps/s (median) | median per-round ratio "
        "| fastest-run ratio |",
        "|---|---|---|---|---|---|",
    ]
    for n in p["ratio_to_plain"]:
        lines.append(
            f"| {n} | {p['median_run_s'][n]:.2f} | {min(p['run_s'][n]):.2f} | {p['steps_per_s'][n]:,.0f} | "
            f"{p['ratio_to_plain'][n]:.3f} | **{p['ratio_of_fastest_runs'][n]:.3f}** |"
        )
    lines += ["", "Reproduce: `python benchmarks/transform_overhead.py`."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
