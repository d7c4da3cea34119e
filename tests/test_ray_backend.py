"""The Ray backend on a local Ray cluster gives the same numbers as the local backend."""

import pandas as pd
import pytest
from conftest import TINY_SWEEP

from jaxrl_rewards.experiments.sweep import run_sweep

SPEC = TINY_SWEEP


@pytest.mark.slow
def test_ray_backend_equals_local_backend(tmp_path):
    ray = pytest.importorskip("ray")
    local = run_sweep(SPEC, tmp_path / "local", progress=False)
    try:
        remote = run_sweep(
            SPEC, tmp_path / "ray", backend="ray", progress=False,
            ray_init_kwargs={"num_cpus": 1, "runtime_env": {"env_vars": {"JAX_PLATFORMS": "cpu"}}},
        )  # fmt: skip
    finally:
        ray.shutdown()
    assert remote.chunks_run == 2 and remote.compiles == 0  # compiled in the Ray worker, not here
    pd.testing.assert_frame_equal(remote.frame, local.frame)
