"""Episodic x global combinations (exact), chaining with other transforms, PPO integration."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import make_batch
from gymnax.environments import spaces

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.envs import make
from jaxrl_rewards.transforms import add_term, chain, normalize_rewards, scale
from jaxrl_rewards.transforms.intrinsic import combine_bonuses, count_bonus, e3b_bonus, rnd_bonus

T, N = 6, 3


def grid_batch(seed):
    b = make_batch(T, N, seed=seed, obs_dim=4)
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 4, (T, N))
    return b.replace(next_obs=jax.nn.one_hot(cells, 4), obs=jax.nn.one_hot(np.roll(cells, 1, 0), 4))


B1, B2 = grid_batch(0), grid_batch(1)
SPEC = TransformSpec(None, spaces.Discrete(2), N, ("task",), B1)


def rewards(transform, batches=(B1, B2)):
    state = transform.init(jax.random.key(0), SPEC)
    outs = []
    for b in batches:
        streams, state = transform.apply(state, env_streams(b, 0.9), b)
        outs.append(streams)
    return outs, state


@pytest.mark.parametrize("mode", ["product", "sum"])
def test_combination_is_exact(mode):
    ep, gl = count_bonus(episodic_counts=True), count_bonus(beta=0.5)
    combined, _ = rewards(combine_bonuses(ep, gl, mode=mode, global_weight=0.3, coef=0.7))
    ep_out, _ = rewards(ep)
    gl_out, _ = rewards(gl)
    for c, e, g in zip(combined, ep_out, gl_out, strict=True):
        e, g = np.asarray(e["intrinsic"].reward), np.asarray(g["intrinsic"].reward)
        expected = e * g if mode == "product" else e + 0.3 * g
        np.testing.assert_allclose(c["intrinsic"].reward, expected, rtol=1e-6)
        assert float(c["intrinsic"].weight) == pytest.approx(0.7) and c["intrinsic"].episodic is True


def test_chain_with_other_transforms_and_component_metrics():
    bonus = combine_bonuses(e3b_bonus(feature_dim=4), rnd_bonus(num_updates=1), mode="sum")
    shaping = add_term(lambda o, a, o2, i: o2.sum() - o.sum(), to="task", coef=0.5)
    transform = chain(shaping, bonus, normalize_rewards(streams=("task",)), scale(2.0, ("intrinsic",)))
    state = transform.init(jax.random.key(0), SPEC)
    streams, state = transform.apply(state, env_streams(B1, 0.9), B1)
    _, metrics = transform.update(state, streams, B1, jax.random.key(1))
    alone_state = bonus.init(jax.random.split(jax.random.key(0), 4)[1], SPEC)  # chain's key for part 1
    alone, _ = bonus.apply(alone_state, env_streams(B1, 0.9), B1)
    np.testing.assert_allclose(streams["intrinsic"].reward, 2.0 * np.asarray(alone["intrinsic"].reward), rtol=1e-5)
    shaped = np.asarray(B1.reward) + 0.5 * (np.asarray(B1.next_obs).sum(-1) - np.asarray(B1.obs).sum(-1))
    task_std = float(state[2].stats["task"].std)
    np.testing.assert_allclose(streams["task"].reward, np.clip(shaped / task_std, -10, 10), rtol=1e-4)
    expected = {
        "intrinsic/episodic_mean",
        "intrinsic/global_mean",
        "intrinsic/global_rnd_loss",
        "intrinsic/episodic_e3b_inverse_loss",
        "intrinsic/global_return_std",
        "intrinsic/bonus_mean",
    }
    assert expected <= set(metrics)


def test_bad_input_rejected():
    with pytest.raises(ConfigError, match="mode"):
        combine_bonuses(count_bonus(), count_bonus(), mode="max")
    with pytest.raises(ConfigError, match="intrinsic bonus"):
        combine_bonuses(scale(1.0), count_bonus())


@pytest.mark.slow
def test_ppo_learns_an_intrinsic_value_head_and_logs_components():
    env, params = make("DeepSea-v0", size=5)
    bonus = combine_bonuses(count_bonus(episodic_counts=True), rnd_bonus(num_updates=1), mode="product")
    config = ppo.make_config(
        env,
        params,
        transform=chain(bonus, normalize_rewards()),
        num_envs=4,
        num_steps=8,
        total_timesteps=4 * 8 * 4,
        num_evals=2,
        update_epochs=1,
        num_minibatches=1,
        hidden_sizes=(16,),
    )
    keys = jax.random.split(jax.random.key(0), 2)
    _, metrics = jax.jit(jax.vmap(ppo.train, in_axes=(None, 0)))(config, keys)
    assert metrics["transform/intrinsic/bonus_mean"].shape == (2, 4)
    assert metrics["transform/intrinsic/global_rnd_loss"].shape == (2, 4)
    assert np.all(metrics["train/stream_weight/intrinsic"] == 1.0)
    assert np.all(np.isfinite(metrics["transform/intrinsic/bonus_mean"]))
    assert jnp.asarray(metrics["loss/value"]).shape == (2, 4)
