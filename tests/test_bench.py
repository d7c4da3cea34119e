"""``jaxrl-rewards bench`` (small sizes: the table's and the JSON's fields, never a speed) and the
timing helpers of ``experiments/bench.py``."""

from __future__ import annotations

import json

import pytest
from conftest import TINY_PPO
from typer.testing import CliRunner

from jaxrl_rewards.cli.app import app
from jaxrl_rewards.cli.bench import COLUMNS
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.experiments.bench import interleaved_rounds, ratio_summary, rotated

SETS = [a for k, v in TINY_PPO.items() if k != "total_timesteps" for a in ("--set", f"{k}={json.dumps(v)}")]


def _invoke(args: list[str]):
    result = CliRunner().invoke(app, ["bench", *args], terminal_width=200)
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.slow  # compiles and times two training candidates
def test_bench_train_with_comparison(tmp_path):
    out = tmp_path / "bench.json"
    sizes = ["--steps", "64", "--seeds", "2", "--repeats", "2", *SETS]
    result = _invoke([*sizes, "-t", "scale:factor=0.5", "--json", str(out)])
    printed = "".join(result.output.split())  # rich wraps headers and labels in narrow terminals
    for column in (*COLUMNS, "backendcpu" if "cpu" in result.output else "backend"):
        assert column.replace(" ", "") in printed
    report = json.loads(out.read_text())
    assert report["backend"] and report["device_count"] >= 1 and len(report["devices"]) == report["device_count"]
    assert report["repeats"] == 2 and report["baseline"] == "ppo on CartPole-v1 (no transform)"
    with_t, plain = report["rows"]
    assert with_t["transform"] == ["scale:factor=0.5"] and plain["transform"] == []
    assert plain["ratio_vs_baseline"] == 1.0
    for row in (with_t, plain):
        assert row["seeds"] == 2 and row["mode"] == "train"
        # 64 steps in iterations of 2 envs x 16 steps: 64 per seed, 2 seeds per call
        assert row["trained_timesteps"] == 64 and row["steps_per_call"] == 128
        assert len(row["run_s_all"]) == 2 and row["run_s"] > 0 and row["compile_s"] > 0
        assert row["steps_per_s"] == pytest.approx(row["steps_per_call"] / row["run_s"], rel=1e-3)
        assert row["compiles"] >= 1 and row["cache_hits"] <= row["compiles"]


def test_bench_env_only(tmp_path):
    out = tmp_path / "env.json"
    result = _invoke(["--env-only", "--num-envs", "3", "--steps", "8", "--repeats", "1", "--json", str(out)])
    assert "env-only" in result.output and "24" in result.output  # 3 envs x 8 steps per call
    (row,) = json.loads(out.read_text())["rows"]
    assert row["mode"] == "env-only" and row["num_envs"] == 3 and row["num_steps"] == 8
    assert row["steps_per_call"] == 24 and row["label"] == "CartPole-v1 env-only x3" and "ratio_vs_baseline" not in row


def test_bench_bad_agent_is_a_clean_error():
    result = CliRunner().invoke(app, ["bench", "--agent", "ppp"])
    assert result.exit_code == 2 and "ppo" in result.output


def test_timing_helpers():
    assert rotated(["a", "b", "c"], 4) == ["b", "c", "a"]
    calls = []
    times = interleaved_rounds({n: (lambda n=n: calls.append(n) or {"a": 1.0, "b": 3.0}[n]) for n in "ab"}, 2)
    assert calls == ["a", "b", "b", "a"] and times == {"a": [1.0, 1.0], "b": [3.0, 3.0]}
    summary = ratio_summary({"a": [1.0, 2.0, 4.0], "b": [2.0, 2.0, 2.0]}, "b")
    assert summary["a"]["ratio"] == 1.0 and summary["a"]["ratio_of_min_times"] == 0.5
    assert summary["a"]["rounds"] == [0.5, 1.0, 2.0] and summary["b"]["median_s"] == 2.0
    with pytest.raises(ConfigError, match="baseline"):
        ratio_summary(times, "c")
    with pytest.raises(ConfigError, match="rounds"):
        interleaved_rounds({"a": lambda: 1.0}, 0)
