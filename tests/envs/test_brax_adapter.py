"""BraxEnv (one brax test: mjx compiles slowly on CPU) and the cond-reset step it uses."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.envs import BraxEnv, CondResetEnvironment, SparseGridWorld, env_info, make


@pytest.mark.slow  # mjx compiles slowly on CPU
def test_inverted_pendulum_vmapped_reset_step_and_time_limit():
    env, params = make("InvertedPendulum-brax", max_steps_in_episode=3)
    assert isinstance(env, BraxEnv) and env.backend == "mjx"
    assert params.max_steps_in_episode == 3 and env.default_params.max_steps_in_episode == 1000
    action_space = env.action_space(params)
    assert action_space.shape == (1,)
    assert float(action_space.low) == -1.0 and float(action_space.high) == 1.0
    assert env.observation_space(params).shape == (4,)
    info = env_info("InvertedPendulum-brax")
    assert (info["family"], info["action_kind"]) == ("brax", "continuous")
    assert (info["obs_shape"], info["action_shape"]) == ((4,), (1,))

    reset = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))
    step = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))
    obs0, state = reset(jax.random.split(jax.random.PRNGKey(0), 2), params)
    assert obs0.shape == (2, 4) and obs0.dtype == jnp.float32
    assert not np.allclose(obs0[0], obs0[1])  # resets are random per env

    keys = jax.random.split(jax.random.PRNGKey(1), 2)
    # Actions outside [-1, 1] are clipped: 5.0 behaves exactly like 1.0.
    big = step(keys, state, jnp.full((2, 1), 5.0), params)
    unit = step(keys, state, jnp.ones((2, 1)), params)
    jax.tree.map(np.testing.assert_array_equal, big, unit)

    obs = obs0
    for t in range(3):
        obs, state, reward, terminated, truncated, info = step(
            jax.random.split(jax.random.PRNGKey(10 + t), 2), state, jnp.zeros((2, 1)), params
        )
        assert obs.shape == (2, 4) and obs.dtype == jnp.float32
        assert reward.shape == (2,) and reward.dtype == jnp.float32
        np.testing.assert_array_equal(reward, [1.0, 1.0])
        assert terminated.dtype == jnp.bool_ and terminated.shape == (2,)
        np.testing.assert_array_equal(terminated, [False, False])
        np.testing.assert_array_equal(truncated, [t == 2, t == 2])
        assert info["final_observation"].shape == (2, 4)
    # Time limit hit: obs is a fresh reset, the true last obs is in final_observation.
    np.testing.assert_array_equal(state.time, [0, 0])
    assert not np.allclose(info["final_observation"], obs)
    assert not np.allclose(obs, obs0)  # the new episode's start is resampled
    np.testing.assert_array_equal(obs, state.brax_state.obs)


class _CondResetGrid(CondResetEnvironment, SparseGridWorld):
    """SparseGridWorld stepped by CondResetEnvironment.step instead of gymnax's."""


def test_cond_reset_step_matches_gymnax_step_unbatched_and_vmapped():
    plain, cond = SparseGridWorld(3), _CondResetGrid(3)
    params = plain.default_params.replace(max_steps_in_episode=4, slip_prob=0.3)
    keys = jax.random.split(jax.random.PRNGKey(0), 40)
    actions = jax.random.randint(jax.random.PRNGKey(1), (40,), 1, 3)  # right or down

    def rollout(env, batched):
        def body(state, inputs):
            key, action = inputs
            if batched:
                out = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
                    jnp.stack([key, key]), state, jnp.stack([action, action]), params
                )
            else:
                out = env.step(key, state, action, params)
            return out[1], (out[0], out[2], out[3], out[4], out[5]["final_observation"])

        _, state = env.reset(keys[0], params)
        if batched:
            state = jax.tree.map(lambda x: jnp.stack([x, x]), state)
        return jax.lax.scan(body, state, (keys, actions))

    for batched in (False, True):
        expected, got = rollout(plain, batched), rollout(cond, batched)
        jax.tree.map(np.testing.assert_array_equal, got, expected)
    _, (_, _, terminated, truncated, _) = rollout(plain, False)
    assert int(truncated.sum()) > 0 and int(terminated.sum()) > 0  # both kinds of reset ran
