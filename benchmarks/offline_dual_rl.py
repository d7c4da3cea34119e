"""Offline dual RL on a slippery grid: ReCOIL imitation and f-DVL offline RL against behaviour
cloning, from expert + random datasets (``core.dataset``, ``agents.dual_rl``).

Setup: ``SparseGridWorld-v0`` (8x8, start top-left, goal bottom-right, ``slip_prob`` 0.3, 100-step
limit). The expert is the exact optimal policy (value iteration, γ = 0.95). Per seed a fresh
dataset: ``--expert-steps`` transitions of the expert (4 envs) + ``--random-steps`` transitions of
a uniform random policy (64 envs), then every learner with that seed:

* ``bc_expert``: BC on the expert part only (the upper reference);
* ``bc_mix``: BC on the whole mix (no labels, no rewards);
* ``recoil``: ReCOIL with the expert part as ``d^E`` and the whole mix as ``d^S`` (no rewards);
* ``fdvl``: f-DVL (χ²) on the whole mix with its rewards.

Reported: the success rate (fraction of 256 greedy evaluation episodes that reach the goal in
100 steps) per learner, mean and per seed, for every random-data size in ``--random-steps``.

    python benchmarks/offline_dual_rl.py            # full run (~3 min on 2 cores)
    python benchmarks/offline_dual_rl.py --quick    # smoke test
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

import jax
import numpy as np
from harness import args_record, log, machine_info, make_parser, markdown_table, parse_args, write_report

from jaxrl_rewards.agents import dual_rl
from jaxrl_rewards.agents.offline_data import random_policy, tabular_policy
from jaxrl_rewards.analysis.reward_free import value_iteration
from jaxrl_rewards.core import dataset as ds
from jaxrl_rewards.core.rollout import evaluate
from jaxrl_rewards.envs import make

LEARNERS = ("bc_expert", "bc_mix", "recoil", "fdvl")


def run_seed(env, params, expert_actions, config, seed: int, expert_steps: int, random_steps: int) -> dict:
    """Collect one dataset and train every learner on it; success rates per learner."""
    key = jax.random.key(seed)
    k_exp, k_rand, k_learn, k_eval = jax.random.split(key, 4)
    expert = ds.collect(env, params, tabular_policy(expert_actions), k_exp, 4, max(expert_steps // 4, 1), source=0)
    noise = ds.collect(env, params, random_policy(4), k_rand, 64, max(random_steps // 64, 1), source=1)
    mixed = ds.concatenate(expert, noise)
    results = {
        "bc_expert": dual_rl.train_bc(config, expert, k_learn),
        "bc_mix": dual_rl.train_bc(config, mixed, k_learn),
        "recoil": dual_rl.train_recoil(config, expert, mixed, k_learn),
        "fdvl": dual_rl.train_fdvl(config, mixed, k_learn),
    }
    out = {}
    for name, result in results.items():
        policy = dual_rl.greedy_policy(config, result)
        out[name] = float(evaluate(env, params, policy, k_eval, 256, 100)["return/task"])
    out["expert_goal_transitions"] = int(expert.reward.sum())
    out["random_goal_transitions"] = int(noise.reward.sum())
    return out


def render(payload: dict) -> str:
    """Markdown report."""
    a = payload["args"]
    lines = [
        "# Offline dual RL: ReCOIL and f-DVL vs behaviour cloning",
        "",
        f"SparseGridWorld-v0 8x8, slip {a['slip']}, 100-step limit; expert = exact optimal policy. "
        f"Per seed ({a['seeds']} seeds, 0..{a['seeds'] - 1}) a fresh dataset of {a['expert_steps']} expert "
        f"transitions + N random ones; each learner {a['updates']} updates of batch {a['batch_size']}. "
        "Success = fraction of 256 greedy episodes reaching the goal within 100 steps "
        f"(expert {payload['expert_success']:.2f}, random policy {payload['random_success']:.2f}).",
        "",
    ]
    rows = []
    for setting in payload["settings"]:
        rows.append(
            [setting["random_steps"]]
            + [f"{setting['mean'][n]:.2f} ({', '.join(f'{v:.2f}' for v in setting['per_seed'][n])})" for n in LEARNERS]
        )
    lines += markdown_table(["random transitions", *LEARNERS], rows)
    lines += [
        "",
        "bc_expert uses the expert part only; bc_mix, recoil (d^E = expert part, d^S = whole mix, no rewards) and "
        "fdvl (whole mix with rewards) see the same mix.",
        "",
        f"Wall time {payload['wall_s']:.0f} s. Machine: {payload['machine'].get('cpu_count')} CPUs.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every setting; write ``offline_dual_rl.{json,md}`` to ``--out``."""
    parser = make_parser("offline_dual_rl", __doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--expert-steps", type=int, default=100)
    parser.add_argument("--random-steps", type=int, nargs="+", default=[1600, 6400])
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--slip", type=float, default=0.3)
    args = parse_args(parser, argv)
    if args.quick:
        args.seeds, args.random_steps, args.updates, args.batch_size = 1, [640], 50, 32
    start = time.time()
    env, params = make("SparseGridWorld-v0")
    params = params.replace(slip_prob=args.slip)
    mdp = env.tabular_mdp(params)
    _, q = value_iteration(mdp.transitions, mdp.rewards, 0.95, mdp.terminal)
    expert_actions = q.argmax(-1)
    config = dual_rl.make_config(4, num_updates=args.updates, batch_size=args.batch_size)
    eval_key = jax.random.key(12345)
    expert_success = float(evaluate(env, params, tabular_policy(expert_actions), eval_key, 256, 100)["return/task"])
    random_success = float(evaluate(env, params, random_policy(4), eval_key, 256, 100)["return/task"])
    settings = []
    for random_steps in args.random_steps:
        per_seed = {n: [] for n in LEARNERS}
        for seed in range(args.seeds):
            res = run_seed(env, params, expert_actions, config, seed, args.expert_steps, random_steps)
            for n in LEARNERS:
                per_seed[n].append(res[n])
            log(f"random {random_steps} seed {seed}: " + ", ".join(f"{n} {res[n]:.2f}" for n in LEARNERS))
        settings.append(
            {
                "random_steps": random_steps,
                "per_seed": per_seed,
                "mean": {n: float(np.mean(v)) for n, v in per_seed.items()},
            }
        )
    payload = {
        "args": args_record(args),
        "expert_success": expert_success,
        "random_success": random_success,
        "settings": settings,
        "wall_s": time.time() - start,
        "machine": machine_info(),
    }
    write_report(args.out, "offline_dual_rl", payload, render(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
