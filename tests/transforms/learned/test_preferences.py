"""Bradley-Terry preference reward models: labels, loss, datasets, learning, budget, purity."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.environments import spaces

from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms.learned import preferences as prefs

NUM_STATES, NUM_ACTIONS = 6, 2
TRUE_STATE_REWARD = np.array([0.0, 1.0, -1.0, 2.0, 0.5, -2.0])
#: one compiled update per static model configuration (the model is a pytree argument)
UPDATE = jax.jit(lambda model, *args: model.update(*args))
SMALL = dict(
    segment_length=4,
    queries_per_update=6,
    max_queries=10,
    capacity=8,
    hidden_sizes=(8,),
    num_updates=2,
    minibatch_size=4,
)


def tabular_batch(seed, T=32, N=16):
    """Random states (one-hot) and actions; reward = TRUE_STATE_REWARD[s] + 0.5 * a."""
    rng = np.random.default_rng(seed)
    s = rng.integers(0, NUM_STATES, size=(T, N))
    a = rng.integers(0, NUM_ACTIONS, size=(T, N))
    s2 = rng.integers(0, NUM_STATES, size=(T, N))
    reward = TRUE_STATE_REWARD[s] + 0.5 * a
    eye = np.eye(NUM_STATES, dtype=np.float32)
    return Transition(
        obs=jnp.asarray(eye[s]),
        action=jnp.asarray(a, jnp.int32),
        next_obs=jnp.asarray(eye[s2]),
        reward=jnp.asarray(reward, jnp.float32),
        terminated=jnp.zeros((T, N), bool),
        truncated=jnp.zeros((T, N), bool),
        info={"true_reward": jnp.asarray(reward, jnp.float32)},
    )


def spec_for(batch):
    example = jax.tree.map(lambda x: jnp.zeros_like(x[:1]), batch)
    return TransformSpec(
        spaces.Box(0.0, 1.0, (NUM_STATES,), jnp.float32),
        spaces.Discrete(NUM_ACTIONS),
        batch.reward.shape[1],
        ("task", "true_reward"),
        example,
    )


# ----------------------------------------------------------------------------- labels and loss


def test_bradley_terry_labels_exact_and_flipped():
    ra, rb = jnp.array([1.0, 2.0, 3.0]), jnp.array([2.0, 2.0, 1.0])
    key = jax.random.key(0)
    np.testing.assert_array_equal(prefs.bradley_terry_labels(ra, rb, key), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(prefs.bradley_terry_labels(ra, rb, key, flip_rate=1.0), [1.0, 0.5, 0.0])


def test_flip_rate_is_the_fraction_of_flipped_labels():
    labels = jnp.ones(20_000)
    flipped = prefs.flip_labels(labels, jax.random.key(1), 0.25)
    assert abs(float((flipped == 0).mean()) - 0.25) < 0.015


def test_bt_loss_exact_values():
    loss, acc = prefs.bt_loss(jnp.array([0.0, 2.0]), jnp.array([0.0, 0.0]), jnp.array([1.0, 0.0]))
    expected = 0.5 * (np.log(2.0) + np.log1p(np.exp(2.0)))
    np.testing.assert_allclose(loss, expected, rtol=1e-6)
    assert float(acc) == 0.0  # logit 0 counts as "b preferred"; logit 2 vs label 0 is wrong
    # a tie label is fitted by equal returns: loss log 2 at logit 0, and it is not in the accuracy
    loss, acc = prefs.bt_loss(jnp.array([0.0]), jnp.array([0.0]), jnp.array([0.5]))
    np.testing.assert_allclose(loss, np.log(2.0), rtol=1e-6)
    # weights: a zero-weighted sample does not count
    loss_w, _ = prefs.bt_loss(jnp.array([0.0, 5.0]), jnp.zeros(2), jnp.array([1.0, 0.0]), jnp.array([1.0, 0.0]))
    np.testing.assert_allclose(loss_w, np.log(2.0), rtol=1e-6)


def test_batch_segments_cut_each_environment_into_consecutive_steps():
    x = jnp.arange(5 * 2).reshape(5, 2)  # x[t, n] = 2 t + n
    segs = prefs.batch_segments(x, 2)
    np.testing.assert_array_equal(segs, [[0, 2], [1, 3], [4, 6], [5, 7]])
    with pytest.raises(ConfigError, match="longer than the batch"):
        prefs.batch_segments(x, 6)


# ----------------------------------------------------------------------------- datasets / bad input


def _segments(m, length=3, dim=4):
    return prefs.Segments(
        obs=np.zeros((m, length, dim), np.float32),
        action=np.zeros((m, length), np.int32),
        next_obs=np.zeros((m, length, dim), np.float32),
    )


def test_preference_dataset_rejects_bad_shapes_and_labels():
    ok = prefs.preference_dataset(_segments(4), _segments(4), [1, 0, 0.5, 1])
    assert ok.size == 4
    with pytest.raises(ConfigError, match=r"values in \{0, 1, 0.5\}"):
        prefs.preference_dataset(_segments(3), _segments(3), [1, 2, 0])
    with pytest.raises(ConfigError, match=r"values in \{0, 1, 0.5\}"):
        prefs.preference_dataset(_segments(3), _segments(3), [1, -1, 0.3])
    with pytest.raises(ConfigError, match="M = 3 labels"):
        prefs.preference_dataset(_segments(4), _segments(4), [1, 0, 1])
    with pytest.raises(ConfigError, match="same shape"):
        prefs.preference_dataset(_segments(3, length=3), _segments(3, length=2), [1, 0, 1])
    with pytest.raises(ConfigError, match="same shape"):
        prefs.preference_dataset(_segments(3, dim=4), _segments(3, dim=5), [1, 0, 1])
    with pytest.raises(ConfigError, match="1-d"):
        prefs.preference_dataset(_segments(3), _segments(3), [[1, 0, 1]])


def test_factory_rejects_bad_options():
    with pytest.raises(ConfigError, match="flip_rate"):
        prefs.preference_reward_model(flip_rate=1.5)
    with pytest.raises(ConfigError, match="aggregate"):
        prefs.preference_reward_model(aggregate="median")
    with pytest.raises(ConfigError, match="inputs"):
        prefs.preference_reward_model(inputs=("obs", "reward"))
    with pytest.raises(ConfigError, match="needs a dataset"):
        prefs.preference_reward_model(online=False)
    data = prefs.preference_dataset(_segments(4), _segments(4), [1, 0, 0.5, 1])
    with pytest.raises(ConfigError, match="segment_length"):
        prefs.preference_reward_model(dataset=data, segment_length=5)


# ----------------------------------------------------------------------------- learning


@pytest.fixture(scope="module")
def offline_model():
    train = tabular_batch(0)
    data = prefs.synthetic_preferences(jax.random.key(0), train, num_pairs=256, segment_length=4)
    model = prefs.preference_reward_model(
        online=False,
        dataset=data,
        segment_length=4,
        capacity=256,
        hidden_sizes=(32,),
        num_updates=100,
        minibatch_size=64,
        learning_rate=3e-3,
        standardize=False,
    )
    state = model.init(jax.random.key(1), spec_for(train))
    for i in range(4):
        state, metrics = UPDATE(model, state, env_streams(train, 0.99), train, jax.random.key(10 + i))
    return model, state, metrics


def test_offline_model_recovers_the_true_reward_ordering(offline_model):
    model, state, metrics = offline_model
    assert float(metrics["reward_model/accuracy"]) > 0.85
    assert float(metrics["reward_model/queries"]) == 0  # offline: no labels were requested
    test = tabular_batch(5)
    predicted = model.reward(state, test, NUM_ACTIONS)
    rho = np.corrcoef(np.asarray(predicted).ravel(), np.asarray(test.reward).ravel())[0, 1]
    assert rho > 0.95
    held_out = prefs.synthetic_preferences(jax.random.key(7), test, num_pairs=256, segment_length=4)
    feats = lambda s: prefs.transition_features(s.obs, s.action, s.next_obs, ("obs", "action"), NUM_ACTIONS, 2)
    ra = model.predict(state, feats(held_out.a)).sum(-1)
    rb = model.predict(state, feats(held_out.b)).sum(-1)
    decided = held_out.label != 0.5
    acc = np.mean(np.asarray((ra > rb) == (held_out.label > 0.5))[np.asarray(decided)])
    assert acc > 0.9


def test_online_budget_and_buffer():
    batch = tabular_batch(1, T=8, N=4)
    model = prefs.preference_reward_model(**SMALL)
    state = model.init(jax.random.key(0), spec_for(batch))
    streams = env_streams(batch, 0.99)
    state, _ = UPDATE(model, state, streams, batch, jax.random.key(1))
    assert int(state.queries) == 6 and int(state.buffer.size) == 6
    state, _ = UPDATE(model, state, streams, batch, jax.random.key(2))
    assert int(state.queries) == 10 and int(state.buffer.size) == 8  # budget 10, ring buffer of 8
    state, m3 = UPDATE(model, state, streams, batch, jax.random.key(3))
    assert int(state.queries) == 10 and float(m3["reward_model/queries"]) == 10
    # buffer entries are labels in {0, 0.5, 1}
    assert set(np.unique(np.asarray(state.buffer.label))) <= {0.0, 0.5, 1.0}


def test_apply_replaces_or_adds_a_stream_and_is_deterministic_and_vmappable():
    batch = tabular_batch(2, T=8, N=4)
    streams = env_streams(batch, 0.99)
    model = prefs.preference_reward_model(**SMALL)
    spec = spec_for(batch)
    state = model.init(jax.random.key(0), spec)
    out, _ = model.apply(state, streams, batch)
    assert set(out) == set(streams)
    assert not np.allclose(out["task"].reward, streams["task"].reward)
    np.testing.assert_array_equal(out["true_reward"].reward, streams["true_reward"].reward)
    added = prefs.preference_reward_model(**SMALL, replace_target=False, weight=0.5)
    out2, _ = added.apply(added.init(jax.random.key(0), spec), streams, batch)
    assert "learned_reward" in out2 and float(out2["learned_reward"].weight) == 0.5
    np.testing.assert_array_equal(out2["task"].reward, streams["task"].reward)

    update = lambda *args: UPDATE(model, *args)
    s1, _ = update(state, streams, batch, jax.random.key(3))
    s2, _ = update(state, streams, batch, jax.random.key(3))
    for a, b in zip(jax.tree.leaves(s1), jax.tree.leaves(s2), strict=True):
        np.testing.assert_array_equal(a, b)
    keys = jax.random.split(jax.random.key(4), 2)
    states = jax.vmap(model.init, in_axes=(0, None))(keys, spec)
    vm, _ = jax.jit(jax.vmap(model.update, in_axes=(0, None, None, 0)))(states, streams, batch, keys)
    alone, _ = update(jax.tree.map(lambda x: x[1], states), streams, batch, keys[1])
    for a, b in zip(jax.tree.leaves(jax.tree.map(lambda x: x[1], vm)), jax.tree.leaves(alone), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
