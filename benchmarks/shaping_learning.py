"""Shaping learning benchmark on the sparse-reward grid world (``SparseGridWorld-v0``).

Variants (PPO, same config, ``--seeds`` seeds each, trained through the library's runner):

* ``none``: the sparse task reward only;
* ``distance``: potential shaping with ``Phi(s) = -manhattan(s, goal) / (size - 1)`` (helpful);
* ``misleading``: potential shaping with ``Phi(s) = +coef * manhattan(s, goal) / (size - 1)``
  (points away from the goal);
* ``bilevel_misleading``: the misleading potential under ``bilevel_shaping`` (learned weight);
* ``bilevel_distance``: the helpful potential under ``bilevel_shaping``.

Reported: steps until the greedy evaluation return first reaches ``--threshold`` (per seed;
runs that never reach it count as the budget, and are listed), the ratio none/distance, final
returns, and the learned bilevel weight. Writes ``benchmarks/results/shaping_learning.json``
and ``.md`` atomically.

    python benchmarks/shaping_learning.py                 # full run
    python benchmarks/shaping_learning.py --quick         # smoke test (tiny, temp dir)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np
from harness import (
    QUICK_PPO,
    args_record,
    loadavg,
    log,
    machine_info,
    make_parser,
    parse_args,
    publish,
    train_runs,
)

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.envs import make
from jaxrl_rewards.transforms.shaping import bilevel_shaping, potential_shaping

#: variants a ``--quick`` run trains (two compiles)
QUICK_VARIANTS = ("none", "bilevel_misleading")


def manhattan_potential(size: int, sign: float, coef: float):
    """``Phi(obs) = sign * coef * manhattan(cell, goal) / (size - 1)`` for one-hot grid obs."""

    def phi(obs):
        idx = jnp.argmax(obs)
        row, col = idx // size, idx % size
        return sign * coef * ((size - 1 - row) + (size - 1 - col)) / (size - 1)

    return phi


def variants(size: int, mislead_coef: float, bilevel_lr: float) -> dict:
    """Variant name -> transform (``None``: the sparse task reward only)."""
    helpful = manhattan_potential(size, -1.0, 1.0)
    misleading = manhattan_potential(size, +1.0, mislead_coef)
    return {
        "none": None,
        "distance": potential_shaping(helpful),
        "misleading": potential_shaping(misleading),
        "bilevel_misleading": bilevel_shaping(misleading, learning_rate=bilevel_lr),
        "bilevel_distance": bilevel_shaping(helpful, learning_rate=bilevel_lr),
    }


def steps_to_threshold(curve: np.ndarray, steps: np.ndarray, threshold: float, budget: int) -> tuple[float, bool]:
    """Steps of the first evaluation ``>= threshold`` and True, or ``(budget, False)``."""
    hit = np.nonzero(curve >= threshold)[0]
    return (float(steps[hit[0]]), True) if len(hit) else (float(budget), False)


def main(argv: Sequence[str] | None = None) -> int:
    """Train every variant; write ``shaping_learning.{json,md}`` to ``--out``."""
    parser = make_parser("shaping_learning", __doc__)
    parser.add_argument("--size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=65536)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--num-evals", type=int, default=16)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--mislead-coef", type=float, default=1.0)
    parser.add_argument("--bilevel-lr", type=float, default=4.0)
    parser.add_argument("--only", nargs="*", default=None)
    args = parse_args(parser, argv)
    if args.quick:
        args.steps, args.seeds, args.num_evals, args.size = 128, 2, 2, 5
        args.only = args.only or list(QUICK_VARIANTS)

    env, params = make("SparseGridWorld-v0", size=args.size, obs_mode="onehot")
    base = dict(
        total_timesteps=args.steps,
        num_envs=16,
        num_steps=64,
        num_minibatches=4,
        update_epochs=4,
        learning_rate=2.5e-4,
        num_evals=args.num_evals,
        eval_episodes=4,
        eval_max_steps=int(params.max_steps_in_episode),
        gamma=0.99,
        hidden_sizes=(64, 64),
    )
    if args.quick:
        base.update({**QUICK_PPO, "num_evals": args.num_evals})
    results, t_start = {}, time.time()
    for name, transform in variants(args.size, args.mislead_coef, args.bilevel_lr).items():
        if args.only and name not in args.only:
            continue
        cfg = ppo.make_config(env, params, **base, **({} if transform is None else {"transform": transform}))
        run = train_runs(ppo, cfg, args.seeds, label=name)
        metrics, wall = run.metrics, run.total_s
        ret = np.asarray(metrics["eval/return/task"])  # [S, E]
        steps = np.asarray(metrics["eval/timesteps"])[0]
        hits = [steps_to_threshold(r, steps, args.threshold, cfg.trained_timesteps) for r in ret]
        entry = {
            "wall_s": wall,
            "eval_return": ret.tolist(),
            "eval_timesteps": steps.tolist(),
            "final_return": ret[:, -1].tolist(),
            "mean_final_return": float(ret[:, -1].mean()),
            "mean_last4_return": float(ret[:, -4:].mean()),
            "steps_to_threshold": [h[0] for h in hits],
            "reached": [h[1] for h in hits],
        }
        if "transform/bilevel/weight" in metrics:
            w = np.asarray(metrics["transform/bilevel/weight"])
            entry["bilevel_weight_final"] = w[:, -1].tolist()
            entry["bilevel_weight_curve_mean"] = w.mean(0)[:: max(1, w.shape[1] // 32)].tolist()
        results[name] = entry
        log(
            f"{name}: wall {wall:.0f}s final {entry['mean_final_return']:.3f} last4 {entry['mean_last4_return']:.3f} "
            f"steps {np.mean(entry['steps_to_threshold']):.0f} reached {sum(entry['reached'])}/{args.seeds} "
            f"w {entry.get('bilevel_weight_final')}"
        )

    summary = {}
    if "none" in results and "distance" in results:
        summary["steps_ratio_none_over_distance"] = float(
            np.mean(results["none"]["steps_to_threshold"]) / np.mean(results["distance"]["steps_to_threshold"])
        )
    if "none" in results:
        ref = results["none"]["mean_last4_return"]
        for name in ("misleading", "bilevel_misleading", "bilevel_distance", "distance"):
            if name in results:
                summary[f"{name}_last4_return_over_none"] = results[name]["mean_last4_return"] / max(ref, 1e-9)
    payload = {
        "args": args_record(args),
        "ppo": {k: (list(v) if isinstance(v, tuple) else v) for k, v in base.items()},
        "summary": summary,
        "results": results,
        "machine": machine_info(loadavg_end=loadavg()),
        "total_wall_s": time.time() - t_start,
    }
    return publish(args.out, "shaping_learning", payload, render(payload))


def render(p: dict) -> str:
    """The markdown report of a ``main`` payload."""
    a = p["args"]
    lines = [
        "# Potential shaping on a sparse-reward grid (PPO)",
        "",
        f"SparseGridWorld-v0, size {a['size']} (one-hot obs, goal reward 1, 100-step limit), {a['seeds']} seeds per "
        f"variant, {a['steps']} env steps, greedy evaluation every {a['steps'] // a['num_evals']} steps. "
        f"Threshold: greedy return >= {a['threshold']}. Machine: 2 CPU cores shared with other jobs.",
        "",
        "| variant | steps to threshold (mean over seeds) | seeds reaching it | final return | mean of last 4 evals "
        "| learned weight |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in p["results"].items():
        w = r.get("bilevel_weight_final")
        lines.append(
            f"| {name} | {np.mean(r['steps_to_threshold']):.0f} | {sum(r['reached'])}/{len(r['reached'])} | "
            f"{r['mean_final_return']:.3f} | {r['mean_last4_return']:.3f} | "
            f"{'-' if w is None else f'{np.mean(w):.2f} (per seed {[round(x, 2) for x in w]})'} |"
        )
    lines += ["", "Summary:", ""]
    lines += [f"- {k}: **{v:.3f}**" for k, v in p["summary"].items()]
    lines += [
        "",
        "Unreached seeds count as the full budget in the steps mean (a lower bound on the true ratio). "
        "Reproduce: `python benchmarks/shaping_learning.py`.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
