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

import json
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from harness import (
    REJAX_PYTHON,
    compile_training,
    log,
    machine_info,
    make_parser,
    parse_args,
    peer_compile_s,
    run_peer_json,
    write_report,
)

from jaxrl_rewards.agents import dqn, pqn, sac

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

#: ``--quick``: the three cases at these sizes, ours only (the rejax peer is not run)
QUICK = {
    "dqn": {"total_timesteps": 64, "num_envs": 2, "batch_size": 8, "buffer_size": 64, "learning_starts": 16},
    "pqn": {"total_timesteps": 128, "num_envs": 4, "num_steps": 8, "num_minibatches": 1, "update_epochs": 1},
    "sac": {"total_timesteps": 32, "num_envs": 2, "batch_size": 8, "learning_starts": 8},
}
QUICK_CASES = ("pqn",)


def rejax_round(algo: str, env: str, steps: int, seeds: int, options: dict[str, Any]) -> dict[str, Any]:
    """One ``peers/rejax_agents.py`` subprocess (compile call, then one timed call); its JSON line."""
    args = ["--algo", algo, "--env", env, "--total-timesteps", steps, "--seeds", seeds, "--repeats", 1]
    result = run_peer_json("rejax_agents.py", [*map(str, args), "--config", json.dumps(options)], timeout=1200)
    if "error" in result:
        raise RuntimeError(result["error"])
    return result


def run_case(name: str, seeds: int, rounds: int, quick: bool) -> dict[str, Any]:
    """Ours and rejax (unless ``quick``) in alternating rounds; steps/s and their per-round ratios."""
    module, env, steps, ours, algo, theirs = CASES[name]
    if quick:
        ours = {**ours, "hidden_sizes": (16,), **QUICK[name]}
        steps = ours.pop("total_timesteps")
    config = module.make_config(env, total_timesteps=steps, **ours, **EVAL)
    run = compile_training(module, config, seeds, label=name)
    compile_s = run.compile_s
    our_s, their_s, ratios, their_compile = [], [], [], []
    peer: dict[str, Any] = {}
    for r in range(rounds):
        our_s.append(run.timed())
        ours_sps = config.trained_timesteps * seeds / our_s[-1]
        if quick:
            log(f"{name} round {r + 1}: ours {ours_sps:,.0f} steps/s (quick: rejax not run)")
            continue
        peer = rejax_round(algo, env, steps, seeds, theirs)
        their_s.append(peer["run_s_median"])
        their_compile.append(peer["compile_s"])
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
        "rejax_steps_per_s": peer["timesteps_executed"] * seeds / statistics.median(their_s) if peer else None,
        "ratio_ours_over_rejax": statistics.median(ratios) if ratios else None,
        "ratios_per_round": ratios,
    }


def _num(x: float | None, spec: str) -> str:
    return "—" if x is None else format(x, spec)


def _load(machine: dict[str, Any] | None) -> str:
    load = (machine or {}).get("loadavg_start")
    return "load average not recorded" if not load else f"1-minute load average {load[0]:.2f} at the start"


def markdown(results: dict[str, Any], machine: dict[str, Any] | None = None) -> str:
    """The markdown report of every case that ran (``machine``: the JSON's machine record)."""
    lines = [
        "# Agent throughput: ours vs rejax 0.1.3 (issue 8)",
        "",
        f"Machine: 2 CPU cores ({_load(machine)}); the ratios are medians of per-round ratios with both",
        "sides interleaved. rejax's compile s = median of its first calls minus median of its timed runs.",
        "Generated by `python benchmarks/agents_throughput.py` on " + time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "",
        "| algorithm | env | seeds | steps/seed | ours steps/s | rejax steps/s | ours / rejax | per-round ratios "
        "| ours compile s | rejax compile s | compile ours / rejax |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, e in results.items():
        theirs = peer_compile_s(e["rejax_compile_s_all"], e["rejax_run_s_all"]) if e["rejax_compile_s_all"] else None
        compile_ratio = None if theirs is None else e["ours_compile_s"] / theirs
        lines.append(
            f"| {name} | {e['env']} | {e['seeds']} | {e['timesteps']:,} | {e['ours_steps_per_s']:,.0f} | "
            f"{_num(e['rejax_steps_per_s'], ',.0f')} | {_num(e['ratio_ours_over_rejax'], '.2f')} | "
            f"{', '.join(f'{r:.2f}' for r in e['ratios_per_round'])} | {e['ours_compile_s']:.1f} | "
            f"{_num(theirs, '.1f')} | {_num(compile_ratio, '.2f')} |"
        )
    lines += [
        "",
        "Matched settings per algorithm are in the JSON (`ours_config`, `rejax_config`). Two rounds by default;",
        "`--rounds 5` gives a tighter number.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Time every case; write ``agents_throughput.{json,md}`` to ``--out``."""
    parser = make_parser("agents_throughput", __doc__)
    parser.add_argument("--only", nargs="*", default=None, choices=sorted(CASES))
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parse_args(parser, argv)
    if args.quick:
        args.seeds, args.rounds = 2, 1
    elif not REJAX_PYTHON.exists():
        sys.exit("rejax venv missing: run bash benchmarks/peers/setup_rejax.sh")
    results: dict[str, Any] = {}
    for name in args.only or (QUICK_CASES if args.quick else list(CASES)):
        results[name] = run_case(name, args.seeds, args.rounds, args.quick)
        payload = {
            "machine": machine_info(),
            "note": "2 CPU cores" + (" (quick: ours only)" if args.quick else ""),
            "results": results,
        }
        text = markdown(results, payload["machine"])
        write_report(args.out, "agents_throughput", payload, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
