"""The Ray backend on a real 2-node cluster (``ray.cluster_utils.Cluster``, both nodes on
127.0.0.1): every chunk of every variant is submitted at once, chunks are sized so both nodes
get work, progress and TensorBoard logs stream back, and the results equal the local backend."""

import os
import shutil
import tempfile

import pandas as pd
import pytest
from conftest import TINY_SWEEP

from jaxrl_rewards.experiments.backends.ray import spread_chunk_size
from jaxrl_rewards.experiments.live_logging import TensorBoardLogger
from jaxrl_rewards.experiments.sweep import run_sweep


def test_spread_chunk_size_gives_every_worker_a_chunk():
    for runs in range(1, 20):
        for slots in range(1, 6):
            size = spread_chunk_size(runs, slots)
            chunks = -(-runs // size)
            assert chunks >= min(runs, slots)  # every worker has a chunk (when there are enough runs)
            assert (size + 1) * slots > runs  # the largest such size: one more would leave a worker idle


@pytest.mark.slow
def test_two_node_cluster_uses_both_nodes_and_equals_local(monkeypatch):
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    root = tempfile.mkdtemp(prefix="jr_ray_")  # short: Ray's socket paths must stay under 107 characters
    monkeypatch.setenv("RAY_TMPDIR", root)  # the session folders go here and are deleted with it
    spec = {**TINY_SWEEP, "search": {}}  # no chunk size: the Ray backend picks one per worker
    local = run_sweep({**spec, "search": {"chunk_size": 2}}, os.path.join(root, "local"), progress=False)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        tb = TensorBoardLogger(os.path.join(root, "tb"))
        remote = run_sweep(
            spec, os.path.join(root, "ray"), backend="ray", progress=False, loggers=[tb], log_interval=1,
            ray_address=cluster.address, ray_init_kwargs={"runtime_env": {"env_vars": {"JAX_PLATFORMS": "cpu"}}},
        )  # fmt: skip
        tb.close()
        node_ids = {node["NodeID"] for node in ray.nodes() if node["Alive"]}
    finally:
        ray.shutdown()
        cluster.shutdown()
    try:
        assert remote.chunks_run == 2 and remote.compiles == 0  # 4 runs, 2 workers: 2 chunks of 2
        assert len(node_ids) == 2 and set(remote.extras["nodes"]) == node_ids  # each node ran a chunk
        pd.testing.assert_frame_equal(remote.frame, local.frame)
        runs = sorted(os.listdir(os.path.join(root, "tb")))
        assert len(runs) == 4 and all(os.listdir(os.path.join(root, "tb", r)) for r in runs)  # streamed logs
    finally:
        shutil.rmtree(root, ignore_errors=True)
