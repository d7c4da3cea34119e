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


@pytest.mark.slow  # two CLI subprocesses, each compiling
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
    assert "2 of 2 segments restored" in " ".join(second.stdout.split()) and "restored" not in first.stdout
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
    assert info["steps"] == 64  # what ran, not what was asked


# ----------------------------------------------------------------------------- the store


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    from conftest import TINY_SWEEP

    from jaxrl_rewards.experiments.sweep import run_sweep

    out = tmp_path_factory.mktemp("finished")
    return TINY_SWEEP, out, run_sweep(TINY_SWEEP, out, progress=False)


def _copy(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


def _flip_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "recomputed"),
    [
        ("truncated chunk", 1),
        ("flipped byte", 1),
        ("chunk copied over another", 1),
        ("missing chunk", 1),
        ("truncated manifest", 2),
    ],
)
def test_resume_repairs_a_damaged_store(finished, tmp_path, damage, recomputed):
    import pandas as pd

    from jaxrl_rewards.experiments.store import StoreDamagedError
    from jaxrl_rewards.experiments.sweep import run_sweep

    spec, out, full = finished
    store = _copy(out, tmp_path / "s")
    first, second = store / "chunks" / "default-00000.parquet", store / "chunks" / "default-00001.parquet"
    if damage == "truncated chunk":
        first.write_bytes(first.read_bytes()[:100])
    elif damage == "flipped byte":
        _flip_byte(first)
    elif damage == "chunk copied over another":
        first.write_bytes(second.read_bytes())
    elif damage == "missing chunk":
        first.unlink()
    else:
        manifest = store / "manifest.json"
        manifest.write_text(manifest.read_text()[:50])
    if damage != "missing chunk" and damage != "truncated manifest":
        from jaxrl_rewards.experiments.store import ResultStore

        with pytest.raises(StoreDamagedError, match=r"default-00000\.parquet.*rerun the sweep"):
            ResultStore(store).load()  # never silently accepted
    resumed = run_sweep(spec, store, progress=False)
    assert resumed.chunks_run == recomputed
    pd.testing.assert_frame_equal(resumed.frame, full.frame)  # repaired: the uninterrupted results


def test_store_refuses_files_that_do_not_belong_and_old_formats(finished, tmp_path):
    import json as json_

    from jaxrl_rewards.experiments.store import ResultStore, SpecChangedError, StoreDamagedError
    from jaxrl_rewards.experiments.sweep import run_sweep

    spec, out, _ = finished
    store = _copy(out, tmp_path / "s")
    extra = store / "chunks" / "default-00007.parquet"
    extra.write_bytes((store / "chunks" / "default-00000.parquet").read_bytes())
    with pytest.raises(StoreDamagedError, match=r"do not belong to this store.*default-00007.parquet"):
        run_sweep(spec, store, progress=False)
    with pytest.raises(StoreDamagedError, match=r"default-00007\.parquet"):
        ResultStore(store).load()
    extra.unlink()
    manifest = json_.loads((store / "manifest.json").read_text())
    (store / "manifest.json").write_text(json_.dumps({**manifest, "version": 1}))
    with pytest.raises(SpecChangedError, match=r"format version 1\b.*format 2"):
        run_sweep(spec, store, progress=False)


def test_manifest_records_checksums_and_run_ids(finished):
    import hashlib

    _, out, _ = finished
    chunks = json.loads((out / "manifest.json").read_text())["chunks"]
    assert sorted(chunks) == ["default-00000.parquet", "default-00001.parquet"]
    for name, entry in chunks.items():
        assert entry["sha256"] == hashlib.sha256((out / "chunks" / name).read_bytes()).hexdigest()
    assert chunks["default-00000.parquet"]["runs"] == [0, 1] and chunks["default-00001.parquet"]["runs"] == [2, 3]


# ----------------------------------------------------------------------------- sweep divergence


def test_sweep_reports_diverged_runs(tmp_path):
    from conftest import TINY_SWEEP

    spec = tmp_path / "spec.toml"
    config = "\n".join(f"{k} = {json.dumps(v)}" for k, v in TINY_SWEEP["config"].items())
    spec.write_text(
        'name = "div"\nseeds = 1\ntransform = ["scale:factor=1.0"]\n[search]\nchunk_size = 2\n'
        f"[config]\n{config}\n[params]\n\"transform.scale.factor\" = [1.0, 1e30]\n"
    )
    code, output = invoke("sweep", spec, "--out", tmp_path / "out", "--no-progress", "--no-plot")
    assert code == 0, output
    assert "warning: 1 of 2 run(s) diverged" in output
    assert "run 1 (seed 0, transform.scale.factor=1e+30): non-finite from iteration 0" in output


def test_diverged_runs_finds_nan_and_skipped_updates():
    import pandas as pd

    from jaxrl_rewards.experiments.checks import diverged_runs

    frame = pd.DataFrame({
        "variant": ["v"] * 6, "run": [0, 0, 1, 1, 2, 2], "seed": [0, 0, 1, 1, 0, 0], "lr": [0.1] * 4 + [9.0] * 2,
        "iteration": [0, 1] * 3, "loss/value": [1.0, 2.0, 1.0, np.inf, 1.0, 1.0],
        "nonfinite_updates": [0.0, 0.0, 0.0, 0.0, 0.0, 3.0], "eval/return/task": [np.nan, 1.0] * 3,
    })  # fmt: skip
    found = diverged_runs(frame, ["lr"])
    assert [(d["run"], d["iteration"], d["metrics"]) for d in found] == [
        (1, 1, ["loss/value"]), (2, 1, ["nonfinite_updates"]),
    ]  # fmt: skip
    assert found[1]["lr"] == 9.0
    assert diverged_runs(frame.iloc[:2], ["lr"]) == []


# ----------------------------------------------------------------------------- exact step counts


def test_step_counts_are_exact_at_4_4e9_steps_without_running():
    from jaxrl_rewards.experiments.results import long_frame
    from jaxrl_rewards.experiments.runner import exact_timesteps

    config = ppo.make_config("CartPole-v1", total_timesteps=4_400_000_000, num_envs=64, num_steps=128, num_evals=10)
    spi, ipe = 64 * 128, 4_400_000_000 // (64 * 128) // 10
    assert config.trained_timesteps == ipe * 10 * spi > 2**32
    last = (config.num_evals - 1) * ipe  # the last segment's first iteration
    seg = exact_timesteps({"timesteps": np.zeros((2, ipe), np.float32), "eval/timesteps": np.zeros(2, np.float32)},
                          config.steps_per_iteration, last)  # fmt: skip
    assert seg["timesteps"].dtype == np.int64 and seg["eval/timesteps"].dtype == np.int64
    assert seg["timesteps"][0, -1] == seg["eval/timesteps"][1] == config.trained_timesteps  # 4,399,996,928
    assert seg["timesteps"][1, 0] == (last + 1) * spi
    # a whole run's curves [S, num_iterations] / [S, num_evals] (the sweep's chunk layout)
    whole = exact_timesteps({"timesteps": np.zeros((1, 10 * ipe)), "eval/timesteps": np.zeros((1, 10))}, spi)
    assert whole["eval/timesteps"][0].tolist() == [(e + 1) * ipe * spi for e in range(10)]
    frame = long_frame({"timesteps": whole["timesteps"][:, -3:], "eval/timesteps": whole["eval/timesteps"][:, -1:]},
                       {"seed": [0]})  # fmt: skip
    assert frame["timesteps"].dtype == np.int64 and frame["timesteps"].iloc[-1] == config.trained_timesteps
    assert frame["eval/timesteps"].iloc[-1] == config.trained_timesteps and frame["eval/timesteps"].isna().sum() == 2


def test_trained_runs_report_int64_step_counts(tmp_path):
    from jaxrl_rewards.experiments.runner import train_seeds

    config = ppo.make_config(
        "CartPole-v1", total_timesteps=96, num_envs=2, num_steps=16, num_minibatches=1, update_epochs=1,
        hidden_sizes=(8,), num_evals=3, eval_episodes=1, eval_max_steps=20,
    )  # fmt: skip
    result = train_seeds(ppo, config, 2, progress=False)
    assert result.metrics["timesteps"].dtype == np.int64
    assert result.metrics["timesteps"][1].tolist() == [32, 64, 96]
    assert result.metrics["eval/timesteps"][0].tolist() == [32, 64, 96]


# ----------------------------------------------------------------------------- validation of swept values


def _spec(**changes):
    from conftest import TINY_PPO

    return {"name": "x", "seeds": 1, "config": TINY_PPO, "params": {"learning_rate": [1e-3]}, **changes}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (_spec(transform=["normalize"], params={"transform.normalize.eps": [1e-8, 0.0]}),
         "params.transform.normalize.eps: normalize_rewards: eps must be > 0"),
        (_spec(params={"env_params.max_steps_in_episode": [100, -5]}),
         "env_params.max_steps_in_episode must be > 0"),
        (_spec(params={"env_params.gravity": [9.8, float("nan")]}), "env_params.gravity must be finite"),
        (_spec(env="PointHazard-v0", transform=["lagrangian:limits=1.0"],
               params={"transform.lagrangian.limits": [-1.0, 1.0]}), "transform.lagrangian.limits"),
        (_spec(search={"objective": "eval/retrun/task"}),
         "search.objective: 'eval/retrun/task' is not a metric of variant 'default' (did you mean 'eval/return/task'"),
    ],
)  # fmt: skip
def test_every_swept_value_is_checked_before_compiling(spec, message):
    from jaxrl_rewards.experiments.spec import check_spec, spec_from_dict

    with pytest.raises(ConfigError) as err:
        check_spec(spec_from_dict(spec))
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--env-param", "gravity=abc"], "env_params.gravity: expected a number, got 'abc'"),
        (["--env-param", "max_steps_in_episode=-5"], "env_params.max_steps_in_episode must be > 0, got -5"),
        (["--steps", "100000000000000"], "at most 2,147,483,647 fit the int32 iteration counter"),
        (["--set", "total_timesteps=3000000000", "--set", "num_envs=1", "--set", "num_steps=4"],
         "fit the optimiser's int32 step count"),
        (["-t", "normalize", "--set", "transform.normalize.eps=0.0"], "normalize_rewards: eps must be > 0, got 0.0"),
        (["-t", "scale:factor=abc"], "scale: factor: expected a number, got 'abc'"),
        (["--set", "learning_rate=[0.1]"], "--set learning_rate: expected a single number"),
        (["-t", "sign_flip:p=0.1", "--set", "transform.sign_flip.p=1.5"], "sign_flip: p must lie in [0.0, 1.0]"),
    ],
)  # fmt: skip
def test_bad_train_inputs_name_their_culprit(args, message):
    code, output = invoke("train", "--no-progress", *args)
    assert code == 2, output
    assert message in output and "Traceback" not in output


def test_make_config_of_a_non_env_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"env must be a registered environment name .* got 42 \(int\)"):
        ppo.make_config(42)
    with pytest.raises(ConfigError, match=r"env_params\.gravity: expected a number"):
        ppo.make_config("CartPole-v1", env_params=ppo.make_config("CartPole-v1").env_params.replace(gravity="x"))


# ----------------------------------------------------------------------------- one store schema


@pytest.mark.slow  # two variants: two compiles
def test_a_mixed_variant_store_loads_in_one_line_with_pandas_and_polars(tmp_path):
    """The README's one-liners: every chunk file has one schema (the intrinsic-bonus columns
    of the `count` variant are NaN in the `plain` one), step counts are int64."""
    import pandas as pd
    import polars as pl
    import pyarrow.parquet as pq
    from conftest import TINY_PPO

    from jaxrl_rewards.experiments.sweep import run_sweep

    spec = {"name": "mix", "seeds": 1, "config": TINY_PPO, "params": {"learning_rate": [1e-3]},
            "variants": {"plain": {}, "count": {"transform": ["count"]}}, "search": {"chunk_size": 1}}  # fmt: skip
    result = run_sweep(spec, tmp_path, progress=False)
    files = sorted((tmp_path / "chunks").glob("*.parquet"))
    assert len(files) == 2 and pq.read_schema(files[0]) == pq.read_schema(files[1])
    frame = pd.read_parquet(tmp_path / "chunks")
    lazy = pl.read_parquet(str(tmp_path / "chunks" / "*.parquet"))
    assert frame.shape == lazy.shape == result.frame.shape == (4, len(result.frame.columns))
    bonus = "transform/intrinsic/bonus_mean"
    assert bonus in frame and frame.loc[frame["variant"] == "plain", bonus].isna().all()
    assert frame.loc[frame["variant"] == "count", bonus].notna().all()
    assert frame["timesteps"].dtype == np.int64 and lazy["timesteps"].dtype == pl.Int64
    assert sorted(frame["timesteps"].unique().tolist()) == [32, 64]


def test_train_parquet_has_structured_transform_and_override_columns(tmp_path):
    import pandas as pd

    out = tmp_path / "m.parquet"
    code, output = invoke("train", *TINY, "-t", "scale:factor=0.5", "-t", "normalize", "--out", out)
    assert code == 0, output
    frame = pd.read_parquet(out)
    assert list(frame["transform"].iloc[0]) == ["scale:factor=0.5", "normalize"]
    assert "num_envs=2" in list(frame["overrides"].iloc[0])
    assert frame["steps"].iloc[0] == 64 and frame["timesteps"].dtype == np.int64


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('bogus = 1\n[params]\nlearning_rate = [1e-3]\n', "unknown key 'bogus'; valid keys: ['agent', 'base'"),
        ('transform = ["normalize"]\n[params]\n"transform.normalize.eps" = [0.0]\n',
         "eps must be > 0, got Array([0.], dtype=float32)"),
        ('[search]\nobjective = "eval/retrn/task"\n[params]\nlearning_rate = [1e-3]\n',
         "(did you mean 'eval/return/task'"),
        ('[params]\n"env_params.max_steps_in_episode" = [-5]\n', "env_params.max_steps_in_episode must be > 0"),
    ],
)  # fmt: skip
def test_bad_sweep_specs_keep_their_bracketed_text(tmp_path, body, message):
    """Printed through rich, escaped: the brackets of lists and arrays survive."""
    spec = tmp_path / "spec.toml"
    spec.write_text('name = "s"\nseeds = 1\n' + body)
    code, output = invoke("sweep", spec, "--out", tmp_path / "out", "--no-progress")
    assert code == 2, output
    assert message in output and "Traceback" not in output
