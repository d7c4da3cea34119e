"""Seeds and sweep chunks sharded over 4 (forced) host devices give the same numbers as one device."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, sys, jax, numpy as np
    from jaxrl_rewards.agents import ppo
    from jaxrl_rewards.experiments.runner import train_seeds
    from jaxrl_rewards.experiments.sweep import run_sweep
    assert len(jax.devices()) == 4, jax.devices()
    config = ppo.make_config("CartPole-v1", total_timesteps=4 * 64 * 4, num_steps=64, num_evals=2, eval_max_steps=50)
    sharded = train_seeds(ppo, config, 4, shard=True, progress=False)
    single = train_seeds(ppo, config, 4, shard=False, progress=False)
    diff = max(float(np.max(np.abs(sharded.metrics[k] - single.metrics[k]))) for k in single.metrics)
    # the same 4 runs as a sweep (no swept parameter, 4 seeds): one chunk of 4, sharded over the 4 devices
    spec = {"name": "md", "seeds": 4, "config": {"total_timesteps": 4 * 64 * 4, "num_steps": 64, "num_evals": 2,
                                                 "eval_max_steps": 50}}
    sweep = run_sweep(spec, sys.argv[1], progress=False, shard=True)
    swept, chunk_size = sweep.frame, sweep.store.manifest()["chunk_sizes"]["default"]
    names = [k for k, v in single.metrics.items() if v.ndim == 2 and not k.startswith("eval/")]
    sweep_diff = max(float(np.max(np.abs(swept[k].to_numpy() - single.metrics[k].reshape(-1)))) for k in names)
    sweep_eval = swept["eval/return/task"].dropna().to_numpy().reshape(4, 2)
    sweep_diff = max(sweep_diff, float(np.max(np.abs(sweep_eval - single.metrics["eval/return/task"]))))
    print(json.dumps({"devices": [sharded.extras["devices"], single.extras["devices"]], "diff": diff,
                      "episodes_equal": bool(np.array_equal(sharded.metrics["train/episodes"],
                                                            single.metrics["train/episodes"])),
                      "sweep_seeds": swept["seed"].tolist()[::4],
                      "sweep_chunks": [int(swept["chunk"].nunique()), chunk_size],
                      "sweep_diff": sweep_diff}))
    """
)


@pytest.mark.slow  # a 4-device subprocess compiling sharded and unsharded programs
def test_sharded_seeds_and_sweeps_match_unsharded(tmp_path):
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, env=env, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["devices"] == [4, 1]
    assert result["episodes_equal"]
    assert result["diff"] < 1e-3
    assert result["sweep_seeds"] == [0, 1, 2, 3] and result["sweep_chunks"] == [1, 4]
    assert result["sweep_diff"] < 1e-3
