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
    "compile_flags": (("compile_flags.json", "compile_flags.md"), ("steps", "rounds", "sets", "machine")),
    "ppo_floor": (("ppo_floor.json", "ppo_floor.md"), ("config", "rounds", "rows", "machine")),
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
    "throughput": (
        ("throughput.json", "throughput.md"),
        ("created", "args", "machine", "env", "ppo", "transforms", "elapsed_s"),
    ),
    "agents_learning": (("agents_learning.json", "agents_learning.md"), ("machine", "note", "experiments")),
    "brax_learning": (
        ("brax_learning.json", "brax_learning.md"),
        ("args", "env", "backends", "cap", "criterion", "agents", "pass", "reading", "wall_s", "machine"),
    ),
    "agents_throughput": (("agents_throughput.json", "agents_throughput.md"), ("machine", "note", "results")),
    "shaping_learning": (
        ("shaping_learning.json", "shaping_learning.md"),
        ("args", "ppo", "summary", "results", "machine", "total_wall_s"),
    ),
    "multi_objective": (
        ("multi_objective.json", "multi_objective.md"),
        ("args", "ppo", "reference_point", "exact", "results", "machine", "total_wall_s"),
    ),
    "exploration": (("exploration.json", "exploration.md", "exploration_curves.png"), ("machine", "deep_sea")),
    "learned_rewards": (("learned_rewards.json", "learned_rewards.md", "learned_rewards_curves.png"), ("overopt",)),
    "learned_rewards_ensemble": (
        ("learned_rewards_ensemble.json", "learned_rewards_ensemble.md"),
        ("runs", "machine"),
    ),
    "bandits": (
        ("bandits.json", "bandits.md", "bandits_regret.png"),
        ("machine", "quick", "bernoulli", "throughput", "total_s"),
    ),
    "offline_dual_rl": (
        ("offline_dual_rl.json", "offline_dual_rl.md"),
        ("args", "settings", "expert_success", "random_success", "wall_s", "machine"),
    ),
    "teacher_epo": (("teacher_epo.json", "teacher_epo.md"), ("args", "teacher", "epo", "wall_s", "machine")),
    "replay_ratio": (("replay_ratio.json", "replay_ratio.md"), ("args", "results", "wall_s", "machine")),
    "lpo": (
        ("lpo.json", "lpo.md", "lpo_objective.json", "lpo_objective.npz"),
        ("args", "es_s", "fitness", "mean_fitness", "held_out", "wall_s", "machine"),
    ),
    "quality_diversity": (
        ("quality_diversity.json", "quality_diversity.md"),
        ("args", "env", "budget", "results", "curves", "wall_s", "machine"),
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


def test_every_benchmark_script_is_smoke_tested():
    scripts = {p.stem for p in BENCH_DIR.glob("*.py")} - {"harness"}
    assert scripts == set(EXPECTED), f"not in EXPECTED: {scripts - set(EXPECTED)}; gone: {set(EXPECTED) - scripts}"


# --------------------------------------------------------------------------- the harness itself


def test_parser_has_quick_and_out_and_quick_never_writes_results(tmp_path):
    parser = harness.make_parser("demo", "Demo benchmark.\n\nMore text.")
    args = harness.parse_args(parser, [])
    assert args.out == harness.RESULTS_DIR and not args.quick
    quick = harness.parse_args(parser, ["--quick"])
    assert quick.quick and quick.out != harness.RESULTS_DIR
    assert harness.parse_args(parser, ["--out-dir", str(tmp_path)]).out == tmp_path
    assert "bench_name" not in harness.args_record(quick)
    assert harness.args_record(quick)["out"] == str(quick.out)


def test_log_is_timestamped_and_named(capsys):
    harness.parse_args(harness.make_parser("demo", None), [])
    harness.log("hello")
    err = capsys.readouterr().err
    assert err.startswith("[demo ") and err.rstrip().endswith("s] hello")


def test_markdown_table_and_its_errors():
    assert harness.markdown_table(["a", "b"], [[1, "x"]], "lr") == ["| a | b |", "| --- | ---: |", "| 1 | x |"]
    with pytest.raises(harness.ConfigError, match="2 columns"):
        harness.markdown_table(["a", "b"], [[1]])
    with pytest.raises(harness.ConfigError, match="'l' / 'r'"):
        harness.markdown_table(["a"], [], "c")


def test_write_report_writes_json_and_markdown_atomically(tmp_path):
    import numpy as np

    data = {"x": np.float32(1.5), "v": np.arange(3), "t": (1, 2), "nan": float("nan")}
    json_path, md_path = harness.write_report(tmp_path / "sub", "demo", data, "# demo", strict=True)
    assert json.loads(json_path.read_text()) == {"x": 1.5, "v": [0, 1, 2], "t": [1, 2], "nan": None}
    assert md_path.read_text() == "# demo\n"
    assert not [p for p in json_path.parent.iterdir() if p.name.startswith(".")]  # no temp files left
    assert harness.read_json(json_path)["x"] == 1.5
    assert harness.read_json(tmp_path / "missing.json", {"d": 1}) == {"d": 1}
    (tmp_path / "bad.json").write_text("{")
    assert harness.read_json(tmp_path / "bad.json", {}) == {}


def test_machine_info_has_the_keys_reports_read():
    info = harness.machine_info(note="n")
    for key in ("cpu_count", "processor", "backend", "devices", "jax", "loadavg_start"):
        assert key in info
    assert info["note"] == "n" and len(harness.loadavg()) == 3


def test_rotation_and_interleaved_rounds_and_ratios():
    assert harness.rotated([1, 2, 3], 4) == [2, 3, 1]
    order = []
    fake = {"a": 2.0, "b": 3.0}

    def candidate(name):
        def run():
            order.append(name)
            fake[name] += 1.0  # each call of a candidate gets one second slower
            return fake[name]

        return run

    times = harness.interleaved_rounds({"a": candidate("a"), "b": candidate("b")}, rounds=3)
    assert order == ["a", "b", "b", "a", "a", "b"]
    assert times == {"a": [3.0, 4.0, 5.0], "b": [4.0, 5.0, 6.0]}
    ratios = harness.ratio_summary(times, "a")
    assert ratios["b"]["rounds"] == [4 / 3, 5 / 4, 6 / 5]
    assert ratios["b"]["ratio"] == 5 / 4 and ratios["b"]["ratio_of_min_times"] == 4 / 3
    assert ratios["a"]["ratio"] == 1.0 and ratios["b"]["median_s"] == 5.0
    with pytest.raises(harness.ConfigError, match="baseline 'c'"):
        harness.ratio_summary(times, "c")
    with pytest.raises(harness.ConfigError, match="rounds"):
        harness.interleaved_rounds({"a": candidate("a")}, rounds=0)


def test_peer_compile_seconds_subtract_the_median_run_from_the_median_first_call():
    # first calls (compile + one run) 3, 5, 4 s -> median 4; timed runs 1, 2, 1.5 s -> median 1.5
    assert harness.peer_compile_s([3.0, 5.0, 4.0], [1.0, 2.0, 1.5]) == pytest.approx(2.5)


def test_seed_keys_are_the_runner_keys():
    import jax
    import numpy as np

    keys = harness.seed_keys(3)
    expected = [jax.random.key_data(jax.random.key(s)) for s in range(3)]
    assert np.array_equal(jax.random.key_data(keys), np.stack(expected))
    with pytest.raises(harness.ConfigError, match="at least one seed"):
        harness.seed_keys([])


@pytest.mark.bench_smoke
def test_compiled_training_runs_the_same_runs_as_the_runner():
    import numpy as np

    from jaxrl_rewards.agents import ppo

    config = ppo.make_config("CartPole-v1", **{**harness.QUICK_PPO, "total_timesteps": 128, "num_evals": 2})
    via_runner = harness.train_runs(ppo, config, 2)
    compiled = harness.compile_training(ppo, config, 2, warmup=False)
    assert compiled.seeds == 2 and compiled.compile_s > 0
    assert compiled.timed() > 0 and len(compiled.times) == 1
    metrics = compiled.metrics()
    for key in ("eval/return/task", "train/episode_return", "loss/value"):
        assert metrics[key].shape == via_runner.metrics[key].shape
        np.testing.assert_allclose(metrics[key], via_runner.metrics[key], rtol=1e-5, atol=1e-6)


#: script -> (its markdown renderer, the part of the committed JSON it reads)
RENDERERS = {
    "throughput": ("markdown", None),
    "learning": ("markdown", None),
    "constrained": ("markdown", None),
    "exploration": ("render", None),
    "transform_overhead": ("render", None),
    "intrinsic_overhead": ("render", None),
    "live_logging_overhead": ("render", None),
    "shaping_learning": ("render", None),
    "multi_objective": ("render", None),
    "learned_rewards_ensemble": ("render", None),
    "agents_learning": ("markdown", "experiments"),
    "agents_throughput": ("markdown", "results"),
}


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_renderers_still_read_the_committed_results(name):
    results = BENCH_DIR / "results"
    renderer, part = RENDERERS[name]
    data = json.loads((results / f"{name}.json").read_text())
    text = getattr(importlib.import_module(name), renderer)(data if part is None else data[part])
    committed = (results / f"{name}.md").read_text()
    assert text.splitlines()[0] == committed.splitlines()[0]
    assert len(text.strip().splitlines()) == len(committed.strip().splitlines())
