"""Throughput benchmark: env-only steps/s, PPO steps/s (ours vs rejax), reward-transform overhead.

Over 400 lines: one study in three parts (env-only, PPO vs rejax, transform overhead) that share
the compiled PPO runs and one report; the shared machinery is in ``harness``.

Run from the repository root with the main venv:

    python benchmarks/throughput.py                  # full run, ~10 min on 2 CPU cores
    python benchmarks/throughput.py --quick          # smoke test (tiny sizes, written to a temp dir)
    python benchmarks/throughput.py --skip-rejax     # no peer comparison

Writes ``benchmarks/results/throughput.json`` and ``throughput.md`` (atomically), prints
progress to stderr and the markdown tables to stdout.

Timing protocol (see benchmarks/README.md for what each number means):

* Every function is compiled ahead of time (``jax.jit(f).lower(...).compile()``); that wall time
  is ``compile_s``. The compiled function is called once untimed (warm-up), then ``--repeats``
  timed calls, each ended by ``block_until_ready``; we report the median (``run_s``) and all
  repeats (``run_s_all``).
* Repeats of things that are compared are interleaved in the same process: round r times
  every candidate once (order rotated per round), so a burst of load from other jobs on the
  machine hits all candidates alike. Ratios are medians of the per-round ratios.
* rejax runs in its own venv (``benchmarks/peers/.venv-rejax``) through
  ``benchmarks/peers/rejax_ppo.py``, one subprocess per round (``--repeats 1``), interleaved
  with our rounds. Its ``compile_s`` is its first call (compile + one run).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from harness import (
    QUICK_PPO,
    CompiledTraining,
    args_record,
    compile_training,
    elapsed,
    ensure_rejax,
    loadavg,
    log,
    machine_info,
    make_parser,
    parse_args,
    peer_compile_s,
    rotated,
    run_peer_json,
    seed_keys,
    write_report,
)

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.envs import make as make_env
from jaxrl_rewards.experiments.bench import env_rollout_fn
from jaxrl_rewards.transforms import chain, clip, identity, normalize_rewards, scale

ENV_BATCHES = (1, 16, 256, 4096)
ENV_NAMES = ("CartPole-v1", "SparseGridWorld-v0")
SEED_COUNTS = (1, 8)
#: ``--quick``: one env at two batch sizes, PPO for 1 and 2 seeds, one transform besides none
QUICK_ENV_BATCHES = (1, 16)
QUICK_SEED_COUNTS = (1, 2)
QUICK_TRANSFORMS = ("none", "scale(0.5)")


# --------------------------------------------------------------------------- helpers


def compile_fn(fn, *args) -> tuple[Any, float]:
    """AOT-compile ``jax.jit(fn)`` for ``args``; returns (compiled, seconds)."""
    t = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    return compiled, time.perf_counter() - t


def timed(compiled, *args) -> tuple[float, Any]:
    """Call ``compiled(*args)`` once, blocked; (seconds, output)."""
    t = time.perf_counter()
    out = jax.block_until_ready(compiled(*args))
    return time.perf_counter() - t, out


def median(xs: list[float]) -> float:
    """The median as a float."""
    return float(statistics.median(xs))


def rnd(x: float | None, nd: int = 4) -> float | None:
    """``round(x, nd)``, ``None`` stays ``None``."""
    return None if x is None else round(float(x), nd)


# --------------------------------------------------------------------------- env-only


def bench_envs(env_names, batches, target_steps: int, repeats: int) -> list[dict[str, Any]]:
    """Env-only steps/s of every (env, batch) case, interleaved rounds."""
    cases = []
    for name in env_names:
        for n in batches:
            num_steps = int(min(max(target_steps // n, 256), 100_000))
            key = jax.random.key(0)
            compiled, compile_s = compile_fn(env_rollout_fn(*make_env(name), n, num_steps), key)
            timed(compiled, key)  # warm-up
            cases.append({"env": name, "num_envs": n, "num_steps": num_steps, "compile_s": compile_s, "_f": compiled})
            log(f"env {name} x{n}: compiled in {compile_s:.2f}s ({num_steps} scan steps)")
    times: list[list[float]] = [[] for _ in cases]
    for r in range(repeats):
        for i in rotated(list(range(len(cases))), r):
            dt, _ = timed(cases[i]["_f"], jax.random.key(r))
            times[i].append(dt)
        log(f"env round {r + 1}/{repeats} done")
    out = []
    for case, ts in zip(cases, times, strict=True):
        steps = case["num_envs"] * case["num_steps"]
        out.append(
            {
                "env": case["env"],
                "num_envs": case["num_envs"],
                "num_steps": case["num_steps"],
                "steps": steps,
                "compile_s": rnd(case["compile_s"]),
                "run_s": rnd(median(ts), 5),
                "run_s_all": [rnd(t, 5) for t in ts],
                "steps_per_s": round(steps / median(ts), 1),
            }
        )
        log(f"env {case['env']} x{case['num_envs']}: {out[-1]['steps_per_s']:,.0f} steps/s")
    return out


# --------------------------------------------------------------------------- PPO (ours)


class OurPPO:
    """One compiled PPO training function (a config x a number of seeds) and its timings: 1 seed
    is one unbatched ``jit(ppo.train)`` call (as rejax's single run), more are the runner's
    ``jit(vmap(ppo.train))`` (``harness.compile_training``)."""

    def __init__(self, config: ppo.PPOConfig, seeds: int, label: str):
        self.config, self.seeds, self.label = config, seeds, label
        keys = jax.random.key(0) if seeds == 1 else seed_keys(seeds)
        self.training: CompiledTraining = compile_training(ppo, config, keys, label=label, warmup=False)
        self.compile_s = self.training.compile_s
        self.warmup_s, self.out = timed(self.training.compiled, config, keys)
        self.times = self.training.times
        log(f"{label}: first run {self.warmup_s:.2f}s")

    def run(self) -> float:
        """One timed call; seconds."""
        return self.training.timed()

    def final_returns(self) -> list[float]:
        """Final in-run greedy evaluation return per seed."""
        returns = np.asarray(self.out[1]["eval/return/task"]).reshape(self.seeds, -1)
        return [round(float(r), 3) for r in returns[:, -1]]

    def greedy_eval(self, episodes: int) -> list[float]:
        """Untimed extra greedy evaluation of the final policies with ``episodes`` episodes
        (the same episode count rejax_ppo.py's greedy evaluation uses)."""
        config = self.config.replace(eval_episodes=episodes)
        state = self.out[0]
        fn = lambda s, k: ppo.evaluate_policy(config, s, k)["return/task"]
        if self.seeds == 1:
            values = [jax.jit(fn)(state, jax.random.key(123))]
        else:
            values = jax.jit(jax.vmap(fn))(state, jax.random.split(jax.random.key(123), self.seeds))
        return [round(float(v), 3) for v in np.asarray(values).ravel()]

    def summary(self) -> dict[str, Any]:
        """Steps/s, compile and run times and final returns, as the report stores them."""
        steps = self.config.trained_timesteps * self.seeds
        run_s = median(self.times)
        finals = self.final_returns()
        return {
            "seeds": self.seeds,
            "timesteps_per_seed": self.config.trained_timesteps,
            "compile_s": rnd(self.compile_s),
            "first_run_s": rnd(self.warmup_s),
            "run_s": rnd(run_s),
            "run_s_all": [rnd(t) for t in self.times],
            "steps_per_s": round(steps / run_s, 1),
            "final_returns_greedy": finals,
            "final_return_greedy_mean": rnd(statistics.fmean(finals), 3),
        }


# --------------------------------------------------------------------------- rejax peer


def rejax_args(config: ppo.PPOConfig, seeds: int, repeats: int) -> list[str]:
    """``rejax_ppo.py`` arguments for the same configuration as ``config``."""
    return [
        "--env",
        config.env_name,
        "--total-timesteps",
        str(config.total_timesteps),
        "--seeds",
        str(seeds),
        "--num-envs",
        str(config.num_envs),
        "--num-steps",
        str(config.num_steps),
        "--epochs",
        str(config.update_epochs),
        "--minibatches",
        str(config.num_minibatches),
        "--hidden",
        ",".join(str(h) for h in config.hidden_sizes),
        "--activation",
        config.activation,
        "--lr",
        str(float(config.learning_rate)),
        "--gamma",
        str(float(config.gamma)),
        "--gae-lambda",
        str(float(config.gae_lambda)),
        "--clip-eps",
        str(float(config.clip_eps)),
        "--ent-coef",
        str(float(config.ent_coef)),
        "--vf-coef",
        str(float(config.vf_coef)),
        "--max-grad-norm",
        str(float(config.max_grad_norm)),
        "--repeats",
        str(repeats),
    ]


def run_rejax(config: ppo.PPOConfig, seeds: int) -> dict[str, Any]:
    """One rejax subprocess (compile + 1 warm-up-free timed run); its JSON line, or an error."""
    return run_peer_json("rejax_ppo.py", rejax_args(config, seeds, repeats=1))


def summarize_rejax(runs: list[dict[str, Any]], seeds: int) -> dict[str, Any]:
    """Medians over the rejax rounds that succeeded (or the first error)."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {"seeds": seeds, "error": runs[0]["error"] if runs else "not run"}
    first = ok[0]
    executed = int(first["timesteps_executed"])
    times = [float(r["run_s_median"]) for r in ok]
    run_s = median(times)
    return {
        "seeds": seeds,
        "version": first.get("version"),
        "gymnax_version": first.get("gymnax_version"),
        "timesteps_per_seed": executed,
        "compile_s": rnd(peer_compile_s([float(r["compile_s"]) for r in ok], times)),
        "first_call_s": rnd(median([float(r["compile_s"]) for r in ok])),
        "run_s": rnd(run_s),
        "run_s_all": [rnd(t) for t in times],
        "steps_per_s": round(executed * seeds / run_s, 1),
        "final_returns_greedy": first.get("final_returns_greedy"),
        "final_return_greedy_mean": first.get("final_return_greedy_mean"),
        "final_returns_sampled": first.get("final_returns"),
        "final_return_sampled_mean": first.get("final_return_mean"),
        "errors": [r["error"] for r in runs if "error" in r],
    }


def bench_ppo(
    config: ppo.PPOConfig,
    repeats: int,
    with_rejax: bool,
    seed_counts: Sequence[int] = SEED_COUNTS,
    quick: bool = False,
) -> tuple[dict[str, Any], OurPPO]:
    """Ours (and rejax, interleaved) for each seed count; the summary and our 1-seed run."""
    counts = tuple(seed_counts)
    ours = {s: OurPPO(config, s, f"ours PPO {s} seed(s)") for s in counts}
    rejax_error = ensure_rejax() if with_rejax else "skipped (--skip-rejax)"
    if rejax_error and with_rejax:
        log(f"rejax unavailable, continuing without it: {rejax_error}")
    rejax_runs: dict[int, list[dict[str, Any]]] = {s: [] for s in counts}
    round_ratios: dict[int, list[float]] = {s: [] for s in counts}
    for r in range(repeats):
        for s in rotated(list(counts), r):
            dt = ours[s].run()
            msg = f"round {r + 1}/{repeats}, {s} seed(s): ours {dt:.3f}s"
            if rejax_error is None:
                res = run_rejax(config, s)
                rejax_runs[s].append(res)
                if "error" in res:
                    log(f"rejax {s} seed(s) failed: {res['error'][:500]}")
                else:
                    rejax_dt = float(res["run_s_median"])
                    ours_sps = config.trained_timesteps * s / dt
                    rejax_sps = int(res["timesteps_executed"]) * s / rejax_dt
                    round_ratios[s].append(ours_sps / rejax_sps)
                    msg += f", rejax {rejax_dt:.3f}s (ratio ours/rejax {round_ratios[s][-1]:.3f})"
            log(msg)
    result: dict[str, Any] = {"ours": {}, "rejax": {}, "ratio_ours_over_rejax": {}}
    for s in counts:
        summary = ours[s].summary()
        # quick: the in-run evaluation stands in for the extra 128-episode one (one compile less per seed count)
        summary["final_returns_greedy_128ep"] = summary["final_returns_greedy"] if quick else ours[s].greedy_eval(128)
        summary["final_return_greedy_128ep_mean"] = rnd(statistics.fmean(summary["final_returns_greedy_128ep"]), 3)
        result["ours"][str(s)] = summary
        if rejax_error is None:
            peer = summarize_rejax(rejax_runs[s], s)
            result["rejax"][str(s)] = peer
            if "error" not in peer:
                result["ratio_ours_over_rejax"][str(s)] = {
                    "of_medians": rnd(summary["steps_per_s"] / peer["steps_per_s"]),
                    "median_of_rounds": rnd(median(round_ratios[s])),
                    "of_min_times": rnd(
                        (summary["timesteps_per_seed"] / min(ours[s].times))
                        / (peer["timesteps_per_seed"] / min(peer["run_s_all"]))
                    ),
                    "rounds": [rnd(x) for x in round_ratios[s]],
                }
        else:
            result["rejax"][str(s)] = {"seeds": s, "error": rejax_error}
    return result, ours[1]


# --------------------------------------------------------------------------- transforms


def transform_variants() -> dict[str, Any]:
    """Label -> transform of the overhead table."""
    return {
        "none": identity(),
        "scale(0.5)": scale(0.5),
        "clip(-1, 1)": clip(-1.0, 1.0),
        "normalize_rewards()": normalize_rewards(),
        "chain(scale, clip, normalize_rewards)": chain(scale(0.5), clip(-1.0, 1.0), normalize_rewards()),
    }


def bench_transforms(
    config: ppo.PPOConfig, repeats: int, plain: OurPPO | None = None, names: Sequence[str] | None = None
) -> dict[str, Any]:
    """``plain``: the already compiled 1-seed plain PPO (identity transform) to reuse as baseline;
    ``names``: the variants to time (default all)."""
    variants = {}
    for name, t in transform_variants().items():
        if names is not None and name not in names:
            continue
        if name == "none" and plain is not None:
            variants[name] = plain
        else:
            variants[name] = OurPPO(config.replace(transform=t), 1, f"PPO + {name}")
    names = list(variants)
    ratios: dict[str, list[float]] = {n: [] for n in names}
    all_times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        times = {n: variants[n].run() for n in rotated(names, r)}
        for n in names:
            all_times[n].append(times[n])
            ratios[n].append(times[n] / times["none"])
        log(f"transform round {r + 1}/{repeats}: " + ", ".join(f"{n} {times[n]:.3f}s" for n in names))
    rows = []
    for n in names:
        v = variants[n]
        rows.append(
            {
                "transform": n,
                "compile_s": rnd(v.compile_s),
                "run_s": rnd(median(all_times[n])),
                "run_s_all": [rnd(t) for t in all_times[n]],
                "ratio_vs_plain": rnd(median(ratios[n])),
                "ratio_of_min_times": rnd(min(all_times[n]) / min(all_times["none"])),
                "ratio_rounds": [rnd(x) for x in ratios[n]],
                "final_return_greedy": v.final_returns()[0],
            }
        )
    return {"seeds": 1, "timesteps": config.trained_timesteps, "baseline": "none", "rows": rows}


# --------------------------------------------------------------------------- report


def fmt_sps(x: float | None) -> str:
    """Steps/s as ``12.3 k`` / ``4.56 M``."""
    if x is None:
        return "—"
    return f"{x / 1e6:.2f} M" if x >= 1e6 else f"{x / 1e3:.1f} k"


def fmt_returns(xs: list[float] | None) -> str:
    """Mean of the returns and each, rounded."""
    if not xs:
        return "—"
    if len(xs) == 1:
        return f"{xs[0]:.1f}"
    return f"{statistics.fmean(xs):.1f} ({', '.join(f'{x:.0f}' for x in xs)})"


def markdown(res: dict[str, Any]) -> str:
    """The markdown report of whatever parts have run."""
    m = res["machine"]
    lines = [
        "## Throughput",
        "",
        f"Machine: {m['cpu_count']} CPU cores ({m['processor']}), backend `{m['backend']}` {m['devices']}, "
        f"jax {m['jax']}; load average at start {m['loadavg_start'][0]:.2f}, at end {m.get('loadavg_end', [0])[0]:.2f} "
        f"(shared machine: expect noise). Repeats: {res['args']['repeats']} (medians reported). "
        f"Generated {res['created']} in {res.get('elapsed_s', 0):.0f} s.",
        "",
    ]
    if res.get("env"):
        lines += [
            "### Env-only steps/s (random actions, `lax.scan` over vmapped `env.step`)",
            "",
            "| env | parallel envs | scan steps | compile s | run s | steps/s |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for e in res["env"]:
            lines.append(
                f"| {e['env']} | {e['num_envs']} | {e['num_steps']} | {e['compile_s']:.2f} | {e['run_s']:.4f} "
                f"| {fmt_sps(e['steps_per_s'])} |"
            )
        lines.append("")
    p = res.get("ppo")
    if p:
        c = p["config"]
        lines += [
            f"### PPO on {c['env']}: ours vs rejax",
            "",
            f"{c['num_envs']} envs × {c['num_steps']} steps, {c['update_epochs']} epochs × "
            f"{c['num_minibatches']} minibatches, MLP {c['hidden_sizes']} {c['activation']}; "
            f"requested {c['total_timesteps']:,} steps per seed. "
            f"Ours: `jax.jit(ppo.train)` / `jax.jit(jax.vmap(ppo.train, in_axes=(None, 0)))`, num_evals="
            f"{c['num_evals']} (a {c['eval_episodes']}-episode greedy eval runs inside the timed call). "
            "rejax: `rejax_ppo.py` subprocess per round, eval outside the timed call. "
            "Final returns: greedy policy, mean over 128 episodes per seed for both (ours: an extra untimed eval).",
            "",
            "| library | seeds | steps/seed | compile s | run s | steps/s | ours/rejax (min-time ratio) "
            "| final greedy return |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for s in p["ours"]:
            o = p["ours"][s]
            ratio = p["ratio_ours_over_rejax"].get(s)
            ratio_s = f"{ratio['median_of_rounds']:.2f} ({ratio['of_min_times']:.2f})" if ratio else "—"
            lines.append(
                f"| ours | {s} | {o['timesteps_per_seed']:,} | {o['compile_s']:.1f} | {o['run_s']:.2f} "
                f"| {fmt_sps(o['steps_per_s'])} | {ratio_s} | {fmt_returns(o['final_returns_greedy_128ep'])} |"
            )
            rj = p["rejax"].get(s, {})
            if "error" in rj:
                lines.append(f"| rejax | {s} | — | — | — | — | — | error: {rj['error'][:120]} |")
            else:
                lines.append(
                    f"| rejax {rj.get('version', '')} | {s} | {rj['timesteps_per_seed']:,} | {rj['compile_s']:.1f} "
                    f"| {rj['run_s']:.2f} | {fmt_sps(rj['steps_per_s'])} | | "
                    f"{fmt_returns(rj['final_returns_greedy'])} |"
                )
        lines += [
            "",
            "Ratio = ours steps/s ÷ rejax steps/s, median of the per-round ratios (>1: ours faster); in "
            "brackets the same from each side's fastest repeat (least disturbed by other jobs). "
            "Compile s: ours = AOT trace+lower+compile; rejax = its first call minus its median run.",
            "",
        ]
    t = res.get("transforms")
    if t:
        lines += [
            f"### Reward-transform overhead (PPO {p['config']['env'] if p else ''}, 1 seed, {t['timesteps']:,} steps)",
            "",
            "| transform | compile s | run s | wall-time ratio vs plain PPO | min-time ratio | final greedy return |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in t["rows"]:
            lines.append(
                f"| {row['transform']} | {row['compile_s']:.1f} | {row['run_s']:.3f} | {row['ratio_vs_plain']:.3f} "
                f"| {row['ratio_of_min_times']:.3f} "
                f"| {row['final_return_greedy']:.1f} |"
            )
        lines += [
            "",
            f"Ratio: median over {len(t['rows'][0]['run_s_all'])} interleaved rounds of (run time with transform ÷ "
            "plain run time in the same round); min-time ratio: fastest run with ÷ fastest run without.",
            "",
        ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def parse_args_(argv: Sequence[str] | None = None):
    """The script's arguments (shared ``--quick`` / ``--out`` from the harness)."""
    p = make_parser("throughput", __doc__)
    p.add_argument("--total-timesteps", type=int, default=500_000, help="PPO steps per seed (default 500000)")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats per measurement (default 3; quick: 1)")
    p.add_argument(
        "--transform-repeats", type=int, default=None, help="rounds of the transform overhead (default max(7, repeats))"
    )
    p.add_argument("--skip-rejax", action="store_true", help="do not run the rejax peer (implied by --quick)")
    args = parse_args(p, argv)
    if args.quick:
        args.total_timesteps = min(args.total_timesteps, 128)
        args.skip_rejax = True
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if args.transform_repeats is None:
        args.transform_repeats = args.repeats if args.quick else max(7, args.repeats)
    if args.repeats < 1 or args.transform_repeats < 1 or args.total_timesteps < 1:
        p.error("--repeats, --transform-repeats and --total-timesteps must be >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Env-only throughput, ours vs rejax, transform overhead; ``throughput.{json,md}`` in ``--out``."""
    args = parse_args_(argv)
    res: dict[str, Any] = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "args": args_record(args),
        "machine": machine_info(),
    }
    log(f"machine: {res['machine']['cpu_count']} CPUs, jax {jax.__version__}, {jax.devices()}; out: {args.out}")

    def save() -> None:
        res["elapsed_s"] = round(elapsed(), 1)
        res["machine"]["loadavg_end"] = loadavg()
        write_report(args.out, "throughput", res, markdown(res))

    target = 2_000 if args.quick else 4_000_000
    log("env-only throughput")
    names, batches = (ENV_NAMES[:1], QUICK_ENV_BATCHES) if args.quick else (ENV_NAMES, ENV_BATCHES)
    res["env"] = bench_envs(names, batches, target, args.repeats)
    save()

    sizes = QUICK_PPO if args.quick else {}
    config = ppo.make_config("CartPole-v1", total_timesteps=args.total_timesteps, **{**sizes, "num_evals": 1})
    res["ppo"] = {
        "config": {
            "env": config.env_name,
            "num_envs": config.num_envs,
            "num_steps": config.num_steps,
            "update_epochs": config.update_epochs,
            "num_minibatches": config.num_minibatches,
            "hidden_sizes": list(config.hidden_sizes),
            "activation": config.activation,
            "total_timesteps": config.total_timesteps,
            "trained_timesteps": config.trained_timesteps,
            "num_evals": config.num_evals,
            "eval_episodes": config.eval_episodes,
            "learning_rate": float(config.learning_rate),
            "anneal_lr": config.anneal_lr,
        }
    }
    log("PPO: ours vs rejax")
    seed_counts = QUICK_SEED_COUNTS if args.quick else SEED_COUNTS
    ppo_result, plain = bench_ppo(
        config, args.repeats, with_rejax=not args.skip_rejax, seed_counts=seed_counts, quick=args.quick
    )
    res["ppo"].update(ppo_result)
    save()

    log("PPO + reward transforms")
    transforms = QUICK_TRANSFORMS if args.quick else None
    res["transforms"] = bench_transforms(config, args.transform_repeats, plain, names=transforms)
    save()

    print(markdown(res))
    log(f"wrote {args.out} ({res['elapsed_s']:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
