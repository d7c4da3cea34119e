"""Advantage estimators: direct numpy references on fixed batches, invariances as properties,
and PPO's estimator switch (default path unchanged)."""

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from jaxrl_rewards.agents import estimators, ppo
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
    with pytest.raises(ConfigError, match="unknown advantage estimator"):
        ppo.make_config("CartPole-v1", advantage="vtrace")
    with pytest.raises(ConfigError, match="group_size >= 2"):
        ppo.make_config("CartPole-v1", advantage="rloo")
    with pytest.raises(ConfigError, match="must divide num_envs"):
        ppo.make_config("CartPole-v1", advantage="rloo", group_size=3)


def test_ppo_gae_is_the_estimators_gae():
    assert ppo.gae is estimators.gae
