"""Lexicographic labels from ranked reward components."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.environments import spaces

from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms.learned import lexicographic as lex

KEY = jax.random.key(0)


def test_first_differing_component_decides():
    a = jnp.array([[1.0, 5.0, 0.0], [1.0, 0.0, 0.0], [2.0, 2.0, 2.0], [0.0, 0.0, 1.0]])
    b = jnp.array([[1.0, 3.0, 9.0], [1.0, 0.0, 0.0], [1.0, 9.0, 9.0], [0.0, 0.0, 2.0]])
    np.testing.assert_array_equal(lex.lexicographic_labels(a, b, KEY), [1.0, 0.5, 1.0, 0.0])
    np.testing.assert_array_equal(lex.lexicographic_labels(a, b, KEY, flip_rate=1.0), [0.0, 0.5, 0.0, 1.0])


def test_tolerances_per_component():
    a = jnp.array([[1.05, 0.0]])
    b = jnp.array([[1.00, 1.0]])
    assert float(lex.lexicographic_labels(a, b, KEY, tie_eps=0.01)[0]) == 1.0  # first component decides
    assert float(lex.lexicographic_labels(a, b, KEY, tie_eps=jnp.array([0.1, 0.01]))[0]) == 0.0  # tie -> second


def _batch(T=8, N=4):
    rng = np.random.default_rng(0)
    safety = rng.integers(0, 2, size=(T, N)).astype(np.float32)
    progress = rng.normal(size=(T, N)).astype(np.float32)
    obs = np.stack([safety, progress], -1)
    return Transition(
        obs=jnp.asarray(obs),
        action=jnp.zeros((T, N), jnp.int32),
        next_obs=jnp.asarray(obs),
        reward=jnp.zeros((T, N)),
        terminated=jnp.zeros((T, N), bool),
        truncated=jnp.zeros((T, N), bool),
        info={"rewards": {"safety": jnp.asarray(-safety), "progress": jnp.asarray(progress)}},
    )


def test_component_oracle_and_reward_model():
    batch = _batch()
    oracle = lex.component_oracle(["safety", "progress"])
    np.testing.assert_array_equal(oracle(batch)[..., 1], batch.info["rewards"]["progress"])
    model = lex.lexicographic_reward_model(
        ["safety", "progress"],
        tolerances=[0.5, 0.0],
        inputs=("obs",),
        segment_length=2,
        hidden_sizes=(8,),
        num_updates=2,
        minibatch_size=4,
        capacity=16,
        queries_per_update=8,
    )
    spec = TransformSpec(
        spaces.Box(-5, 5, (2,)), spaces.Discrete(1), 4, ("task",), jax.tree.map(lambda x: x[:1], batch)
    )
    state = model.init(jax.random.key(0), spec)
    state, _ = jax.jit(model.update)(state, env_streams(batch, 0.99), batch, jax.random.key(1))
    assert int(state.buffer.size) == 8
    assert set(np.unique(np.asarray(state.buffer.label[:8]))) <= {0.0, 0.5, 1.0}


def test_bad_tolerances_and_empty_order():
    with pytest.raises(ConfigError, match="tolerances"):
        lex.lexicographic_reward_model(["a", "b"], tolerances=[0.1, 0.2, 0.3])
    with pytest.raises(ConfigError, match="at least one"):
        lex.component_oracle([])
