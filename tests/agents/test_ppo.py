"""PPO: advantage maths, determinism, vmap/sweeps, learning, bad input, divergence."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.experiments.runner import TrainingDivergedError, train_seeds
from jaxrl_rewards.transforms import RewardTransform, lift, normalize_rewards

SMALL = dict(total_timesteps=4 * 64 * 8, num_steps=64, num_evals=2, eval_max_steps=100)


def small_config(**kw):
    return ppo.make_config("CartPole-v1", **{**SMALL, **kw})


# ----------------------------------------------------------------------------- GAE


def mc_returns(rewards, terminated, truncated, bootstrap, last_value, gamma):
    """Reference: discounted return of each step to its episode end (or the batch end),
    bootstrapping from `bootstrap[t]` on truncation and `last_value` at the batch end."""
    T = len(rewards)
    out = np.zeros(T)
    for t in range(T):
        g, disc = 0.0, 1.0
        for u in range(t, T):
            g += disc * rewards[u]
            disc *= gamma
            if terminated[u]:
                break
            if truncated[u]:
                g += disc * bootstrap[u]
                break
        else:
            g += disc * last_value
        out[t] = g
    return out


def test_gae_with_lambda_one_is_the_monte_carlo_return():
    rng = np.random.default_rng(0)
    T, gamma = 9, 0.9
    r = rng.normal(size=T)
    v = rng.normal(size=T)
    v_final = rng.normal(size=T)  # V(true final obs), used only on truncation
    term = np.zeros(T, bool)
    trunc = np.zeros(T, bool)
    term[2], trunc[5] = True, True
    last = 0.7  # V(obs after the batch)
    following = np.append(v[1:], last)
    next_v = np.where(trunc, v_final, following)
    expected = mc_returns(r, term, trunc, v_final, last, gamma)

    def col(x):
        return jnp.asarray(x, jnp.float32)[:, None, None]

    adv, target = ppo.gae(
        col(r), col(v), col(next_v), col(1.0 - term), col(1.0 - (term | trunc)), jnp.array([gamma]), 1.0
    )
    np.testing.assert_allclose(target[:, 0, 0], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(adv[:, 0, 0], expected - v, rtol=1e-5, atol=1e-5)


def test_gae_with_lambda_zero_is_the_td_error_and_streams_are_independent():
    rng = np.random.default_rng(1)
    T, N, K = 6, 2, 3
    r, v, nv = (jnp.asarray(rng.normal(size=(T, N, K)), jnp.float32) for _ in range(3))
    nonterm = jnp.asarray(rng.integers(0, 2, size=(T, N, K)), jnp.float32)
    discounts = jnp.array([0.5, 0.9, 0.99])
    adv, _ = ppo.gae(r, v, nv, nonterm, jnp.ones_like(nonterm), discounts, 0.0)
    np.testing.assert_allclose(adv, r + discounts * nonterm * nv - v, rtol=1e-6, atol=1e-6)


def test_truncation_bootstraps_from_the_final_observation_not_the_reset_one():
    """If the truncated step bootstrapped from the reset observation's value the target
    would change; it must use V(final obs)."""
    r = jnp.zeros((2, 1, 1))
    v = jnp.zeros((2, 1, 1))
    v_final = jnp.array([[[10.0]], [[0.0]]])  # value of the true last obs at t=0
    v_reset = jnp.array([[[-5.0]], [[0.0]]])  # value of the reset obs that follows
    trunc = jnp.array([[[1.0]], [[0.0]]])
    ones = jnp.ones_like(r)
    _, target = ppo.gae(r, v, v_final, ones, 1.0 - trunc, jnp.array([0.5]), 0.95)
    assert float(target[0, 0, 0]) == pytest.approx(5.0)
    _, wrong = ppo.gae(r, v, v_reset, ones, 1.0 - trunc, jnp.array([0.5]), 0.95)
    assert float(wrong[0, 0, 0]) != pytest.approx(5.0)


# ----------------------------------------------------------------------------- determinism


@pytest.fixture(scope="module")
def small_runs():
    config = small_config()
    keys = jax.random.split(jax.random.key(42), 2)
    single = jax.jit(ppo.train)
    alone = [single(config, k) for k in keys]
    again = single(config, keys[0])
    batched = jax.jit(jax.vmap(ppo.train, in_axes=(None, 0)))(config, keys)
    return config, alone, again, batched


def test_same_key_gives_identical_metrics(small_runs):
    _, alone, again, _ = small_runs
    for name, value in alone[0][1].items():
        np.testing.assert_array_equal(value, again[1][name], err_msg=name)
    for a, b in zip(jax.tree.leaves(alone[0][0].params), jax.tree.leaves(again[0].params), strict=True):
        np.testing.assert_array_equal(a, b)


def test_different_keys_give_different_runs(small_runs):
    _, alone, _, _ = small_runs
    assert not np.array_equal(alone[0][1]["loss/policy"], alone[1][1]["loss/policy"])


def test_a_seed_inside_vmap_equals_the_seed_alone(small_runs):
    """Bit for bit on CPU (README, 'Determinism'; every agent: tests/test_vmap_determinism.py)."""
    _, alone, _, (_, batched) = small_runs
    for i, (_, metrics) in enumerate(alone):
        for name in ("train/episodes", "loss/policy", "loss/value", "train/episode_return", "eval/return/task"):
            np.testing.assert_array_equal(metrics[name], batched[name][i], err_msg=name)


def test_runner_segments_equal_the_fused_train(small_runs):
    config, _alone, _, _ = small_runs
    seed_key_run = jax.jit(ppo.train)(config, jax.random.key(7))[1]
    result = train_seeds(ppo, config, [7], progress=False)
    for name in ("train/episode_return", "loss/policy", "eval/return/task"):
        np.testing.assert_allclose(result.metrics[name][0], seed_key_run[name], rtol=1e-3, atol=1e-4, err_msg=name)
    assert result.metrics["eval/return/task"].shape == (1, config.num_evals)
    assert result.metrics["loss/policy"].shape == (1, config.num_iterations)


# ----------------------------------------------------------------------------- sweeps


@pytest.mark.slow  # a vmapped learning-rate sweep
def test_learning_rate_sweep_in_one_vmapped_call():
    config = small_config()
    lrs = jnp.array([1e-4, 1e-3, 1e-2])
    batched = config.replace(learning_rate=lrs)
    axes = jax.tree.map(lambda _: None, config).replace(learning_rate=0)
    ppo.validate(batched)
    states, _ = jax.jit(jax.vmap(ppo.train, in_axes=(axes, None)))(batched, jax.random.key(0))
    kernels = states.params["actor"]["params"]["Dense_0"]["kernel"]
    assert kernels.shape[0] == 3
    init_kernel = ppo.init(config, jax.random.key(0)).params["actor"]["params"]["Dense_0"]["kernel"]
    moved = [float(jnp.abs(kernels[i] - init_kernel).mean()) for i in range(3)]
    assert moved[0] < moved[1] < moved[2], moved  # larger steps move the weights further


def test_transform_hyperparameter_is_sweepable():
    config = small_config(transform=normalize_rewards(clip=10.0))
    clips = jnp.array([0.01, 10.0])
    batched = config.replace(transform=config.transform.replace(clip=clips))
    axes = jax.tree.map(lambda _: None, config)
    axes = axes.replace(transform=axes.transform.replace(clip=0))
    _, metrics = jax.jit(jax.vmap(ppo.train, in_axes=(axes, None)))(batched, jax.random.key(0))
    small_clip_returns = metrics["train/stream_return/task"][0]
    # every normalised reward is clipped to 0.01, so a stream return is at most 0.01 * length
    assert np.all(small_clip_returns <= 0.01 * metrics["train/episode_length"][0] + 1e-4)
    assert np.any(metrics["train/stream_return/task"][1] > 0.011 * metrics["train/episode_length"][1])


# ----------------------------------------------------------------------------- streams


def test_extra_stream_is_tracked_and_gets_a_value_head():
    config = small_config(transform=lift(lambda o, a, n, i: 1.0, "alive", weight=0.0))
    state, metrics = jax.jit(ppo.train)(config, jax.random.key(0))
    # a constant 1 per step sums to the episode length
    np.testing.assert_allclose(metrics["train/stream_return/alive"], metrics["train/episode_length"], rtol=1e-5)
    assert state.params["critic"]["params"]["Dense_0"]["kernel"].shape[-1] == 2
    np.testing.assert_array_equal(metrics["train/stream_weight/alive"], 0.0)


# ----------------------------------------------------------------------------- learning


@pytest.mark.slow  # a learning run
def test_ppo_solves_cartpole_quickly():
    config = ppo.make_config("CartPole-v1", total_timesteps=100_000, num_evals=4)
    _, metrics = jax.jit(ppo.train)(config, jax.random.key(0))
    assert float(metrics["eval/return/task"][-1]) >= 195.0
    assert metrics["eval/return/task"][-1] > metrics["eval/return/task"][0]


def test_continuous_ppo_runs_on_pendulum_and_maps_actions_to_bounds():
    config = ppo.make_config("Pendulum-v1", total_timesteps=16 * 256 * 2, num_evals=1)
    _state, metrics = jax.jit(ppo.train)(config, jax.random.key(0))
    assert all(np.all(np.isfinite(v)) for v in metrics.values())
    assert metrics["eval/return/task"].shape == (1,)
    mapped = ppo._action_map(config)(jnp.array([[-5.0], [0.0], [0.5], [5.0]]))
    np.testing.assert_allclose(mapped[:, 0], [-2.0, 0.0, 1.0, 2.0])  # Pendulum's max torque is 2


def test_public_policy_fn_and_env_with_action_map():
    config = ppo.make_config("Pendulum-v1", num_envs=2, num_steps=8, total_timesteps=16, num_evals=1, num_minibatches=2)
    state = ppo.init(config, jax.random.key(0))
    stats = state.obs_stats.update(jax.random.normal(jax.random.key(1), (16, 3)) * 3.0 + 1.0)
    state = state.replace(obs_stats=stats)  # normalize_obs is on for Pendulum: non-trivial statistics
    obs = state.envs.obs
    dist = ppo.policy_fn(config, state)(obs)
    expected = ppo.actor_network(config).apply(state.params["actor"], stats.normalize(obs, config.obs_clip))
    np.testing.assert_allclose(dist.mode(), expected.mode(), rtol=1e-6)
    # raw action 5.0 is clipped to 1 and mapped to Pendulum's bound 2.0
    env = ppo.env_with_action_map(config)
    key, env_state = jax.random.key(2), jax.tree.map(lambda x: x[0], state.envs.env_state)
    mapped = env.step(key, env_state, jnp.array([5.0]), config.env_params)
    direct = config.env.step(key, env_state, jnp.array([2.0]), config.env_params)
    np.testing.assert_allclose(mapped[2], direct[2], rtol=1e-6)  # same reward
    np.testing.assert_allclose(mapped[0], direct[0], rtol=1e-6)  # same next observation


# ----------------------------------------------------------------------------- bad input


def test_unknown_env_suggests_close_match():
    with pytest.raises(ValueError, match="CartPole-v1"):
        ppo.make_config("CartPole-v2")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"num_minibatches": 3}, "does not divide"),
        ({"learning_rate": 0.0}, "learning_rate must be > 0"),
        ({"learning_rate": -1e-3}, "learning_rate must be > 0"),
        ({"gamma": float("nan")}, "gamma must be finite"),
        ({"ent_coef": float("inf")}, "ent_coef must be finite"),
        ({"num_envs": 0}, "num_envs must be a positive integer"),
        ({"total_timesteps": 100}, "too small"),
        ({"activation": "sigmoidz"}, "unknown activation"),
        ({"bogus_option": 1}, "unknown PPO option"),
    ],
)
def test_bad_config_fails_before_compiling(override, message):
    with pytest.raises(ConfigError, match=message):
        small_config(**override)


def test_nan_inside_a_swept_batch_is_caught():
    config = small_config()
    with pytest.raises(ConfigError, match="learning_rate must be finite"):
        ppo.validate(config.replace(learning_rate=jnp.array([1e-3, jnp.nan])))


class WrongShape(RewardTransform):
    def apply(self, state, streams, batch):
        task = streams["task"]
        return {**streams, "task": task.replace(reward=task.reward[0])}, state


def test_transform_with_wrong_shape_fails_at_trace_time():
    config = small_config(transform=WrongShape())
    with pytest.raises(ValueError, match=r"stream 'task' has reward shape \(3?\d*,?\)"):
        ppo.init(config, jax.random.key(0))


class PoisonRewards(RewardTransform):
    """Turns rewards into NaN after the first iteration."""

    def init(self, key, spec):
        return jnp.int32(0)

    def apply(self, state, streams, batch):
        task = streams["task"]
        reward = jnp.where(state >= 1, jnp.nan, task.reward)
        return {**streams, "task": task.replace(reward=reward)}, state + 1


def test_nan_rewards_are_detected_and_never_applied():
    config = small_config(transform=PoisonRewards())
    state, metrics = jax.jit(ppo.train)(config, jax.random.key(0))
    assert metrics["nonfinite_updates"][-1] > 0
    assert all(bool(jnp.all(jnp.isfinite(p))) for p in jax.tree.leaves(state.params))
    with pytest.raises(TrainingDivergedError, match="iteration 1") as info:
        train_seeds(ppo, config, 1, progress=False)
    assert "loss/policy" in info.value.metrics


def test_vmapped_training_has_no_batched_qr():
    """A batched LAPACK QR (flax's orthogonal init under vmap) deadlocked XLA's CPU thread
    pool now and then; networks draw orthogonal matrices one key at a time instead."""
    config = small_config()
    keys = jax.random.split(jax.random.key(0), 4)
    text = jax.jit(jax.vmap(ppo.train, in_axes=(None, 0))).lower(config, keys).as_text()
    qr_calls = [line for line in text.splitlines() if "geqrf" in line and "custom_call" in line]
    assert qr_calls, "expected the orthogonal initialiser's QR in the program"
    assert all('num_batch_dims = "0"' in line for line in qr_calls)
