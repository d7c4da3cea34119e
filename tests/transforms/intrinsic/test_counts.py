"""Count bonuses: exact counts against numpy on a tiny grid, episodic resets, SimHash, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.core.rollout import reset_envs, rollout
from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.envs import SparseGridWorld
from jaxrl_rewards.transforms.intrinsic import count_bonus

T, N = 12, 3


@pytest.fixture(scope="module")
def batches():
    """Two consecutive random-policy batches [T, N] on a 3x3 one-hot grid (episodes of 5 steps)."""
    env = SparseGridWorld(size=3)
    params = env.default_params.replace(max_steps_in_episode=5)
    policy = lambda k, o: (jax.random.randint(k, (o.shape[0],), 0, 4), None)
    carry = reset_envs(env, params, jax.random.key(0), N)
    carry, b1, _ = rollout(env, params, policy, carry, jax.random.key(1), T)
    _, b2, _ = rollout(env, params, policy, carry, jax.random.key(2), T)
    spec = TransformSpec(env.observation_space(params), env.action_space(params), N, ("task",), b1)
    return env, spec, b1, b2


def run(transform, spec, batches):
    state = transform.init(jax.random.key(0), spec)
    outs = []
    for b in batches:
        streams, state = transform.apply(state, env_streams(b, 0.9), b)
        outs.append(np.asarray(streams["intrinsic"].reward))
    return outs, state, streams


def cells(batch):
    return np.asarray(batch.next_obs).argmax(-1)


def test_global_counts_exact(batches):
    env, spec, b1, b2 = batches
    outs, state, streams = run(count_bonus(beta=0.5), spec, (b1, b2))
    counts = np.zeros(env.num_states)
    for out, b in zip(outs, (b1, b2), strict=True):
        np.add.at(counts, cells(b).reshape(-1), 1)
        np.testing.assert_allclose(out, 0.5 / np.sqrt(counts[cells(b)]), rtol=1e-6)
    np.testing.assert_array_equal(state.model.counts, counts)
    assert streams["intrinsic"].episodic is False


def test_episodic_counts_exact_and_carried_across_batches(batches):
    env, spec, b1, b2 = batches
    outs, _, streams = run(count_bonus(episodic_counts=True), spec, (b1, b2))
    table = np.zeros((N, env.num_states))
    for out, b in zip(outs, (b1, b2), strict=True):
        idx, done = cells(b), np.asarray(b.done)
        for t in range(T):
            for n in range(N):
                table[n, idx[t, n]] += 1
                assert out[t, n] == pytest.approx(1.0 / np.sqrt(table[n, idx[t, n]]), rel=1e-6)
                if done[t, n]:
                    table[n] = 0
    assert np.asarray(b1.done).any() and streams["intrinsic"].episodic is True


def test_simhash_and_integer_indices_agree_with_exact_counts(batches):
    _, spec, b1, b2 = batches
    exact, _, _ = run(count_bonus(), spec, (b1, b2))
    hashed, _, _ = run(count_bonus(index="simhash", hash_bits=16), spec, (b1, b2))
    np.testing.assert_allclose(hashed[1], exact[1], rtol=1e-6)  # 9 one-hot cells -> 9 distinct codes
    # integer observations: the cell index itself, as an int Box observation
    from gymnax.environments import spaces

    to_int = lambda b: b.replace(obs=cells(b.replace(next_obs=b.obs))[..., None], next_obs=cells(b)[..., None])
    ib1, ib2 = to_int(b1), to_int(b2)
    ispec = spec._replace(observation_space=spaces.Box(0, 8, (1,), jnp.int32), example=ib1)
    integer, _, _ = run(count_bonus(index="integer"), ispec, (ib1, ib2))
    np.testing.assert_allclose(integer[1], exact[1], rtol=1e-6)
    custom, _, _ = run(count_bonus(index=lambda o: o.argmax(), num_states=9), spec, (b1, b2))
    np.testing.assert_allclose(custom[1], exact[1], rtol=1e-6)


def test_determinism_and_vmap_over_beta(batches):
    _, spec, b1, _ = batches
    f = lambda beta: run(count_bonus(beta=beta, index="simhash", hash_bits=8), spec, (b1,))[0][0]
    np.testing.assert_array_equal(f(1.0), f(1.0))
    transform = count_bonus(beta=1.0, index="simhash", hash_bits=8)

    def one(beta):
        t = transform.replace(beta=beta)
        state = t.init(jax.random.key(0), spec)
        return t.apply(state, env_streams(b1, 0.9), b1)[0]["intrinsic"].reward

    out = jax.vmap(one)(jnp.asarray([1.0, 2.0]))
    np.testing.assert_allclose(out[0], f(1.0), rtol=1e-6)
    np.testing.assert_allclose(out[1], f(2.0), rtol=1e-6)


def test_metrics_logged(batches):
    _, spec, b1, _ = batches
    t = count_bonus()
    state = t.init(jax.random.key(0), spec)
    streams, state = t.apply(state, env_streams(b1, 0.9), b1)
    _, metrics = t.update(state, streams, b1, jax.random.key(1))
    assert {"intrinsic/bonus_mean", "intrinsic/visited_cells", "intrinsic/mean_count"} <= set(metrics)


def test_bad_input_rejected(batches):
    _, spec, b1, _ = batches
    with pytest.raises(ConfigError, match="beta"):
        count_bonus(beta=0.0)
    with pytest.raises(ConfigError, match="index"):
        count_bonus(index="nope")
    with pytest.raises(ConfigError, match="num_states"):
        count_bonus(index=lambda o: 0)
    with pytest.raises(ConfigError, match="hash_bits"):
        count_bonus(index="simhash", hash_bits=40)
    with pytest.raises(ConfigError, match="finite integer bounds"):
        count_bonus(index="integer").init(jax.random.key(0), spec)
    t = count_bonus()
    state = t.init(jax.random.key(0), spec)
    streams, _ = t.apply(state, env_streams(b1, 0.9), b1)
    with pytest.raises(ValueError, match="already exists"):
        t.apply(state, streams, b1)
