"""The one harness every benchmark script uses: logging, arguments, the machine record, reports
and timed training through the library.

Scripts run as ``python benchmarks/<name>.py`` (``benchmarks/`` is then first on ``sys.path``,
so they ``import harness``); the smoke tests import them the same way and call
``main(["--quick", "--out", tmp])`` in-process.

* ``log(message)``: one timestamped, flushed line on stderr, ``[<script> <seconds>s] message``.
* ``make_parser`` / ``parse_args``: every script has ``--quick`` (tiny sizes, seconds) and
  ``--out DIR`` (default ``benchmarks/results``; with ``--quick`` a temp dir, so a smoke test
  never overwrites the committed results). ``--out-dir`` is kept as an alias.
* ``machine_info``: CPUs, versions, backend, devices, XLA flags and load average.
* ``write_report``: ``<name>.json`` and ``<name>.md`` written atomically
  (``jaxrl_rewards.core.files``); ``markdown_table`` builds the short tables.
* Training: ``train_runs`` goes through ``jaxrl_rewards.experiments.runner.train_seeds``
  (one ``jit(vmap(train_segment))`` per segment, metrics ``[S, ...]`` as numpy). What the runner
  cannot do lives here once: ``compile_training`` (an ahead-of-time compiled
  ``runner.vmapped(agent, "train")``, for final states and for timing), ``train_batched``
  (configs with a batch axis), ``interleaved_rounds`` and ``ratio_summary`` (timing rounds with
  the order rotated, ratios as medians of per-round ratios) and the rejax peer subprocesses.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core.files import atomic_write_bytes, atomic_write_text, write_figure
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.experiments.runner import RunResult, train_seeds, vmapped

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"
PEERS_DIR = ROOT / "benchmarks" / "peers"
REJAX_PYTHON = PEERS_DIR / ".venv-rejax" / "bin" / "python"
REJAX_SETUP = PEERS_DIR / "setup_rejax.sh"
QUICK_DIR = Path(tempfile.gettempdir()) / "jaxrl_rewards_bench_quick"

#: PPO / PQN sizes a ``--quick`` run overrides: one tiny iteration shape, one short evaluation.
QUICK_PPO: dict[str, Any] = {
    "num_envs": 4,
    "num_steps": 16,
    "update_epochs": 1,
    "num_minibatches": 1,
    "hidden_sizes": (16,),
    "num_evals": 1,
    "eval_episodes": 1,
    "eval_max_steps": 16,
}

__all__ = [
    "QUICK_PPO",
    "RESULTS_DIR",
    "CompiledTraining",
    "atomic_write_bytes",
    "atomic_write_text",
    "compile_training",
    "interleaved_rounds",
    "log",
    "machine_info",
    "make_parser",
    "markdown_table",
    "parse_args",
    "ratio_summary",
    "read_json",
    "rotated",
    "run_peer_json",
    "seed_keys",
    "train_batched",
    "train_runs",
    "write_figure",
    "write_json",
    "write_report",
]

_clock = {"name": "bench", "t0": time.perf_counter()}


# --------------------------------------------------------------------------- logging and arguments


def log(message: str) -> None:
    """Print ``[<script> <seconds since parse_args>s] message`` to stderr, flushed at once."""
    print(f"[{_clock['name']} {time.perf_counter() - _clock['t0']:7.1f}s] {message}", file=sys.stderr, flush=True)


def elapsed() -> float:
    """Seconds since the script's ``parse_args``."""
    return time.perf_counter() - _clock["t0"]


def make_parser(name: str, description: str | None) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` for the script ``name`` with the shared ``--quick`` and ``--out``.

    ``--out`` (alias ``--out-dir``) defaults to ``benchmarks/results``, or to
    ``$TMPDIR/jaxrl_rewards_bench_quick`` with ``--quick`` (resolved in ``parse_args``)."""
    first_line = (description or name).strip().splitlines()[0]
    parser = argparse.ArgumentParser(prog=f"benchmarks/{name}.py", description=first_line)
    parser.add_argument("--quick", action="store_true", help="tiny sizes for a smoke test (seconds)")
    parser.add_argument(
        "--out",
        "--out-dir",
        dest="out",
        type=Path,
        default=None,
        help=f"results folder (default {RESULTS_DIR.relative_to(ROOT)}; with --quick {QUICK_DIR})",
    )
    parser.set_defaults(bench_name=name)
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse ``argv`` (``None``: ``sys.argv[1:]``), fill in ``args.out`` and restart ``log``'s clock
    under the script's name."""
    args = parser.parse_args(None if argv is None else list(argv))
    if args.out is None:
        args.out = QUICK_DIR if args.quick else RESULTS_DIR
    args.out = Path(args.out)
    _clock.update(name=args.bench_name, t0=time.perf_counter())
    return args


def args_record(args: argparse.Namespace) -> dict[str, Any]:
    """``vars(args)`` as JSON values (paths as strings, without the harness's ``bench_name``)."""
    return {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "bench_name"}


# --------------------------------------------------------------------------- machine record


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def machine_info(**extra: Any) -> dict[str, Any]:
    """CPU count and affinity, platform, library versions, JAX backend and devices, XLA flags and
    the load average now; ``extra`` entries (e.g. a ``note``) are added as given."""
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": affinity,
        "processor": platform.processor() or platform.machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": _version("jaxlib"),
        "flax": _version("flax"),
        "optax": _version("optax"),
        "gymnax": _version("gymnax"),
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "xla_flags": os.environ.get("XLA_FLAGS"),
        "loadavg_start": list(os.getloadavg()),
        **extra,
    }


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages now."""
    return list(os.getloadavg())


# --------------------------------------------------------------------------- reports


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.ndarray, jax.Array)):
        return np.asarray(value).tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def strict_json(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None`` (strict JSON has no NaN); numpy
    scalars become Python numbers."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


def write_json(path: str | Path, data: Any, *, strict: bool = False) -> Path:
    """Write ``data`` as indented JSON (numpy values and tuples converted) atomically; ``strict``
    writes non-finite floats as ``null``. Returns the path."""
    text = json.dumps(strict_json(data) if strict else data, indent=1, default=_jsonable, allow_nan=not strict)
    atomic_write_text(path, text + "\n")
    return Path(path)


def read_json(path: str | Path, default: Any = None) -> Any:
    """The JSON in ``path``, or ``default`` when the file is missing or unreadable (logged)."""
    path = Path(path)
    if not path.exists():
        return default
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        log(f"{path} is unreadable; starting afresh")
        return default


def write_report(out: str | Path, name: str, data: Any, markdown: str, *, strict: bool = False) -> tuple[Path, Path]:
    """Write ``<out>/<name>.json`` (``data``) and ``<out>/<name>.md`` (``markdown``) atomically;
    returns both paths."""
    out = Path(out)
    json_path = write_json(out / f"{name}.json", data, strict=strict)
    md_path = out / f"{name}.md"
    atomic_write_text(md_path, markdown if markdown.endswith("\n") else markdown + "\n")
    return json_path, md_path


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> list[str]:
    """Lines of a markdown table. ``align`` has one letter per column: ``l`` (``---``) or ``r``
    (``---:``); default all ``l``.

    >>> markdown_table(["a", "b"], [[1, 2]], "lr")
    ['| a | b |', '| --- | ---: |', '| 1 | 2 |']
    """
    align = align or "l" * len(headers)
    if len(align) != len(headers) or set(align) - {"l", "r"}:
        raise ConfigError(f"align {align!r}: need one of 'l' / 'r' per column ({len(headers)} columns)")
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" if a == "l" else "---:" for a in align) + " |"]
    for row in rows:
        if len(row) != len(headers):
            raise ConfigError(f"row {list(row)!r} has {len(row)} cells, the table has {len(headers)} columns")
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return lines


# --------------------------------------------------------------------------- training through the library


def seed_keys(seeds: int | Sequence[int]) -> jax.Array:
    """PRNG keys ``[S]`` for seeds ``0..S-1`` (or the given seeds), ``key(seed)`` each: the keys
    ``train_seeds`` uses, so a run here and a run there are the same run."""
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise ConfigError("need at least one seed")
    return jax.vmap(jax.random.key)(jnp.asarray(seed_list, dtype=jnp.uint32))


def train_runs(agent: ModuleType, config: Any, seeds: int | Sequence[int], label: str = "training") -> RunResult:
    """Train ``seeds`` seeds of ``agent`` with ``config`` through the library's runner
    (``train_seeds``, no progress bar); metrics ``[S, iterations]`` / ``[S, num_evals]``."""
    result = train_seeds(agent, config, seeds, progress=False, description=label)
    log(f"{label}: {len(result.seeds)} seed(s) x {result.timesteps:,} steps in {result.total_s:.1f}s")
    return result


@dataclass
class CompiledTraining:
    """An ahead-of-time compiled training call: ``agent.train`` vmapped over ``keys [S]`` (the
    runner's cached ``jit(vmap(train))``), or over one unbatched key. ``run()`` returns
    ``(state, metrics)`` (blocked), ``timed()`` also records its wall time in ``times``."""

    agent: ModuleType
    config: Any
    keys: jax.Array
    compiled: Callable
    compile_s: float
    label: str = "training"
    times: list[float] = field(default_factory=list)
    output: Any = None

    @property
    def seeds(self) -> int:
        """Runs per call: S, or 1 for an unbatched key."""
        return 1 if self.keys.ndim == 0 else int(self.keys.shape[0])

    def run(self) -> tuple[Any, dict[str, Any]]:
        """One call: ``(state, metrics)``, leaves ``[S, ...]`` (no S for an unbatched key)."""
        self.output = jax.block_until_ready(self.compiled(self.config, self.keys))
        return self.output

    def timed(self) -> float:
        """One call; its wall seconds (appended to ``times``)."""
        start = time.perf_counter()
        self.run()
        self.times.append(time.perf_counter() - start)
        return self.times[-1]

    def metrics(self) -> dict[str, np.ndarray]:
        """The last call's metrics as numpy (running once if it never ran)."""
        if self.output is None:
            self.run()
        return {k: np.asarray(v) for k, v in jax.device_get(self.output[1]).items()}


def compile_training(
    agent: ModuleType, config: Any, keys: jax.Array | int, label: str = "training", warmup: bool = True
) -> CompiledTraining:
    """Compile ``agent.train`` ahead of time (``lower().compile()``, its wall time is
    ``compile_s``) for ``keys``: an int S means ``seed_keys(S)``; a key array ``[S]`` is vmapped
    (``runner.vmapped(agent, "train")``); a single key (shape ``()``) trains one unbatched run
    (``jit(agent.train)``, as a peer library's single-run call). ``warmup`` makes one untimed call."""
    agent.validate(config)
    keys = seed_keys(keys) if isinstance(keys, int) else keys
    fn = jax.jit(agent.train) if keys.ndim == 0 else vmapped(agent, "train")
    start = time.perf_counter()
    compiled = fn.lower(config, keys).compile()
    run = CompiledTraining(agent, config, keys, compiled, time.perf_counter() - start, label)
    if warmup:
        run.run()
    log(f"{label}: compiled in {run.compile_s:.1f}s")
    return run


def train_batched(
    agent: ModuleType, config: Any, config_axes: Any, keys: jax.Array | int, *, paired: bool = False
) -> tuple[Any, Any]:
    """Train a batch of configs (leaves with a leading axis L where ``config_axes`` says 0, e.g.
    from ``experiments.paths.batch_config``) in one call: ``(state, metrics)``.

    * default: every config times every key ``[S]``, leaves ``[L, S, ...]``;
    * ``paired``: config i with key i (L = S), leaves ``[S, ...]`` (e.g. seed i with dataset i).

    ``config_axes=None`` is the runner's ``jit(vmap(train))`` over the keys alone."""
    keys = seed_keys(keys) if isinstance(keys, int) else keys
    if config_axes is None:
        return jax.block_until_ready(vmapped(agent, "train")(config, keys))
    if paired:
        fn = jax.jit(jax.vmap(agent.train, in_axes=(config_axes, 0)))
    else:
        fn = jax.jit(jax.vmap(vmapped(agent, "train"), in_axes=(config_axes, None)))
    return jax.block_until_ready(fn(config, keys))


# --------------------------------------------------------------------------- interleaved timing


def rotated(items: Sequence[Any], r: int) -> list[Any]:
    """``items`` rotated left by ``r`` (round r of an interleaved timing starts at item r)."""
    items = list(items)
    k = r % len(items)
    return items[k:] + items[:k]


def interleaved_rounds(
    candidates: Mapping[str, Callable[[], float]], rounds: int, label: str = "round"
) -> dict[str, list[float]]:
    """Time every candidate once per round, for ``rounds`` rounds, order rotated per round (so a
    burst of load from other jobs hits all alike). A candidate is a no-argument callable that
    runs once and returns its wall seconds. Returns name -> seconds per round."""
    if rounds < 1:
        raise ConfigError(f"rounds must be >= 1, got {rounds}")
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for r in range(rounds):
        for name in rotated(list(candidates), r):
            times[name].append(float(candidates[name]()))
        log(f"{label} {r + 1}/{rounds}: " + ", ".join(f"{n} {t[-1]:.3f}s" for n, t in times.items()))
    return times


def ratio_summary(times: Mapping[str, Sequence[float]], baseline: str) -> dict[str, dict[str, Any]]:
    """Per candidate: ``ratio`` = median over rounds of time / baseline time in the same round,
    ``ratio_of_min_times`` = fastest run / fastest baseline run, the per-round ``rounds`` and the
    ``median_s`` / ``min_s`` of its times."""
    if baseline not in times:
        raise ConfigError(f"baseline {baseline!r} is not a candidate; candidates: {sorted(times)}")
    base = times[baseline]
    out = {}
    for name, ts in times.items():
        per_round = [t / b for t, b in zip(ts, base, strict=True)]
        out[name] = {
            "ratio": float(statistics.median(per_round)),
            "ratio_of_min_times": float(min(ts) / min(base)),
            "rounds": per_round,
            "median_s": float(statistics.median(ts)),
            "min_s": float(min(ts)),
        }
    return out


# --------------------------------------------------------------------------- the rejax peer


def ensure_rejax() -> str | None:
    """Make sure the rejax venv exists (runs ``peers/setup_rejax.sh`` when it is missing or
    broken). Returns ``None`` when ready, else an error message."""
    if REJAX_PYTHON.exists():
        check = subprocess.run([str(REJAX_PYTHON), "-c", "import rejax"], capture_output=True, text=True)
        if check.returncode == 0:
            return None
    log("rejax venv missing or broken: running setup_rejax.sh (takes about a minute)")
    try:
        proc = subprocess.run(["bash", str(REJAX_SETUP)], capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"setup_rejax.sh failed: {err!r}"
    if proc.returncode != 0:
        return f"setup_rejax.sh exited with {proc.returncode}: {proc.stderr.strip()[-2000:]}"
    return None


def run_peer_json(script: str | Path, args: Sequence[str], timeout: float = 3600) -> dict[str, Any]:
    """Run ``peers/<script>`` with the rejax venv's python and ``args``; its last JSON line, or
    ``{"error": ...}`` when it fails or prints none."""
    cmd = [str(REJAX_PYTHON), str(PEERS_DIR / script), *map(str, args)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired) as err:
        return {"error": f"{err!r}"}
    if proc.returncode != 0:
        return {"error": f"{script} exited with {proc.returncode}: {proc.stderr.strip()[-2000:]}"}
    lines = [line for line in proc.stdout.splitlines() if line.strip().startswith("{")]
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError) as err:
        return {"error": f"could not parse {script} output ({err!r}): {proc.stdout[-2000:]}"}
