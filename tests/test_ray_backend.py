"""The Ray backend on a local Ray cluster gives the same numbers as the local backend."""

import pandas as pd
import pytest

from jaxrl_rewards.sweep_runner import run_sweep

TINY = {
    "total_timesteps": 64,
    "num_envs": 2,
    "num_steps": 16,
    "num_minibatches": 1,
    "update_epochs": 1,
    "hidden_sizes": [8],
    "num_evals": 2,
    "eval_episodes": 1,
    "eval_max_steps": 20,
}
SPEC = {
    "name": "tiny",
    "seeds": 2,
    "config": TINY,
    "search": {"chunk_size": 2},
    "params": {"learning_rate": [1e-3, 3e-2], "transform.factor": [1.0]},
    "transform": ["scale:factor=1.0"],
}


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
