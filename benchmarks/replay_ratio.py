"""DQN with a fixed low replay ratio, a fixed high one, and the adaptive replay ratio
(``max_num_updates``: ``agents.replay_ratio``) at the same environment-step budget.

CartPole-v1, DQN defaults (10 envs × 1 step per iteration) with ``num_updates`` 1 (low), 4
(high), and adaptive 1 → 4 (switch when the Q network's fraction of active units changes by less
than ``--tolerance`` between checks ``--check-every`` iterations apart). Reported per variant:
final and mean greedy return over the evaluations, gradient steps taken (mean over seeds), the
iteration of the switch, and the final fraction of active units.

Seeds ``0..S-1`` through the library's runner (``harness.train_runs``).

    python benchmarks/replay_ratio.py            # full run (~5 min on 2 cores)
    python benchmarks/replay_ratio.py --quick    # smoke test (the adaptive variant only)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

import numpy as np
from harness import args_record, log, machine_info, make_parser, markdown_table, parse_args, train_runs, write_report

from jaxrl_rewards.agents import dqn


def study(args) -> dict:
    """The three variants; ``{variant: summary}``."""
    variants = {
        "fixed 1": {"num_updates": 1},
        f"fixed {args.high}": {"num_updates": args.high},
        f"adaptive 1 -> {args.high}": {
            "num_updates": 1,
            "max_num_updates": args.high,
            "rr_check_every": args.check_every,
            "rr_tolerance": args.tolerance,
        },
    }
    if args.quick:  # the smoke test compiles the adaptive path only
        variants = {k: v for k, v in variants.items() if "max_num_updates" in v}
    out = {}
    for name, extra in variants.items():
        config = dqn.make_config(
            "CartPole-v1",
            total_timesteps=args.steps,
            learning_starts=args.learning_starts,
            num_evals=args.num_evals,
            **extra,
        )
        result = train_runs(dqn, config, args.seeds, label=name)
        returns = np.asarray(result.metrics["eval/return/task"])  # [S, num_evals]
        ready = np.arange(config.num_iterations) * config.num_envs + config.num_envs >= config.learning_starts
        if "train/updates" in result.metrics:
            updates = np.asarray(result.metrics["train/updates"])  # [S, iterations]
            switch = [int(np.argmax(u > 1)) if np.any(u > 1) else None for u in updates]
            fau = np.asarray(result.metrics["train/active_fraction"])[:, -1].tolist()
        else:
            updates = np.broadcast_to(ready * extra["num_updates"], (args.seeds, config.num_iterations))
            switch, fau = None, None
        out[name] = {
            "final_return": returns[:, -1].tolist(),
            "mean_return": returns.mean(1).tolist(),
            "gradient_steps": updates.sum(1).tolist(),
            "switch_iteration": switch,
            "final_active_fraction": fau,
        }
        log(f"{name}: final {returns[:, -1].mean():.1f}, steps {updates.sum(1).mean():.0f}")
    return out


def render(payload: dict) -> str:
    """Markdown report."""
    a = payload["args"]
    lines = [
        "# Adaptive replay ratio (DQN, CartPole-v1)",
        "",
        f"Seeds 0..{a['seeds'] - 1}, {a['steps']:,} env steps per seed, learning starts at "
        f"{a['learning_starts']:,}, {a['num_evals']} greedy evaluations; adaptive: checks every "
        f"{a['check_every']} iterations, tolerance {a['tolerance']}.",
        "",
    ]
    lines += markdown_table(
        ["variant", "final return", "mean return over evals", "gradient steps", "switch iteration per seed"],
        [
            [
                n,
                f"{np.mean(v['final_return']):.1f}",
                f"{np.mean(v['mean_return']):.1f}",
                f"{np.mean(v['gradient_steps']):,.0f}",
                v["switch_iteration"] if v["switch_iteration"] is not None else "-",
            ]
            for n, v in payload["results"].items()
        ],
    )
    lines += ["", f"Wall time {payload['wall_s']:.0f} s on {payload['machine'].get('cpu_count')} CPUs (shared)."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the study; write ``replay_ratio.{json,md}`` to ``--out``."""
    parser = make_parser("replay_ratio", __doc__)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--learning-starts", type=int, default=1_000)
    parser.add_argument("--num-evals", type=int, default=10)
    parser.add_argument("--high", type=int, default=4)
    parser.add_argument("--check-every", type=int, default=100)
    parser.add_argument("--tolerance", type=float, default=0.02)
    args = parse_args(parser, argv)
    if args.quick:
        args.seeds, args.steps, args.learning_starts, args.num_evals, args.check_every = 1, 400, 100, 2, 5
    start = time.time()
    payload = {"args": args_record(args), "results": study(args)}
    payload["wall_s"] = time.time() - start
    payload["machine"] = machine_info()
    write_report(args.out, "replay_ratio", payload, render(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
