"""Validation: the Clip and Delta forms of process rewards against step repetition (Gao et al.,
2024, "On designing effective RL reward at training time for LLM reasoning"), exactly, on a
chain whose first step has a self-loop."""

import jax
import jax.numpy as jnp
import numpy as np
from conftest import make_batch

from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec
from jaxrl_rewards.transforms import clip_process, delta_reward, identity

STEP_SCORES = (0.6, 0.7, 0.8)  # a process reward model's score of the chain's three steps
REPEATS = (0, 1, 2, 3, 5)  # how often the policy repeats (self-loops on) the first step
T = 10


def chain_batch():
    """Env n repeats step 0 REPEATS[n] times (the repeated step scores like the original), then
    advances through steps 1 and 2 and terminates; padding after the end pays 0 and ends there."""
    rewards = np.zeros((T, len(REPEATS)))
    terminated = np.zeros((T, len(REPEATS)), bool)
    for n, k in enumerate(REPEATS):
        steps = [STEP_SCORES[0]] * (k + 1) + list(STEP_SCORES[1:])
        rewards[: len(steps), n] = steps
        terminated[len(steps) - 1, n] = True
        terminated[-1, n] = True
    return make_batch(T, len(REPEATS)).replace(
        reward=jnp.asarray(rewards, jnp.float32),
        terminated=jnp.asarray(terminated),
        truncated=jnp.zeros((T, len(REPEATS)), bool),
    )


def first_episode_return(transform, batch):
    streams = env_streams(batch, 1.0)
    state = transform.init(jax.random.key(0), TransformSpec(None, None, len(REPEATS), tuple(streams), batch))
    out, _ = transform.apply(state, streams, batch)
    lengths = np.asarray([k + 3 for k in REPEATS])
    reward = np.asarray(out["task"].reward, np.float64)
    return np.array([reward[: lengths[n], n].sum() for n in range(len(REPEATS))])


def test_summed_process_rewards_pay_for_repetition_delta_and_clip_do_not():
    """Claim: summed step rewards grow with every repeated step (the hack); Delta r_t - r_{t+1}
    telescopes, so the return is r_1 - r_T whatever the repeats; Clip min(r - eta, 0) makes every
    step cost, so each repeat strictly lowers the return."""
    batch = chain_batch()
    summed = np.array([STEP_SCORES[0] * k + sum(STEP_SCORES) for k in REPEATS])
    np.testing.assert_allclose(first_episode_return(identity(), batch), summed, atol=1e-6)
    assert np.all(np.diff(summed) > 0)
    delta = first_episode_return(delta_reward(), batch)
    np.testing.assert_allclose(delta, STEP_SCORES[0] - STEP_SCORES[-1], atol=1e-6)
    keep = first_episode_return(delta_reward(last="keep"), batch)
    np.testing.assert_allclose(keep, STEP_SCORES[0], atol=1e-6)
    eta = 0.75
    clipped = first_episode_return(clip_process(eta=eta), batch)
    per_step = [min(s - eta, 0.0) for s in STEP_SCORES]
    expected = np.array([k * per_step[0] + sum(per_step) for k in REPEATS])
    np.testing.assert_allclose(clipped, expected, atol=1e-6)
    assert np.all(np.diff(clipped) < 0)
