import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import make_batch

from jaxrl_rewards.core.streams import (
    check_streams,
    env_streams,
    scalarize,
    select_streams,
    stack_streams,
    stream_names,
)
from jaxrl_rewards.core.types import Stream


def test_env_streams_task_only(batch):
    streams = env_streams(batch, 0.9)
    assert stream_names(streams) == ("task",)
    np.testing.assert_array_equal(streams["task"].reward, batch.reward)
    assert float(streams["task"].weight) == 1.0
    assert float(streams["task"].discount) == pytest.approx(0.9)
    assert streams["task"].episodic


def test_env_streams_costs_components_true_reward():
    T, N = 4, 2
    info = {
        "cost": jnp.ones((T, N, 3)),
        "rewards": {"speed": jnp.full((T, N), 2.0), "energy": jnp.full((T, N), -1.0)},
        "true_reward": jnp.full((T, N), 5.0),
    }
    streams = env_streams(make_batch(T, N, info=info), 0.99)
    assert stream_names(streams) == (
        "cost_0",
        "cost_1",
        "cost_2",
        "reward_energy",
        "reward_speed",
        "task",
        "true_reward",
    )
    for name in ("cost_0", "reward_speed", "true_reward"):
        assert float(streams[name].weight) == 0.0
    np.testing.assert_array_equal(streams["reward_energy"].reward, -np.ones((T, N)))


def test_scalar_cost_is_one_stream():
    streams = env_streams(make_batch(3, 2, info={"cost": jnp.ones((3, 2))}), 0.99)
    assert "cost" in streams and "cost_0" not in streams


def test_bad_cost_shape_is_rejected():
    with pytest.raises(ValueError, match="cost"):
        env_streams(make_batch(3, 2, info={"cost": jnp.ones((3, 2, 2, 2))}), 0.99)


def test_scalarize_weights_streams(batch):
    streams = env_streams(batch, 0.99)
    streams["bonus"] = Stream(reward=jnp.ones_like(batch.reward), weight=jnp.float32(-2.0))
    np.testing.assert_allclose(scalarize(streams), np.asarray(batch.reward) - 2.0, rtol=1e-6)


def test_stack_streams_order_and_metadata(batch):
    streams = env_streams(batch, 0.9)
    streams["aux"] = Stream(reward=2 * batch.reward, weight=jnp.float32(0.5), discount=jnp.float32(0.5), episodic=False)
    rewards, weights, discounts, episodic = stack_streams(streams)
    assert rewards.shape == (5, 3, 2)
    np.testing.assert_allclose(rewards[..., 0], 2 * np.asarray(batch.reward))  # "aux" sorts first
    np.testing.assert_allclose(weights, [0.5, 1.0])
    np.testing.assert_allclose(discounts, [0.5, 0.9])
    assert episodic == (False, True)


def test_check_streams_names_the_bad_stream(batch):
    streams = env_streams(batch, 0.99)
    check_streams(streams, (5, 3))
    bad = {**streams, "oops": Stream(reward=jnp.zeros((5,)))}
    with pytest.raises(ValueError, match=r"'oops'.*shape"):
        check_streams(bad, (5, 3))
    with pytest.raises(ValueError, match="weight"):
        check_streams({"task": Stream(reward=jnp.zeros((5, 3)), weight=jnp.ones(3))}, (5, 3))


def test_check_streams_works_on_abstract_shapes(batch):
    shapes = jax.eval_shape(lambda b: env_streams(b, 0.99), batch)
    check_streams(shapes, (5, 3))


def test_select_streams_unknown_lists_available(batch):
    streams = env_streams(batch, 0.99)
    with pytest.raises(ValueError, match=r"unknown stream.*\['task'\]"):
        select_streams(streams, ("nope",), "scale")
