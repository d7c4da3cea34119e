"""Learned PPO objective (LPO / TA-LPO) on CartPole: evolve the drift function with OpenAI-ES
(``evosax``), inner PPO runs vmapped over the population, then compare the discovered objective
with PPO's clip on held-out seeds, on CartPole and on Acrobot (not trained on).

Inner runs: CartPole-v1, ``--inner-steps`` environment steps (8 envs x 64 steps per iteration,
otherwise the PPO defaults), ``--evals`` greedy evaluations; fitness = mean evaluation
return over the run (area under the curve), ``--seeds-per-member`` seeds per member. ES:
``--generations`` x population ``--population``, σ 0.1, Adam 0.05, seed 0. Held-out: seeds
1000..1000+S-1, same budget, clip (ε 0.2) vs the discovered ES mean, on CartPole-v1 and
Acrobot-v1. The discovered objective is saved to ``benchmarks/results/lpo_objective.{npz,json}``.

    python benchmarks/lpo.py            # full run (~5 min on 2 cores)
    python benchmarks/lpo.py --quick    # smoke test
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

import jax
import numpy as np
from harness import args_record, log, machine_info, make_parser, markdown_table, parse_args, write_report

from jaxrl_rewards.agents import lpo, ppo
from jaxrl_rewards.agents.drift import init_drift


def inner_config(env: str, steps: int, evals: int, **extra) -> ppo.PPOConfig:
    """The inner PPO run of the study."""
    return ppo.make_config(env, total_timesteps=steps, num_envs=8, num_steps=64, num_evals=evals, **extra)


def held_out(env: str, args, theta) -> dict:
    """Clip vs drift on held-out seeds: mean eval return over the run and final eval return."""
    keys = jax.random.split(jax.random.key(1000), args.held_out)
    out = {}
    for name, extra in (("clip", {}), ("discovered", {"objective": "drift", "drift_params": theta})):
        config = inner_config(env, args.inner_steps, args.evals, **extra)
        _, metrics = jax.jit(jax.vmap(lambda k, c=config: ppo.train(c, k)))(keys)
        curve = np.asarray(metrics["eval/return/task"])  # [S, evals]
        out[name] = {"auc": curve.mean(1).tolist(), "final": curve[:, -1].tolist()}
        log(f"{env} {name}: auc {curve.mean():.1f}, final {curve[:, -1].mean():.1f}")
    return out


def render(payload: dict) -> str:
    """Markdown report."""
    a = payload["args"]
    lines = [
        "# Learned PPO objective (LPO) with evosax OpenAI-ES",
        "",
        f"ES on CartPole-v1: {a['generations']} generations x population {a['population']}, inner runs of "
        f"{a['inner_steps']:,} steps ({a['evals']} greedy evaluations; fitness = mean evaluation return), "
        f"{a['seeds_per_member']} seed(s) per member. Population mean fitness per generation: "
        + ", ".join(f"{v:.0f}" for v in payload["mean_fitness"])
        + f". ES wall time {payload['es_s']:.0f} s.",
        "",
        f"Held-out seeds 1000..{1000 + a['held_out'] - 1}, same budget:",
        "",
    ]
    rows = []
    for env, res in payload["held_out"].items():
        for name, v in res.items():
            rows.append([env, name, f"{np.mean(v['auc']):.1f} ± {np.std(v['auc']):.1f}", f"{np.mean(v['final']):.1f}"])
    lines += markdown_table(["env", "objective", "mean eval return over the run", "final eval return"], rows)
    lines += ["", "Acrobot-v1 was not used by the ES (the objective is applied unchanged)."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Evolve, save the objective, compare on held-out seeds; write ``lpo.{json,md}``."""
    parser = make_parser("lpo", __doc__)
    parser.add_argument("--generations", type=int, default=12)
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--seeds-per-member", type=int, default=2)
    parser.add_argument("--inner-steps", type=int, default=20480)
    parser.add_argument("--evals", type=int, default=4)
    parser.add_argument("--held-out", type=int, default=8)
    args = parse_args(parser, argv)
    if args.quick:
        args.generations, args.population, args.seeds_per_member = 1, 2, 1
        args.inner_steps, args.evals, args.held_out = 1024, 1, 2
    start = time.time()
    config = inner_config("CartPole-v1", args.inner_steps, args.evals)
    result = lpo.evolve(
        config,
        jax.random.key(0),
        args.generations,
        args.population,
        seeds_per_member=args.seeds_per_member,
        init=init_drift(jax.random.key(0)),
        log=log,
    )
    es_s = time.time() - start
    saved = lpo.save_objective(result.drift_params, args.out / "lpo_objective", metadata=args_record(args))
    theta = lpo.load_objective(saved)  # reuse the saved objective, as a user would
    payload = {
        "args": args_record(args),
        "mean_fitness": np.asarray(result.mean_fitness).tolist(),
        "fitness": np.asarray(result.fitness).tolist(),
        "es_s": es_s,
        "held_out": {env: held_out(env, args, theta) for env in ("CartPole-v1", "Acrobot-v1")},
        "wall_s": time.time() - start,
        "machine": machine_info(),
    }
    write_report(args.out, "lpo", payload, render(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
