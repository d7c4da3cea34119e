"""The rejax peer: its venv (``peers/.venv-rejax``, built by ``peers/setup_rejax.sh``) and one
subprocess per timed round that prints one JSON line."""

from __future__ import annotations

import json
import statistics
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .cli import ROOT, log

PEERS_DIR = ROOT / "benchmarks" / "peers"
REJAX_PYTHON = PEERS_DIR / ".venv-rejax" / "bin" / "python"
REJAX_SETUP = PEERS_DIR / "setup_rejax.sh"


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


def peer_compile_s(first_calls_s: Sequence[float], runs_s: Sequence[float]) -> float:
    """The peer's compile seconds from its rounds: a peer script's ``compile_s`` is its first
    call (compile + one run), so ``median(first calls) - median(timed runs)``."""
    return statistics.median(first_calls_s) - statistics.median(runs_s)
