"""Throughput of our DQN, PQN and SAC against rejax's implementation of the same algorithm,
measured in the same run (issue 8).

Run from the repository root with the main venv (rejax runs in its own venv, created by
``bash benchmarks/peers/setup_rejax.sh``):

    python benchmarks/agents_throughput.py            # ~10 min on 2 shared cores
    python benchmarks/agents_throughput.py --quick    # smoke test, temp dir

Protocol: for each algorithm both sides get the same sizes (envs, batch, updates per env step,
network widths (64, 64), buffer) and train ``--seeds`` seeds in one ``jit(vmap(train))`` call.
Ours is compiled ahead of time and warmed up; rejax's side is one subprocess per round
(``benchmarks/peers/rejax_agents.py``: compile call, then one timed call). Rounds alternate
ours/rejax so load from other jobs hits both alike; we report medians and the median of the
per-round ratios ``ours / rejax`` (> 1: ours is faster). Our timed call includes one tiny
in-graph evaluation (1 episode of at most 10 steps); rejax's evaluation callback is a no-op.
Writes ``benchmarks/results/agents_throughput.json`` and ``.md`` atomically.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import jax

from jaxrl_rewards.agents import dqn, pqn, sac
from jaxrl_rewards.experiments.results import atomic_write_text

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"
REJAX_PYTHON = ROOT / "benchmarks" / "peers" / ".venv-rejax" / "bin" / "python"
REJAX_SCRIPT = ROOT / "benchmarks" / "peers" / "rejax_agents.py"
EVAL = {"num_evals": 1, "eval_episodes": 1, "eval_max_steps": 10}

#: name -> (our module, env, timesteps, our overrides, rejax algo, rejax create options)
CASES: dict[str, tuple[Any, str, int, dict[str, Any], str, dict[str, Any]]] = {
    "dqn": (
        dqn,
        "CartPole-v1",
        50_000,
        {"num_envs": 10, "batch_size": 128, "buffer_size": 10_000, "learning_starts": 1_000, "hidden_sizes": (64, 64)},
        "dqn",
        {
            "num_envs": 10,
            "batch_size": 128,
            "buffer_size": 10_000,
            "fill_buffer": 1_000,
            "agent_kwargs": {"activation": "relu"},
        },
    ),
    "pqn": (
        pqn,
        "CartPole-v1",
        100_000,
        {"num_envs": 16, "num_steps": 32, "num_minibatches": 4, "update_epochs": 2, "hidden_sizes": (64, 64)},
        "pqn",
        {"num_envs": 16, "num_steps": 32, "num_minibatches": 4, "num_epochs": 2},
    ),
    "sac": (
        sac,
        "Pendulum-v1",
        10_000,
        {"num_envs": 4, "batch_size": 128, "learning_starts": 1_000, "num_updates": 1, "hidden_sizes": (64, 64)},
        "sac",
        {"num_envs": 4, "batch_size": 128, "fill_buffer": 1_000, "num_epochs": 1, "hidden_layer_sizes": [64, 64]},
    ),
}

_T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[agents_throughput {time.perf_counter() - _T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def rejax_round(algo: str, env: str, steps: int, seeds: int, options: dict[str, Any]) -> dict[str, Any]:
    cmd = [str(REJAX_PYTHON), str(REJAX_SCRIPT), "--algo", algo, "--env", env, "--total-timesteps", str(steps)]
    cmd += ["--seeds", str(seeds), "--repeats", "1", "--config", json.dumps(options)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=1200)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_case(name: str, seeds: int, rounds: int, quick: bool) -> dict[str, Any]:
    module, env, steps, ours, algo, theirs = CASES[name]
    if quick:
        steps = steps // 10
    config = module.make_config(env, total_timesteps=steps, **ours, **EVAL)
    keys = jax.random.split(jax.random.key(0), seeds)
    t0 = time.perf_counter()
    compiled = jax.jit(jax.vmap(module.train, in_axes=(None, 0))).lower(config, keys).compile()
    compile_s = time.perf_counter() - t0
    jax.block_until_ready(compiled(config, keys))
    our_s, their_s, ratios, their_compile = [], [], [], []
    for r in range(rounds):
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(config, keys))
        our_s.append(time.perf_counter() - t0)
        peer = rejax_round(algo, env, steps, seeds, theirs)
        their_s.append(peer["run_s_median"])
        their_compile.append(peer["compile_s"])
        ours_sps = config.trained_timesteps * seeds / our_s[-1]
        ratios.append(ours_sps / peer["steps_per_s"])
        log(f"{name} round {r + 1}: ours {ours_sps:,.0f} steps/s, rejax {peer['steps_per_s']:,.0f}")
    ours_sps = config.trained_timesteps * seeds / statistics.median(our_s)
    return {
        "env": env,
        "seeds": seeds,
        "timesteps": config.trained_timesteps,
        "ours_config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in ours.items()},
        "rejax_config": theirs,
        "ours_compile_s": compile_s,
        "ours_run_s_all": our_s,
        "ours_steps_per_s": ours_sps,
        "rejax_compile_s_all": their_compile,
        "rejax_run_s_all": their_s,
        "rejax_steps_per_s": peer["timesteps_executed"] * seeds / statistics.median(their_s),
        "ratio_ours_over_rejax": statistics.median(ratios),
        "ratios_per_round": ratios,
    }


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Agent throughput: ours vs rejax 0.1.3 (issue 8)",
        "",
        "Machine: 2 CPU cores shared with other jobs running at the same time (load average was high), so",
        "absolute numbers are noisy; the ratio is the median of per-round ratios with both sides interleaved.",
        "Generated by `python benchmarks/agents_throughput.py` on " + time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "",
        "| algorithm | env | seeds | steps/seed | ours steps/s | rejax steps/s | ours / rejax | per-round ratios "
        "| ours compile s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, e in results.items():
        lines.append(
            f"| {name} | {e['env']} | {e['seeds']} | {e['timesteps']:,} | {e['ours_steps_per_s']:,.0f} | "
            f"{e['rejax_steps_per_s']:,.0f} | {e['ratio_ours_over_rejax']:.2f} | "
            f"{', '.join(f'{r:.2f}' for r in e['ratios_per_round'])} | {e['ours_compile_s']:.1f} |"
        )
    lines += [
        "",
        "Matched settings per algorithm are in the JSON (`ours_config`, `rejax_config`). With two rounds under",
        "heavy load (load average ~20 on 2 cores) the per-round ratios spread widely; rerun on a quiet machine",
        "(`--rounds 5`) for a tighter number.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", default=None, choices=sorted(CASES))
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if not REJAX_PYTHON.exists():
        sys.exit("rejax venv missing: run bash benchmarks/peers/setup_rejax.sh")
    out_dir = Path(tempfile.mkdtemp()) if args.quick else RESULTS_DIR
    results: dict[str, Any] = {}
    for name in args.only or list(CASES):
        results[name] = run_case(name, args.seeds, args.rounds, args.quick)
        payload = {
            "machine": {"platform": platform.platform(), "jax": jax.__version__, "devices": str(jax.devices())},
            "note": "2 CPU cores shared with other jobs",
            "results": results,
        }
        atomic_write_text(out_dir / "agents_throughput.json", json.dumps(payload, indent=1))
        atomic_write_text(out_dir / "agents_throughput.md", markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
