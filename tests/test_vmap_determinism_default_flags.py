"""``tests/test_vmap_determinism.py`` at the library's default XLA flags, in a subprocess (the
suite's own process compiles at LLVM -O0, see ``tests/conftest.py``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import default_flags_env

MODULE = Path(__file__).with_name("test_vmap_determinism.py")


@pytest.mark.slow  # four agents at batch 1, 2 and 4 and two sweeps, compiled at the default flags
def test_vmap_determinism_module_passes_at_the_default_flags():
    command = [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", "-rxXs", str(MODULE)]
    result = subprocess.run(command, env=default_flags_env(), capture_output=True, text=True, cwd=MODULE.parents[1])
    tail = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 0, tail
    assert " passed" in result.stdout and "skipped" not in result.stdout.split("\n")[-2], tail
