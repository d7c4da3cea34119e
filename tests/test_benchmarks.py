"""Smoke tests of the benchmarks: every script's ``--quick`` mode runs in-process
(``module.main(["--quick", "--out", tmp])``) and writes its report files with the fields the
committed results have. ``benchmarks/peers/`` (rejax, own venv) is not run here; the two
scripts that compare with rejax skip the peer in quick mode.

Run only these: ``pytest -m bench_smoke tests/test_benchmarks.py``; leave them out: ``-m "not bench_smoke"``.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH_DIR))

harness = importlib.import_module("harness")

#: script -> (files it writes, top-level JSON keys of its main report)
EXPECTED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "transform_overhead": (
        ("transform_overhead.json", "transform_overhead.md"),
        ("args", "ppo", "compile_s", "run_s", "median_run_s", "steps_per_s", "ratio_to_plain", "machine"),
    ),
    "intrinsic_overhead": (
        ("intrinsic_overhead.json", "intrinsic_overhead.md"),
        ("env", "seeds", "steps_per_seed", "ppo", "rounds", "rows", "machine"),
    ),
    "live_logging_overhead": (
        ("live_logging_overhead.json", "live_logging_overhead.md"),
        ("runs", "steps_per_run", "times_s", "median_s", "min_s", "overhead_of_best", "overhead_median_of_rounds"),
    ),
    "sweep_throughput": (
        ("sweep_throughput.json", "sweep_throughput.md"),
        ("runs", "learning_rates", "seeds", "steps_per_run", "sweep", "separate", "ratio", "machine"),
    ),
    "constrained": (
        ("constrained.json", "constrained.md", "constrained.png"),
        ("machine", "seeds", "ppo_options", "point", "two", "overhead", "checks"),
    ),
    "learning": (
        ("learning.json", "learning.md", "learning_curves.png"),
        ("experiments", "machine"),
    ),
}


@pytest.mark.bench_smoke
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_quick_mode_writes_its_report(name, tmp_path):
    module = importlib.import_module(name)
    start = time.perf_counter()
    status = module.main(["--quick", "--out", str(tmp_path)])
    elapsed = time.perf_counter() - start
    assert status in (0, None)
    files, keys = EXPECTED[name]
    for file in files:
        assert (tmp_path / file).stat().st_size > 0, f"{name} did not write {file}"
    data = json.loads((tmp_path / files[0]).read_text())
    missing = [k for k in keys if k not in data]
    assert not missing, f"{name}: {files[0]} lacks {missing}"
    print(f"{name} --quick: {elapsed:.1f}s")
