"""Advantage estimators: direct numpy references on fixed batches, invariances as properties,
the registry (adapters, registration, dispatch from PPO) and PPO's estimator switch."""

from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from jaxrl_rewards.agents import estimators, ppo, recurrent_ppo
from jaxrl_rewards.core.types import Transition
from jaxrl_rewards.core.validation import ConfigError

RETURNS = np.array([1.0, 3.0, 2.0, 2.0, -1.0, 0.0, 5.0, 4.0], np.float32)  # 2 groups of 4


def np_group_relative(r, g, floor=0.0):
    out = np.zeros_like(r)
    for s in range(0, len(r), g):
        x = r[s : s + g]
        out[s : s + g] = (x - x.mean()) / (max(x.std(), floor) + 1e-8)
    return out


def np_rloo(r, g):
    out = np.zeros_like(r)
    for s in range(0, len(r), g):
        x = r[s : s + g]
        for i in range(g):
            out[s + i] = x[i] - np.delete(x, i).mean()
    return out


def np_anchor(returns, states, groups, mask, floor=0.0):
    out = np.zeros_like(returns)
    for i in range(len(returns)):
        if not mask[i]:
            continue
        same = [j for j in range(len(returns)) if mask[j] and groups[j] == groups[i] and np.all(states[j] == states[i])]
        if len(same) > 1:
            x = returns[same]
            out[i] = (returns[i] - x.mean()) / (max(x.std(), floor) + 1e-8)
    return out


def test_group_relative_matches_numpy():
    np.testing.assert_allclose(estimators.group_relative(jnp.asarray(RETURNS), 4), np_group_relative(RETURNS, 4), 1e-5)
    floored = estimators.group_relative(jnp.asarray(RETURNS), 4, std_floor=5.0)
    np.testing.assert_allclose(floored, np_group_relative(RETURNS, 4, 5.0), rtol=1e-5)
    unscaled = estimators.group_relative(jnp.asarray(RETURNS), 4, scale=False)
    np.testing.assert_allclose(unscaled, RETURNS - np.repeat(RETURNS.reshape(2, 4).mean(1), 4), rtol=1e-6)


def np_gdpo(returns, g, weights, floor=0.0, mode="max", batch=True):
    """Per-stream group normalisation by loops, weighted sum, then batch standardisation."""
    n, k = returns.shape
    out = np.zeros(n)
    for s in range(0, n, g):
        for j in range(k):
            x = returns[s : s + g, j].astype(np.float64)
            den = (max(x.std(), floor) if mode == "max" else x.std() + floor) + 1e-8
            out[s : s + g] += weights[j] * (x - x.mean()) / den
    return (out - out.mean()) / (out.std() + 1e-8) if batch else out


def test_additive_std_floor_matches_numpy():
    added = estimators.group_relative(jnp.asarray(RETURNS), 4, std_floor=0.5, floor_mode="add")
    groups = RETURNS.reshape(2, 4).astype(np.float64)
    expected = (groups - groups.mean(1, keepdims=True)) / (groups.std(1, keepdims=True) + 0.5 + 1e-8)
    np.testing.assert_allclose(added, expected.ravel(), rtol=1e-5)
    with pytest.raises(ConfigError, match=r"std_floor_mode='min' is not one of \['max', 'add'\]"):
        estimators.group_relative(jnp.asarray(RETURNS), 4, 0.5, floor_mode="min")


@pytest.mark.parametrize(("mode", "floor", "batch"), [("max", 0.0, True), ("add", 0.3, False), ("max", 0.6, False)])
def test_gdpo_matches_numpy(mode, floor, batch):
    rng = np.random.default_rng(1)
    returns = rng.integers(0, 2, size=(12, 3)).astype(np.float32)  # binary rewards, groups of 4
    weights = np.array([1.0, 0.5, 2.0], np.float32)
    out = estimators.gdpo(jnp.asarray(returns), 4, jnp.asarray(weights), floor, mode, batch)
    np.testing.assert_allclose(out, np_gdpo(returns, 4, weights, floor, mode, batch), rtol=1e-5, atol=1e-5)


def test_gdpo_keeps_reward_combinations_apart_that_grpo_collapses():
    """Two binary rewards, groups of two: (0,0) vs (1,1) and (0,0) vs (1,0) get the same GRPO
    advantages (+-1) but GDPO advantages +-2 and +-1."""
    returns = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0], [1.0, 0.0]], np.float32)
    grpo = np.asarray(estimators.group_relative(jnp.asarray(returns.sum(1)), 2))
    np.testing.assert_allclose(grpo, [-1, 1, -1, 1], atol=1e-6)
    gdpo = np.asarray(estimators.gdpo(jnp.asarray(returns), 2, jnp.ones(2), batch_normalize=False))
    np.testing.assert_allclose(gdpo, [-2, 2, -1, 1], atol=1e-6)


def test_gdpo_estimator_scores_first_episode_per_stream_returns():
    x, done = _inputs()
    mask = np.cumsum(done, 0) - done == 0
    per_stream = (np.asarray(x.rewards) * mask[..., None]).sum(0)  # [N, K]
    for name, batch in (("gdpo", True), ("gdpo_sum", False)):
        out = estimators.ESTIMATORS[name].advantages(CONFIG, x)
        expected = np_gdpo(per_stream, 2, np.array([1.0, -2.0]), batch=batch)
        np.testing.assert_allclose(out.mask, mask.astype(np.float32))
        np.testing.assert_allclose(out.combined, expected[None, :] * mask, rtol=1e-4, atol=1e-5)
        assert estimators.ESTIMATORS[name].needs_group


def test_ppo_validates_std_floor_mode():
    with pytest.raises(ConfigError, match="std_floor_mode"):
        ppo.make_config("CartPole-v1", std_floor_mode="min")
    assert ppo.make_config("CartPole-v1", advantage="gdpo", group_size=2, num_envs=4, std_floor_mode="add")


def test_rloo_matches_numpy():
    np.testing.assert_allclose(estimators.rloo(jnp.asarray(RETURNS), 4), np_rloo(RETURNS, 4), rtol=1e-6)
    with pytest.raises(ValueError, match="group_size >= 2"):
        estimators.rloo(jnp.asarray(RETURNS), 1)


def test_anchor_state_matches_numpy():
    states = np.array([[0, 0], [1, 0], [0, 0], [1, 0], [0, 0], [2, 2], [0, 0], [1, 0]], np.float32)
    groups = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    mask = np.array([1, 1, 1, 1, 1, 1, 1, 0], bool)
    out = estimators.anchor_state(jnp.asarray(RETURNS), jnp.asarray(states), jnp.asarray(groups), jnp.asarray(mask))
    np.testing.assert_allclose(out, np_anchor(RETURNS, states, groups, mask), rtol=1e-5, atol=1e-6)
    assert out[5] == 0.0 and out[7] == 0.0  # alone in its anchor group / masked


def _col(x):
    return jnp.asarray(x, jnp.float32)[:, None, None]


FIXED = dict(
    r=np.array([1.0, -2.0, 0.5, 3.0, 0.0, -1.0, 2.0]),
    v=np.array([0.1, 0.2, -0.3, 0.4, 0.0, 0.5, -0.2]),
    # V' = V(s_{t+1}) inside episodes (as PPO builds it), V(final obs) = 9 at the truncation t=2
    nv=np.array([0.2, -0.3, 9.0, 0.0, 0.6, -0.2, 0.7]),
    term=np.array([0, 0, 0, 0, 1, 0, 0], bool),
    trunc=np.array([0, 0, 1, 0, 0, 0, 0], bool),
)


def np_n_step(r, nv, term, done, gamma, n):
    T = len(r)
    out = np.zeros(T)
    for t in range(T):
        g, disc, u = 0.0, 1.0, t
        while True:
            g += disc * r[u]
            disc *= gamma
            if term[u]:
                break
            if done[u] or u == T - 1 or u - t + 1 == n:
                g += disc * nv[u]
                break
            u += 1
        out[t] = g
    return out


def np_min_form(r, nv, term, done):
    T = len(r)
    out = np.zeros(T)
    for t in reversed(range(T)):
        if term[t]:
            out[t] = r[t]
        elif done[t] or t == T - 1:
            out[t] = min(r[t], nv[t])
        else:
            out[t] = min(r[t], out[t + 1])
    return out


@pytest.mark.parametrize("n", [1, 2, 3, 10])
def test_n_step_matches_numpy(n):
    f = FIXED
    done = f["term"] | f["trunc"]
    args = (_col(f["r"]), _col(f["v"]), _col(f["nv"]), _col(1.0 - f["term"]), _col(1.0 - done))
    adv, target = estimators.n_step(*args, jnp.array([0.9]), n)
    expected = np_n_step(f["r"], f["nv"], f["term"], done, 0.9, n)
    np.testing.assert_allclose(target[:, 0, 0], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(adv[:, 0, 0], expected - f["v"], rtol=1e-5, atol=1e-5)
    if n >= len(f["r"]):  # longer than any segment: Monte-Carlo
        mc, _ = estimators.monte_carlo(*args, jnp.array([0.9]))
        np.testing.assert_allclose(adv, mc, rtol=1e-5, atol=1e-5)


def test_min_form_matches_numpy():
    f = FIXED
    done = f["term"] | f["trunc"]
    args = (_col(f["r"]), _col(f["v"]), _col(f["nv"]), _col(1.0 - f["term"]), _col(1.0 - done))
    adv, target = estimators.min_form(*args)
    expected = np_min_form(f["r"], f["nv"], f["term"], done)
    np.testing.assert_allclose(target[:, 0, 0], expected, rtol=1e-6)
    np.testing.assert_allclose(adv[:, 0, 0], expected - f["v"], rtol=1e-6, atol=1e-6)


def test_first_episode_mask_and_return():
    rewards = jnp.array([[1.0, 1.0], [2.0, 1.0], [4.0, 1.0]])
    done = jnp.array([[False, False], [True, False], [False, True]])
    mask, ret = estimators.first_episode(rewards, done)
    np.testing.assert_array_equal(mask, [[True, True], [True, True], [False, True]])
    np.testing.assert_allclose(ret, [3.0, 3.0])


# ----------------------------------------------------------------------------- invariances

returns_st = arrays(np.float32, (8,), elements=st.floats(-10, 10, width=32))
offset_st = arrays(np.float32, (2,), elements=st.floats(-5, 5, width=32))
scale_st = st.floats(0.1, 10.0)


def _spread(r):
    return r.reshape(2, 4).std(1).min() > 1e-2  # normalisation is ill-posed for constant groups


@settings(max_examples=30, deadline=None)
@given(returns_st, offset_st, scale_st)
def test_group_relative_is_invariant_to_group_constants_and_positive_scaling(r, c, s):
    if not _spread(r):
        return
    base = np.asarray(estimators.group_relative(jnp.asarray(r), 4))
    shifted = np.asarray(estimators.group_relative(jnp.asarray(r + np.repeat(c, 4)), 4))
    scaled = np.asarray(estimators.group_relative(jnp.asarray(r * s), 4))
    np.testing.assert_allclose(shifted, base, atol=2e-3)
    np.testing.assert_allclose(scaled, base, atol=2e-3)


@settings(max_examples=30, deadline=None)
@given(returns_st, offset_st, scale_st)
def test_rloo_is_invariant_to_group_constants_and_scales_with_positive_scaling(r, c, s):
    base = np.asarray(estimators.rloo(jnp.asarray(r), 4))
    shifted = np.asarray(estimators.rloo(jnp.asarray(r + np.repeat(c, 4)), 4))
    scaled = np.asarray(estimators.rloo(jnp.asarray(r * s), 4))
    np.testing.assert_allclose(shifted, base, atol=1e-4)
    np.testing.assert_allclose(scaled, s * base, rtol=1e-4, atol=1e-3)


@settings(max_examples=30, deadline=None)
@given(returns_st, offset_st, scale_st)
def test_anchor_state_is_invariant_to_group_constants_and_positive_scaling(r, c, s):
    states = jnp.zeros((8, 1))  # every step of a group shares one anchor state
    groups, mask = jnp.repeat(jnp.arange(2), 4), jnp.ones(8, bool)
    if not _spread(r):
        return
    base = np.asarray(estimators.anchor_state(jnp.asarray(r), states, groups, mask))
    np.testing.assert_allclose(base, np_group_relative(r, 4), atol=1e-4)  # one anchor per group = GRPO
    shifted = estimators.anchor_state(jnp.asarray(r + np.repeat(c, 4)), states, groups, mask)
    scaled = estimators.anchor_state(jnp.asarray(r * s), states, groups, mask)
    np.testing.assert_allclose(shifted, base, atol=2e-3)
    np.testing.assert_allclose(scaled, base, atol=2e-3)


@settings(max_examples=30, deadline=None)
@given(arrays(np.float32, (7,), elements=st.floats(-10, 10, width=32)), st.floats(-5, 5), scale_st)
def test_min_form_returns_shift_with_constants_and_scale_with_positive_scaling(r, c, s):
    f = FIXED
    done = f["term"] | f["trunc"]
    zero = _col(np.zeros(7))

    def returns(rew, nv):
        return np.asarray(estimators.min_form(_col(rew), zero, _col(nv), _col(1.0 - f["term"]), _col(1.0 - done))[1])

    base = returns(r, f["nv"])
    np.testing.assert_allclose(returns(r + c, f["nv"] + c), base + c, atol=1e-4)
    np.testing.assert_allclose(returns(r * s, f["nv"] * s), base * s, rtol=1e-5, atol=1e-4)


def test_std_floor_breaks_scale_invariance_for_small_spreads():
    r = jnp.asarray(RETURNS) * 1e-3
    floored = estimators.group_relative(r, 4, std_floor=1.0)
    assert float(jnp.abs(floored).max()) < 0.01  # tiny differences stay tiny instead of being blown up
    assert float(jnp.abs(estimators.group_relative(r, 4)).max()) > 0.5


# ----------------------------------------------------------------------------- PPO switch


def test_ppo_rejects_bad_estimator_settings():
    with pytest.raises(ConfigError, match=r"unknown advantage estimator 'vtrace'; choose one of \[.*'gae'.*'rloo'"):
        ppo.make_config("CartPole-v1", advantage="vtrace")
    with pytest.raises(ConfigError, match="group_size >= 2"):
        ppo.make_config("CartPole-v1", advantage="rloo")
    with pytest.raises(ConfigError, match="must divide num_envs"):
        ppo.make_config("CartPole-v1", advantage="rloo", group_size=3)


def test_ppo_gae_is_the_estimators_gae():
    assert ppo.gae is estimators.gae


# ----------------------------------------------------------------------------- the registry


def _inputs(seed=0, t=4, n=4, k=2):
    rng = np.random.default_rng(seed)
    shape = (t, n, k)
    done = np.zeros((t, n), bool)
    done[1, 0] = done[2, 3] = True
    batch = Transition(
        obs=jnp.asarray(rng.integers(0, 2, (t, n, 3)), jnp.float32),
        action=jnp.zeros((t, n), jnp.int32),
        reward=jnp.zeros((t, n)),
        next_obs=jnp.zeros((t, n, 3)),
        terminated=jnp.asarray(done),
        truncated=jnp.zeros((t, n), bool),
        info={},
    )
    inputs = estimators.AdvantageInputs(
        rewards=jnp.asarray(rng.normal(size=shape), jnp.float32),
        values=jnp.asarray(rng.normal(size=shape), jnp.float32),
        next_values=jnp.asarray(rng.normal(size=shape), jnp.float32),
        nonterminal=jnp.asarray(np.broadcast_to(1.0 - done[..., None], shape), jnp.float32),
        continues=jnp.asarray(np.broadcast_to(1.0 - done[..., None], shape), jnp.float32),
        discounts=jnp.array([0.9, 0.5]),
        weights=jnp.array([1.0, -2.0]),
        batch=batch,
    )
    return inputs, done


CONFIG = SimpleNamespace(
    gae_lambda=0.8,
    n_steps=2,
    group_size=2,
    std_floor=0.0,
    std_floor_mode="max",
    anchor_weight=0.5,
    gamma=0.9,
    num_envs=4,
)


@pytest.mark.parametrize(
    ("name", "maths"),
    [
        ("gae", lambda x: estimators.gae(*x.critic_args, x.discounts, CONFIG.gae_lambda)),
        ("n_step", lambda x: estimators.n_step(*x.critic_args, x.discounts, CONFIG.n_steps)),
        ("monte_carlo", lambda x: estimators.monte_carlo(*x.critic_args, x.discounts)),
        ("min_form", lambda x: estimators.min_form(*x.critic_args)),
    ],
)
def test_critic_estimators_weight_their_per_stream_advantages(name, maths):
    x, _ = _inputs()
    out = estimators.ESTIMATORS[name].advantages(CONFIG, x)
    adv, targets = (np.asarray(a) for a in maths(x))
    np.testing.assert_allclose(out.combined, adv[..., 0] * 1.0 + adv[..., 1] * -2.0, rtol=1e-6)
    np.testing.assert_array_equal(out.targets, targets)
    assert out.mask is None and not estimators.ESTIMATORS[name].needs_group


def test_rloo_estimator_scores_first_episodes_and_masks_the_rest():
    x, done = _inputs()
    out = estimators.ESTIMATORS["rloo"].advantages(CONFIG, x)
    reward = np.asarray(x.rewards) @ np.array([1.0, -2.0])  # [T, N]
    mask = np.cumsum(done, 0) - done == 0  # up to and including the first episode end
    returns = (reward * mask).sum(0)
    expected = np_rloo(returns.astype(np.float32), 2)
    np.testing.assert_allclose(out.mask, mask.astype(np.float32))
    np.testing.assert_allclose(out.combined, expected[None, :] * mask, rtol=1e-5, atol=1e-6)
    _, gae_targets = estimators.gae(*x.critic_args, x.discounts, CONFIG.gae_lambda)
    np.testing.assert_array_equal(out.targets, gae_targets)  # the critic still learns GAE targets
    assert estimators.ESTIMATORS["rloo"].needs_group


def test_every_registered_estimator_returns_the_documented_shapes():
    x, _ = _inputs()
    for name, estimator in estimators.ESTIMATORS.items():
        out = estimator.advantages(CONFIG, x)
        assert out.combined.shape == (4, 4) and out.targets.shape == (4, 4, 2), name
        assert out.mask is None or out.mask.shape == (4, 4), name
        assert estimator.description, name


@pytest.fixture
def zero_estimator():
    """A registered estimator giving zero advantages (GAE targets), counting its traces."""
    calls = []

    def zero(config, x):
        calls.append(config.advantage)
        _, targets = estimators.gae(*x.critic_args, x.discounts, config.gae_lambda)
        return estimators.Advantages(jnp.zeros(x.rewards.shape[:2]), targets, None)

    estimators.register_estimator("zero_test", zero, description="zero advantages (test)")
    yield calls
    del estimators.ESTIMATORS["zero_test"]


def test_ppo_dispatches_through_the_registry(zero_estimator):
    tiny = dict(num_envs=2, num_steps=8, total_timesteps=32, num_evals=1, hidden_sizes=(8,), update_epochs=2)
    tiny.update(num_minibatches=2, eval_episodes=1, eval_max_steps=5)
    config = ppo.make_config("CartPole-v1", advantage="zero_test", **tiny)
    _, metrics = jax.jit(ppo.train)(config, jax.random.key(0))
    assert zero_estimator == ["zero_test"]  # traced once, for the scanned iteration
    np.testing.assert_array_equal(metrics["loss/policy"], 0.0)  # zero advantages: no policy gradient
    _, gae_metrics = jax.jit(ppo.train)(config.replace(advantage="gae"), jax.random.key(0))
    assert np.all(np.asarray(gae_metrics["loss/policy"]) != 0.0)
    # same critic targets; two different compiled programs, so equal up to float32 rounding (1 ulp seen)
    np.testing.assert_allclose(metrics["loss/value"][0], gae_metrics["loss/value"][0], rtol=1e-6)


def test_register_estimator_refuses_taken_names_and_get_estimator_lists_the_registry(zero_estimator):
    with pytest.raises(ConfigError, match="already registered"):
        estimators.register_estimator("gae", lambda config, x: None)
    assert estimators.get_estimator("zero_test").description == "zero advantages (test)"
    with pytest.raises(ConfigError, match=r"unknown advantage estimator 'vtrace'.*'zero_test'"):
        estimators.get_estimator("vtrace")


def test_recurrent_ppo_takes_critic_estimators_but_not_group_ones():
    assert recurrent_ppo.make_config("MemoryChain-bsuite", advantage="n_step").advantage == "n_step"
    with pytest.raises(ConfigError, match="no group estimators"):
        recurrent_ppo.make_config("MemoryChain-bsuite", advantage="rloo", group_size=2)
