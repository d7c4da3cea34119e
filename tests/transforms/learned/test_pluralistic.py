"""Mixture of Bradley-Terry models for users who disagree."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.environments import spaces

from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms.learned import pluralistic as plu
from jaxrl_rewards.transforms.learned.preferences import Segments


def population(seed, users, queries):
    """Users of type 0 prefer larger x0, users of type 1 smaller x0 (segments of length 1)."""
    rng = np.random.default_rng(seed)
    types = np.arange(users) % 2
    xa, xb = (rng.normal(size=(users, queries, 1, 2)).astype(np.float32) for _ in range(2))
    sign = np.where(types == 0, 1.0, -1.0)[:, None]
    labels = (sign * (xa[..., 0, 0] - xb[..., 0, 0]) > 0).astype(np.float32)
    seg = lambda x: Segments(obs=x, action=np.zeros(x.shape[:3], np.int32), next_obs=x)
    return plu.user_preferences(seg(xa), seg(xb), labels), types


@pytest.fixture(scope="module")
def trained():
    data, types = population(0, users=16, queries=12)
    user, _ = population(1, users=1, queries=6)  # a new type-0 user with 6 labels
    model = plu.pluralistic_reward_model(
        data, user, num_components=2, inputs=("obs",), hidden_sizes=(16,), num_updates=150, learning_rate=1e-2
    )
    obs = jnp.asarray(np.random.default_rng(2).normal(size=(4, 3, 2)), jnp.float32)
    batch = Transition(
        obs, jnp.zeros((4, 3), jnp.int32), obs, jnp.zeros((4, 3)), jnp.zeros((4, 3), bool), jnp.zeros((4, 3), bool)
    )
    example = jax.tree.map(lambda x: x[:1], batch)
    spec = TransformSpec(spaces.Box(-5, 5, (2,)), spaces.Discrete(1), 3, ("task",), example)
    state = model.init(jax.random.key(0), spec)
    state, _ = jax.jit(model.update)(state, env_streams(batch, 0.99), batch, jax.random.key(1))
    return model, state, data, types, batch


def test_mixture_separates_the_two_user_types(trained):
    model, state, data, types, _ = trained
    post = np.asarray(model.posterior(state, data))  # [U, M]
    assign = post.argmax(-1)
    agreement = max((assign == types).mean(), (assign != types).mean())
    assert agreement == 1.0
    assert post.max(-1).min() > 0.9


def test_user_conditioned_reward_follows_the_target_user(trained):
    model, state, _, _, batch = trained
    assert float(state.user_weights.max()) > 0.9
    out, _ = model.apply(state, env_streams(batch, 0.99), batch)
    rho = np.corrcoef(np.asarray(out["task"].reward).ravel(), np.asarray(batch.obs[..., 0]).ravel())[0, 1]
    assert rho > 0.9  # the new user is of type 0: reward increases with x0


def test_bad_input():
    data, _ = population(0, users=2, queries=3)
    with pytest.raises(ConfigError, match=r"\[U, Q\]"):
        plu.user_preferences(data.a, data.b, np.zeros(6))
    with pytest.raises(ConfigError, match=r"values in \{0, 1, 0.5\}"):
        plu.user_preferences(data.a, data.b, np.full((2, 3), 2.0))
    with pytest.raises(ConfigError, match="single user"):
        plu.pluralistic_reward_model(data, user=data)
