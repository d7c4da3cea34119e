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

import statistics
import sys
from collections.abc import Sequence

import jax.numpy as jnp
from harness import (
    QUICK_PPO,
    args_record,
    compile_training,
    interleaved_rounds,
    loadavg,
    log,
    machine_info,
    make_parser,
    parse_args,
    publish,
    ratio_summary,
)

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.envs import make
from jaxrl_rewards.transforms.bounding import clip_to_range
from jaxrl_rewards.transforms.noise import correct_binary_noise, gaussian_noise, sign_flip
from jaxrl_rewards.transforms.objectives import static_weights
from jaxrl_rewards.transforms.shaping import non_potential_shaping, potential_shaping

SIZE = 8
#: variants a ``--quick`` run times (plain and one shaping transform: two compiles)
QUICK_VARIANTS = ("plain", "potential_shaping")


def distance_potential(obs):
    """``Phi(obs) = -manhattan(cell, goal) / (SIZE - 1)`` for one-hot grid observations ``[SIZE^2]``."""
    idx = jnp.argmax(obs)
    return -((SIZE - 1 - idx // SIZE) + (SIZE - 1 - idx % SIZE)) / (SIZE - 1)


def variants() -> dict:
    """Variant name -> transform (``None``: plain PPO)."""
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


def main(argv: Sequence[str] | None = None) -> int:
    """Time every variant in interleaved rounds; write ``transform_overhead.{json,md}`` to ``--out``."""
    parser = make_parser("transform_overhead", __doc__)
    parser.add_argument("--steps", type=int, default=65536)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=15)
    args = parse_args(parser, argv)
    if args.quick:
        args.steps, args.repeats = 128, 2

    load_start = loadavg()
    env, params = make("SparseGridWorld-v0", size=SIZE)
    base = dict(total_timesteps=args.steps, num_envs=16, num_steps=64, num_evals=1, eval_episodes=4)
    if args.quick:
        base.update(QUICK_PPO)
    chosen = {k: v for k, v in variants().items() if not args.quick or k in QUICK_VARIANTS}
    runs = {}
    for name, transform in chosen.items():
        cfg = ppo.make_config(env, params, **base, **({} if transform is None else {"transform": transform}))
        runs[name] = compile_training(ppo, cfg, args.seeds, label=name)

    times = interleaved_rounds({n: r.timed for n, r in runs.items()}, args.repeats)
    summary = ratio_summary(times, "plain")
    steps = runs["plain"].config.trained_timesteps * args.seeds
    payload = {
        "args": args_record(args),
        "ppo": {k: (list(v) if isinstance(v, tuple) else v) for k, v in base.items()},
        "env": f"SparseGridWorld-v0 size {SIZE}",
        "compile_s": {n: r.compile_s for n, r in runs.items()},
        "run_s": times,
        "median_run_s": {n: statistics.median(v) for n, v in times.items()},
        "steps_per_s": {n: steps / statistics.median(v) for n, v in times.items()},
        "ratio_to_plain": {n: s["ratio"] for n, s in summary.items()},
        "ratio_of_fastest_runs": {n: s["ratio_of_min_times"] for n, s in summary.items()},
        "loadavg_start": load_start,
        "machine": machine_info(loadavg_end=loadavg()),
    }
    publish(args.out, "transform_overhead", payload, render(payload))
    log(f"wrote {args.out}")
    return 0


def render(p: dict) -> str:
    """The markdown report of a ``main`` payload."""
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
    sys.exit(main())
