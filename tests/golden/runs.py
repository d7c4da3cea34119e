"""Fixed-seed reference runs whose numbers must stay bit-identical across refactors.

``golden_runs()`` trains a few short runs of every agent (PPO discrete and continuous, PPO
with a transform chain incl. a two-constraint Lagrangian, recurrent PPO, DQN, PQN, SAC), the
quickstart at a small budget and a tiny sweep, and returns ``{run name: {metric: array}}``.
``python tests/golden/runs.py`` records them to ``tests/golden/golden.npz``; the test
``tests/test_golden.py`` recomputes them and asserts equality bit for bit.

A refactor that changes one of these numbers is a bug until it is explained; when a change is
intended (new maths), re-record and say why in the commit.

**The bits belong to a CPU.** Same code, same jax/jaxlib build, same key gives the same bits on
one machine, but XLA's precompiled matrix kernels (Eigen / XNNPACK / oneDNN) pick their code path
from the CPU they run on, so two CPUs round some dot products differently (seen on 2026-12-02:
the file recorded on one CI machine and an AMD EPYC with AVX-512 differ in 45 of 212 arrays, all
within ``rtol 1e-4, atol 1e-6``: about 1e-7 relative on losses and returns, 1e-9 absolute on
near-zero KL values). Each recording
therefore carries the :func:`machine_signature` of the CPU it was made on
(``golden/machines.json`` maps signatures to files). ``tests/test_golden.py`` checks bit for bit
against the recording of the machine it runs on; on a CPU with no recording it checks every
number to float32 rounding (``rtol 1e-4, atol 1e-6``) against each recording and says so.
``python tests/golden/runs.py`` records this machine (``--reference`` also makes it the file
unknown machines are compared with).
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
import tempfile
from pathlib import Path

import jax
import numpy as np
import pandas as pd

GOLDEN = Path(__file__).with_name("golden.npz")
#: ``{"reference": file, "machines": {signature: {"file": ..., "cpu": ...}}}``
MACHINES = Path(__file__).with_name("machines.json")
#: CPU features the precompiled kernels dispatch on (x86-64); others do not enter the signature.
_ISA_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512dq",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "avx_vnni",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)


def cpu_description() -> str:
    """``"<vendor> <model name> [<ISA flags>] jaxlib <version>"`` of this machine (Linux reads
    ``/proc/cpuinfo``; elsewhere ``platform.processor()``)."""
    import jaxlib

    vendor, model, flags = platform.machine(), platform.processor(), set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if key == "vendor_id":
                vendor = value
            elif key == "model name":
                model = value
            elif key in ("flags", "Features"):
                flags = set(value.split())
                break
    isa = " ".join(f for f in _ISA_FLAGS if f in flags)
    return f"{vendor} {model} [{isa}] jaxlib {jaxlib.__version__}"


def machine_signature() -> str:
    """12 hex digits of sha256 of :func:`cpu_description`: machines with equal signatures are
    expected to give equal bits."""
    return hashlib.sha256(cpu_description().encode()).hexdigest()[:12]


def recordings() -> tuple[str, dict[str, dict[str, str]]]:
    """The reference file's name and ``{signature: {"file", "cpu"}}`` from ``machines.json``."""
    manifest = json.loads(MACHINES.read_text())
    return manifest["reference"], manifest["machines"]


def record(reference: bool = False) -> Path:
    """Record :func:`golden_runs` for this machine into ``golden-<signature>.npz`` (the reference
    ``golden.npz`` itself when ``reference``) and register it in ``machines.json``."""
    signature = machine_signature()
    path = GOLDEN if reference else GOLDEN.with_name(f"golden-{signature}.npz")
    flat = flatten(golden_runs())
    np.savez_compressed(path, **flat)
    ref, machines = recordings() if MACHINES.exists() else (GOLDEN.name, {})
    if reference:  # the previous reference keeps its bits under its own signature's entry only
        machines = {sig: entry for sig, entry in machines.items() if entry["file"] != GOLDEN.name}
        ref = GOLDEN.name
    machines[signature] = {"file": path.name, "cpu": cpu_description()}
    MACHINES.write_text(json.dumps({"reference": ref, "machines": machines}, indent=2) + "\n")
    print(f"recorded {len(flat)} arrays to {path}", file=sys.stderr)
    return path


def _agent_runs() -> dict[str, dict[str, np.ndarray]]:
    from jaxrl_rewards.agents import dqn, ppo, pqn, recurrent_ppo, sac
    from jaxrl_rewards.transforms import chain, lagrangian, lift, normalize_rewards, scale

    alive = lift(lambda o, a, n, i: 1.0, "alive", weight=0.0)
    tiny_q = dict(
        num_envs=2,
        buffer_size=64,
        batch_size=8,
        learning_starts=16,
        hidden_sizes=(16,),
        num_evals=2,
        eval_episodes=2,
        eval_max_steps=20,
        transform=alive,
    )
    configs = {
        "ppo_cartpole": (
            ppo,
            ppo.make_config("CartPole-v1", total_timesteps=4 * 64 * 4, num_steps=64, num_evals=2, eval_max_steps=100),
        ),
        "ppo_pendulum": (
            ppo,
            ppo.make_config(
                "Pendulum-v1",
                num_envs=2,
                num_steps=16,
                total_timesteps=2 * 16 * 3,
                num_evals=1,
                num_minibatches=2,
                eval_max_steps=50,
            ),
        ),
        "ppo_chain": (
            ppo,
            ppo.make_config(
                "CartPole-v1",
                total_timesteps=4 * 32 * 3,
                num_steps=32,
                num_evals=1,
                eval_max_steps=50,
                transform=chain(scale(0.5), normalize_rewards(), alive),
            ),
        ),
        "ppo_lagrangian": (
            ppo,
            ppo.make_config(
                "PointTwoHazards-v0",
                total_timesteps=4 * 32 * 3,
                num_steps=32,
                num_evals=1,
                eval_max_steps=50,
                transform=lagrangian(limits=(1.0, 2.0)),
            ),
        ),
        "ppo_group": (
            ppo,
            ppo.make_config(
                "CartPole-v1",
                total_timesteps=4 * 32 * 2,
                num_steps=32,
                num_evals=1,
                eval_max_steps=50,
                advantage="rloo",
                group_size=2,
            ),
        ),
        "recurrent_ppo": (
            recurrent_ppo,
            recurrent_ppo.make_config("MemoryChain-bsuite", total_timesteps=16 * 32 * 2, num_evals=1, eval_episodes=4),
        ),
        "dqn": (dqn, dqn.make_config("CartPole-v1", total_timesteps=2 * 60, target_update_every=5, **tiny_q)),
        "pqn": (
            pqn,
            pqn.make_config(
                "CartPole-v1",
                num_envs=4,
                num_steps=8,
                total_timesteps=4 * 8 * 4,
                num_minibatches=2,
                update_epochs=2,
                hidden_sizes=(16,),
                num_evals=2,
                eval_episodes=2,
                eval_max_steps=20,
                transform=alive,
            ),
        ),
        "sac": (sac, sac.make_config("Pendulum-v1", total_timesteps=2 * 40, **tiny_q)),
    }
    out = {}
    for name, (agent, config) in configs.items():
        _, metrics = jax.jit(agent.train)(config, jax.random.key(3))
        out[name] = {k: np.asarray(v) for k, v in metrics.items()}
    return out


def _frame_arrays(frame) -> dict[str, np.ndarray]:
    """A results frame as sorted columns of numbers (the order of rows is normalised)."""
    frame = frame.sort_values([c for c in ("variant", "run", "iteration") if c in frame.columns])
    frame = frame.reset_index(drop=True)
    return {
        str(c): frame[c].to_numpy(dtype=np.float64)
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c].dtype)
    }


def _sweep_runs() -> dict[str, dict[str, np.ndarray]]:
    from jaxrl_rewards.experiments.quickstart import quickstart_spec
    from jaxrl_rewards.experiments.sweep import run_sweep

    tiny_sweep = {
        "name": "golden",
        "seeds": 2,
        "config": {
            "total_timesteps": 64,
            "num_envs": 2,
            "num_steps": 16,
            "num_minibatches": 1,
            "update_epochs": 1,
            "hidden_sizes": [8],
            "num_evals": 2,
            "eval_episodes": 1,
            "eval_max_steps": 20,
        },
        "search": {"chunk_size": 2},
        "params": {"learning_rate": [1e-3, 3e-2]},
        "transform": ["scale:factor=0.5"],
    }
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        result = run_sweep(tiny_sweep, Path(tmp) / "sweep", progress=False, shard=False)
        out["sweep"] = _frame_arrays(result.frame)
        spec = quickstart_spec(seeds=2, steps=16 * 32 * 2, num_evals=2)
        result = run_sweep(spec, Path(tmp) / "quickstart", progress=False, shard=False)
        out["quickstart"] = _frame_arrays(result.frame)
    return out


def golden_runs() -> dict[str, dict[str, np.ndarray]]:
    """Every reference run: ``{run name: {metric or column: array}}``."""
    return {**_agent_runs(), **_sweep_runs()}


def flatten(runs: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {f"{run}::{key}": value for run, metrics in runs.items() for key, value in metrics.items()}


def main(argv: list[str]) -> None:
    """``runs.py [--reference]`` records this machine; ``runs.py --group agents|sweeps --out F``
    computes one group and saves its flat arrays to ``F`` (``tests/test_golden.py`` runs this in a
    subprocess at the library's default XLA flags)."""
    if "--out" in argv:
        group = argv[argv.index("--group") + 1]
        runs = _agent_runs() if group == "agents" else _sweep_runs()
        np.savez(argv[argv.index("--out") + 1], **flatten(runs))
    else:
        record(reference="--reference" in argv)


if __name__ == "__main__":
    main(sys.argv[1:])
