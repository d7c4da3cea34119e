"""Rollouts, evaluation and episode tracking on environments with known answers."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core.rollout import EpisodeTracker, evaluate, example_batch, reset_envs, rollout, step_envs
from jaxrl_rewards.envs import make

SIZE = 4


def optimal_grid_policy(key, obs):
    """Right along the top row, then down the last column (one-hot observations)."""
    cell = jnp.argmax(obs, axis=-1)
    col = cell % SIZE
    return jnp.where(col < SIZE - 1, 1, 2).astype(jnp.int32), None


def grid():
    return make("SparseGridWorld-v0", size=SIZE, max_steps_in_episode=20)


def test_rollout_shapes_and_final_observation_on_episode_end():
    env, params = grid()
    carry = reset_envs(env, params, jax.random.key(0), 3)
    carry, batch, _ = jax.jit(lambda c, k: rollout(env, params, optimal_grid_policy, c, k, 8))(carry, jax.random.key(1))
    assert batch.obs.shape == (8, 3, SIZE * SIZE) and batch.reward.shape == (8, 3)
    steps_to_goal = 2 * (SIZE - 1)
    # the goal is reached on step index 5: terminated, reward 1, next_obs = the goal cell (not the reset cell)
    assert bool(batch.terminated[steps_to_goal - 1].all())
    np.testing.assert_array_equal(batch.reward[steps_to_goal - 1], 1.0)
    np.testing.assert_array_equal(jnp.argmax(batch.next_obs[steps_to_goal - 1], -1), SIZE * SIZE - 1)
    # after the auto-reset the next observation is the start cell again
    np.testing.assert_array_equal(jnp.argmax(batch.obs[steps_to_goal], -1), 0)
    assert not bool(batch.truncated.any())
    assert "final_observation" not in batch.info


def test_truncation_keeps_the_true_last_observation():
    env, params = make("SparseGridWorld-v0", size=SIZE, max_steps_in_episode=2)
    carry = reset_envs(env, params, jax.random.key(0), 2)
    right = jnp.ones((2,), jnp.int32)
    carry, first = step_envs(env, params, jax.random.key(1), carry, right)
    assert not bool(first.done.any())
    carry, second = step_envs(env, params, jax.random.key(2), carry, right)
    assert bool(second.truncated.all()) and not bool(second.terminated.any())
    np.testing.assert_array_equal(jnp.argmax(second.next_obs, -1), 2)  # two cells to the right
    np.testing.assert_array_equal(jnp.argmax(carry.obs, -1), 0)  # reset for the next episode


def test_evaluate_returns_the_exact_optimal_return():
    env, params = grid()
    out = jax.jit(lambda k: evaluate(env, params, optimal_grid_policy, k, 5, 20))(jax.random.key(0))
    assert float(out["return/task"]) == 1.0
    assert float(out["length"]) == 2 * (SIZE - 1)


def test_evaluate_counts_only_the_first_episode():
    env, params = make("SparseGridWorld-v0", size=SIZE, max_steps_in_episode=20, step_cost=0.1)
    out = evaluate(env, params, optimal_grid_policy, jax.random.key(0), 2, 50)
    np.testing.assert_allclose(float(out["return/task"]), 1.0 - 0.1 * 2 * (SIZE - 1), rtol=1e-6)


def test_episode_tracker_exact():
    rewards = jnp.array([[1.0, 2.0], [1.0, 2.0], [1.0, 2.0], [1.0, 2.0]])[..., None]  # [T=4, N=2, K=1]
    done = jnp.array([[False, True], [True, False], [False, False], [False, True]])
    tracker = EpisodeTracker.create(2, 1)
    tracker, count = tracker.track(rewards, done)
    assert float(count) == 3
    # finished episodes: env1 at t0 (2), env0 at t1 (2), env1 at t3 (6) -> mean 10/3
    np.testing.assert_allclose(tracker.last_return, [10.0 / 3.0], rtol=1e-6)
    np.testing.assert_allclose(tracker.last_length, (1 + 2 + 3) / 3.0, rtol=1e-6)
    np.testing.assert_allclose(tracker.running[:, 0], [2.0, 0.0])  # env0 has run 2 steps since its end
    # a batch with no finished episode keeps the last mean
    tracker2, count2 = tracker.track(rewards[:1] * 0, jnp.zeros((1, 2), bool))
    assert float(count2) == 0
    np.testing.assert_allclose(tracker2.last_return, tracker.last_return)


def test_example_batch_is_abstract_and_zero():
    env, params = grid()
    batch = example_batch(env, params, 3, lambda k, o: jnp.zeros((3,), jnp.int32))
    assert batch.obs.shape == (1, 3, SIZE * SIZE)
    assert float(jnp.abs(batch.obs).sum()) == 0.0


def reference_track(running, length, rewards, done):
    """Step-by-step reference for EpisodeTracker.track."""
    running, length = np.array(running, np.float64), np.array(length, np.float64)
    totals, total_len, count = np.zeros(rewards.shape[-1]), 0.0, 0
    for t in range(rewards.shape[0]):
        running += rewards[t]
        length += 1
        for n in np.nonzero(done[t])[0]:
            totals += running[n]
            total_len += length[n]
            count += 1
            running[n] = 0.0
            length[n] = 0.0
    return running, length, totals, total_len, count


def test_episode_tracker_matches_step_by_step_reference_over_batches():
    rng = np.random.default_rng(3)
    tracker = EpisodeTracker.create(5, 2)
    running, length = np.zeros((5, 2)), np.zeros(5)
    for _ in range(4):
        rewards = rng.normal(size=(7, 5, 2)).astype(np.float32)
        done = rng.random((7, 5)) < 0.2
        tracker, count = jax.jit(EpisodeTracker.track)(tracker, jnp.asarray(rewards), jnp.asarray(done))
        running, length, totals, total_len, ref_count = reference_track(running, length, rewards, done)
        assert float(count) == ref_count
        np.testing.assert_allclose(tracker.running, running, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(tracker.length, length)
        if ref_count:
            np.testing.assert_allclose(tracker.last_return, totals / ref_count, rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(tracker.last_length, total_len / ref_count, rtol=1e-5)
