"""Bandit benchmark: regret, suffix failures, constrained violation, satiation, throughput.

Run from the repository root with the main venv:

    python benchmarks/bandits.py            # full run (a few minutes on 2 CPU cores)
    python benchmarks/bandits.py --quick    # smoke test: tiny sizes, written to a temp dir

Writes ``benchmarks/results/bandits.json``, ``bandits.md`` and ``bandits_regret.png``
(atomically). Every (algorithm, environment) runs all its seeds in one compiled call
(``jaxrl_rewards.bandits.run_seeds`` = ``jit(vmap(run))``). Throughput: each function is
compiled ahead of time (``compile_s``), called once untimed, then timed ``--repeats`` times
(median reported); steps/s = seeds x horizon / run time.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from harness import log, machine_info, make_parser, parse_args, write_report

from jaxrl_rewards.bandits import (
    FixedArm,
    beta_thompson,
    cumulative_regret,
    epsilon_greedy,
    exp3,
    fixed_arm,
    gaussian_thompson,
    greedy,
    linear_thompson,
    linucb,
    make_bandit,
    optimistic_pessimistic,
    primal_dual,
    round_robin,
    run,
    run_seeds,
    seed_keys,
    summarize,
    ucb1,
)
from jaxrl_rewards.bandits.plots import plot_curves
from jaxrl_rewards.transforms import identity


def _r(values: Any) -> list[float]:
    return np.round(np.asarray(values, np.float64), 4).tolist()


def evaluate(env, algorithms: dict[str, Any], horizon: int, seeds: int) -> tuple[dict[str, dict], dict[str, Any]]:
    """Summaries and traces of each algorithm (all seeds in one compiled call each)."""
    summaries, traces = {}, {}
    for name, alg in algorithms.items():
        start = time.perf_counter()
        trace = run_seeds(env, alg, horizon, seeds)
        trace.regret.block_until_ready()
        summaries[name] = {**summarize(trace), "wall_s": time.perf_counter() - start}
        traces[name] = trace
        s = summaries[name]
        log(
            f"  {name}: R(T)={s['final_regret']:.1f} ratio={s['regret_ratio_T_over_T4']:.2f} "
            f"suffix={s['suffix_failure_rate']:.3f} reward={s['total_expected_reward']:.1f} "
            f"violation={s['cumulative_violation']:.1f} ({s['wall_s']:.1f}s)"
        )
    return summaries, traces


#: Bernoulli algorithms a ``--quick`` run keeps (the ones its checks read)
QUICK_BERNOULLI = ("greedy", "ucb1", "thompson_beta")


def bernoulli_section(horizon: int, seeds: int, plot_path: Path, quick: bool = False) -> dict:
    """10-arm Bernoulli: regret growth and suffix failures per algorithm, plus the regret plot."""
    log(f"10-arm Bernoulli, T={horizon}, {seeds} seeds")
    env = make_bandit("bernoulli", 10)
    algorithms = {
        "greedy": greedy(),
        "epsilon_greedy(0.1)": epsilon_greedy(0.1),
        "ucb1": ucb1(),
        "thompson_beta": beta_thompson(),
        "thompson_gaussian": gaussian_thompson(),
        "exp3(0.1)": exp3(0.1),
    }
    if quick:
        algorithms = {k: v for k, v in algorithms.items() if k in QUICK_BERNOULLI}
    summaries, traces = evaluate(env, algorithms, horizon, seeds)
    plot_curves(
        {k: np.asarray(cumulative_regret(v)) for k, v in traces.items()},
        plot_path,
        title=f"10-arm Bernoulli bandit, {seeds} seeds (mean ± s.e.)",
    )
    suffix = {k: v["suffix_failure_rate"] for k, v in summaries.items()}
    checks = {
        "ucb1_sublinear": summaries["ucb1"]["regret_ratio_T_over_T4"] < 2.5,
        "thompson_beta_sublinear": summaries["thompson_beta"]["regret_ratio_T_over_T4"] < 2.5,
        "greedy_highest_suffix_failure": max(suffix, key=suffix.get) == "greedy",
        "greedy_ratio_above_ucb_and_ts": summaries["greedy"]["regret_ratio_T_over_T4"]
        > max(summaries["ucb1"]["regret_ratio_T_over_T4"], summaries["thompson_beta"]["regret_ratio_T_over_T4"]),
    }
    return {
        "probs": _r(env.probs),
        "horizon": horizon,
        "seeds": seeds,
        "results": summaries,
        "checks": checks,
    }


def constrained_section(horizon: int, seeds: int) -> dict:
    """Constrained bandits: reward and cumulative violation per algorithm."""
    env = make_bandit("constrained", 10)
    threshold = float(env.threshold)
    log(f"constrained bandit, T={horizon}, {seeds} seeds, threshold {threshold}")
    algorithms = {
        "optimistic_pessimistic(alpha=0.5)": optimistic_pessimistic(threshold, alpha=0.5),
        "primal_dual(alpha=0.5, step=0.05)": primal_dual(threshold, alpha=0.5, step_size=0.05),
        "primal_dual(alpha=1, step=0.05)": primal_dual(threshold, alpha=1.0, step_size=0.05),
        "primal_dual(alpha=0.5, step=0.2)": primal_dual(threshold, alpha=0.5, step_size=0.2),
    }
    summaries, _ = evaluate(env, algorithms, horizon, seeds)
    op = summaries["optimistic_pessimistic(alpha=0.5)"]
    pd = summaries["primal_dual(alpha=0.5, step=0.05)"]
    return {
        "reward_probs": _r(env.reward_probs),
        "cost_probs": _r(env.cost_probs),
        "threshold": threshold,
        "best_feasible_total_reward": float(np.max(np.where(env.cost_probs <= threshold, env.reward_probs, 0)))
        * horizon,
        "horizon": horizon,
        "seeds": seeds,
        "results": summaries,
        "checks": {
            "op_lower_violation_than_pd": op["cumulative_violation"] < pd["cumulative_violation"],
            "op_reward_within_10pct_of_pd": op["total_expected_reward"] >= 0.9 * pd["total_expected_reward"],
        },
    }


def satiation_section(horizon: int, seeds: int) -> dict:
    """Satiation bandit: adaptive algorithms vs every fixed arm."""
    env = make_bandit("satiation", 5)
    log(f"satiation bandit, 5 arms, T={horizon}, {seeds} seeds")
    algorithms = {
        "round_robin": round_robin(),
        "ucb1": ucb1(),
        "thompson_gaussian": gaussian_thompson(),
        "epsilon_greedy(0.1)": epsilon_greedy(0.1),
    }
    summaries, _ = evaluate(env, algorithms, horizon, seeds)
    # every fixed arm in one compiled call: vmap over FixedArm.arm (a leaf) and seeds
    keys = seed_keys(seeds)
    fixed = jax.jit(
        jax.vmap(jax.vmap(lambda a, k: run(env, a, horizon, k), in_axes=(None, 0)), in_axes=(FixedArm(arm=0), None))
    )(fixed_arm(jnp.arange(env.num_arms)), keys)
    fixed_totals = np.asarray(fixed.expected_reward.sum(-1)).mean(-1)
    best = int(np.argmax(fixed_totals))
    summaries[f"best_fixed_arm (arm {best})"] = {"total_expected_reward": float(fixed_totals[best])}
    log(f"  fixed arms: {np.round(fixed_totals, 1).tolist()}")
    rr = summaries["round_robin"]["total_expected_reward"]
    return {
        "base": _r(env.base),
        "decay": round(float(env.decay), 4),
        "strength": round(float(env.strength), 4),
        "horizon": horizon,
        "seeds": seeds,
        "fixed_arm_totals": fixed_totals.tolist(),
        "results": summaries,
        "checks": {
            "rotation_beats_best_fixed_arm": rr > float(fixed_totals[best]),
            "rotation_beats_ucb1": rr > summaries["ucb1"]["total_expected_reward"],
        },
    }


def other_sections(horizon: int, seeds: int) -> dict:
    """Linear, adversarial and switching bandits."""
    out = {}
    env = make_bandit("linear", 10)
    log(f"linear contextual, d={env.context_dim}, T={horizon}, {seeds} seeds")
    algorithms = {
        "linucb(alpha=1)": linucb(env.context_dim, 1.0),
        "linear_greedy(linucb alpha=0)": linucb(env.context_dim, 0.0),
        "linear_thompson(v=0.5)": linear_thompson(env.context_dim, 0.5),
        "ucb1 (context-blind)": ucb1(),
    }
    out["linear"] = {"horizon": horizon, "seeds": seeds, "results": evaluate(env, algorithms, horizon, seeds)[0]}
    env = make_bandit("adversarial", 10, horizon=horizon)
    log(f"adversarial (oblivious), T={horizon}, {seeds} seeds")
    algorithms = {"exp3(0.1)": exp3(0.1), "ucb1": ucb1(), "greedy": greedy(), "thompson_beta": beta_thompson()}
    out["adversarial"] = {"horizon": horizon, "seeds": seeds, "results": evaluate(env, algorithms, horizon, seeds)[0]}
    env = make_bandit("switching", 5)
    log(f"switching (warm-up), T={horizon}, {seeds} seeds")
    algorithms = {"round_robin": round_robin(), "ucb1": ucb1(), "fixed_arm(0)": fixed_arm(0)}
    out["switching"] = {"horizon": horizon, "seeds": seeds, "results": evaluate(env, algorithms, horizon, seeds)[0]}
    return out


def throughput_section(horizon: int, seed_counts: tuple[int, ...], repeats: int) -> dict:
    """10-arm Beta Thompson sampling and UCB1 steps/s for several vmapped seed counts."""
    env = make_bandit("bernoulli", 10)
    rows = []
    for name, alg in (("thompson_beta", beta_thompson()), ("ucb1", ucb1())):
        for seeds in seed_counts:
            keys = seed_keys(seeds)
            fn = jax.jit(jax.vmap(lambda k, alg=alg: run(env, alg, horizon, k, identity())))
            start = time.perf_counter()
            compiled = fn.lower(keys).compile()
            compile_s = time.perf_counter() - start
            compiled(keys).regret.block_until_ready()
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                compiled(keys).regret.block_until_ready()
                times.append(time.perf_counter() - start)
            run_s = statistics.median(times)
            rows.append(
                {
                    "algorithm": name,
                    "seeds": seeds,
                    "horizon": horizon,
                    "compile_s": compile_s,
                    "run_s": run_s,
                    "run_s_all": times,
                    "steps_per_s": seeds * horizon / run_s,
                }
            )
            log(f"  {name} seeds={seeds}: {seeds * horizon / run_s:,.0f} steps/s (compile {compile_s:.1f}s)")
    by = {(r["algorithm"], r["seeds"]): r["steps_per_s"] for r in rows}
    lo, hi = min(seed_counts), max(seed_counts)
    return {
        "rows": rows,
        "speedup_ts_max_over_min_seeds": by[("thompson_beta", hi)] / by[("thompson_beta", lo)],
        "ts_over_ucb1_at_max_seeds": by[("thompson_beta", hi)] / by[("ucb1", hi)],
    }


NOTES = {
    "linear": "Linear greedy is LinUCB with alpha = 0; UCB1 ignores the context.",
    "adversarial": "Arm 0 pays 0.5 every round; the other arms take turns paying 1 for T/20 rounds. The "
    "comparator is the best fixed arm in hindsight (arm 0), so a learner that tracks the current winner "
    "(UCB1 here) has negative regret; R(T)/R(T/4) is NaN when R(T/4) <= 0.",
    "switching": "Regret here is against the arm that is best given the current history (instantaneous), "
    "which does not account for the warm-up cost of switching: compare policies by total reward. A fixed arm "
    "never pays the warm-up again; rotating pays it every round.",
}


def _fmt(s: dict, key: str, digits: int = 1) -> str:
    if key not in s:
        return "—"
    value = s[key]
    ci = s.get(f"{key}_ci95")
    return f"{value:.{digits}f} ± {ci:.{digits}f}" if ci is not None else f"{value:.{digits}f}"


def markdown(data: dict) -> str:
    """The markdown report of ``main``'s data."""
    lines = [
        "# Bandit benchmark",
        "",
        f"Generated by `python benchmarks/bandits.py` on {data['machine']['platform']} "
        f"(jax {data['machine']['jax']}, {data['machine']['cpus']} CPUs). "
        "**The machine was shared** (2 cores, other jobs running), so wall times are noisy; "
        "regret and violation numbers do not depend on it. ± is a 95% normal interval over seeds. "
        "Every algorithm runs all its seeds in one compiled call (`jit(vmap(run))`).",
        "",
    ]
    b = data["bernoulli"]
    lines += [
        f"## 10-arm Bernoulli bandit, horizon {b['horizon']}, {b['seeds']} seeds",
        "",
        f"Arm probabilities {b['probs']}. R(T)/R(T/4) is about 4 for linear regret and "
        f"1 + ln 4 / ln(T/4) ≈ {1 + np.log(4) / np.log(b['horizon'] / 4):.2f} for logarithmic regret. "
        "Suffix failure: the second half of a run plays the best arm in < 5% of rounds.",
        "",
        "| algorithm | R(T) | R(T)/R(T/4) | regret/round, last quarter | best-arm pulls | suffix-failure rate "
        "| s (compile + run) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in b["results"].items():
        lines.append(
            f"| {name} | {_fmt(s, 'final_regret')} | {s['regret_ratio_T_over_T4']:.2f} | "
            f"{s['late_regret_per_round']:.4f} | "
            f"{100 * s['best_arm_fraction']:.1f}% | {100 * s['suffix_failure_rate']:.1f}% | {s['wall_s']:.1f} |"
        )
    lines += ["", f"Checks: {b['checks']}", "", "![regret curves](bandits_regret.png)", ""]
    if "constrained" in data:  # not in a --quick run
        c = data["constrained"]
        lines += [
            f"## Constrained bandit, horizon {c['horizon']}, {c['seeds']} seeds",
            "",
            f"Reward probabilities {c['reward_probs']}, cost probabilities {c['cost_probs']}, threshold "
            f"{c['threshold']}; always playing the best feasible arm earns {c['best_feasible_total_reward']:.0f}. "
            "Violation = sum over rounds of max(0, E[cost of the arm played] - threshold); long-term violation = "
            "max(0, sum of (E[cost] - threshold)) (over- and under-spending cancel).",
            "",
            "| algorithm | total expected reward | cumulative violation | long-term violation | best feasible arm |",
            "|---|---|---|---|---|",
        ]
        for name, s in c["results"].items():
            lines.append(
                f"| {name} | {_fmt(s, 'total_expected_reward')} | {_fmt(s, 'cumulative_violation')} | "
                f"{s['long_term_violation']:.1f} | {100 * s['best_arm_fraction']:.1f}% |"
            )
        lines += ["", f"Checks: {c['checks']}", ""]
        s_ = data["satiation"]
        lines += [
            f"## Satiation bandit, horizon {s_['horizon']}, {s_['seeds']} seeds",
            "",
            f"Rested means {s_['base']}, satiation decay {s_['decay']}, strength {s_['strength']} "
            "(reward = base · exp(-strength · satiation)). Fixed-arm totals: "
            f"{[round(v, 1) for v in s_['fixed_arm_totals']]}.",
            "",
            "| policy | total expected reward |",
            "|---|---|",
        ]
        for name, s in s_["results"].items():
            lines.append(f"| {name} | {_fmt(s, 'total_expected_reward')} |")
        lines += ["", f"Checks: {s_['checks']}", ""]
        for key, title in (
            ("linear", "Linear contextual bandit (d=5, 10 arms)"),
            ("adversarial", "Adversarial (oblivious) bandit: regret vs the best fixed arm in hindsight"),
            ("switching", "Switching (warm-up) bandit: reward depends on the time since the last switch"),
        ):
            sec = data["other"][key]
            lines += [f"## {title}, horizon {sec['horizon']}, {sec['seeds']} seeds", "", NOTES[key], ""]
            lines += [
                "| algorithm | R(T) | R(T)/R(T/4) | best-arm pulls | total expected reward |",
                "|---|---|---|---|---|",
            ]
            for name, s in sec["results"].items():
                lines.append(
                    f"| {name} | {_fmt(s, 'final_regret')} | {s['regret_ratio_T_over_T4']:.2f} | "
                    f"{100 * s['best_arm_fraction']:.1f}% | {_fmt(s, 'total_expected_reward')} |"
                )
            lines.append("")
    t = data["throughput"]
    lines += [
        "## Throughput (10 arms, one compiled call per row)",
        "",
        "| algorithm | vmapped seeds | horizon | steps/s | run s (median) | compile s |",
        "|---|---|---|---|---|---|",
    ]
    for r in t["rows"]:
        lines.append(
            f"| {r['algorithm']} | {r['seeds']} | {r['horizon']} | {r['steps_per_s']:,.0f} | "
            f"{r['run_s']:.3f} | {r['compile_s']:.1f} |"
        )
    lines += [
        "",
        f"Thompson sampling: {t['speedup_ts_max_over_min_seeds']:.0f}x more steps/s with the most seeds than "
        f"with one; Thompson / UCB1 steps/s at the most seeds: {t['ts_over_ucb1_at_max_seeds']:.2f}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Every bandit section; write ``bandits.{json,md}`` and ``bandits_regret.png`` to ``--out``."""
    parser = make_parser("bandits", __doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parse_args(parser, argv)
    if args.quick:
        horizon, seeds, c_seeds, seed_counts = 200, 8, 8, (1, 16)
    else:
        horizon, seeds, c_seeds, seed_counts = 2000, 200, 100, (1, 1024)
    out_dir = args.out
    data = {"machine": {**machine_info(), "cpus": os.cpu_count(), "shared": True}, "quick": args.quick}
    start = time.perf_counter()
    data["bernoulli"] = bernoulli_section(horizon, seeds, out_dir / "bandits_regret.png", args.quick)
    if not args.quick:  # quick: the Bernoulli study and the throughput rows only
        data["constrained"] = constrained_section(horizon, c_seeds)
        data["satiation"] = satiation_section(horizon, c_seeds)
        data["other"] = other_sections(horizon, c_seeds)
    data["throughput"] = throughput_section(horizon, seed_counts, args.repeats)
    data["total_s"] = time.perf_counter() - start
    text = markdown(data)
    json_path, md_path = write_report(out_dir, "bandits", data, text, strict=True)
    print(text)
    log(f"wrote {json_path}, {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
