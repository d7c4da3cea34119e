"""Lagrangian / threshold transforms: exact weights, episode-cost tracking across batches,
update rules against numpy references, validation before compiling, PPO integration."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import make_batch

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms.constraints.lagrangian import lagrangian, multiplier_step
from jaxrl_rewards.transforms.constraints.thresholds import threshold_weights


def spec_for(batch, streams):
    return TransformSpec(None, None, batch.reward.shape[1], tuple(sorted(streams)), batch)


def run(transform, batches, gamma=0.9):
    """apply + update on each batch in turn; returns (states, metrics list, last streams)."""
    state = transform.init(jax.random.key(0), spec_for(batches[0], env_streams(batches[0], gamma)))
    metrics, out = [], None
    for b in batches:
        out, state = transform.apply(state, env_streams(b, gamma), b)
        state, m = transform.update(state, out, b, jax.random.key(1))
        metrics.append({k: np.asarray(v) for k, v in m.items()})
    return state, metrics, out


def cost_batch(costs, done, K=None):
    """A [T, N] batch with given costs ([T, N] or [T, N, K]) and episode ends (terminated)."""
    costs = np.asarray(costs, np.float32)
    T, N = costs.shape[:2]
    b = make_batch(T, N)
    return b.replace(
        terminated=jnp.asarray(done, bool),
        truncated=jnp.zeros((T, N), bool),
        info={"cost": jnp.asarray(costs)},
    )


def test_weights_are_minus_lambda_over_one_plus_sum():
    b = cost_batch(np.zeros((3, 2, 2)), np.zeros((3, 2)))
    t = lagrangian((1.0, 2.0), rule="gradient", lambda_init=0.5)
    state = t.init(jax.random.key(0), spec_for(b, env_streams(b, 0.9)))
    state = state.replace(weight=jnp.array([0.5, 1.5]))
    out, _ = t.apply(state, env_streams(b, 0.9), b)
    np.testing.assert_allclose(out["task"].weight, 1 / 3.0, rtol=1e-6)
    np.testing.assert_allclose(out["cost_0"].weight, -0.5 / 3.0, rtol=1e-6)
    np.testing.assert_allclose(out["cost_1"].weight, -1.5 / 3.0, rtol=1e-6)
    np.testing.assert_array_equal(out["cost_1"].reward, b.info["cost"][..., 1])  # rewards untouched
    raw = lagrangian((1.0, 2.0), rule="gradient", normalize=False)
    out, _ = raw.apply(state, env_streams(b, 0.9), b)
    np.testing.assert_allclose([out["task"].weight, out["cost_0"].weight, out["cost_1"].weight], [1, -0.5, -1.5])


def test_episode_cost_is_tracked_across_batch_boundaries():
    # env 0: episode of cost 1+2 ends at t=1, then 3 (batch 1) + 4 ends in batch 2 at t=0 -> 7
    # env 1: cost 1 per step, episode spans both batches and ends at batch 2, t=2 -> 6
    c1 = np.array([[1, 1], [2, 1], [3, 1]], np.float32)
    d1 = np.array([[0, 0], [1, 0], [0, 0]])
    c2 = np.array([[4, 1], [5, 1], [0, 1]], np.float32)
    d2 = np.array([[1, 0], [0, 0], [0, 1]])
    t = lagrangian(4.0, rule="gradient", learning_rate=0.1)
    _, m, _ = run(t, [cost_batch(c1, d1), cost_batch(c2, d2)])
    assert m[0]["lagrangian/episodes"] == 1
    np.testing.assert_allclose(m[0]["lagrangian/episode_cost/cost"], 3.0)
    np.testing.assert_allclose(m[0]["lagrangian/violation_rate/cost"], 0.0)
    np.testing.assert_allclose(m[0]["lagrangian/lambda/cost"], 0.0)  # 0 + 0.1 * (3 - 4) projected to 0
    assert m[1]["lagrangian/episodes"] == 2
    np.testing.assert_allclose(m[1]["lagrangian/episode_cost/cost"], (7 + 6) / 2)
    np.testing.assert_allclose(m[1]["lagrangian/violation_rate/cost"], 1.0)
    np.testing.assert_allclose(m[1]["lagrangian/lambda/cost"], 0.1 * (6.5 - 4), rtol=1e-6)


def test_discounted_measure():
    c = np.array([[1.0], [1.0], [1.0]], np.float32)
    d = np.array([[0], [0], [1]])
    t = lagrangian(0.0, rule="gradient", learning_rate=1.0, measure="discounted")
    _, m, _ = run(t, [cost_batch(c, d)], gamma=0.5)
    np.testing.assert_allclose(m[0]["lagrangian/episode_cost/cost"], 1 + 0.5 + 0.25, rtol=1e-6)


def numpy_pid(costs, limit, kp, ki, kd, alpha_p=0.0, alpha_d=0.0, lam_max=np.inf):
    integral, p_avg, d_avg, out = 0.0, None, None, []
    for c in costs:
        g = c - limit
        integral = min(max(integral + g, 0.0), lam_max / ki if ki > 0 else np.inf)
        new_p = g if p_avg is None else alpha_p * p_avg + (1 - alpha_p) * g
        new_d = c if d_avg is None else alpha_d * d_avg + (1 - alpha_d) * c
        deriv = 0.0 if d_avg is None else max(new_d - d_avg, 0.0)
        p_avg, d_avg = new_p, new_d
        out.append(float(np.clip(kp * p_avg + ki * integral + kd * deriv, 0.0, lam_max)))
    return np.array(out)


def drive(transform, costs):
    """Run ``multiplier_step`` on a sequence of measured costs; return the weights."""
    b = cost_batch(np.zeros((1, 1)), np.zeros((1, 1)))
    state = transform.init(jax.random.key(0), spec_for(b, env_streams(b, 0.9)))
    limits = transform._limits(1)

    def body(s, c):
        s = multiplier_step(transform, s, c[None], limits)
        return s, s.weight[0]

    return np.asarray(jax.lax.scan(body, state, jnp.asarray(costs, jnp.float32))[1])


COSTS = np.array([5.0, 4.0, 3.0, 0.5, 0.0, 0.2, 2.5, 1.0, 0.0, 0.0])


def test_gradient_rule_and_projection():
    costs = np.concatenate([COSTS, np.zeros(4)])
    expected, lam = [], 0.2
    for c in costs:
        lam = float(np.clip(lam + 0.3 * (c - 1.0), 0.0, 1.5))
        expected.append(lam)
    got = drive(lagrangian(1.0, rule="gradient", learning_rate=0.3, lambda_init=0.2, lambda_max=1.5), costs)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert got.max() == pytest.approx(1.5) and got.min() == 0.0  # both bounds were hit


def test_pid_rule_matches_reference():
    kwargs = dict(kp=0.2, ki=0.1, kd=0.5, alpha_p=0.5, alpha_d=0.3)
    got = drive(lagrangian(1.0, rule="pid", **kwargs), COSTS)
    np.testing.assert_allclose(got, numpy_pid(COSTS, 1.0, **kwargs), rtol=1e-5, atol=1e-6)
    got = drive(lagrangian(1.0, rule="pid", kp=0.5, ki=0.1, lambda_max=0.6), COSTS)
    np.testing.assert_allclose(got, numpy_pid(COSTS, 1.0, 0.5, 0.1, 0.0, lam_max=0.6), rtol=1e-5, atol=1e-6)


def test_pid_with_integral_only_is_gradient_ascent():
    pid = drive(lagrangian(1.0, rule="pid", kp=0.0, ki=0.3, kd=0.0, lambda_init=0.6), COSTS)
    sgd = drive(lagrangian(1.0, rule="gradient", learning_rate=0.3, lambda_init=0.6), COSTS)
    np.testing.assert_allclose(pid, sgd, rtol=1e-5, atol=1e-6)


def test_augmented_and_switch_rules():
    got = drive(lagrangian(1.0, rule="augmented", learning_rate=0.3, rho=2.0), COSTS)
    lam, expected = 0.0, []
    for c in COSTS:
        lam = max(lam + 0.3 * (c - 1.0), 0.0)
        expected.append(max(lam + 2.0 * (c - 1.0), 0.0))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    t = lagrangian(1.0, rule="gradient")
    sw = t.replace(rule="switch", switch_weight=2.0)
    np.testing.assert_array_equal(drive(sw, COSTS), np.where(COSTS > 1.0, 2.0, 0.0))


def test_no_update_without_finished_episodes():
    t = lagrangian(0.0, rule="gradient", learning_rate=1.0, lambda_init=0.7)
    _, m, _ = run(t, [cost_batch(np.ones((3, 2)), np.zeros((3, 2)))])
    np.testing.assert_allclose(m[0]["lagrangian/lambda/cost"], 0.7)
    assert m[0]["lagrangian/episodes"] == 0


def test_two_constraints_with_different_limits():
    c = np.zeros((2, 1, 2), np.float32)
    c[:, 0, 0], c[:, 0, 1] = 1.0, 3.0  # episode costs 2 and 6
    t = lagrangian((1.0, 10.0), rule="gradient", learning_rate=0.5)
    _, m, _ = run(t, [cost_batch(c, np.array([[0], [1]]))])
    np.testing.assert_allclose(m[0]["lagrangian/lambda/cost_0"], 0.5)  # violated: 0.5 * (2 - 1)
    np.testing.assert_allclose(m[0]["lagrangian/lambda/cost_1"], 0.0)  # satisfied: projected
    np.testing.assert_allclose(m[0]["lagrangian/violation_rate/cost_0"], 1.0)
    np.testing.assert_allclose(m[0]["lagrangian/violation_rate/cost_1"], 0.0)


def test_threshold_weights_push_only_until_met():
    T = 2
    comp = np.ones((T, 1), np.float32)
    b = cost_batch(np.zeros((T, 1)), np.array([[0], [1]]))
    b = b.replace(info={"rewards": {"speed": jnp.asarray(comp)}})
    t = threshold_weights(3.0, ("reward_speed",), rule="gradient", learning_rate=0.5)
    state = t.init(jax.random.key(0), spec_for(b, env_streams(b, 0.9)))
    weights = []
    for _ in range(3):  # return 2 < 3: pushed, weight grows
        out, state = t.apply(state, env_streams(b, 0.9), b)
        state, m = t.update(state, out, b, jax.random.key(0))
        weights.append(float(m["lagrangian/lambda/reward_speed"]))
    np.testing.assert_allclose(weights, [0.5, 1.0, 1.5])
    out, _ = t.apply(state, env_streams(b, 0.9), b)
    assert float(out["reward_speed"].weight) == pytest.approx(1.5 / 2.5)  # positive, normalised
    met = b.replace(info={"rewards": {"speed": jnp.asarray(3 * comp)}})  # return 6 >= 3
    for _ in range(4):
        out, state = t.apply(state, env_streams(met, 0.9), met)
        state, m = t.update(state, out, met, jax.random.key(0))
    assert float(m["lagrangian/lambda/reward_speed"]) == 0.0  # met: no longer pushed


def test_bad_inputs_raise_config_errors_before_compiling():
    with pytest.raises(ConfigError, match=">= 0"):
        lagrangian(-1.0)
    with pytest.raises(ConfigError, match="one limit per stream"):
        lagrangian((1.0, 2.0), streams=("cost",))
    with pytest.raises(ConfigError, match="rule"):
        lagrangian(1.0, rule="adam")
    with pytest.raises(ConfigError, match="streams"):
        threshold_weights(1.0, None)
    # mismatched number of limits against the env's cost streams (PointTwoHazards has cost_0, cost_1)
    cfg = ppo.make_config(
        "PointTwoHazards-v0",
        transform=lagrangian((1.0, 2.0, 3.0)),
        num_envs=2,
        num_steps=8,
        total_timesteps=160,
        num_evals=1,
        num_minibatches=1,
    )
    with pytest.raises(ConfigError, match="one limit per stream"):
        jax.jit(ppo.init)(cfg, jax.random.key(0))  # raised while tracing, before XLA compiles
    # an env without info["cost"], and a named cost stream the env does not provide
    cfg = cfg.replace(
        env=ppo.make_config("CartPole-v1").env,
        env_params=ppo.make_config("CartPole-v1").env_params,
        transform=lagrangian(1.0),
    )
    with pytest.raises(ConfigError, match=r'no cost stream \(kind "cost", from info\["cost"\]\)'):
        jax.jit(ppo.init)(cfg, jax.random.key(0))
    with pytest.raises(ConfigError, match=r"\['cost_3'\] are not provided"):
        jax.jit(ppo.init)(cfg.replace(transform=lagrangian(1.0, streams=("cost_3",))), jax.random.key(0))


def test_vmap_over_limits_equals_single_runs():
    c = np.array([[3.0], [0.0], [2.0], [1.0]], np.float32)
    b = cost_batch(c, np.array([[0], [1], [0], [1]]))
    limits = jnp.array([0.5, 2.0, 4.0])

    def one(limit):
        t = lagrangian(1.0, rule="pid", kp=0.3, ki=0.2).replace(limits=limit)
        state = t.init(jax.random.key(0), spec_for(b, env_streams(b, 0.9)))
        for _ in range(3):
            out, state = t.apply(state, env_streams(b, 0.9), b)
            state, _ = t.update(state, out, b, jax.random.key(0))
        return state.weight

    batched = jax.jit(jax.vmap(one))(limits)
    singles = np.stack([np.asarray(one(x)) for x in limits])
    np.testing.assert_allclose(batched, singles, rtol=1e-5, atol=1e-7)
    assert np.all(np.diff(np.asarray(batched)[:, 0]) <= 0)  # a looser limit never raises lambda


@pytest.fixture(scope="module")
def lagrangian_run():
    cfg = ppo.make_config(
        "PointHazard-v0",
        transform=lagrangian(1.0, rule="pid", kp=0.1, ki=0.02),
        num_envs=16,
        num_steps=64,
        total_timesteps=60_000,
        num_minibatches=4,
        learning_rate=1e-3,
        ent_coef=0.0,
        num_evals=2,
        eval_episodes=4,
        hidden_sizes=(32, 32),
        anneal_lr=False,
    )
    keys = jnp.stack([jax.random.key(0), jax.random.key(0)])
    _, metrics = jax.jit(jax.vmap(ppo.train, in_axes=(None, 0)))(cfg, keys)
    return {k: np.asarray(v) for k, v in metrics.items()}


@pytest.mark.slow
def test_ppo_lagrangian_learns_multiplier_and_is_deterministic(lagrangian_run):
    m = lagrangian_run
    lam = m["transform/lagrangian/lambda/cost"]
    cost = m["transform/lagrangian/episode_cost/cost"]
    np.testing.assert_array_equal(lam[0], lam[1])  # same key -> same run, bit for bit
    assert lam[0].max() > 0.1  # cost appeared and the multiplier reacted
    assert np.all(np.isfinite(lam))
    # the stream weights PPO used are -lambda/(1 + lambda) one iteration later
    w = m["train/stream_weight/cost"][0]
    np.testing.assert_allclose(w[1:], -lam[0][:-1] / (1 + lam[0][:-1]), rtol=1e-5, atol=1e-7)
    last = cost[0][-len(cost[0]) // 5 :].mean()
    assert last < 3.0, last  # plain PPO sits at ~8 on this env (benchmarks/results/constrained.md)


def test_transition_type_is_used():
    assert isinstance(cost_batch(np.zeros((1, 1)), np.zeros((1, 1))), Transition)
