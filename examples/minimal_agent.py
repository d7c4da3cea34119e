"""Write your own agent: REINFORCE with reward streams and transforms, as an ``Agent`` module.

The module satisfies ``jaxrl_rewards.agents.Agent`` (``check_agent`` checks it): ``DESCRIPTION``,
``PRESETS``, a config built on ``AgentConfig``, ``make_config``, ``validate``, ``init``,
``train_segment``, ``train`` and ``merge_segments``; ``train(config, key)`` is jittable and vmappable
over keys. ``register_agent("reinforce", module)`` hands it to the runner and sweeps. Streams are
collapsed with ``scalarize`` (the fallback for agents without one value head per stream).
"""

import sys

import jax
import jax.numpy as jnp
import optax

from jaxrl_rewards.agents.base import check_agent, config_layout
from jaxrl_rewards.agents.config import AgentConfig, build_config, check_discrete, static
from jaxrl_rewards.agents.estimators import returns_to_go
from jaxrl_rewards.agents.loop import merge_segments, run_segment, run_training  # noqa: F401 (protocol)
from jaxrl_rewards.core import struct
from jaxrl_rewards.core.networks import DiscretePolicy
from jaxrl_rewards.core.rollout import EpisodeTracker, evaluate, reset_envs, rollout
from jaxrl_rewards.core.streams import env_streams, scalarize

DESCRIPTION = "REINFORCE on the scalarized reward streams (the 'write your own agent' example)."
PRESETS = {"CartPole-v1": {}}


class Config(AgentConfig):
    """The shared fields of ``AgentConfig`` (env, transform, schedule, ...) with this agent's defaults."""

    num_envs: int = static(8)
    total_timesteps: int = static(8 * 128 * 40)  # 40 iterations of [128, 8] steps
    num_evals: int = static(1)
    hidden_sizes: tuple[int, ...] = static((32,))
    learning_rate: float = 1e-2


class State(struct.PyTreeNode):
    """What one seed carries between iterations (``run_segment`` needs ``key`` and ``iteration``)."""

    params: dict
    opt_state: tuple
    envs: object
    transform_state: object
    tracker: EpisodeTracker
    key: jax.Array
    iteration: jax.Array


def validate(config: Config) -> Config:
    """The shared checks of ``AgentConfig`` plus a discrete action space; ``ConfigError`` otherwise."""
    config.check_fields()
    check_discrete(config, "REINFORCE")
    return config


def make_config(env="CartPole-v1", env_params=None, **overrides) -> Config:
    """A validated ``Config`` for a registered env name (its preset applied) or an env object."""
    return build_config(Config, "REINFORCE", PRESETS, validate, env, env_params, overrides)


def _policy(config):
    return DiscretePolicy(int(config.env.action_space(config.env_params).n), config.hidden_sizes, config.activation)


def init(config: Config, key: jax.Array) -> State:
    """The training state of one seed."""
    env_key, policy_key, transform_key, key = jax.random.split(key, 4)
    envs = reset_envs(config.env, config.env_params, env_key, config.num_envs)
    params = _policy(config).init(policy_key, envs.obs[:1])
    transform_state = config.transform.init(transform_key, config_layout(config).spec)
    tracker = EpisodeTracker.create(config.num_envs, 1)
    return State(
        params, optax.adam(config.learning_rate).init(params), envs, transform_state, tracker, key, jnp.int32(0)
    )


def _iteration(config: Config, state: State):
    policy, tx = _policy(config), optax.adam(config.learning_rate)
    key, rollout_key, update_key = jax.random.split(state.key, 3)
    act = lambda k, obs: (policy.apply(state.params, obs).sample(seed=k), None)
    envs, batch, _ = rollout(config.env, config.env_params, act, state.envs, rollout_key, config.num_steps)  # [T, N]
    streams, transform_state = config.transform.apply(state.transform_state, env_streams(batch, config.gamma), batch)
    returns = returns_to_go(scalarize(streams), batch.done, config.gamma)  # sum_k w_k r_k, no bootstrap
    advantage = (returns - returns.mean()) / (returns.std() + 1e-8)
    loss = lambda p: -(policy.apply(p, batch.obs).log_prob(batch.action) * advantage).mean()
    updates, opt_state = tx.update(jax.grad(loss)(state.params), state.opt_state)
    transform_state, _ = config.transform.update(transform_state, streams, batch, update_key)
    tracker, _ = state.tracker.track(batch.reward[..., None], batch.done)
    params = optax.apply_updates(state.params, updates)
    state = State(params, opt_state, envs, transform_state, tracker, key, state.iteration + 1)
    return state, {"train/episode_return": tracker.last_return[0]}


def _evaluate(config: Config, state: State, key: jax.Array) -> dict:
    greedy = lambda k, obs: (_policy(config).apply(state.params, obs).mode(), None)
    return evaluate(config.env, config.env_params, greedy, key, config.eval_episodes, config.eval_max_steps)


def train_segment(config: Config, state: State):
    """``iterations_per_eval`` iterations, then one greedy evaluation (``eval/...``)."""
    return run_segment(config, state, lambda s: _iteration(config, s), _evaluate)


def train(config: Config, key: jax.Array):
    """A whole run: metrics ``[num_iterations]`` and ``eval/...`` ``[num_evals]``."""
    return run_training(config, init(config, key), train_segment)


if __name__ == "__main__":
    check_agent(sys.modules[__name__])
    keys = jax.random.split(jax.random.key(0), 4)
    _, metrics = jax.jit(jax.vmap(train, in_axes=(None, 0)))(make_config("CartPole-v1"), keys)
    returns = metrics["train/episode_return"]
    print("mean episode return, first and last iteration:", returns[:, 0].mean(), returns[:, -1].mean())
