"""Constrained RL benchmark: PPO-Lagrangian (gradient ascent, PID) vs plain PPO.

Run from the repository root with the main venv:

    python benchmarks/constrained.py            # everything (~15 min on 2 busy CPU cores)
    python benchmarks/constrained.py --quick    # smoke test: tiny sizes, written to a temp dir
    python benchmarks/constrained.py --only overhead   # rerun parts, keep the rest of the json
    python benchmarks/constrained.py --report   # rebuild md and png from the json

Experiments (each variant trains all its seeds through the library's runner, ``train_seeds``):

* ``point``: ``PointHazard-v0`` (one hazard on the straight path), cost limit 1 per episode,
  8 seeds: plain PPO, PPO-Lagrangian with gradient ascent on lambda (SGD, ``learning_rate``) and with the
  PID Lagrangian (same integral gain ``ki = learning_rate`` plus a proportional term). Reported: mean
  episodic cost over the last 20% of training (per seed, then averaged), peak overshoot of the
  seed-averaged cost curve over the limit, return, multipliers, violation rate.
* ``two``: ``PointTwoHazards-v0`` (``info["cost"]`` is ``[2]``), two constraints with different
  limits, PID Lagrangian, 8 seeds; plain PPO for reference.
* ``overhead``: wall time of PPO-Lagrangian vs plain PPO, measured in the same process on the
  same env and sizes, alternating compiled training segments (compile excluded).

Costs are the undiscounted episodic costs of the training episodes that finished in each
iteration (``train/stream_return/cost...``, the same for every variant). Results:
``benchmarks/results/constrained.json`` / ``.md`` / ``constrained.png`` (return-cost plots).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np
from harness import (
    QUICK_PPO,
    atomic_write_text,
    log,
    machine_info,
    make_parser,
    parse_args,
    read_json,
    seed_keys,
    train_runs,
    write_figure,
    write_report,
)
from matplotlib.figure import Figure

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.experiments.runner import vmapped
from jaxrl_rewards.transforms.constraints.lagrangian import lagrangian

SEEDS = 8
LIMIT = 1.0
TWO_LIMITS = (0.5, 2.0)
GRADIENT = {"rule": "gradient", "learning_rate": 0.02}
PID = {"rule": "pid", "kp": 0.1, "ki": 0.02, "kd": 0.0}
PPO_OPTIONS: dict[str, Any] = {
    "num_envs": 16,
    "num_steps": 64,
    "total_timesteps": 400_000,
    "update_epochs": 4,
    "num_minibatches": 4,
    "learning_rate": 1e-3,
    "anneal_lr": False,
    "ent_coef": 0.0,
    "hidden_sizes": (32, 32),
    "num_evals": 10,
    "eval_episodes": 16,
}
QUICK = {**QUICK_PPO, "total_timesteps": 640, "num_evals": 2}


def train(env: str, transform, seeds: int, options: dict[str, Any]) -> tuple[dict[str, np.ndarray], float]:
    """Train ``seeds`` seeds of PPO on ``env`` (through the runner); metrics ``[S, ...]`` and wall s."""
    kwargs = dict(options) if transform is None else {**options, "transform": transform}
    config = ppo.make_config(env, **kwargs)
    result = train_runs(ppo, config, seeds, label=env)
    return result.metrics, result.total_s


def summarise(metrics: dict[str, np.ndarray], streams: tuple[str, ...], limits: tuple[float, ...]) -> dict[str, Any]:
    """Cost/return statistics of one variant (``[S, iterations]`` curves)."""
    iters = metrics["train/episode_return"].shape[1]
    tail = slice(iters - max(iters // 5, 1), iters)
    out: dict[str, Any] = {
        "return_last20": round(float(metrics["train/episode_return"][:, tail].mean()), 3),
        "eval_return_final": round(float(metrics["eval/return/task"][:, -1].mean()), 3),
    }
    for name, limit in zip(streams, limits, strict=True):
        cost = metrics[f"train/stream_return/{name}"]
        curve = cost.mean(0)
        smooth = np.convolve(curve, np.ones(5) / 5, mode="valid")  # 5-iteration moving average
        # first iteration the smoothed cost is back under the limit after the first learning phase
        # (the early peak comes from the random initial policy and the first greedy policies)
        peak = int(np.argmax(smooth))
        below = np.nonzero(smooth[peak:] <= limit)[0]
        settled = int(peak + below[0]) if below.size else -1
        out[name] = {
            "limit": limit,
            "cost_last20_per_seed": [round(float(x), 3) for x in cost[:, tail].mean(1)],
            "cost_last20": round(float(cost[:, tail].mean()), 3),
            "cost_last20_over_limit": round(float(cost[:, tail].mean() / limit), 3),
            "peak_cost": round(float(smooth.max()), 3),
            "peak_overshoot": round(float(smooth.max() - limit), 3),
            "settled_at_iteration": settled,
            "peak_overshoot_after_settling": round(float(smooth[settled:].max() - limit), 3) if settled >= 0 else None,
            "eval_cost_final": round(float(metrics[f"eval/return/{name}"][:, -1].mean()), 3),
        }
        key = f"transform/lagrangian/lambda/{name}"
        if key in metrics:
            out[name]["lambda_final"] = round(float(metrics[key][:, -1].mean()), 3)
            out[name]["lambda_max"] = round(float(metrics[key].mean(0).max()), 3)
            rate = metrics[f"transform/lagrangian/violation_rate/{name}"]
            out[name]["violation_rate_last20"] = round(float(rate[:, tail].mean()), 3)
    return out


def downsample(x: np.ndarray, n: int = 100) -> list[float]:
    """At most ``n`` evenly spaced values of ``x [T]`` (first and last included), rounded."""
    idx = np.unique(np.linspace(0, len(x) - 1, min(n, len(x))).round().astype(int))
    return [round(float(v), 3) for v in x[idx]]


def curves(metrics: dict[str, np.ndarray], streams: tuple[str, ...]) -> dict[str, Any]:
    """Downsampled mean curves (return, costs, multipliers) and final per-seed return / cost."""
    out = {
        "timesteps": downsample(metrics["timesteps"][0]),
        "return": downsample(metrics["train/episode_return"].mean(0)),
    }
    for name in streams:
        out[f"cost/{name}"] = downsample(metrics[f"train/stream_return/{name}"].mean(0))
        key = f"transform/lagrangian/lambda/{name}"
        if key in metrics:
            out[f"lambda/{name}"] = downsample(metrics[key].mean(0))
    out["final_return_per_seed"] = [round(float(x), 3) for x in metrics["train/episode_return"][:, -20:].mean(1)]
    out["final_cost_per_seed"] = [
        round(float(x), 3) for x in metrics[f"train/stream_return/{streams[0]}"][:, -20:].mean(1)
    ]
    return out


def overhead(options: dict[str, Any], seeds: int, reps: int) -> dict[str, Any]:
    """Median wall time of a compiled training segment, plain vs PID-Lagrangian, alternating."""
    configs = {
        "plain": ppo.make_config("PointHazard-v0", **options),
        "lagrangian": ppo.make_config("PointHazard-v0", **options, transform=lagrangian(LIMIT, **PID)),
    }
    keys = seed_keys(range(1, seeds + 1))
    init, segment = vmapped(ppo, "init"), vmapped(ppo, "train_segment")  # the runner's compiled programs
    states = {}
    for name, cfg in configs.items():
        states[name] = jax.block_until_ready(segment(cfg, init(cfg, keys))[0])  # compile + warm up
    times: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(reps):
        for name, cfg in configs.items():
            t0 = time.perf_counter()
            states[name] = jax.block_until_ready(segment(cfg, states[name])[0])
            times[name].append(time.perf_counter() - t0)
    steps = configs["plain"].iterations_per_eval * configs["plain"].batch_size * seeds
    med = {name: float(np.median(t)) for name, t in times.items()}
    best = {name: float(np.min(t)) for name, t in times.items()}
    return {
        "segment_steps": steps,
        "seconds": {name: [round(x, 3) for x in t] for name, t in times.items()},
        "median_s": {name: round(v, 3) for name, v in med.items()},
        "steps_per_s": {name: round(steps / v, 1) for name, v in med.items()},
        "ratio_lagrangian_over_plain": round(med["lagrangian"] / med["plain"], 3),
        "min_s": {name: round(v, 3) for name, v in best.items()},
        "ratio_of_minimums": round(best["lagrangian"] / best["plain"], 3),
    }


def plot(results: dict[str, Any], path: Path) -> None:
    """Return-cost curves of every variant (``constrained.png``)."""
    fig = Figure(figsize=(16, 8.5))
    grid = fig.subplots(2, 3)
    axes = grid.reshape(-1)
    point = results["point"]["curves"]
    colors = {"plain": "tab:red", "gradient": "tab:blue", "pid": "tab:green"}
    k = lambda xs: np.asarray(xs) / 1000.0
    for name, c in point.items():
        axes[0].plot(k(c["timesteps"]), c["cost/cost"], label=name, color=colors[name])
        axes[1].plot(k(c["timesteps"]), c["return"], label=name, color=colors[name])
        if "lambda/cost" in c:
            axes[2].plot(k(c["timesteps"]), c["lambda/cost"], label=name, color=colors[name])
        axes[3].scatter(c["final_cost_per_seed"], c["final_return_per_seed"], label=name, color=colors[name])
    axes[0].axhline(LIMIT, color="k", ls="--", label="limit")
    axes[0].set(title=f"PointHazard-v0: episodic cost ({results['seeds']} seeds, mean)", ylabel="cost")
    axes[0].set_ylim(0, 12)
    axes[1].set(title="episodic return (mean)")
    axes[2].set(title="multiplier lambda (mean)")
    axes[3].axvline(LIMIT, color="k", ls="--")
    axes[3].set(title="return vs cost (per seed, last 20 iterations)", xlabel="episodic cost", ylabel="return")
    two = results["two"].get("curves", {})
    for i, (stream, limit) in enumerate(zip(("cost_0", "cost_1"), TWO_LIMITS, strict=True)):
        ax = axes[4 + i]
        for name, c in two.items():
            ax.plot(k(c["timesteps"]), c[f"cost/{stream}"], label=name, color=colors[name])
        ax.axhline(limit, color="k", ls="--", label="limit")
        ax.set(title=f"PointTwoHazards-v0: {stream} (limit {limit})", ylabel="cost")
        ax.set_ylim(0, 10)
    for i, ax in enumerate(axes):
        if i != 3:
            ax.set_xlabel("env steps (thousands)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    write_figure(fig, path, dpi=80)


def _overshoot(summary: dict[str, Any]) -> float:
    value = summary["cost"]["peak_overshoot_after_settling"]
    return float("inf") if value is None else value


def markdown(res: dict[str, Any]) -> str:
    """The markdown report of ``main``'s results."""
    p = res["point"]["summary"]
    t = res["two"]["summary"]
    o = res["overhead"]
    lines = [
        "## Constrained RL: PPO-Lagrangian",
        "",
        f"Machine: {res['machine']['cpu_count']} CPU cores, **shared** with other jobs running at the same time "
        f"(timings are noisy), backend `{res['machine']['backend']}`, jax {res['machine']['jax']}. "
        f"Reproduce: `python benchmarks/constrained.py`. PPO options: `{res['ppo_options']}`.",
        "",
        f"### PointHazard-v0, cost limit {LIMIT} per episode, {res['seeds']} seeds, "
        f"{res['point']['timesteps']:,} steps each",
        "",
        "Mean episodic cost over the last 20% of training (per seed, then averaged). Peak overshoot = max of the "
        "seed-averaged cost curve (5-iteration moving average) minus the limit, over the whole run (dominated by "
        "the first policies, before any multiplier can act) and after settling (from the first iteration the "
        "curve is back under the limit after its first peak: the overshoot caused by the multiplier dynamics, "
        "Stooke et al. 2020).",
        "",
        "| variant | cost, last 20% | / limit | peak overshoot: whole run / after settling | return, last 20% "
        "| final lambda | violation rate |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("plain", "gradient", "pid"):
        s = p[name]
        c = s["cost"]
        lines.append(
            f"| {name} | {c['cost_last20']} | {c['cost_last20_over_limit']}x | {c['peak_overshoot']} / "
            f"{c['peak_overshoot_after_settling']} | "
            f"{s['return_last20']} | {c.get('lambda_final', '-')} | {c.get('violation_rate_last20', '-')} |"
        )
    checks = res["checks"]
    lines += [
        "",
        f"- PPO-Lagrangian (PID) cost <= 1.1 x limit: **{checks['pid_within_limit']}**; "
        f"(gradient ascent: {checks['gradient_within_limit']})",
        f"- plain PPO exceeds the limit by >= 2x: **{checks['plain_exceeds_2x']}**",
        f"- PID peak overshoot after settling {p['pid']['cost']['peak_overshoot_after_settling']} < gradient ascent "
        f"{p['gradient']['cost']['peak_overshoot_after_settling']}: **{checks['pid_smaller_overshoot']}**; whole run "
        f"{p['pid']['cost']['peak_overshoot']} vs {p['gradient']['cost']['peak_overshoot']}: "
        f"{checks['pid_smaller_overshoot_whole_run']}",
        "",
        f"Settings: gradient ascent `{GRADIENT}`, PID `{PID}`.",
        "",
        f"### Two constraints at once: PointTwoHazards-v0, limits {TWO_LIMITS}, PID",
        "",
        "| variant | cost_0 last 20% (limit) | cost_1 last 20% (limit) | return, last 20% |",
        "|---|---|---|---|",
    ]
    for name in ("plain", "pid"):
        s = t[name]
        lines.append(
            f"| {name} | {s['cost_0']['cost_last20']} ({TWO_LIMITS[0]}) | {s['cost_1']['cost_last20']} "
            f"({TWO_LIMITS[1]}) | {s['return_last20']} |"
        )
    lines += [
        "",
        f"- both constraints satisfied (<= 1.1 x limit): **{checks['two_constraints_satisfied']}**",
        "",
        "### Overhead (same process, alternating compiled segments, compile excluded)",
        "",
        f"{o['segment_steps']:,} env steps per segment ({res['seeds']} seeds vmapped); median of "
        f"{len(o['seconds']['plain'])} alternating repetitions: plain {o['median_s']['plain']} s "
        f"({o['steps_per_s']['plain']:,} steps/s), PPO-Lagrangian {o['median_s']['lagrangian']} s "
        f"({o['steps_per_s']['lagrangian']:,} steps/s); ratio **{o['ratio_lagrangian_over_plain']}x** "
        f"(<= 1.15: **{checks['overhead_ok']}**); ratio of the fastest repetitions {o['ratio_of_minimums']}x. "
        f"Other jobs made single segments vary from {min(min(v) for v in o['seconds'].values())} s to "
        f"{max(max(v) for v in o['seconds'].values())} s, so this only shows that the Lagrangian's cost (a scan "
        "over T on [N, K] per iteration) is within the timing noise.",
        "",
        "![return-cost](constrained.png)",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the parts asked for; write ``constrained.{json,md,png}`` to ``--out``."""
    parser = make_parser("constrained", __doc__)
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument(
        "--only",
        nargs="+",
        choices=("point", "two", "overhead"),
        help="rerun only these parts; the others are read from the existing constrained.json",
    )
    parser.add_argument("--reps", type=int, default=15, help="alternating repetitions of the overhead timing")
    parser.add_argument("--report", action="store_true", help="only rebuild the md and png from the json")
    args = parse_args(parser, argv)
    out_dir = args.out
    if args.report:
        res = read_json(out_dir / "constrained.json")
        plot(res, out_dir / "constrained.png")
        atomic_write_text(out_dir / "constrained.md", markdown(res))
        return 0
    options = {**PPO_OPTIONS, **(QUICK if args.quick else {})}
    seeds = 2 if args.quick else args.seeds
    res: dict[str, Any] = {
        "machine": machine_info(shared=True),
        "seeds": seeds,
        "ppo_options": {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()},
    }

    parts = set(args.only or ("point", "two", "overhead"))
    previous = out_dir / "constrained.json"
    if parts != {"point", "two", "overhead"}:
        old = json.loads(previous.read_text())
        res.update({k: old[k] for k in ("point", "two", "overhead") if k not in parts})
    if "point" in parts:
        res["point"] = run_point(options, seeds)
    if "two" in parts:
        res["two"] = run_two(options, seeds)
    if "overhead" in parts:
        log("overhead: alternating segments")
        res["overhead"] = overhead(options, seeds, reps=3 if args.quick else args.reps)
        log(f"overhead: {res['overhead']}")
    point, two = res["point"], res["two"]
    p = point["summary"]
    res["checks"] = {
        "pid_within_limit": p["pid"]["cost"]["cost_last20"] <= 1.1 * LIMIT,
        "gradient_within_limit": p["gradient"]["cost"]["cost_last20"] <= 1.1 * LIMIT,
        "plain_exceeds_2x": p["plain"]["cost"]["cost_last20"] >= 2 * LIMIT,
        "pid_smaller_overshoot": _overshoot(p["pid"]) < _overshoot(p["gradient"]),
        "pid_smaller_overshoot_whole_run": p["pid"]["cost"]["peak_overshoot"] < p["gradient"]["cost"]["peak_overshoot"],
        "two_constraints_satisfied": all(
            two["summary"]["pid"][n]["cost_last20"] <= 1.1 * lim
            for n, lim in zip(("cost_0", "cost_1"), TWO_LIMITS, strict=True)
        ),
        "overhead_ok": res["overhead"]["ratio_lagrangian_over_plain"] <= 1.15,
    }
    res["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    plot(res, out_dir / "constrained.png")
    write_report(out_dir, "constrained", res, markdown(res))
    log(f"done: {res['checks']} -> {out_dir}")
    return 0


def run_point(options: dict[str, Any], seeds: int) -> dict[str, Any]:
    """PointHazard-v0: plain PPO vs gradient-ascent and PID Lagrangian."""
    point: dict[str, Any] = {"summary": {}, "curves": {}, "wall_s": {}}
    variants = {"plain": None, "gradient": lagrangian(LIMIT, **GRADIENT), "pid": lagrangian(LIMIT, **PID)}
    for name, transform in variants.items():
        log(f"point/{name}: training {seeds} seeds")
        metrics, wall = train("PointHazard-v0", transform, seeds, options)
        point["summary"][name] = summarise(metrics, ("cost",), (LIMIT,))
        point["curves"][name] = curves(metrics, ("cost",))
        point["wall_s"][name] = round(wall, 1)
        point["timesteps"] = int(metrics["timesteps"][0, -1])
        log(f"point/{name}: {json.dumps(point['summary'][name])}")
    return point


def run_two(options: dict[str, Any], seeds: int) -> dict[str, Any]:
    """PointTwoHazards-v0: plain PPO vs the PID Lagrangian on two constraints."""
    two: dict[str, Any] = {"summary": {}, "curves": {}, "wall_s": {}}
    for name, transform in {"plain": None, "pid": lagrangian(TWO_LIMITS, **PID)}.items():
        log(f"two/{name}: training {seeds} seeds")
        metrics, wall = train("PointTwoHazards-v0", transform, seeds, options)
        two["summary"][name] = summarise(metrics, ("cost_0", "cost_1"), TWO_LIMITS)
        two["curves"][name] = curves(metrics, ("cost_0", "cost_1"))
        two["wall_s"][name] = round(wall, 1)
        log(f"two/{name}: {json.dumps(two['summary'][name])}")
    return two


if __name__ == "__main__":
    sys.exit(main())
