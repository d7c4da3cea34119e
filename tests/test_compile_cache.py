"""The command line's persistent compilation cache: where it lives, how it is turned off, and that a
second identical ``train`` run in a new process loads its programs instead of compiling them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import default_flags_env

from jaxrl_rewards.experiments.compile_cache import ENV_VAR, default_cache_dir, resolve_cache_dir


def test_resolve_cache_dir_precedence(tmp_path):
    home = Path.home() / ".cache" / "jaxrl_rewards" / "xla"
    assert default_cache_dir({}) == home
    assert default_cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/jaxrl_rewards/xla")
    # the flag beats everything; our variable beats JAX's folder; JAX's folder beats the default
    assert resolve_cache_dir(False, {ENV_VAR: str(tmp_path)}, jax_dir="/j") is None
    assert resolve_cache_dir(True, {ENV_VAR: str(tmp_path)}, jax_dir="/j") == tmp_path
    for off in ("off", "0", "FALSE", "none", ""):
        assert resolve_cache_dir(True, {ENV_VAR: off}, jax_dir="/j") is None
    assert resolve_cache_dir(True, {}, jax_dir="/j") == Path("/j")
    assert resolve_cache_dir(True, {}, jax_dir="") == home


_RUN = """
import json, sys
from jaxrl_rewards.cli.app import app
from jaxrl_rewards.experiments.compile_cache import CompileMonitor
with CompileMonitor() as monitor:
    app(sys.argv[1:], standalone_mode=False)
print("COMPILE_STATS " + json.dumps(monitor.as_dict()))
"""


@pytest.mark.slow
def test_second_cli_run_compiles_at_most_a_tenth(tmp_path):
    cache = tmp_path / "xla"
    # not the suite's own cache, and the library's default XLA flags (the claim is about them): at the
    # suite's -O0 a tiny program compiles so fast that the cache's fixed load cost nears a tenth of it
    env = {k: v for k, v in default_flags_env().items() if not k.startswith("JAX_")}
    env[ENV_VAR] = str(cache)
    # the default network and batch (one iteration, one evaluation): a first compile of seconds, so the
    # cached run's fixed costs (loading, the few programs compiled before the cache is set up) stay far
    # below a tenth of it even when other tests load the machine (with TINY_PPO's sub-second compile,
    # each of 3 fresh-clone CI runs on 2026-12-04 needed a rerun; the one run with -rR named this test)
    sets = ["--set", "num_evals=1"]
    args = ["train", "--steps", "512", "--seeds", "1", "--no-progress", "--out", str(tmp_path / "r.json"), *sets]

    def run() -> dict:
        proc = subprocess.run(
            [sys.executable, "-c", _RUN, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        line = next(x for x in proc.stdout.splitlines() if x.startswith("COMPILE_STATS "))
        return json.loads(line.split(" ", 1)[1])

    first = run()
    second = min((run(), run()), key=lambda stats: stats["compile_s"])  # the less disturbed of two cached runs
    assert first["compiles"] >= 1 and first["cache_hits"] == 0
    assert any(cache.iterdir()), "the first run wrote nothing to the cache"
    assert second["cache_hits"] >= 1 and second["cache_requests"] == second["cache_hits"]
    print(f"backend compile: first run {first['compile_s']:.2f} s, cached run {second['compile_s']:.3f} s")
    assert second["compile_s"] <= 0.1 * first["compile_s"], (first, second)
