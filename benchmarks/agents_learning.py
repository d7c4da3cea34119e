"""Learning benchmark of the value-based and off-policy agents (issue 8's "must show" items).

Run from the repository root with the main venv:

    python benchmarks/agents_learning.py                    # every experiment (~20 min, 2 shared cores)
    python benchmarks/agents_learning.py --only dqn_cartpole pqn_cartpole
    python benchmarks/agents_learning.py --force            # rerun finished experiments
    python benchmarks/agents_learning.py --quick            # smoke test, tiny sizes, temp dir

Each experiment trains all its seeds in one compiled call per segment
(``jaxrl_rewards.experiments.runner.train_seeds``: ``jit(vmap(train_segment))``), evaluation inside.
Results go to ``benchmarks/results/agents_learning.json`` (saved after each experiment; an
interrupted run resumes) and ``agents_learning.md``.

Experiments and pass criteria (issue 8):

* ``dqn_cartpole`` / ``pqn_cartpole``: preset config, 500k steps, 8 seeds; final greedy
  return >= 450 on at least 6 of 8 seeds.
* ``sac_pendulum``: preset config, 50k steps, 4 seeds; mean final return > -250.
* ``dqn_breakout`` / ``pqn_breakout``: Breakout-MinAtar, 2 seeds, compared with a uniformly
  random policy evaluated the same way ("clearly above random").
* ``ppo_brax_pendulum`` / ``sac_brax_pendulum``: InvertedPendulum-brax (200-step episodes) through
  the env adapter, 2 seeds, with the learning configs of ``benchmarks/brax_learning.py`` (PPO on the
  spring backend, SAC on mjx; that benchmark is where brax learning is shown, issue 18); reported,
  "pass" = the final return at least doubles the first evaluation's. (The committed
  ``agents_learning`` results of these two predate the configs: rerun with ``--only ... --force``.)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from harness import log, machine_info, make_parser, parse_args, read_json, train_runs, write_report

from jaxrl_rewards.agents import dqn, ppo, pqn, sac
from jaxrl_rewards.core.rollout import evaluate
from jaxrl_rewards.envs import make
from jaxrl_rewards.transforms.basic import normalize_rewards
from jaxrl_rewards.transforms.core import RewardTransform

#: name -> (agent module, env, seeds, overrides, criterion)
EXPERIMENTS: dict[str, tuple[Any, str, int, dict[str, Any], str]] = {
    "dqn_cartpole": (dqn, "CartPole-v1", 8, {"total_timesteps": 500_000}, "cartpole"),
    "pqn_cartpole": (pqn, "CartPole-v1", 8, {"total_timesteps": 500_000}, "cartpole"),
    "sac_pendulum": (sac, "Pendulum-v1", 4, {"total_timesteps": 50_000}, "pendulum"),
    "pqn_breakout": (pqn, "Breakout-MinAtar", 2, {"total_timesteps": 1_000_000}, "random"),
    "dqn_breakout": (dqn, "Breakout-MinAtar", 2, {"total_timesteps": 300_000}, "random"),
    # brax through the env adapter, episodes capped at 200 steps; the learning configs of
    # benchmarks/brax_learning.py (PPO on spring, SAC on mjx: SAC did not learn the spring pendulum)
    "ppo_brax_pendulum": (
        ppo,
        "InvertedPendulum-brax",
        2,
        {
            "total_timesteps": 204_800,
            "num_envs": 64,
            "num_steps": 32,
            "num_minibatches": 8,
            "learning_rate": 3e-4,
            "ent_coef": 0.0,
            "normalize_obs": True,
            "transform": normalize_rewards(),
            "eval_max_steps": 200,
        },
        "improves",
    ),
    "sac_brax_pendulum": (
        sac,
        "InvertedPendulum-brax",
        2,
        {
            "total_timesteps": 40_000,
            "num_envs": 8,
            "num_updates": 4,
            "batch_size": 128,
            "hidden_sizes": (64, 64),
            "learning_starts": 2_000,
            "buffer_size": 100_000,
            "eval_max_steps": 200,
        },
        "improves",
    ),
}
#: brax env options per experiment (``make(env, **options)``)
BRAX_OPTIONS = {
    "ppo_brax_pendulum": {"backend": "spring", "max_steps_in_episode": 200},
    "sac_brax_pendulum": {"backend": "mjx", "max_steps_in_episode": 200},
}
_TINY = {"hidden_sizes": (16,), "num_evals": 1, "eval_episodes": 1, "eval_max_steps": 16}
QUICK = {
    "dqn": {"total_timesteps": 128, "learning_starts": 32, "num_envs": 2, "batch_size": 8, **_TINY},
    "pqn": {"total_timesteps": 128, "num_envs": 4, "num_steps": 8, "num_minibatches": 1, "update_epochs": 1, **_TINY},
    "sac": {"total_timesteps": 64, "learning_starts": 16, "num_envs": 2, "batch_size": 8, **_TINY},
    "ppo": {"total_timesteps": 128, "num_envs": 4, "num_steps": 16, **_TINY},
}
#: experiments a ``--quick`` run trains (one compile)
QUICK_EXPERIMENTS = ("pqn_cartpole",)


def random_return(config: Any, episodes: int = 64) -> float:
    """Mean return of a uniformly random policy, evaluated like the agents' greedy policies."""
    n = int(config.env.action_space(config.env_params).n)

    def policy(key, obs):
        return jax.random.randint(key, jax.tree.leaves(obs)[0].shape[:1], 0, n), None

    run = jax.jit(lambda k: evaluate(config.env, config.env_params, policy, k, episodes, config.eval_max_steps))
    return float(run(jax.random.key(123))["return/task"])


def _record(value: Any) -> Any:
    """An override as JSON: a reward transform by its class name (tuples become lists when the
    report is written)."""
    return type(value).__name__ if isinstance(value, RewardTransform) else value


def run_experiment(name: str, quick: bool) -> dict[str, Any]:
    """Train one experiment's seeds through the runner and apply its pass criterion."""
    agent, env, seeds, overrides, criterion = EXPERIMENTS[name]
    short = agent.__name__.rsplit(".", 1)[-1]
    overrides = {**overrides, **(QUICK[short] if quick else {})}
    if env.endswith("-brax"):
        env_obj, params = make(env, **BRAX_OPTIONS[name])
        config = agent.make_config(env_obj, params, env_name=env, **overrides)
    else:
        config = agent.make_config(env, **overrides)
    log(f"{name}: {short} on {env}, {config.trained_timesteps} steps x {seeds} seeds")
    result = train_runs(agent, config, 2 if quick else seeds, label=name)
    final = result.final_eval_returns()
    entry: dict[str, Any] = {
        "agent": short,
        "env": env,
        "seeds": len(result.seeds),
        "timesteps": config.trained_timesteps,
        "overrides": {k: _record(v) for k, v in overrides.items()},
        "final_returns": [float(x) for x in final],
        "mean": float(np.mean(final)),
        "std": float(np.std(final)),
        "eval_curve_mean": [float(x) for x in result.metrics["eval/return/task"].mean(0)],
        "eval_timesteps": [float(x) for x in result.metrics["eval/timesteps"][0]],
        "wall_s": result.total_s,
        "steps_per_s": result.steps_per_second,
    }
    if criterion == "cartpole":
        entry["seeds_at_least_450"] = int((final >= 450).sum())
        entry["pass"] = entry["seeds_at_least_450"] >= 6
        entry["criterion"] = "final return >= 450 on >= 6 of 8 seeds"
    elif criterion == "pendulum":
        entry["pass"] = entry["mean"] > -250
        entry["criterion"] = "mean final return > -250"
    elif criterion == "improves":
        entry["pass"] = entry["mean"] >= 2 * max(entry["eval_curve_mean"][0], 1.0)
        entry["criterion"] = "final mean >= 2x the first evaluation's (brax smoke benchmark)"
    else:
        entry["random_return"] = random_return(config)
        entry["pass"] = bool(np.all(final > 2 * max(entry["random_return"], 0.1)))
        entry["criterion"] = "every seed's final return > 2x the random policy's"
    log(f"{name}: final {np.round(final, 1)} mean {entry['mean']:.1f} pass={entry['pass']} ({result.total_s:.0f}s)")
    return entry


def markdown(results: dict[str, Any]) -> str:
    """The markdown report of every finished experiment."""
    lines = [
        "# Agents learning benchmark (issue 8)",
        "",
        "Machine: 2 CPU cores shared with other jobs (timings are noisy; returns are not affected).",
        f"Generated by `python benchmarks/agents_learning.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "Final return = greedy-policy evaluation (8 episodes) at the end of training, one value per seed.",
        "",
        "| experiment | agent | env | steps | seeds | final return per seed | mean ± std | criterion | pass |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, e in results.items():
        per_seed = ", ".join(f"{x:.0f}" for x in e["final_returns"])
        crit = e["criterion"] + (f" (random: {e['random_return']:.2f})" if "random_return" in e else "")
        lines.append(
            f"| {name} | {e['agent']} | {e['env']} | {e['timesteps']:,} | {e['seeds']} | {per_seed} | "
            f"{e['mean']:.1f} ± {e['std']:.1f} | {crit} | {'yes' if e['pass'] else 'NO'} |"
        )
    lines += ["", "Evaluation curves (mean over seeds):", ""]
    for name, e in results.items():
        curve = ", ".join(f"{x:.0f}" for x in e["eval_curve_mean"])
        lines.append(f"- {name}: {curve}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the experiments asked for (resumable); write ``agents_learning.{json,md}`` to ``--out``."""
    parser = make_parser("agents_learning", __doc__)
    parser.add_argument("--only", nargs="*", default=None, choices=sorted(EXPERIMENTS))
    parser.add_argument("--force", action="store_true")
    args = parse_args(parser, argv)
    json_path = args.out / "agents_learning.json"
    results = read_json(json_path, {}).get("experiments", {})
    for name in args.only or (QUICK_EXPERIMENTS if args.quick else list(EXPERIMENTS)):
        if name in results and not args.force:
            log(f"{name}: done already (use --force to rerun)")
            continue
        results[name] = run_experiment(name, args.quick)
        payload = {"machine": machine_info(), "note": "2 CPU cores shared with other jobs", "experiments": results}
        write_report(args.out, "agents_learning", payload, markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
