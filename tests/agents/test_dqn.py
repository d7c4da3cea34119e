"""DQN: replay buffer, double-DQN targets, determinism, vmap-equals-loop, streams, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from agent_runs import check_determinism_and_vmap, train_runs

from jaxrl_rewards.agents import dqn
from jaxrl_rewards.agents.replay import ReplayBuffer
from jaxrl_rewards.core.networks import MultiStreamQNetwork
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms import lift

TINY = dict(
    num_envs=2,
    total_timesteps=2 * 60,
    buffer_size=64,
    batch_size=8,
    learning_starts=16,
    target_update_every=5,
    hidden_sizes=(16,),
    num_evals=2,
    eval_episodes=2,
    eval_max_steps=20,
    transform=lift(lambda o, a, n, i: 1.0, "alive", weight=0.0),
)


def test_replay_buffer_wraps_around_and_samples_filled_slots():
    buf = ReplayBuffer.create({"x": jnp.float32(0)}, capacity=4)
    buf = buf.add({"x": jnp.arange(3.0)})
    assert int(buf.size) == 3 and int(buf.position) == 3
    buf = buf.add({"x": jnp.arange(3.0, 6.0)})  # 3 -> slot 3, 4 -> slot 0, 5 -> slot 1
    np.testing.assert_array_equal(buf.data["x"], [4.0, 5.0, 2.0, 3.0])
    assert int(buf.size) == 4 and int(buf.position) == 2
    small = ReplayBuffer.create({"x": jnp.float32(0)}, capacity=8).add({"x": jnp.array([7.0, 9.0])})
    assert set(np.asarray(small.sample(jax.random.key(0), 64)["x"]).tolist()) <= {7.0, 9.0}


def test_double_dqn_target_per_stream_matches_hand_computation():
    net = MultiStreamQNetwork(num_actions=2, num_streams=2, hidden_sizes=(4,))
    obs = jnp.array([[0.5, -1.0], [1.0, 2.0]])
    params = net.init(jax.random.key(0), obs)
    target_params = net.init(jax.random.key(1), obs)
    batch = {
        "obs": obs,
        "action": jnp.array([1, 0]),
        "rewards": jnp.array([[1.0, 2.0], [0.5, -1.0]]),
        "terminated": jnp.array([0.0, 1.0]),
        "next_obs": obs[::-1],
    }
    weights, discounts = jnp.array([1.0, 0.5]), jnp.array([0.9, 0.8])
    loss, _ = dqn.td_loss(net, params, target_params, batch, weights, discounts, (True, False), double=True)
    q = np.asarray(net.apply(params, obs))
    q_next_online = np.asarray(net.apply(params, obs[::-1]))
    q_next_target = np.asarray(net.apply(target_params, obs[::-1]))
    expected = 0.0
    for b in range(2):
        best = np.argmax((q_next_online[b] * np.asarray(weights)).sum(-1))  # online net chooses
        for k, episodic in enumerate((True, False)):
            cont = 1.0 - float(batch["terminated"][b]) if episodic else 1.0
            y = float(batch["rewards"][b, k]) + float(discounts[k]) * cont * q_next_target[b, best, k]
            expected += 0.5 * (q[b, int(batch["action"][b]), k] - y) ** 2 / 2
    assert float(loss) == pytest.approx(expected, rel=1e-5)


@pytest.fixture(scope="module")
def runs():
    return train_runs(dqn, dqn.make_config("CartPole-v1", **TINY))


@pytest.mark.slow
def test_same_key_same_run_and_vmap_equals_loop(runs):
    check_determinism_and_vmap(runs, ("loss/td", "train/episode_return", "eval/return/task", "train/epsilon"))
    config, alone, _, _ = runs
    assert alone[0][1]["loss/td"].shape == (config.num_iterations,)
    assert alone[0][1]["eval/return/task"].shape == (config.num_evals,)


@pytest.mark.slow
def test_streams_get_q_heads_and_metrics(runs):
    _, alone, _, _ = runs
    state, metrics = alone[0]
    assert state.params["params"]["Dense_0"]["kernel"].shape[-1] == 2 * 2  # 2 actions x 2 streams
    np.testing.assert_allclose(metrics["train/stream_return/alive"], metrics["train/episode_length"], rtol=1e-5)
    np.testing.assert_array_equal(metrics["train/stream_weight/alive"], 0.0)
    eps = metrics["train/epsilon"]
    assert eps[0] == pytest.approx(1.0) and np.all(np.diff(eps) <= 0)
    assert np.all(metrics["loss/td"][: 16 // 2 - 1] == 0.0)  # no updates before learning_starts


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"learning_rate": 0.0}, "learning_rate must be > 0"),
        ({"gamma": 1.5}, "gamma"),
        ({"bogus": 1}, "unknown DQN option"),
        ({"total_timesteps": 1}, "too small"),
    ],
)
def test_bad_config(override, message):
    with pytest.raises(ConfigError, match=message):
        dqn.make_config("CartPole-v1", **{**TINY, **override})


def test_continuous_env_is_refused():
    with pytest.raises(ConfigError, match="discrete action space"):
        dqn.make_config("Pendulum-v1")
