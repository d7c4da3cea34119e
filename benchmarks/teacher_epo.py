"""Two small PPO studies of issue 18's options: the teacher reward from an exact V* on the
sparse grid, and EPO entropy smoothing on CartPole.

* ``teacher``: PPO on ``SparseGridWorld-v0`` (8x8, start top-left, +1 at the goal), with and
  without ``grid_teacher`` (V* by value iteration at PPO's γ = 0.99). Reported per variant: the
  share of seeds whose greedy evaluation reaches the goal at the last evaluation, the mean over
  all evaluations (area under the success curve) and the first evaluation step with success.
* ``epo``: PPO on ``CartPole-v1`` with an aggressive learning rate (0.01) and no entropy bonus,
  with and without ``entropy_band`` (δ, coefficient ``--epo-coef``). Reported per variant: the
  largest change of the per-iteration policy entropy between consecutive iterations, the final
  entropy and the final greedy return.

Seeds ``0..S-1`` through the library's runner (``harness.train_runs``).

    python benchmarks/teacher_epo.py            # full run (~4 min on 2 cores)
    python benchmarks/teacher_epo.py --quick    # smoke test
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

import numpy as np
from harness import args_record, log, machine_info, make_parser, markdown_table, parse_args, train_runs, write_report

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.envs import make
from jaxrl_rewards.transforms.teacher import grid_teacher


def teacher_study(args) -> dict:
    """PPO with / without the teacher reward on the sparse grid."""
    out = {}
    for name in ("none", "teacher"):
        extra = {"transform": grid_teacher(size=args.grid_size, gamma=0.99)} if name == "teacher" else {}
        env, env_params = make("SparseGridWorld-v0", size=args.grid_size)
        config = ppo.make_config(
            env,
            env_params,
            total_timesteps=args.grid_steps,
            num_envs=8,
            num_steps=64,
            num_evals=args.num_evals,
            gamma=0.99,
            **extra,
        )
        result = train_runs(ppo, config, args.seeds, label=f"teacher/{name}")
        curve = np.asarray(result.metrics["eval/return/task"])  # [S, num_evals], 1 = goal reached
        steps = np.arange(1, args.num_evals + 1) * config.total_timesteps // args.num_evals
        first = [int(steps[np.nonzero(c >= 0.5)[0][0]]) if np.any(c >= 0.5) else None for c in curve]
        out[name] = {
            "final_success": float((curve[:, -1] >= 0.5).mean()),
            "mean_success": float((curve >= 0.5).mean()),
            "first_success_step": first,
            "curve": curve.tolist(),
        }
        log(f"teacher/{name}: final {out[name]['final_success']:.2f}, mean {out[name]['mean_success']:.2f}")
    return out


def epo_study(args) -> dict:
    """PPO with / without EPO's entropy band on CartPole at a large learning rate."""
    out = {}
    for name, band in (("none", None), ("epo", args.epo_band)):
        config = ppo.make_config(
            "CartPole-v1",
            total_timesteps=args.cartpole_steps,
            num_envs=8,
            num_steps=64,
            num_evals=2,
            learning_rate=0.01,
            ent_coef=0.0,
            entropy_band=band,
            entropy_band_coef=args.epo_coef,
        )
        result = train_runs(ppo, config, args.seeds, label=f"epo/{name}")
        entropy = np.asarray(result.metrics["loss/entropy"])  # [S, iterations]
        jumps = np.abs(np.diff(entropy, axis=1)).max(1)
        out[name] = {
            "max_entropy_change": jumps.tolist(),
            "final_entropy": entropy[:, -1].tolist(),
            "final_return": np.asarray(result.metrics["eval/return/task"])[:, -1].tolist(),
        }
        log(f"epo/{name}: max dH {jumps.mean():.3f}, final H {entropy[:, -1].mean():.3f}")
    return out


def render(payload: dict) -> str:
    """Markdown report."""
    a = payload["args"]
    t, e = payload["teacher"], payload["epo"]
    lines = [
        "# Teacher reward from V* and EPO entropy smoothing (PPO)",
        "",
        f"Seeds 0..{a['seeds'] - 1}. Teacher: SparseGridWorld-v0 {a['grid_size']}x{a['grid_size']}, "
        f"{a['grid_steps']:,} steps per seed, "
        f"{a['num_evals']} greedy evaluations (success = goal reached).",
        "",
    ]
    lines += markdown_table(
        ["variant", "final success", "success over all evals", "first success step per seed"],
        [[n, f"{v['final_success']:.2f}", f"{v['mean_success']:.2f}", v["first_success_step"]] for n, v in t.items()],
    )
    lines += [
        "",
        f"EPO: CartPole-v1, learning rate 0.01, no entropy bonus, {a['cartpole_steps']:,} steps per seed; "
        f"band δ = {a['epo_band']}, coefficient {a['epo_coef']}.",
        "",
    ]
    lines += markdown_table(
        ["variant", "largest per-iteration entropy change (mean over seeds)", "final entropy", "final greedy return"],
        [
            [
                n,
                f"{np.mean(v['max_entropy_change']):.3f}",
                f"{np.mean(v['final_entropy']):.3f}",
                f"{np.mean(v['final_return']):.1f}",
            ]
            for n, v in e.items()
        ],
    )
    lines += ["", f"Wall time {payload['wall_s']:.0f} s on {payload['machine'].get('cpu_count')} CPUs (shared)."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run both studies; write ``teacher_epo.{json,md}`` to ``--out``."""
    parser = make_parser("teacher_epo", __doc__)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--grid-size", type=int, default=8)
    parser.add_argument("--grid-steps", type=int, default=32768)
    parser.add_argument("--num-evals", type=int, default=8)
    parser.add_argument("--cartpole-steps", type=int, default=32768)
    parser.add_argument("--epo-band", type=float, default=0.01)
    parser.add_argument("--epo-coef", type=float, default=100.0)
    args = parse_args(parser, argv)
    if args.quick:
        args.seeds, args.grid_steps, args.cartpole_steps, args.num_evals = 1, 2048, 2048, 2
    start = time.time()
    payload = {"args": args_record(args), "teacher": teacher_study(args), "epo": epo_study(args)}
    payload["wall_s"] = time.time() - start
    payload["machine"] = machine_info()
    write_report(args.out, "teacher_epo", payload, render(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
