"""The results store: atomic chunk files, loading, spec fingerprints; the long-table layout."""

import json

import numpy as np
import pandas as pd
import pytest

from jaxrl_rewards.experiments.results import long_frame
from jaxrl_rewards.experiments.store import ResultStore, SpecChangedError, chunk_frame


def metrics(runs=2, iters=4, evals=2, offset=0.0):
    return {
        "loss/value": np.arange(runs * iters, dtype=np.float32).reshape(runs, iters) + offset,
        "per_constraint": np.zeros((runs, iters, 3)),  # extra axes are left out of the table
        "eval/return/task": np.array([[1.0, 2.0], [3.0, 4.0]])[:runs, :evals],
    }


def test_long_frame_layout():
    frame = long_frame(metrics(), {"seed": [7, 9], "lr": [0.1, 0.2]})
    assert list(frame.columns) == ["seed", "lr", "iteration", "loss/value", "eval/return/task"]
    assert frame["seed"].tolist() == [7] * 4 + [9] * 4
    assert frame["iteration"].tolist() == [0, 1, 2, 3] * 2
    assert frame["loss/value"].tolist() == list(range(8))
    # evaluations land on the last iteration of each segment (iterations 1 and 3)
    np.testing.assert_array_equal(frame["eval/return/task"], [np.nan, 1, np.nan, 2, np.nan, 3, np.nan, 4])


def test_chunks_are_written_atomically_and_loaded_in_order(tmp_path):
    store = ResultStore(tmp_path)
    store.open({"name": "a"}, "f1")
    points = [{"lr": 0.1}, {"lr": 0.2}]
    later = chunk_frame(metrics(offset=100), variant="v", chunk=1, runs=[2, 3], seeds=[0, 1], points=points,
                        point_ids=[1, 1])  # fmt: skip
    first = chunk_frame(metrics(), variant="v", chunk=0, runs=[0, 1], seeds=[0, 1], points=points, point_ids=[0, 0])
    store.write_chunk("v", 1, later)
    store.write_chunk("v", 0, first)
    (store.chunk_dir / ".v-00002.parquet.abc.tmp").write_bytes(b"partial")  # a killed write
    assert store.has_chunk("v", 0) and store.has_chunk("v", 1) and not store.has_chunk("v", 2)
    assert not list(store.chunk_dir.glob("*.tmp.*"))
    loaded = store.load()
    assert loaded["run"].tolist() == [0] * 4 + [1] * 4 + [2] * 4 + [3] * 4
    assert loaded["lr"].tolist()[:8] == [0.1] * 4 + [0.2] * 4
    pd.testing.assert_frame_equal(store.read_chunk("v", 0), first)


def test_spec_fingerprint_guards_the_store(tmp_path):
    store = ResultStore(tmp_path)
    store.open({"name": "a", "seeds": [0]}, "f1", param_columns=["lr"])
    store.write_chunk("v", 0, long_frame(metrics(), {"seed": [0, 1]}))
    assert store.open({"name": "a", "seeds": [0]}, "f1")["param_columns"] == ["lr"]  # resume: kept
    with pytest.raises(SpecChangedError, match=r"changed: \['seeds'\]"):
        store.open({"name": "a", "seeds": [1]}, "f2")
    assert store.has_chunk("v", 0)
    store.open({"name": "a", "seeds": [1]}, "f2", force=True)
    assert not store.has_chunk("v", 0)
    assert json.loads(store.manifest_path.read_text())["fingerprint"] == "f2"
    assert ResultStore(tmp_path / "empty").load().empty
