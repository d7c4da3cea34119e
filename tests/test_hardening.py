"""Hardening (issues 19 and 20): nothing lost on divergence or bad paths, resume across
processes, checkpointed divergence at the right iteration, exact step accounting.

In-process CLI calls go through the typer app (``CliRunner``); the cross-process checkpoint
resume runs two real subprocesses."""

import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.cli.app import app
from jaxrl_rewards.core.validation import ConfigError, check_output_path
from jaxrl_rewards.experiments import checkpoint
from jaxrl_rewards.experiments.checkpoint import config_fingerprint, describe, train_checkpointed
from jaxrl_rewards.experiments.runner import TrainingDivergedError
from jaxrl_rewards.transforms.registry import build_transforms

#: PPO at the smallest budget: 2 evaluations of one 2 x 16-step iteration each
TINY = ["--set", "num_envs=2", "--set", "num_steps=16", "--set", "num_minibatches=1", "--set", "update_epochs=1",
        "--set", "hidden_sizes=[8]", "--set", "num_evals=2", "--set", "eval_episodes=1",
        "--set", "eval_max_steps=20", "--seeds", "1", "--steps", "64", "--no-progress"]  # fmt: skip


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, " ".join(result.output.split())  # rich wraps long lines


# ----------------------------------------------------------------------------- checkpoint fingerprint


def _config(lr=2.5e-4):
    return ppo.make_config(
        "CartPole-v1", total_timesteps=96, num_envs=2, num_steps=16, num_evals=3, learning_rate=lr,
        transform=build_transforms(["normalize", "scale:factor=0.5"]),
    )  # fmt: skip


def test_config_fingerprint_is_stable_and_tells_configs_apart():
    a, b = _config(), _config()
    assert a.env is not b.env  # two env objects, at two addresses
    assert "0x" not in describe(a) and "CartPole" in describe(a)
    assert config_fingerprint(a) == config_fingerprint(b)
    assert config_fingerprint(a) != config_fingerprint(_config(lr=1e-3))
    assert config_fingerprint(a) != config_fingerprint(a.replace(num_evals=2, total_timesteps=64))
    changed = a.replace(transform=build_transforms(["normalize", "scale:factor=0.25"]))
    assert config_fingerprint(a) != config_fingerprint(changed)


def test_checkpoint_resumes_in_a_second_process(tmp_path):
    """The README's `train --checkpoint-dir DIR` twice, in two processes: the second resumes
    (on main it exited 2: the fingerprint held the env's memory address)."""
    exe = [sys.executable, "-m", "jaxrl_rewards.cli.app"]
    args = ["train", *TINY, "--checkpoint-dir", str(tmp_path / "ckpt")]
    first = subprocess.run([*exe, *args, "--out", str(tmp_path / "a.json")], capture_output=True, text=True,
                           timeout=600)  # fmt: skip
    assert first.returncode == 0, first.stderr
    second = subprocess.run([*exe, *args, "--out", str(tmp_path / "b.json")], capture_output=True, text=True,
                            timeout=600)  # fmt: skip
    assert second.returncode == 0, second.stderr
    a, b = (json.loads((tmp_path / n).read_text()) for n in ("a.json", "b.json"))
    assert a["metrics"] == b["metrics"]  # the second run restored every segment
    assert a["info"]["steps"] == 64


# ----------------------------------------------------------------------------- divergence


def test_diverged_train_keeps_its_partial_metrics(tmp_path):
    out = tmp_path / "d.json"
    code, output = invoke("train", *TINY, "-t", "scale:factor=1e30", "--set", "learning_rate=1e3", "--out", out)
    assert code == 3, output
    assert f"metrics up to the divergence are in {out}" in output
    payload = json.loads(out.read_text())
    assert "diverged" in payload["info"]
    assert len(payload["metrics"]["loss/value"][0]) >= 1


def test_checkpointed_divergence_names_the_absolute_iteration(tmp_path, monkeypatch):
    """A NaN at iteration 5 (segment 2 of 3-iteration segments, its 3rd iteration) is reported
    as iteration 5, not as 2 (relative to the segment)."""
    config = ppo.make_config(
        "CartPole-v1", total_timesteps=9 * 32, num_envs=2, num_steps=16, num_minibatches=1, update_epochs=1,
        hidden_sizes=(8,), num_evals=3, eval_episodes=1, eval_max_steps=20,
    )  # fmt: skip
    assert config.iterations_per_eval == 3
    real = checkpoint.vmapped

    def poisoned(agent, name):
        fn = real(agent, name)
        if name != "train_segment":
            return fn
        calls = []

        def segment(cfg, state):
            state, metrics = fn(cfg, state)
            calls.append(1)
            metrics = dict(metrics.items())
            if len(calls) == 2:
                loss = np.array(metrics["loss/value"])
                loss[:, 2] = np.nan
                metrics["loss/value"] = loss
            return state, metrics

        return segment

    monkeypatch.setattr(checkpoint, "vmapped", poisoned)
    with pytest.raises(TrainingDivergedError, match="loss/value is non-finite from iteration 5"):
        train_checkpointed(ppo, config, 1, tmp_path / "ckpt", progress=False)


# ----------------------------------------------------------------------------- output paths


def test_output_path_check(tmp_path):
    (tmp_path / "file").write_text("x")
    assert check_output_path(tmp_path / "new" / "deeper" / "m.json", "--out") == tmp_path / "new" / "deeper" / "m.json"
    assert check_output_path(tmp_path, "--out-dir", kind="dir") == tmp_path
    with pytest.raises(ConfigError, match="is a folder"):
        check_output_path(tmp_path, "--out")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        check_output_path(tmp_path / "file", "--checkpoint-dir", kind="dir")
    with pytest.raises(ConfigError, match="file is not a folder"):
        check_output_path(tmp_path / "file" / "m.json", "--out")
    with pytest.raises(ConfigError, match="/dev/null is not a folder"):
        check_output_path("/dev/null/x.json", "--out")


def _paths(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "spec.toml").write_text('name = "s"\nseeds = 1\n[params]\nlearning_rate = [1e-3]\n')
    return tmp_path / "file"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--out", "{tmp}"], "is a folder"),
        (["train", "--out", "/dev/null/x.json"], "/dev/null is not a folder"),
        (["train", "--checkpoint-dir", "{file}"], "--checkpoint-dir"),
        (["bandit", "run", "--out-dir", "{file}", "--seeds", "2", "--horizon", "10"], "--out-dir"),
        (["sweep", "{tmp}/spec.toml", "--out", "{file}", "--no-progress"], "is a file, not a folder"),
    ],
)
def test_bad_output_paths_fail_before_training(tmp_path, args, message):
    file = _paths(tmp_path)
    args = [a.format(tmp=tmp_path, file=file) for a in args]
    if args[0] == "train":
        args = [*args, "--no-progress"]
    code, output = invoke(*args)
    assert code == 2, output
    assert message in output and "Traceback" not in output


def test_a_failed_write_after_training_goes_to_a_fallback_file(tmp_path, monkeypatch):
    from jaxrl_rewards.cli import train as train_cli

    real, calls = train_cli.save_result, []

    def flaky(path, result, info=None):
        calls.append(path)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        return real(path, result, info)

    monkeypatch.setattr(train_cli, "save_result", flaky)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(train_cli.tempfile, "tempdir", str(tmp_path))
    code, output = invoke("train", *TINY, "--out", tmp_path / "m.json")
    assert code == 0, output
    assert "No space left on device" in output and len(calls) == 2
    assert calls[1].parent == tmp_path and calls[1].exists()
    assert json.loads(calls[1].read_text())["info"]["steps"] == 64


# ----------------------------------------------------------------------------- step accounting


def test_train_prints_and_stores_the_steps_that_ran(tmp_path):
    out = tmp_path / "m.json"
    # 100 steps at 32 steps per iteration and 2 evaluations: 1 iteration per evaluation, 64 steps
    args = [a if a != "64" else "100" for a in TINY]
    code, output = invoke("train", *args, "--out", out)
    assert code == 0, output
    assert "--steps 100 rounded to 64 steps per seed: 2 iterations of 32 steps" in output
    info = json.loads(out.read_text())["info"]
    assert info["steps"] == 64 and info["requested_steps"] == 100
