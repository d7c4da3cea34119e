"""XLA compiler options vs PPO's compile time, run time and bits (issue 16's compile goal).

    python benchmarks/compile_flags.py            # PPO CartPole-v1, 262,144 steps, 2 rounds (~3 min)
    python benchmarks/compile_flags.py --quick    # smoke test, written to a temp dir

Each flag set runs in its own subprocess (``XLA_FLAGS`` is read once, when JAX creates its CPU
client): ``jit(ppo.train).trace().lower()`` then ``.compile()`` (timed apart), one untimed call,
three timed calls (the fastest is reported) and a SHA-1 of every output leaf's bytes: the same
fingerprint as the defaults' means the same bits for this run (the golden check,
``tests/test_golden.py``, covers the other agents). The library adds its AVX cap
(``core.determinism``) to every set. Rounds are interleaved; medians are reported.
Writes ``benchmarks/results/compile_flags.{json,md}`` atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from harness import ROOT, log, machine_info, make_parser, markdown_table, parse_args, publish, rotated

#: label -> XLA_FLAGS; the first is the reference
FLAG_SETS: dict[str, str] = {
    "defaults": "",
    "LLVM -O1": "--xla_backend_optimization_level=1",
    "no expensive LLVM passes": "--xla_llvm_disable_expensive_passes=true",
    "no XLA:CPU loop unrolling": "--xla_backend_extra_options=xla_cpu_disable_loop_unrolling",
    "LLVM -O0 (the test suite's)": "--xla_backend_optimization_level=0",
}


def worker(steps: int) -> dict[str, Any]:
    """In the subprocess: compile and run PPO once; seconds and the output's fingerprint."""
    import jax
    import numpy as np

    from jaxrl_rewards.agents import ppo

    sizes = {"num_steps": 16, "hidden_sizes": (16,), "eval_max_steps": 16} if steps < 4096 else {}
    config = ppo.make_config("CartPole-v1", total_timesteps=steps, num_evals=1, **sizes)
    start = time.perf_counter()
    lowered = jax.jit(ppo.train).trace(config, jax.random.key(0)).lower()
    traced = time.perf_counter()
    compiled = lowered.compile()
    done = time.perf_counter()
    jax.block_until_ready(compiled(config, jax.random.key(0)))
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        out = jax.block_until_ready(compiled(config, jax.random.key(0)))
        runs.append(time.perf_counter() - t0)
    leaves = [np.asarray(x) for x in jax.tree.leaves(out) if not jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)]
    digest = hashlib.sha1(b"".join(leaf.tobytes() for leaf in leaves)).hexdigest()
    return {"trace_lower_s": traced - start, "compile_s": done - traced, "run_s": min(runs), "sha1": digest,
            "xla_flags": os.environ.get("XLA_FLAGS", "")}  # fmt: skip


def run_set(flags: str, steps: int) -> dict[str, Any]:
    """One subprocess of :func:`worker` with ``XLA_FLAGS=flags``; its JSON line."""
    env = {**os.environ, "XLA_FLAGS": flags}
    cmd = [sys.executable, __file__, "--worker", str(steps)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"flags {flags!r}: worker exited {proc.returncode}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def markdown(data: dict[str, Any]) -> str:
    """The report: per flag set, median compile and run seconds and whether the bits match."""
    reference = data["sets"][0]["sha1"]
    rows = [[f"{s['label']} (`{s['flags'] or '-'}`)", f"{s['compile_s']:.2f}", f"{s['compile_s_min']:.2f}",
             f"{s['run_s']:.3f}", "reference" if s is data["sets"][0] else ("same" if s["sha1"] == reference else
             "**differ**")] for s in data["sets"]]  # fmt: skip
    table = markdown_table(["flag set", "compile s (median)", "compile s (min)", "run s", "bits"], rows, "lrrrl")
    m = data["machine"]
    return "\n".join([
        "# XLA compiler options vs PPO compile time (issue 16)",
        "",
        f"`python benchmarks/compile_flags.py`: `jit(ppo.train)` on CartPole-v1, {data['steps']:,} steps, 1 seed, "
        f"{data['rounds']} interleaved rounds of one subprocess per flag set (the library's AVX cap added to each). "
        f"Machine: {m['cpu_count']} CPU cores, 1-minute load average {m['loadavg_start'][0]:.2f} at the start. "
        "Bits: SHA-1 of every output leaf vs the defaults' (this run only; `tests/test_golden.py` checks the "
        "other agents).",
        "",
        *table,
        "",
    ])  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Time every flag set (``--rounds`` interleaved rounds); write ``compile_flags.{json,md}``."""
    if argv is None and len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(worker(int(sys.argv[2]))))
        return 0
    parser = make_parser("compile_flags", __doc__)
    parser.add_argument("--steps", type=int, default=262_144, help="environment steps of the PPO run")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds")
    args = parse_args(parser, argv)
    steps, rounds = (256, 1) if args.quick else (args.steps, args.rounds)
    chosen = dict(list(FLAG_SETS.items())[:2]) if args.quick else FLAG_SETS
    machine = machine_info()
    results: dict[str, list[dict[str, Any]]] = {label: [] for label in chosen}
    for r in range(rounds):
        for label in rotated(chosen, r):
            results[label].append(run_set(chosen[label], steps))
            log(f"round {r + 1}/{rounds} {label}: compile {results[label][-1]['compile_s']:.2f}s")
    sets = []
    for label, runs in results.items():
        digests = {run["sha1"] for run in runs}
        if len(digests) != 1:
            raise RuntimeError(f"{label}: the same flags gave different bits across rounds ({sorted(digests)})")
        sets.append({"label": label, "flags": chosen[label], "runs": runs, "sha1": runs[0]["sha1"],
                     "compile_s": statistics.median(x["compile_s"] for x in runs),
                     "compile_s_min": min(x["compile_s"] for x in runs),
                     "run_s": statistics.median(x["run_s"] for x in runs)})  # fmt: skip
    data = {"steps": steps, "rounds": rounds, "sets": sets, "machine": machine}
    return publish(args.out, "compile_flags", data, markdown(data))


if __name__ == "__main__":
    sys.exit(main())
