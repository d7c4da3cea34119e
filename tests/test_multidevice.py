"""Seeds and sweep chunks sharded over 4 (forced) host devices give the same numbers as one device."""

import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, sys, jax, numpy as np
    from jaxrl_rewards.agents import ppo
    from jaxrl_rewards.runner import train_seeds
    from jaxrl_rewards.sweep_runner import run_sweep
    assert len(jax.devices()) == 4, jax.devices()
    config = ppo.make_config("CartPole-v1", total_timesteps=4 * 64 * 4, num_steps=64, num_evals=2, eval_max_steps=50)
    sharded = train_seeds(ppo, config, 4, shard=True, progress=False)
    single = train_seeds(ppo, config, 4, shard=False, progress=False)
    diff = max(float(np.max(np.abs(sharded.metrics[k] - single.metrics[k]))) for k in single.metrics)
    tiny = {"total_timesteps": 64, "num_envs": 2, "num_steps": 16, "num_minibatches": 1, "update_epochs": 1,
            "hidden_sizes": [8], "num_evals": 2, "eval_episodes": 1, "eval_max_steps": 20}
    spec = {"name": "md", "seeds": 2, "config": tiny, "params": {"learning_rate": [1e-3, 3e-2]}}
    out = sys.argv[1]
    swept = run_sweep(spec, out + "/sharded", progress=False, shard=True).frame  # auto chunk: 4 runs
    plain = run_sweep(spec, out + "/plain", progress=False, shard=False).frame
    metrics = [c for c in plain.columns if "/" in c]
    sweep_diff = float(np.nanmax(np.abs(swept[metrics].to_numpy() - plain[metrics].to_numpy())))
    print(json.dumps({"devices": [sharded.extras["devices"], single.extras["devices"]], "diff": diff,
                      "episodes_equal": bool(np.array_equal(sharded.metrics["train/episodes"],
                                                            single.metrics["train/episodes"])),
                      "sweep_rows": [len(swept), len(plain)], "sweep_chunks": int(swept["chunk"].nunique()),
                      "sweep_diff": sweep_diff,
                      "sweep_same_ids": bool(swept.drop(columns=metrics).equals(plain.drop(columns=metrics)))}))
    """
)


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
    assert result["sweep_rows"] == [8, 8] and result["sweep_chunks"] == 1 and result["sweep_same_ids"]
    assert result["sweep_diff"] < 1e-4
