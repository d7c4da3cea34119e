"""The command line, run through the installed ``jaxrl-rewards`` entry point."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jaxrl_rewards.experiments.store import ResultStore

EXE = shutil.which("jaxrl-rewards") or str(Path(sys.executable).with_name("jaxrl-rewards"))


def cli(*args, cwd=None):
    return subprocess.run([EXE, *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_list_shows_envs_agents_and_transforms():
    result = cli("list")
    assert result.returncode == 0, result.stderr
    for word in ("CartPole-v1", "SparseGridWorld-v0", "ppo", "normalize", "Ant-brax", "num_states"):
        assert word in result.stdout  # num_states: an option of `count`, listed with the transforms
    assert result.stderr == ""  # no brax / MuJoCo / warp import noise: brax envs are not built to list them


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
    assert "Traceback" not in result.stderr
    assert message in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "learnin_rate=1e-3"], "unknown option 'learnin_rate' (did you mean 'learning_rate'?)"),
        (["--set", "anneal_lr=False"], "'False' is Python, not TOML; write true / false"),
        (["-t", "lagrangan:limits=[1.0,2.0]"], "unknown transform 'lagrangan' (did you mean 'lagrangian'?)"),
        (["-t", "lagrangian:limit=[1.0,2.0]"], "has no option 'limit' (did you mean 'limits'?)"),
        (["-t", "lagrangian:limits=(1.0,2.0)"], "(lists are written [a, b])"),  # bracketed text survives rich
        (["-t", "lagrangian:limits=[1.0,2.0"], "unclosed bracket"),
        (["-t", "scale:factor=1", "--set", "transform.scale.factor=[1.0, 2.0]"], "expected a number, got [1.0, 2.0]"),
        (
            ["-t", "scale:factor=1", "-t", "clip", "--set", "transform.clip.hihg=2"],
            "unknown parameter 'transform.clip.hihg' (did you mean 'transform.clip.high'",
        ),
        (
            [
                "--env",
                "PointTwoHazards-v0",
                "-t",
                "lagrangian:limits=[1.0,2.0]",
                "--set",
                "transform.lagrangian.limits=[1]",
            ],
            "expected shape (2,)",
        ),
    ],
)
def test_misspellings_and_bad_values_exit_2_with_close_matches(args, message):
    """In-process through the typer app (the entry point's object): nothing here compiles."""
    from typer.testing import CliRunner

    from jaxrl_rewards.cli.app import app

    result = CliRunner().invoke(app, ["train", "--no-progress", *args])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert message in " ".join(result.output.split())  # rich wraps long lines


def test_list_shows_one_transforms_options_and_defaults():
    result = cli("list", "--transform", "lagrangian")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[1]: line.split()[3] for line in result.stdout.splitlines() if line.startswith("│")}
    assert rows["limits"] == "required" and rows["rule"] == "'pid'" and rows["learning_rate"] == "0.05"
    missing = cli("list", "--transform", "lagrangan")
    assert missing.returncode == 2 and "did you mean 'lagrangian'" in missing.stderr


#: PPO at the smallest budget (one iteration of 4 x 16 steps per evaluation, two evaluations)
TINY_SETS = ["num_envs=4", "num_steps=16", "num_minibatches=1", "update_epochs=1", "hidden_sizes=[8]",
             "num_evals=2", "eval_episodes=1", "eval_max_steps=20"]  # fmt: skip


@pytest.mark.slow  # training in a CLI subprocess
def test_train_with_a_two_constraint_lagrangian(tmp_path):
    out = tmp_path / "m.json"
    sets = [arg for item in TINY_SETS for arg in ("--set", item)]
    result = cli(
        "train", "--env", "PointTwoHazards-v0", "-t", "lagrangian:limits=[1.0,2.0]", "--seeds", "1", "--steps", "128",
        *sets, "--set", "transform.lagrangian.learning_rate=0.5", "--out", str(out), "--no-progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    metrics = json.loads(out.read_text())["metrics"]
    lambdas = sorted(k for k in metrics if "/lambda/" in k)
    assert lambdas == ["transform/lagrangian/lambda/cost_0", "transform/lagrangian/lambda/cost_1"]
    assert all(len(metrics[k][0]) == 2 for k in lambdas)  # one seed, two evaluations


@pytest.mark.slow  # 10k steps of training in a CLI subprocess
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


LAGRANGIAN_SPEC = """
name = "two-constraints"
env = "PointTwoHazards-v0"
seeds = 1
[[transform]]
name = "lagrangian"
limits = [1.0, 2.0]
[config]
total_timesteps = 128
num_envs = 4
num_steps = 16
num_minibatches = 1
update_epochs = 1
hidden_sizes = [8]
num_evals = 2
eval_episodes = 1
eval_max_steps = 20
[params]
"transform.lagrangian.learning_rate" = [0.05, 0.5]
"""


@pytest.mark.slow  # a sweep in a CLI subprocess
def test_sweep_spec_with_a_two_constraint_lagrangian_table(tmp_path):
    spec = tmp_path / "lagrangian.toml"
    spec.write_text(LAGRANGIAN_SPEC)
    out = tmp_path / "store"
    result = cli("sweep", str(spec), "--out", str(out), "--no-progress", "--no-plot")
    assert result.returncode == 0, result.stderr
    frame = ResultStore(out).load()
    lambdas = sorted(c for c in frame.columns if "/lambda/" in c)
    assert lambdas == ["transform/lagrangian/lambda/cost_0", "transform/lagrangian/lambda/cost_1"]
    assert sorted(frame["transform.lagrangian.learning_rate"].unique()) == [0.05, 0.5]


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
    assert {p.name for p in (tmp_path / "report").iterdir()} == {
        "learning_curves.png", "sensitivity.png", "performance_profile.png", "summary.md"}  # fmt: skip


def test_bandit_section_is_mounted_on_the_main_command():
    from typer.testing import CliRunner

    from jaxrl_rewards.cli.app import app

    result = CliRunner().invoke(app, ["bandit", "list"])
    assert result.exit_code == 0, result.output
    assert "ucb1" in result.output and "bernoulli" in result.output


def test_bandit_table_says_what_its_interval_is(tmp_path):
    from typer.testing import CliRunner

    from jaxrl_rewards.cli.app import app

    args = [
        "bandit",
        "run",
        "-a",
        "greedy",
        "--arms",
        "2",
        "--horizon",
        "8",
        "--seeds",
        "3",
        "--out-dir",
        str(tmp_path),
    ]
    result = CliRunner().invoke(app, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "95% normal-approximation CI" in " ".join(result.output.split())
