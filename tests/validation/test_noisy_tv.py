"""Validation: the noisy-TV trap of prediction-error curiosity on the library's ``NoisyTVGrid``,
against the closed-form noise floor, and the library's learning-progress bonus that escapes it.

The research notes' remedy, conditioning the forward model on the realised noise (curiosity in
hindsight), has no library code; the library's noise-robust bonus is learning progress
(``learning_progress_bonus``: max(0, err_slow - err)), so that is what is checked here.
"""

import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import spaces

from jaxrl_rewards.core.streams import env_streams
from jaxrl_rewards.core.types import TransformSpec, Transition
from jaxrl_rewards.envs.exploration.noisy_tv import TV_ACTION, NoisyTVGrid
from jaxrl_rewards.transforms.intrinsic import learning_progress_bonus

SIZE, NOISE_DIM, T, N, ITERATIONS = 3, 8, 8, 32, 150
ENV = NoisyTVGrid(SIZE, NOISE_DIM)
PARAMS = ENV.default_params


def transitions(key, tv_share):
    """``[T, N]`` one-step transitions of NoisyTVGrid from uniformly random non-goal cells with the
    TV off; action 4 (watch TV) with probability ``tv_share``, else a random move."""
    k_pos, k_act, k_tv, k_step = jax.random.split(key, 4)
    cell = jax.random.randint(k_pos, (T, N), 0, SIZE * SIZE - 1)
    move = jax.random.randint(k_act, (T, N), 0, 4)
    action = jnp.where(jax.random.uniform(k_tv, (T, N)) < tv_share, TV_ACTION, move)
    _, state = ENV.reset_env(key, PARAMS)

    def one(c, a, k):
        s = state.replace(pos=jnp.stack([c // SIZE, c % SIZE]).astype(jnp.int32))
        obs = ENV.get_obs(s, PARAMS)
        nxt, _, _, _, _ = ENV.step_env(k, s, a, PARAMS)
        return obs, nxt

    keys = jax.random.split(k_step, T * N).reshape(T, N)
    obs, nxt = jax.vmap(jax.vmap(one))(cell, action, keys)
    zeros = jnp.zeros((T, N))
    return Transition(obs=obs, action=action, next_obs=nxt, reward=zeros, terminated=zeros > 0, truncated=zeros > 0)


SPEC = TransformSpec(None, spaces.Discrete(5), N, ("task",), transitions(jax.random.key(0), 0.5))


@jax.jit
def trained_logs(key):
    """Train one learning-progress bonus on mixed batches (half TV); return its logs on an all-TV
    and on an all-move batch (``prediction_error``: the plain forward error of the same model,
    i.e. the prediction-error bonus with eta = 1; ``bonus_mean``: learning progress)."""
    transform = learning_progress_bonus(learning_rate=3e-3, tau=0.2, hidden_sizes=(32,))
    state = transform.init(key, SPEC)

    def it(state, k):
        k1, k2 = jax.random.split(k)
        batch = transitions(k1, 0.5)
        streams, state = transform.apply(state, env_streams(batch, 0.9), batch)
        return transform.update(state, streams, batch, k2)

    state, _ = jax.lax.scan(it, state, jax.random.split(key, ITERATIONS))
    k_tv, k_move = jax.random.split(jax.random.key(7))
    _, tv = transform.bonus(state, transitions(k_tv, 1.0))
    _, move = transform.bonus(state, transitions(k_move, 0.0))
    return tv.logs, move.logs


def test_prediction_error_stays_at_the_noise_floor_on_the_tv_and_learning_progress_does_not_pay():
    """Claim (Burda et al. 2019, "Large-scale study of curiosity-driven learning", noisy TV;
    Schmidhuber 1991 / Oudeyer et al. 2007 on learning progress): prediction-error curiosity is
    trapped by unpredictable noise: its error on the TV cannot fall below the noise variance,
    so watching pays for ever, while a bonus that pays the model's improvement pays ~0 there.

    Checked on NoisyTVGrid (3x3, 8 TV pixels of U[0, 1) noise) after 150 training batches: no
    forward model can beat the Bayes floor E[(U - 1/2)^2] = 1/12 per TV pixel, so the mean
    squared error over the 9 + 8 observation dims on TV steps is at least (8 / 17) / 12 up to
    sampling (asserted >= 0.9 of it), and it stays well above the error on move steps (the
    learnable part: < 0.3 of the floor); the learning-progress bonus on TV steps is < 0.1 of
    the floor."""
    tv, move = jax.device_get(trained_logs(jax.random.key(0)))
    floor = (NOISE_DIM / (SIZE * SIZE + NOISE_DIM)) / 12.0
    assert tv["prediction_error"] >= 0.9 * floor, (tv, floor)
    assert move["prediction_error"] < 0.3 * floor, (move, floor)
    assert tv["bonus_mean"] < 0.1 * floor, (tv, floor)
    assert np.isfinite(move["bonus_mean"])
