"""Reward-model ensembles: exact aggregation, member diversity, KL chaining."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.environments import spaces

from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms.core import Chain
from jaxrl_rewards.transforms.learned import aggregation, ensemble
from jaxrl_rewards.transforms.learned.regularization import KLPenalty

REWARDS = jnp.array([[1.0, 4.0], [3.0, 0.0], [2.0, 2.0]])  # [K=3, 2]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("mean", [2.0, 2.0]),
        ("min", [1.0, 0.0]),
        ("lcb", [2.0 - 0.5 * np.sqrt(2 / 3), 2.0 - 0.5 * np.sqrt(8 / 3)]),
        ("mix", [0.75 * 2.0 + 0.25 * 1.0, 0.75 * 2.0 + 0.0]),
    ],
)
def test_aggregates_exact(kind, expected):
    np.testing.assert_allclose(aggregation.aggregate(REWARDS, kind, lam=0.5, alpha=0.25), expected, rtol=1e-6)


def test_unknown_aggregate_and_too_small_ensemble_raise():
    with pytest.raises(ConfigError, match="aggregate"):
        aggregation.aggregate(REWARDS, "median")
    with pytest.raises(ConfigError, match="num_members >= 2"):
        ensemble.ensemble_reward_model(num_members=1)


def test_feature_masks_and_bootstrap_weights():
    masks = aggregation.feature_masks(jax.random.key(0), 4, 10, 0.5)
    assert masks.shape == (4, 10)
    np.testing.assert_array_equal(masks.sum(1), 5.0)
    assert len({tuple(m) for m in np.asarray(masks)}) > 1  # members see different subsets
    np.testing.assert_array_equal(aggregation.feature_masks(jax.random.key(0), 2, 3, 1.0), 1.0)
    w = aggregation.bootstrap_weights(jax.random.key(1), 20_000, 2, True)
    assert abs(float(w.mean()) - 1.0) < 0.03 and abs(float(w.var()) - 1.0) < 0.05  # Poisson(1)
    assert float((w == 0).mean()) == pytest.approx(np.exp(-1), abs=0.02)
    np.testing.assert_array_equal(aggregation.bootstrap_weights(jax.random.key(1), 3, 2, False), 1.0)


def _batch(T=8, N=4, seed=0):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 5, size=(T, N))
    eye = np.eye(5, dtype=np.float32)
    reward = np.array([0.0, 1.0, -1.0, 2.0, 0.5])[s]
    return Transition(
        obs=jnp.asarray(eye[s]),
        action=jnp.asarray(rng.integers(0, 2, size=(T, N)), jnp.int32),
        next_obs=jnp.asarray(eye[s]),
        reward=jnp.asarray(reward, jnp.float32),
        terminated=jnp.zeros((T, N), bool),
        truncated=jnp.zeros((T, N), bool),
    )


def test_ensemble_members_differ_and_the_aggregate_is_applied():
    batch = _batch()
    spec = TransformSpec(spaces.Box(0, 1, (5,)), spaces.Discrete(2), 4, ("task",), jax.tree.map(lambda x: x[:1], batch))
    model = ensemble.ensemble_reward_model(
        num_members=3,
        aggregate="min",
        segment_length=4,
        hidden_sizes=(8,),
        num_updates=2,
        minibatch_size=4,
        capacity=16,
        queries_per_update=4,
        feature_fraction=0.5,
        standardize=False,
    )
    state = model.init(jax.random.key(0), spec)
    jax.tree.map(lambda x: np.testing.assert_equal(x.shape[0], 3), state.params)
    state, metrics = jax.jit(model.update)(state, env_streams(batch, 0.99), batch, jax.random.key(1))
    assert float(metrics["reward_model/member_std"]) > 0.0
    feats = jnp.concatenate([batch.obs, jax.nn.one_hot(batch.action, 2)], -1)
    members = model.member_rewards(state, feats)
    assert members.shape == (3, 8, 4)
    out, _ = model.apply(state, env_streams(batch, 0.99), batch)
    np.testing.assert_allclose(out["task"].reward, members.min(0), rtol=1e-5, atol=1e-6)
    # bootstrap weights were stored per member and sample
    assert state.buffer.weight.shape == (16, 3)


def test_ensemble_with_kl_coef_is_chained_with_a_kl_penalty():
    chained = ensemble.ensemble_reward_model(num_members=2, kl_coef=0.1)
    assert isinstance(chained, Chain) and isinstance(chained.transforms[1], KLPenalty)
