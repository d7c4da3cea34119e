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


TINY_SPEC = """
name = "cli"
seeds = 2
[config]
total_timesteps = 64
num_envs = 2
num_steps = 16
num_minibatches = 1
update_epochs = 1
hidden_sizes = [8]
num_evals = 2
eval_episodes = 1
eval_max_steps = 20
[params]
learning_rate = [1e-3, 3e-2]
"""


def test_sweep_with_a_bad_spec_fails_naming_the_key(tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text(TINY_SPEC.replace("learning_rate = [1e-3, 3e-2]", "learning_rat = [1e-3]"))
    result = cli("sweep", str(spec), "--out", str(tmp_path / "out"), "--no-progress")
    assert result.returncode == 2
    assert "params.learning_rat: unknown parameter" in result.stderr and "learning_rate" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_sweep_resumes_and_plot_writes_a_report(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(TINY_SPEC)
    out = tmp_path / "store"
    first = cli("sweep", str(spec), "--out", str(out), "--no-progress", "--no-plot")
    assert first.returncode == 0, first.stderr
    text = " ".join(first.stdout.split())  # rich wraps lines to the terminal width
    assert "IQM final" in text and "1 chunk(s) run, 0 found finished" in text
    again = cli("sweep", str(spec), "--out", str(out), "--no-progress")
    assert again.returncode == 0, again.stderr
    assert "0 chunk(s) run, 1 found finished" in " ".join(again.stdout.split())
    assert (out / "report" / "summary.md").exists() and (out / "report" / "sensitivity.png").exists()
    spec.write_text(TINY_SPEC.replace("seeds = 2", "seeds = 3"))
    changed = cli("sweep", str(spec), "--out", str(out), "--no-progress")
    assert changed.returncode == 2 and "different sweep spec" in changed.stderr
    plot = cli("plot", str(out), "--out", str(tmp_path / "report"))
    assert plot.returncode == 0, plot.stderr
    assert "learning_rate=0.001" in " ".join(plot.stdout.split())
    assert {p.name for p in (tmp_path / "report").iterdir()} == {"learning_curves.png", "sensitivity.png", "summary.md"}


def test_bandit_section_is_mounted_on_the_main_command():
    from typer.testing import CliRunner

    from jaxrl_rewards.cli.app import app

    result = CliRunner().invoke(app, ["bandit", "list"])
    assert result.exit_code == 0, result.output
    assert "ucb1" in result.output and "bernoulli" in result.output
