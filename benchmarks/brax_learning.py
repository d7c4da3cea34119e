"""Brax learns visibly (issue 18): PPO and SAC on InvertedPendulum-brax, 2 shared CPU cores.

Env: ``InvertedPendulum-brax`` through the env adapter (``envs/brax_adapter.py``), episodes
capped at ``--cap`` steps (default 200). The reward is +1 per step alive, so the maximum
return is the cap. Backends, random-action env-steps/s for 32 envs under ``vmap`` in one
jitted ``lax.scan`` on this (loaded) CPU: spring ~76k, mjx ~52k, generalized ~38k,
positional ~27k. PPO uses ``spring`` (fastest; PPO learns it). SAC uses ``mjx``: in the
short experiments SAC did not learn the spring pendulum under any setting tried (lr, initial
alpha, tau, gamma, update ratio, network size, fixed observation scaling: eval returns swung
between 10 and 190, never held), while on mjx the config below reached 200 on both seeds tried
(lr 3e-4 did not, within 30k steps). SAC is bound by its gradient updates, so the slower
physics costs it little.

Pass criterion (stated before the run): per agent, the mean over seeds of the final greedy
evaluation return is >= 0.9 x cap. Each agent is also evaluated before training (untrained
policy, same evaluation), so the curve starts from where learning starts.

Configs (found by short experiments, see the report):

* PPO: 64 envs x 32 steps, 4 epochs x 8 minibatches, lr 3e-4 (annealed), gamma 0.99, no
  entropy bonus, running observation normalisation and return-based reward normalisation
  (``normalize_rewards``), 204,800 steps.
* SAC: 8 envs, 4 gradient updates per iteration (0.5 updates per env step), batch 128,
  64x64 networks, lr 1e-3, learning starts at 2,000 steps, 40,000 steps.

    python benchmarks/brax_learning.py            # full run (a few minutes on 2 shared cores)
    python benchmarks/brax_learning.py --quick    # smoke test, tiny sizes, temp dir
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from harness import args_record, log, machine_info, make_parser, markdown_table, parse_args, train_runs, write_report

from jaxrl_rewards.agents import ppo, sac
from jaxrl_rewards.envs import make
from jaxrl_rewards.transforms.basic import normalize_rewards

ENV = "InvertedPendulum-brax"
#: brax physics backend per agent (see the module docstring)
BACKENDS = {"ppo": "spring", "sac": "mjx"}
#: the learning configurations (on top of each agent's defaults)
PPO_OPTIONS: dict[str, Any] = {
    "total_timesteps": 204_800,
    "num_envs": 64,
    "num_steps": 32,
    "update_epochs": 4,
    "num_minibatches": 8,
    "learning_rate": 3e-4,
    "gamma": 0.99,
    "ent_coef": 0.0,
    "normalize_obs": True,
    "num_evals": 10,
}
SAC_OPTIONS: dict[str, Any] = {
    "total_timesteps": 40_000,
    "num_envs": 8,
    "num_updates": 4,
    "batch_size": 128,
    "hidden_sizes": (64, 64),
    "learning_rate": 1e-3,
    "learning_starts": 2_000,
    "buffer_size": 100_000,
    "num_evals": 10,
}
AGENTS = {"ppo": (ppo, PPO_OPTIONS), "sac": (sac, SAC_OPTIONS)}
_TINY = {"hidden_sizes": (16,), "num_evals": 2, "eval_episodes": 2}
QUICK = {
    "ppo": {"total_timesteps": 256, "num_envs": 4, "num_steps": 16, "update_epochs": 1, "num_minibatches": 1, **_TINY},
    "sac": {"total_timesteps": 32, "num_envs": 2, "learning_starts": 8, "batch_size": 8, "num_updates": 1, **_TINY},
}
#: fraction of the maximum return (the cap) the final mean evaluation must reach
PASS_FRACTION = 0.9


def make_agent_config(name: str, cap: int, quick: bool) -> Any:
    """The agent's config on the capped spring InvertedPendulum (episodes and evaluations ``cap`` steps)."""
    agent, options = AGENTS[name]
    options = {**options, **(QUICK[name] if quick else {})}
    if name == "ppo":
        options["transform"] = normalize_rewards()
    # --quick: the spring backend for both agents (the cheapest compile); a smoke test, not a result
    env, params = make(ENV, backend="spring" if quick else BACKENDS[name], max_steps_in_episode=cap)
    return agent.make_config(env, params, env_name=ENV, eval_max_steps=cap, **options)


def untrained_returns(agent: Any, config: Any, seeds: int) -> np.ndarray:
    """Greedy evaluation return ``[S]`` of each seed's freshly initialised policy (seeds as the runner's)."""
    keys = jax.vmap(jax.random.key)(np.arange(seeds, dtype=np.uint32))
    fn = jax.jit(jax.vmap(lambda k: agent.evaluate_policy(config, agent.init(config, k), jax.random.fold_in(k, 7))))
    return np.asarray(fn(keys)["return/task"])


def run_agent(name: str, args) -> dict[str, Any]:
    """Train one agent on ``args.seeds`` seeds; its curves, timings and pass/fail."""
    agent = AGENTS[name][0]
    config = make_agent_config(name, args.cap, args.quick)
    log(
        f"{name}: {config.trained_timesteps:,} steps x {args.seeds} seeds on {ENV} "
        f"({config.env.backend}, cap {args.cap})"
    )
    start = time.perf_counter()
    # the untrained evaluation is one more brax compile (~20 s here): --quick leaves it out (NaN)
    before = np.full(args.seeds, np.nan) if args.quick else untrained_returns(agent, config, args.seeds)
    before_s = time.perf_counter() - start
    result = train_runs(agent, config, args.seeds, label=name)
    curves = result.metrics["eval/return/task"]  # [S, num_evals]
    segments = curves.shape[1]
    segment_s = result.run_s / (segments - 1) if segments > 1 else 0.0
    final = curves[:, -1]
    threshold = PASS_FRACTION * args.cap
    entry = {
        "backend": config.env.backend,
        "timesteps": config.trained_timesteps,
        "seeds": result.seeds,
        "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in {**AGENTS[name][1]}.items()},
        "untrained_returns": before.tolist(),
        "eval_timesteps": [0.0, *result.metrics["eval/timesteps"][0].tolist()],
        "eval_curves": [[float(b), *c] for b, c in zip(before.tolist(), curves.tolist(), strict=True)],
        "eval_curve_mean": [float(before.mean()), *curves.mean(0).tolist()],
        "first_eval_mean": float(curves[:, 0].mean()),
        "final_returns": final.tolist(),
        "final_mean": float(final.mean()),
        "final_std": float(final.std()),
        "untrained_eval_s": before_s,
        "first_segment_s": result.compile_s,
        "compile_s_est": max(result.compile_s - segment_s, 0.0),
        "run_s": result.run_s,
        "wall_s": result.total_s,
        "steps_per_s": result.steps_per_second,
        "threshold": threshold,
        "pass": bool(final.mean() >= threshold),
    }
    log(
        f"{name}: untrained {before.mean():.0f}, final {np.round(final, 0)} mean {final.mean():.1f} "
        f"pass={entry['pass']} ({result.total_s:.0f}s, first segment {result.compile_s:.0f}s)"
    )
    return entry


def render(payload: dict[str, Any]) -> str:
    """Markdown report."""
    a = payload["args"]
    cap = a["cap"]
    lines = [
        "# Brax learns visibly: PPO and SAC on InvertedPendulum-brax (issue 18)",
        "",
        f"Env `{ENV}` through the brax adapter (PPO: `{BACKENDS['ppo']}` backend, SAC: `{BACKENDS['sac']}`; "
        f"why: `benchmarks/brax_learning.py` docstring), episodes capped at {cap} steps "
        f"(+1 per step alive: max return {cap}). Seeds {a['seeds']} per agent (0..{a['seeds'] - 1}). "
        f"Pass criterion, stated up front: mean final greedy evaluation return >= {PASS_FRACTION} x {cap} = "
        f"{PASS_FRACTION * cap:.0f}. Evaluation: deterministic policy, {payload['eval_episodes']} episodes.",
        "",
    ]
    rows = []
    for name, e in payload["agents"].items():
        rows.append(
            [
                name.upper(),
                e["backend"],
                f"{e['timesteps']:,}",
                f"{np.mean(e['untrained_returns']):.0f}",
                f"{e['first_eval_mean']:.0f}",
                ", ".join(f"{x:.0f}" for x in e["final_returns"]),
                f"{e['final_mean']:.1f}",
                f"{e['wall_s']:.0f} ({e['compile_s_est']:.0f})",
                "yes" if e["pass"] else "NO",
            ]
        )
    lines += markdown_table(
        [
            "agent",
            "backend",
            "env steps",
            "untrained",
            "first eval",
            "final per seed",
            "final mean",
            "wall s (compile est.)",
            "pass",
        ],
        rows,
        "llrrrlrrl",
    )
    lines += ["", "Mean evaluation curve (step 0 = untrained policy):", ""]
    for name, e in payload["agents"].items():
        points = ", ".join(
            f"{t / 1000:.0f}k: {r:.0f}" for t, r in zip(e["eval_timesteps"], e["eval_curve_mean"], strict=True)
        )
        lines.append(f"- {name.upper()}: {points}")
    lines += ["", "Configs (on top of each agent's defaults):", ""]
    for name, e in payload["agents"].items():
        extra = " + `normalize_rewards()` transform" if name == "ppo" else ""
        lines.append(f"- {name.upper()}: `{e['options']}`{extra}")
    lines += [
        "",
        "Command: `python benchmarks/brax_learning.py`"
        + (" (--quick)" if a["quick"] else "")
        + f" (total {payload['wall_s']:.0f} s). Machine: 2 CPU cores shared with other jobs (timings noisy; "
        "`compile est.` = first segment minus one later segment).",
        "",
        "Reading: " + payload["reading"],
    ]
    return "\n".join(lines)


def reading(agents: dict[str, Any], cap: int) -> str:
    """A one-paragraph plain reading of the results (filled from the numbers)."""
    parts = []
    for name, e in agents.items():
        verdict = "reaches" if e["pass"] else "does not reach"
        parts.append(
            f"{name.upper()} goes from {np.mean(e['untrained_returns']):.0f} (untrained) to a final "
            f"{e['final_mean']:.0f} ± {e['final_std']:.0f} of {cap} after {e['timesteps']:,} steps and {verdict} "
            f"the {PASS_FRACTION * cap:.0f} bar (per seed {', '.join(f'{x:.0f}' for x in e['final_returns'])})"
        )
        curve = np.asarray(e["eval_curve_mean"][1:])
        above = np.flatnonzero(curve >= PASS_FRACTION * cap)
        if above.size:
            first, low = int(above[0]), float(curve[above[0] :].min())
            parts[-1] += f"; its mean curve first reaches the bar at {e['eval_timesteps'][first + 1]:,.0f} steps" + (
                f" and dips to {low:.0f} later" if low < PASS_FRACTION * cap else " and stays above it"
            )
    return (
        "; ".join(parts)
        + ". The configurations were chosen by short experiments on these seeds (PPO: this config on seeds 0-2; "
        "SAC: this config on two seeds in a sweep), so the seeds are not held out. SAC on the spring backend "
        "swung between 10 and 190 (never held) in every setting tried, which is why SAC runs on mjx."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Train PPO and SAC; write ``brax_learning.{json,md}`` to ``--out``."""
    parser = make_parser("brax_learning", __doc__)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--cap", type=int, default=200, help="episode (and evaluation) step cap")
    parser.add_argument("--agents", nargs="*", default=list(AGENTS), choices=list(AGENTS))
    args = parse_args(parser, argv)
    if args.quick:
        args.cap, args.seeds = 16, 1
    start = time.perf_counter()
    agents = {name: run_agent(name, args) for name in args.agents}
    payload = {
        "args": args_record(args),
        "env": ENV,
        "backends": BACKENDS,
        "cap": args.cap,
        "eval_episodes": int(make_agent_config(args.agents[0], args.cap, args.quick).eval_episodes),
        "criterion": f"mean final greedy eval return >= {PASS_FRACTION} x cap",
        "agents": agents,
        "pass": all(e["pass"] for e in agents.values()),
        "reading": reading(agents, args.cap),
        "wall_s": time.perf_counter() - start,
        "machine": machine_info(),
    }
    write_report(args.out, "brax_learning", payload, render(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
