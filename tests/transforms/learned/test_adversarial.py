"""GAIL / AIRL discriminator rewards with a gradient penalty."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.environments import spaces

from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms.learned import adversarial as adv

UPDATE = jax.jit(lambda t, *args: t.update(*args))


def _batch(center, T=16, N=8, seed=0):
    rng = np.random.default_rng(seed)
    obs = (rng.normal(size=(T, N, 2)) * 0.3 + center).astype(np.float32)
    return Transition(
        obs=jnp.asarray(obs),
        action=jnp.asarray(rng.integers(0, 2, size=(T, N)), jnp.int32),
        next_obs=jnp.asarray(obs + 0.1),
        reward=jnp.zeros((T, N)),
        terminated=jnp.zeros((T, N), bool),
        truncated=jnp.zeros((T, N), bool),
    )


@pytest.fixture(scope="module")
def setup():
    expert = adv.expert_data_from_batch(_batch([2.0, 0.0], seed=1))
    policy = _batch([-2.0, 0.0])
    spec = TransformSpec(
        spaces.Box(-5, 5, (2,)), spaces.Discrete(2), 8, ("task",), jax.tree.map(lambda x: x[:1], policy)
    )
    return expert, policy, spec


def test_gail_reward_prefers_expert_like_transitions_and_gp_smooths(setup):
    expert, policy, spec = setup
    results = {}
    for gp in (0.0, 10.0):  # gp_coef is a leaf: one compile for both
        gail = adv.gail_reward(
            expert, gp_coef=gp, num_updates=100, minibatch_size=64, hidden_sizes=(16,), learning_rate=3e-3
        )
        state = gail.init(jax.random.key(0), spec)
        state, metrics = UPDATE(gail, state, env_streams(policy, 0.99), policy, jax.random.key(1))
        results[gp] = (gail, state, metrics)
    gail, state, metrics = results[10.0]
    expert_batch = _batch([2.0, 0.0], seed=3)
    assert float((gail.discriminator_logit(state, expert_batch) > 0).mean()) > 0.9
    assert float((gail.discriminator_logit(state, policy) < 0).mean()) > 0.9
    r_expert, r_policy = gail.reward(state, expert_batch), gail.reward(state, policy)
    assert float(r_expert.mean()) > float(r_policy.mean())
    np.testing.assert_array_less(-1e-6, r_policy)  # softplus reward is positive
    out, _ = gail.apply(state, env_streams(policy, 0.99), policy)
    np.testing.assert_allclose(out["task"].reward, r_policy, rtol=1e-6)
    # the penalty keeps the discriminator's gradient norm near 1 on interpolates
    assert float(results[10.0][2]["discriminator/gradient_penalty"]) < float(
        results[0.0][2]["discriminator/gradient_penalty"]
    )


def test_airl_reward_has_the_shaped_structure(setup):
    expert, policy, spec = setup
    airl = adv.airl_reward(expert, gamma=0.9, hidden_sizes=(8,), num_updates=2, minibatch_size=16)
    state = airl.init(jax.random.key(0), spec)
    state, _ = UPDATE(airl, state, env_streams(policy, 0.99), policy, jax.random.key(1))
    batch = policy.replace(terminated=policy.terminated.at[0, 0].set(True))
    net = airl._net()
    sa = jnp.concatenate([batch.obs, jax.nn.one_hot(batch.action, 2)], -1)
    g = net.apply(state.params["g"], sa)
    h = lambda s: net.apply(state.params["h"], s)
    expected = g + 0.9 * (1.0 - batch.terminated) * h(batch.next_obs) - h(batch.obs)
    np.testing.assert_allclose(airl.reward(state, batch), expected, rtol=1e-5, atol=1e-6)
    # reward_form="softplus" gives AIRL the positive -log(1 - D) form of the same logit
    positive = airl.replace(reward_form="softplus")
    np.testing.assert_allclose(positive.reward(state, batch), jax.nn.softplus(expected), rtol=1e-5, atol=1e-6)
    assert float(positive.reward(state, batch).min()) > 0.0


def test_bad_expert_data_and_options(setup):
    expert, _, _ = setup
    bad = expert.replace(action=expert.action[:-1])
    with pytest.raises(ConfigError, match=r"expert\.action"):
        adv.gail_reward(bad)
    with pytest.raises(ConfigError, match="ExpertData"):
        adv.gail_reward({"obs": 1})
    with pytest.raises(ConfigError, match="kind"):
        adv.adversarial_reward(expert, "vail")
    with pytest.raises(ConfigError, match="gp_coef"):
        adv.gail_reward(expert, gp_coef=-1.0)
