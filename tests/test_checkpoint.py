"""Orbax checkpoints: a run interrupted and resumed from its checkpoint equals the uninterrupted one."""

import numpy as np
import pytest

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.experiments.checkpoint import Interrupted, latest_checkpoint, train_checkpointed

CONFIG = ppo.make_config(
    "CartPole-v1", total_timesteps=96, num_envs=2, num_steps=16, num_minibatches=1, update_epochs=1,
    hidden_sizes=(8,), num_evals=3, eval_episodes=1, eval_max_steps=20,
)  # fmt: skip


@pytest.mark.slow
def test_resumed_run_equals_uninterrupted_run(tmp_path):
    full = train_checkpointed(ppo, CONFIG, 2, tmp_path / "full", progress=False)
    assert latest_checkpoint(tmp_path / "full") == 3 and full.extras["resumed_from"] == 0
    with pytest.raises(Interrupted):
        train_checkpointed(ppo, CONFIG, 2, tmp_path / "cut", progress=False, stop_after=2)
    assert latest_checkpoint(tmp_path / "cut") == 2
    resumed = train_checkpointed(ppo, CONFIG, 2, tmp_path / "cut", progress=False)
    assert resumed.extras["resumed_from"] == 2
    assert set(resumed.metrics) == set(full.metrics)
    for name, value in full.metrics.items():
        np.testing.assert_array_equal(resumed.metrics[name], value, err_msg=name)  # bit for bit
    assert resumed.metrics["eval/return/task"].shape == (2, 3)
    with pytest.raises(ConfigError, match="different run"):
        train_checkpointed(ppo, CONFIG.replace(learning_rate=1e-2), 2, tmp_path / "cut", progress=False)
    with pytest.raises(ConfigError, match="different run"):
        train_checkpointed(ppo, CONFIG, [0, 5], tmp_path / "cut", progress=False)
