"""Seeds sharded over 4 (forced) host devices give the same numbers as one device."""

import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, jax, numpy as np
    from jaxrl_rewards.agents import ppo
    from jaxrl_rewards.runner import train_seeds
    assert len(jax.devices()) == 4, jax.devices()
    config = ppo.make_config("CartPole-v1", total_timesteps=4 * 64 * 4, num_steps=64, num_evals=2, eval_max_steps=50)
    sharded = train_seeds(ppo, config, 4, shard=True, progress=False)
    single = train_seeds(ppo, config, 4, shard=False, progress=False)
    diff = max(float(np.max(np.abs(sharded.metrics[k] - single.metrics[k]))) for k in single.metrics)
    print(json.dumps({"devices": [sharded.extras["devices"], single.extras["devices"]], "diff": diff,
                      "episodes_equal": bool(np.array_equal(sharded.metrics["train/episodes"],
                                                            single.metrics["train/episodes"]))}))
    """
)


def test_sharded_seeds_match_unsharded():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["devices"] == [4, 1]
    assert result["episodes_equal"]
    assert result["diff"] < 1e-3
