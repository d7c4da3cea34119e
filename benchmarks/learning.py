"""Learning benchmark: the results PPO must show (CartPole-v1 and continuous Pendulum-v1).

Run from the repository root with the main venv:

    python benchmarks/learning.py                     # both experiments (~5 min on 2 CPU cores)
    python benchmarks/learning.py --only pendulum     # one experiment
    python benchmarks/learning.py --force             # rerun experiments that already finished
    python benchmarks/learning.py --quick             # smoke test: tiny sizes, written to a temp dir

Each experiment trains all its seeds through the library's runner
(``experiments.runner.train_seeds``: one compiled ``jit(vmap(train_segment))`` call per
evaluation segment, seeds ``0..S-1``); evaluation (greedy policy) runs inside those calls
``num_evals`` times. Results go to ``benchmarks/results/learning.json`` (saved
atomically after each experiment, so an interrupted run resumes: finished experiments are
skipped unless ``--force``), ``learning.md`` and ``learning_curves.png``.

Experiments:

* ``cartpole``: PPO, ``make_config("CartPole-v1")`` defaults, 500k steps, 8 seeds; reports
  the per-seed final greedy return and how many seeds reach >= 475.
* ``pendulum``: continuous PPO, ``PRESETS["Pendulum-v1"]`` plus ``PENDULUM_OVERRIDES``,
  1M steps, 4 seeds; passes when the mean final return is better than -400.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np
from harness import (
    QUICK_PPO,
    elapsed,
    log,
    machine_info,
    make_parser,
    parse_args,
    read_json,
    train_runs,
    write_figure,
    write_report,
)
from matplotlib.figure import Figure

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.transforms import normalize_rewards

#: Tuned on top of the original ``ppo.PRESETS["Pendulum-v1"]``: return-based reward normalisation
#: makes Pendulum learn within ~100k steps (without it ~600k; gamma 0.99 or lr 3e-4 were no
#: better, see benchmarks/README.md). The preset has since adopted it; it stays explicit here so
#: this benchmark keeps measuring the tuned setting if the preset changes.
PENDULUM_OVERRIDES: dict[str, Any] = {"transform": "normalize_rewards()"}

_TRANSFORMS = {"normalize_rewards()": normalize_rewards}

# --------------------------------------------------------------------------- experiments


class Experiment:
    """One learning experiment: env, seeds, config overrides, its criterion and quick sizes."""

    def __init__(
        self, name: str, env: str, seeds: int, overrides: dict[str, Any], criterion: str, quick_overrides: dict
    ):
        self.name, self.env, self.seeds = name, env, seeds
        self.overrides, self.criterion, self.quick_overrides = overrides, criterion, quick_overrides


EXPERIMENTS = {
    "cartpole": Experiment(
        "cartpole",
        "CartPole-v1",
        seeds=8,
        # 500k requested; 976 iterations of 512 steps = 499,712 steps run (16 evals x 61 iterations).
        overrides={"total_timesteps": 500_000, "num_evals": 16, "eval_episodes": 32},
        criterion="seeds with final greedy return >= 475 (out of 8)",
        quick_overrides={**QUICK_PPO, "total_timesteps": 128, "num_evals": 2},
    ),
    "pendulum": Experiment(
        "pendulum",
        "Pendulum-v1",
        seeds=4,
        overrides={"total_timesteps": 1_000_000, "num_evals": 20, "eval_episodes": 32, **PENDULUM_OVERRIDES},
        criterion="mean final greedy return over 4 seeds > -400",
        quick_overrides={**QUICK_PPO, "total_timesteps": 128, "num_evals": 2},
    ),
}


def build_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """Turn the JSON-friendly overrides (transform given by name) into ``make_config`` kwargs."""
    out = dict(overrides)
    if isinstance(out.get("transform"), str):
        out["transform"] = _TRANSFORMS[out["transform"]]()
    return out


def run_experiment(exp: Experiment, quick: bool, seed: int) -> dict[str, Any]:
    """Train ``exp`` (seeds ``seed .. seed + S - 1``) and summarise its curves and criterion."""
    overrides = {**exp.overrides, **(exp.quick_overrides if quick else {})}
    config = ppo.make_config(exp.env, **build_overrides(overrides))
    log(
        f"{exp.name}: {exp.env}, {exp.seeds} seeds x {config.trained_timesteps:,} steps "
        f"({config.num_iterations} iterations of {config.num_envs}x{config.num_steps}), through the runner"
    )
    run = train_runs(ppo, config, range(seed, seed + exp.seeds), label=exp.name)
    compile_s, run_s, metrics = run.compile_s, max(run.run_s, 1e-9), run.metrics

    evals = metrics["eval/return/task"]  # [S, num_evals]
    finals = [round(float(x), 2) for x in evals[:, -1]]
    result: dict[str, Any] = {
        "status": "done",
        "env": exp.env,
        "seeds": exp.seeds,
        "base_seed": seed,
        "quick": quick,
        "overrides": {k: (list(v) if isinstance(v, tuple) else v) for k, v in overrides.items()},
        "config": {
            k: (float(v) if isinstance(v, (float, np.floating, jax.Array)) else v)
            for k, v in (
                (f, getattr(config, f))
                for f in ppo.PPOConfig.__dataclass_fields__
                if f not in ("env", "env_params", "transform")
            )
        },
        "transform": type(config.transform).__name__,
        "timesteps_per_seed": config.trained_timesteps,
        "compile_s": round(compile_s, 2),
        "run_s": round(run_s, 2),
        "steps_per_s": round(config.trained_timesteps * exp.seeds / run_s, 1),
        "eval_timesteps": [int(x) for x in metrics["eval/timesteps"][0]],
        "eval_returns": [[round(float(x), 2) for x in row] for row in evals],
        "final_returns": finals,
        "final_return_mean": round(statistics.fmean(finals), 2),
        "final_return_std": round(statistics.pstdev(finals), 2),
        "train_episode_return": [
            [round(float(x), 2) for x in row] for row in _downsample(metrics["train/episode_return"], 200)
        ],
        "train_timesteps": [int(x) for x in _downsample(metrics["timesteps"][:1], 200)[0]],
        "nonfinite_updates": [int(x) for x in metrics["nonfinite_updates"][:, -1]],
        "criterion": exp.criterion,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if exp.name == "cartpole":
        result["seeds_ge_475"] = sum(f >= 475 for f in finals)
        result["passed"] = result["seeds_ge_475"] == exp.seeds
    else:
        result["passed"] = result["final_return_mean"] > -400
    log(f"{exp.name}: trained in {run_s:.1f}s; final returns {finals}; passed={result['passed']}")
    return result


def _downsample(x: np.ndarray, n: int) -> np.ndarray:
    """Keep at most ``n`` evenly spaced points of ``x [S, T]`` (the last one included)."""
    t = x.shape[1]
    if t <= n:
        return x
    idx = np.unique(np.linspace(0, t - 1, n).round().astype(int))
    return x[:, idx]


# --------------------------------------------------------------------------- report


def markdown(res: dict[str, Any]) -> str:
    """The markdown report of every finished experiment."""
    m = res["machine"]
    lines = [
        "## Learning",
        "",
        f"Machine: {m['cpu_count']} CPU cores, backend `{m['backend']}`, jax {m['jax']}. "
        "Each experiment trains its seeds through `experiments.runner.train_seeds` (one compiled "
        "`jit(vmap(train_segment))` call per evaluation segment); "
        "returns are of the greedy policy, evaluated inside the call.",
        "",
        "| experiment | env | seeds | steps/seed | overrides (on top of the preset) | final greedy return per seed "
        "| mean ± std | criterion | passed | wall s (compile + run) |",
        "| --- | --- | ---: | ---: | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in res["experiments"].items():
        shown = {k: v for k, v in r["overrides"].items() if k not in ("num_evals", "eval_episodes")}
        criterion = r["criterion"]
        if "seeds_ge_475" in r:
            criterion += f": **{r['seeds_ge_475']}/{r['seeds']}**"
        lines.append(
            f"| {name}{' (quick)' if r.get('quick') else ''} | {r['env']} | {r['seeds']} | "
            f"{r['timesteps_per_seed']:,} | `{json.dumps(shown)}` | "
            f"{', '.join(f'{x:.1f}' for x in r['final_returns'])} | "
            f"{r['final_return_mean']:.1f} ± {r['final_return_std']:.1f} | {criterion} | "
            f"{'yes' if r['passed'] else '**no**'} | {r['compile_s']:.0f} + {r['run_s']:.0f} |"
        )
    lines.append("")
    for name, r in res["experiments"].items():
        evals = np.asarray(r["eval_returns"])
        lines += [
            f"Eval curve, {name} (mean over seeds; min–max):",
            "",
            "| steps | " + " | ".join(f"{t // 1000}k" for t in r["eval_timesteps"]) + " |",
            "| --- |" + " ---: |" * len(r["eval_timesteps"]),
            "| mean | " + " | ".join(f"{x:.0f}" for x in evals.mean(0)) + " |",
            "| min | " + " | ".join(f"{x:.0f}" for x in evals.min(0)) + " |",
            "| max | " + " | ".join(f"{x:.0f}" for x in evals.max(0)) + " |",
            "",
        ]
    lines.append("Curves: `benchmarks/results/learning_curves.png`.")
    return "\n".join(lines)


def plot(res: dict[str, Any], path: Path) -> None:
    """Eval curves of every finished experiment (``learning_curves.png``)."""
    exps = res["experiments"]
    fig = Figure(figsize=(6 * max(len(exps), 1), 4.2))
    axes = fig.subplots(1, max(len(exps), 1), squeeze=False)
    thresholds = {"cartpole": 475.0, "pendulum": -400.0}
    for ax, (name, r) in zip(axes[0], exps.items(), strict=False):
        t = np.asarray(r["eval_timesteps"]) / 1e3
        evals = np.asarray(r["eval_returns"])
        for i, row in enumerate(evals):
            ax.plot(t, row, lw=0.8, alpha=0.5, label="per seed" if i == 0 else None)
        ax.plot(t, evals.mean(0), lw=2.5, color="k", label=f"mean of {len(evals)} seeds")
        train_t = np.asarray(r["train_timesteps"]) / 1e3
        train = np.asarray(r["train_episode_return"])
        ax.plot(train_t, train.mean(0), lw=1.2, ls=":", color="tab:gray", label="train episodes (mean)")
        if name in thresholds:
            ax.axhline(thresholds[name], color="tab:red", ls="--", lw=1, label=f"target {thresholds[name]:g}")
        ax.set_title(f"PPO {r['env']} ({r['seeds']} seeds)")
        ax.set_xlabel("environment steps per seed (k)")
        ax.set_ylabel("greedy eval return")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    write_figure(fig, path, dpi=110)


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    """Run the experiments asked for (resumable); write ``learning.{json,md}`` and the curves to ``--out``."""
    parser = make_parser("learning", __doc__)
    parser.add_argument("--only", choices=sorted(EXPERIMENTS), default=None, help="run just this experiment")
    parser.add_argument("--force", action="store_true", help="rerun experiments that already finished")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    args = parse_args(parser, argv)
    json_path = args.out / "learning.json"
    png_path = args.out / "learning_curves.png"
    res: dict[str, Any] = read_json(json_path, {"experiments": {}})
    res.setdefault("experiments", {})
    res["machine"] = machine_info()

    def save() -> None:
        # keep a stable order: cartpole, pendulum
        res["experiments"] = {k: res["experiments"][k] for k in EXPERIMENTS if k in res["experiments"]}
        write_report(args.out, "learning", res, markdown(res))
        plot(res, png_path)

    names = [args.only] if args.only else ["cartpole"] if args.quick else list(EXPERIMENTS)
    for name in names:
        done = res["experiments"].get(name, {})
        if done.get("status") == "done" and done.get("quick", False) == args.quick and not args.force:
            log(f"{name}: already finished ({json_path}); skipping (use --force to rerun)")
            continue
        res["experiments"][name] = run_experiment(EXPERIMENTS[name], args.quick, args.seed)
        save()
        log(f"{name}: saved to {json_path}")
    if res["experiments"]:
        save()
        print(markdown(res))
    log(f"done in {elapsed():.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
