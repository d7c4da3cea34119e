"""Running sweeps: one compile for all chunks, kill-and-resume, spec changes, search methods.

All sweeps here share one tiny PPO config, chunk size and set of swept leaves, hence one compiled
program (a chunk's program is specialised on which leaves it sweeps; the others are shared)."""

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_PPO, TINY_SWEEP

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.experiments.store import SpecChangedError
from jaxrl_rewards.experiments.sweep import run_sweep

#: its own network size, so the sweep here compiles its own program (other test modules share
#: TINY_SWEEP's in this process) and "compiles once" is measured, not inherited
TINY = {**TINY_PPO, "hidden_sizes": [6]}
SPEC = {**TINY_SWEEP, "config": TINY}


class Killed(Exception):
    pass


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    return run_sweep(SPEC, tmp_path_factory.mktemp("full"), progress=False)


def test_sweep_compiles_once_and_writes_one_row_per_run_and_iteration(full):
    assert full.chunks_run == 2 and full.compiles == 1
    frame = full.frame
    assert len(frame) == 4 * 2 and frame["run"].nunique() == 4  # 4 runs x 2 iterations
    assert sorted(frame.drop_duplicates("run")[["learning_rate", "seed"]].itertuples(index=False)) == [
        (1e-3, 0), (1e-3, 1), (3e-2, 0), (3e-2, 1),
    ]  # fmt: skip
    assert frame["eval/return/task"].notna().sum() == 4 * 2  # an evaluation after every iteration here
    assert np.all(frame["transform.scale.factor"] == 1.0)
    # different learning rates give different training; the same seed starts identically
    by_run = frame.set_index(["run", "iteration"])["loss/value"].unstack()
    assert by_run.loc[0, 0] == by_run.loc[2, 0] and by_run.loc[0, 1] != by_run.loc[2, 1]
    assert sorted(p.name for p in full.store.chunk_dir.iterdir()) == ["default-00000.parquet", "default-00001.parquet"]


def test_kill_and_resume_gives_the_uninterrupted_results(full, tmp_path):
    def kill_after_first(task, frame):
        raise Killed

    with pytest.raises(Killed):
        run_sweep(SPEC, tmp_path, progress=False, on_chunk=kill_after_first)
    (tmp_path / "chunks" / ".default-00001.parquet.x.tmp").write_bytes(b"half a file")  # a write cut short
    resumed = run_sweep(SPEC, tmp_path, progress=False)
    assert (resumed.chunks_run, resumed.chunks_skipped) == (1, 1)
    pd.testing.assert_frame_equal(resumed.frame, full.frame)
    again = run_sweep(SPEC, tmp_path, progress=False)
    assert (again.chunks_run, again.chunks_skipped) == (0, 2)


def test_changed_spec_is_refused_unless_forced(full, tmp_path):
    run_sweep({**SPEC, "seeds": [0]}, tmp_path, progress=False)
    with pytest.raises(SpecChangedError, match=r"different sweep spec \(changed: \['seeds'\]\).*--force"):
        run_sweep(SPEC, tmp_path, progress=False)
    forced = run_sweep(SPEC, tmp_path, progress=False, force=True)
    assert forced.chunks_run == 2
    pd.testing.assert_frame_equal(forced.frame, full.frame)


def test_a_run_gives_the_same_numbers_in_any_chunk(full, tmp_path):
    # seed 1 of both learning rates now share one chunk (before: each learning rate had its own);
    # a third learning rate makes a last chunk of one run, padded to the chunk size
    params = {"learning_rate": [1e-3, 3e-2, 1e-2], "transform.scale.factor": [1.0]}
    mixed = run_sweep({**SPEC, "seeds": [1], "params": params}, tmp_path, progress=False)
    assert mixed.compiles == 0 and mixed.chunks_run == 2 and mixed.frame["run"].tolist() == [0, 0, 1, 1, 2, 2]
    ours = mixed.frame[mixed.frame["learning_rate"] != 1e-2].drop(columns=["run", "point", "chunk"])
    ours = ours.reset_index(drop=True)
    ref = full.frame[full.frame["seed"] == 1].drop(columns=["run", "point", "chunk"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(ours, ref, rtol=1e-5)


def test_random_and_optuna_searches_resume_exactly(full, tmp_path):
    # the same swept leaves as SPEC's grid (a list is a random choice), hence the grid's program
    log_lr = {"low": 1e-4, "high": 1e-2, "log": True}
    rand = {**SPEC, "search": {"method": "random", "num_samples": 2, "chunk_size": 2, "sample_seed": 3},
            "params": {"learning_rate": log_lr, "transform.scale.factor": [1.0]}}  # fmt: skip
    result = run_sweep(rand, tmp_path / "random", progress=False)
    lrs = result.frame.drop_duplicates("point")["learning_rate"]
    assert len(lrs) == 2 and lrs.between(1e-4, 1e-2).all() and result.compiles == 0

    opt = {**SPEC, "search": {"method": "optuna", "num_samples": 3, "points_per_chunk": 1},
           "params": {"learning_rate": {"low": 1e-4, "high": 1e-2, "log": True}}}  # fmt: skip
    uninterrupted = run_sweep(opt, tmp_path / "optuna", progress=False)
    assert uninterrupted.chunks_run == 3 and uninterrupted.frame["point"].nunique() == 3

    calls = []

    def kill_after_two(task, frame):
        calls.append(task.chunk)
        if len(calls) == 2:
            raise Killed

    with pytest.raises(Killed):
        run_sweep(opt, tmp_path / "optuna2", progress=False, on_chunk=kill_after_two)
    resumed = run_sweep(opt, tmp_path / "optuna2", progress=False)
    assert (resumed.chunks_run, resumed.chunks_skipped) == (1, 2)
    pd.testing.assert_frame_equal(resumed.frame, uninterrupted.frame)


def test_chunk_runs_match_the_agents_own_train(full):
    import jax

    options = {**TINY, "hidden_sizes": tuple(TINY["hidden_sizes"]), "learning_rate": 3e-2}
    config = ppo.make_config("CartPole-v1", **options)
    _, metrics = jax.jit(ppo.train)(config, jax.random.key(1))
    run = full.frame[(full.frame["seed"] == 1) & (full.frame["learning_rate"] == 3e-2)]
    np.testing.assert_allclose(run["loss/value"], metrics["loss/value"], rtol=1e-5)
    np.testing.assert_allclose(run["eval/return/task"].dropna(), metrics["eval/return/task"], rtol=1e-5)
