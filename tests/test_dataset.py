"""Offline datasets (core.dataset): validation, storage round trip, jit sampling, collection."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import make_batch

from jaxrl_rewards.agents.offline_data import constant_policy, mixture_policy, random_policy, tabular_policy
from jaxrl_rewards.core import dataset as ds
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.envs import make


def _small(m: int = 6) -> ds.Dataset:
    rng = np.random.default_rng(0)
    return ds.Dataset.from_arrays(
        metadata={"env": "test"},
        obs=rng.normal(size=(m, 3)),
        action=rng.integers(0, 2, m),
        reward=np.arange(m, dtype=np.float32),
        next_obs=rng.normal(size=(m, 3)),
        terminated=np.arange(m) % 3 == 0,
        source=np.arange(m) % 2,
    )


def test_from_transitions_flattens_time_major_batch():
    batch = make_batch(T=5, N=3)
    data = ds.Dataset.from_transitions(batch, source=2)
    assert data.size == 15 and data.obs.shape == (15, 2)
    # row t * N + n is batch[t, n]
    np.testing.assert_array_equal(np.asarray(data.reward)[3 * 2 + 1], np.asarray(batch.reward)[2, 1])
    np.testing.assert_array_equal(np.asarray(data.terminated), np.asarray(batch.terminated).reshape(-1))
    assert set(np.asarray(data.source).tolist()) == {2}


def test_missing_and_unknown_fields_are_config_errors():
    arrays = {"obs": np.zeros((3, 2)), "action": np.zeros(3, int), "next_obs": np.zeros((3, 2))}
    arrays["terminated"] = np.zeros(3)
    with pytest.raises(ConfigError, match=r"missing field\(s\) \['reward'\]"):
        ds.Dataset.from_arrays(**arrays)
    with pytest.raises(ConfigError, match="did you mean 'reward'"):
        ds.Dataset.from_arrays(**arrays, reward=np.zeros(3), rewrd=np.zeros(3))
    with pytest.raises(ConfigError, match="'action' has shape"):
        ds.Dataset.from_arrays(**{**arrays, "action": np.zeros(4, int)}, reward=np.zeros(3))
    with pytest.raises(ConfigError, match="differ in shape"):
        ds.Dataset.from_arrays(**{**arrays, "next_obs": np.zeros((3, 5))}, reward=np.zeros(3))


def test_save_load_round_trip_and_bad_files(tmp_path):
    data = _small()
    npz, meta = ds.save(data, tmp_path / "sub" / "expert")
    assert npz.name == "expert.npz" and meta.name == "expert.json"
    back = ds.load(tmp_path / "sub" / "expert.npz")
    for field in ds.FIELDS:
        np.testing.assert_array_equal(np.asarray(getattr(back, field)), np.asarray(getattr(data, field)))
        assert getattr(back, field).dtype == getattr(data, field).dtype
    assert back.metadata == {"env": "test"}
    assert not list((tmp_path / "sub").glob("*.tmp"))  # atomic writes leave no temp files
    with pytest.raises(ConfigError, match="does not exist"):
        ds.load(tmp_path / "nothing")
    # a stored file without 'reward' is refused with the field's name
    arrays = dict(np.load(npz))
    del arrays["reward"]
    np.savez(npz, **arrays)
    with pytest.raises(ConfigError, match="reward"):
        ds.load(npz)


def test_sample_inside_jit_draws_rows_of_the_dataset():
    data = _small(6)
    batch = jax.jit(ds.sample, static_argnums=2)(data, jax.random.key(1), 64)
    assert batch.obs.shape == (64, 3) and batch.size == 64
    # reward holds the row index, so every field of a sampled row must equal that row's
    rows = np.asarray(batch.reward).astype(int)
    np.testing.assert_array_equal(np.asarray(batch.obs), np.asarray(data.obs)[rows])
    np.testing.assert_array_equal(np.asarray(batch.action), np.asarray(data.action)[rows])
    assert len(set(rows.tolist())) > 3  # not one row repeated
    again = ds.sample(data, jax.random.key(1), 64)
    np.testing.assert_array_equal(np.asarray(again.reward), np.asarray(batch.reward))


def test_concatenate_subset_and_fractions():
    a, b = _small(4), _small(6).replace(source=jnp.full((6,), 5, jnp.int32))
    both = ds.concatenate(a, b)
    assert both.size == 10
    assert ds.source_fractions(both) == {0: 0.2, 1: 0.2, 5: 0.6}
    assert ds.subset(both, 3).size == 3
    with pytest.raises(ConfigError, match="exceeds"):
        ds.subset(both, 11)
    other = ds.Dataset.from_arrays(
        obs=np.zeros((2, 4)), action=np.zeros(2, int), reward=np.zeros(2), next_obs=np.zeros((2, 4)), terminated=[0, 0]
    )
    with pytest.raises(ConfigError, match="obs"):
        ds.concatenate(a, other)


def test_collect_follows_the_dynamics():
    env, params = make("SparseGridWorld-v0", size=4)
    data = ds.collect(env, params, constant_policy(1), jax.random.key(0), num_envs=2, num_steps=5, source=3)
    assert data.size == 10 and data.metadata["num_steps"] == 5
    cells = np.argmax(np.asarray(data.obs), -1).reshape(5, 2)
    nxt = np.argmax(np.asarray(data.next_obs), -1).reshape(5, 2)
    # moving right along the top row of a 4x4 grid: 0 -> 1 -> 2 -> 3 -> 3 (wall)
    np.testing.assert_array_equal(cells[:, 0], [0, 1, 2, 3, 3])
    np.testing.assert_array_equal(nxt[:, 0], [1, 2, 3, 3, 3])
    # a tabular policy: "down" everywhere goes down the left column
    down = ds.collect(env, params, tabular_policy(np.full(16, 2)), jax.random.key(0), 1, 3)
    np.testing.assert_array_equal(np.argmax(np.asarray(down.next_obs), -1), [4, 8, 12])


def test_mixture_policy_frequencies_and_errors():
    act = mixture_policy([constant_policy(0), random_policy(4)], [0.75, 0.25])
    actions = np.asarray(act(jax.random.key(0), jnp.zeros((20_000, 2)))[0])
    # P(0) = 0.75 + 0.25 / 4 = 0.8125, each other action 0.0625
    freq = np.bincount(actions, minlength=4) / actions.size
    np.testing.assert_allclose(freq, [0.8125, 0.0625, 0.0625, 0.0625], atol=0.01)
    with pytest.raises(ConfigError, match="sum to 1"):
        mixture_policy([constant_policy(0)], [0.5])
