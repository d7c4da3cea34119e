"""The command line, run through the installed ``jaxrl-rewards`` entry point."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXE = shutil.which("jaxrl-rewards") or str(Path(sys.executable).with_name("jaxrl-rewards"))


def cli(*args, cwd=None):
    return subprocess.run([EXE, *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_list_shows_envs_agents_and_transforms():
    result = cli("list")
    assert result.returncode == 0, result.stderr
    for word in ("CartPole-v1", "SparseGridWorld-v0", "ppo", "normalize"):
        assert word in result.stdout


def test_unknown_env_exits_with_a_suggestion():
    result = cli("train", "--env", "CartPol-v1", "--no-progress")
    assert result.returncode == 2
    assert "CartPole-v1" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "num_minibatches=3"], "does not divide"),
        (["--set", "learning_rate=-1"], "learning_rate must be > 0"),
        (["-t", "sharpen"], "unknown transform"),
        (["--set", "nonsense"], "key=value"),
    ],
)
def test_bad_options_fail_cleanly(args, message):
    result = cli("train", "--no-progress", *args)
    assert result.returncode == 2
    assert message in result.stderr + result.stdout


def test_train_writes_metrics_and_prints_a_table(tmp_path):
    out = tmp_path / "m.json"
    result = cli(
        "train", "--env", "CartPole-v1", "--seeds", "2", "--steps", "10240",
        "--set", "num_evals=2", "-t", "normalize", "--out", str(out), "--no-progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "final eval return" in result.stdout
    payload = json.loads(out.read_text())
    assert payload["seeds"] == [0, 1]
    assert len(payload["metrics"]["eval/return/task"]) == 2
    assert len(payload["metrics"]["eval/return/task"][0]) == 2
    assert "transform/normalize/task_return_std" in payload["metrics"]
