"""Double DQN (target network, device-memory replay, ε schedule, one Q head per stream).

A pure function like PPO: double DQN with a target network, a replay buffer in device memory and
an ε schedule, with one Q head per reward stream.

``train(config, key) -> (state, metrics)`` is jittable and vmappable exactly like
``jaxrl_rewards.agents.ppo.train`` (seeds: ``vmap`` over keys; sweeps: batch a config leaf).

One iteration:
 1. act ε-greedily on ``Q(s, .) = sum_k w_k Q_k(s, .)`` for ``num_steps`` steps in ``num_envs``
    environments -> a ``[T, N]`` batch (``T = num_steps``, 1 by default);
 2. build the env's streams and pass them through the reward transform (``apply``); store
    ``(obs, action, rewards [K], terminated, next_obs)`` in the replay buffer, where
    ``next_obs`` is the true final observation on episode ends;
 3. once the buffer holds ``learning_starts`` items, take ``num_updates`` gradient steps on
    ``batch_size`` replayed transitions. Per stream k the double-DQN target (van Hasselt et
    al., 2016) is ``y_k = r_k + gamma_k * c_k * Q^target_k(s', argmax_a sum_j w_j Q_j(s', a))``
    with ``c_k = 1 - terminated`` for episodic streams and ``1`` for non-episodic ones
    (truncations always bootstrap); the loss is ``sum_k 0.5 (Q_k(s, a) - y_k)^2``;
 4. every ``target_update_every`` iterations move the target network toward the online one
    (``tau = 1``: copy; Mnih et al., 2015); let the transform learn (``update``).

Stream weights used for acting and for the target's greedy action are the ones the transform
returned for the latest batch (so a Lagrangian transform's ``-lambda`` acts at once). Rewards
enter the buffer as transformed at collection time.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct
from gymnax.environments import spaces

from jaxrl_rewards.agents.common import (
    StreamLayout,
    check_env,
    check_options,
    epsilon_greedy,
    flatten_obs,
    linear_epsilon,
    resolve_env,
    stream_layout,
)
from jaxrl_rewards.agents.ppo import merge_segments
from jaxrl_rewards.agents.replay import ReplayBuffer
from jaxrl_rewards.networks import MultiStreamQNetwork, activation_fn
from jaxrl_rewards.optim import clip_by_global_norm, skip_nonfinite
from jaxrl_rewards.rollout import EnvCarry, EpisodeTracker, evaluate, reset_envs, rollout
from jaxrl_rewards.streams import check_streams, env_streams, stack_streams
from jaxrl_rewards.transforms.core import RewardTransform, identity
from jaxrl_rewards.types import Array, Metrics, PRNGKey
from jaxrl_rewards.validation import ConfigError, check_in_range, check_positive, check_positive_int

#: Hyperparameters (pytree leaves) that a sweep may batch.
SWEEPABLE = ("learning_rate", "gamma", "tau", "eps_start", "eps_end", "eps_fraction", "max_grad_norm")


class DQNConfig(struct.PyTreeNode):
    """DQN configuration: static sizes and switches, sweepable leaves (``SWEEPABLE``)."""

    env: Any = struct.field(pytree_node=False)
    env_params: Any
    transform: RewardTransform = struct.field(default_factory=identity)
    num_envs: int = struct.field(pytree_node=False, default=10)
    num_steps: int = struct.field(pytree_node=False, default=1)
    total_timesteps: int = struct.field(pytree_node=False, default=500_000)
    buffer_size: int = struct.field(pytree_node=False, default=10_000)
    batch_size: int = struct.field(pytree_node=False, default=128)
    learning_starts: int = struct.field(pytree_node=False, default=10_000)
    num_updates: int = struct.field(pytree_node=False, default=1)
    target_update_every: int = struct.field(pytree_node=False, default=50)
    double: bool = struct.field(pytree_node=False, default=True)
    hidden_sizes: tuple[int, ...] = struct.field(pytree_node=False, default=(120, 84))
    activation: str = struct.field(pytree_node=False, default="relu")
    layer_norm: bool = struct.field(pytree_node=False, default=False)
    num_evals: int = struct.field(pytree_node=False, default=10)
    eval_episodes: int = struct.field(pytree_node=False, default=8)
    eval_max_steps: int = struct.field(pytree_node=False, default=500)
    env_name: str = struct.field(pytree_node=False, default="")
    learning_rate: Array | float = 2.5e-4
    gamma: Array | float = 0.99
    tau: Array | float = 1.0
    eps_start: Array | float = 1.0
    eps_end: Array | float = 0.05
    eps_fraction: Array | float = 0.5
    max_grad_norm: Array | float = 10.0

    @property
    def steps_per_iteration(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def iterations_per_eval(self) -> int:
        return self.total_timesteps // self.steps_per_iteration // self.num_evals

    @property
    def num_iterations(self) -> int:
        return self.iterations_per_eval * self.num_evals

    @property
    def trained_timesteps(self) -> int:
        return self.num_iterations * self.steps_per_iteration


#: Defaults per environment (on top of the DQNConfig defaults).
PRESETS: dict[str, dict[str, Any]] = {
    "CartPole-v1": {},
    "Breakout-MinAtar": {
        "hidden_sizes": (256, 256),
        "buffer_size": 100_000,
        "batch_size": 64,
        "learning_starts": 5_000,
        "eps_fraction": 0.2,
        "eps_end": 0.01,
        "target_update_every": 100,
        "learning_rate": 1e-4,
        "eval_max_steps": 1000,
    },
}


def validate(config: DQNConfig) -> DQNConfig:
    """Check a configuration eagerly; raise ``ConfigError`` with a clear message."""
    for name in (
        "num_envs",
        "num_steps",
        "total_timesteps",
        "buffer_size",
        "batch_size",
        "num_updates",
        "target_update_every",
        "num_evals",
        "eval_episodes",
        "eval_max_steps",
    ):
        check_positive_int(getattr(config, name), name)
    if not isinstance(config.learning_starts, int) or config.learning_starts < 0:
        raise ConfigError(f"learning_starts must be a non-negative integer, got {config.learning_starts!r}")
    if not config.hidden_sizes or any(not isinstance(h, int) or h <= 0 for h in config.hidden_sizes):
        raise ConfigError(f"hidden_sizes must be a non-empty tuple of positive ints, got {config.hidden_sizes!r}")
    try:
        activation_fn(config.activation)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    if config.iterations_per_eval < 1:
        raise ConfigError(
            f"total_timesteps={config.total_timesteps} is too small: it must cover at least num_evals="
            f"{config.num_evals} iterations of {config.steps_per_iteration} steps"
        )
    check_env(config.env)
    if not isinstance(config.env.action_space(config.env_params), spaces.Discrete):
        raise ConfigError("DQN needs a discrete action space; use SAC or PPO for continuous actions")
    if not isinstance(config.transform, RewardTransform):
        raise ConfigError(f"transform must be a RewardTransform, got {type(config.transform).__name__}")
    check_positive(config.learning_rate, "learning_rate")
    check_in_range(config.gamma, "gamma", 0.0, 1.0)
    check_in_range(config.tau, "tau", 0.0, 1.0)
    check_in_range(config.eps_start, "eps_start", 0.0, 1.0)
    check_in_range(config.eps_end, "eps_end", 0.0, 1.0)
    check_in_range(config.eps_fraction, "eps_fraction", 0.0, 1.0)
    check_positive(config.max_grad_norm, "max_grad_norm")
    return config


def make_config(env: str | Any = "CartPole-v1", env_params: Any = None, **overrides: Any) -> DQNConfig:
    """Build and validate a DQN configuration (a registered env name or an env object; any
    ``DQNConfig`` field as a keyword, on top of ``PRESETS[env]``)."""
    check_options(DQNConfig, overrides, "DQN")
    env, params, options = resolve_env(env, env_params, PRESETS, overrides)
    return validate(DQNConfig(env=env, env_params=params, **options))


# --------------------------------------------------------------------------- state


class DQNState(struct.PyTreeNode):
    """Training state: online/target parameters, optimiser, buffer, envs, transform state."""

    params: Any
    target_params: Any
    opt_state: Any
    buffer: ReplayBuffer
    envs: EnvCarry
    transform_state: Any
    tracker: EpisodeTracker
    weights: Array  # [K] stream weights of the latest batch
    key: PRNGKey
    iteration: Array


class _Parts(NamedTuple):
    q: nn.Module
    tx: optax.GradientTransformation
    layout: StreamLayout
    num_actions: int


def _parts(config: DQNConfig) -> _Parts:
    n = int(config.env.action_space(config.env_params).n)
    zero = lambda key, obs: jnp.zeros(jax.tree.leaves(obs)[0].shape[:1], jnp.int32)
    layout = stream_layout(config.env, config.env_params, config.transform, config.num_envs, config.gamma, zero)
    q = MultiStreamQNetwork(n, len(layout.names), config.hidden_sizes, config.activation, config.layer_norm)
    tx = skip_nonfinite(optax.chain(clip_by_global_norm(config.max_grad_norm), optax.adam(config.learning_rate)))
    return _Parts(q, tx, layout, n)


def _combined(q: Array, weights: Array) -> Array:
    """``[..., A, K] -> [..., A]``: ``sum_k w_k Q_k``."""
    return (q * weights).sum(-1)


def init(config: DQNConfig, key: PRNGKey) -> DQNState:
    """Initial training state for one seed (pure; vmap it over keys)."""
    validate(config)
    parts = _parts(config)
    env_key, q_key, transform_key, run_key = jax.random.split(key, 4)
    envs = reset_envs(config.env, config.env_params, env_key, config.num_envs)
    obs = flatten_obs(envs.obs, 1)
    params = parts.q.init(q_key, obs[:1])
    k = len(parts.layout.names)
    item = {
        "obs": obs[0],
        "action": jnp.int32(0),
        "rewards": jnp.zeros((k,), jnp.float32),
        "terminated": jnp.float32(0),
        "next_obs": obs[0],
    }
    return DQNState(
        params=params,
        target_params=params,
        opt_state=parts.tx.init(params),
        buffer=ReplayBuffer.create(item, config.buffer_size),
        envs=envs,
        transform_state=config.transform.init(transform_key, parts.layout.spec),
        tracker=EpisodeTracker.create(config.num_envs, 1 + k),
        weights=jnp.zeros((k,), jnp.float32).at[parts.layout.names.index("task")].set(1.0)
        if "task" in parts.layout.names
        else jnp.ones((k,), jnp.float32),
        key=run_key,
        iteration=jnp.int32(0),
    )


def td_loss(
    q_net: nn.Module,
    params: Any,
    target_params: Any,
    batch: dict[str, Array],
    weights: Array,
    discounts: Array,
    episodic: tuple[bool, ...],
    double: bool,
) -> tuple[Array, Array]:
    """Multi-stream (double) DQN loss on replayed items (``obs [B, D]``, ``action [B]``,
    ``rewards [B, K]``, ``terminated [B]``, ``next_obs [B, D]``).

    Returns:
        the loss (scalar) and the mean combined Q of the taken actions.
    """
    q = q_net.apply(params, batch["obs"])  # [B, A, K]
    q_taken = jnp.take_along_axis(q, batch["action"][:, None, None], axis=1)[:, 0]  # [B, K]
    next_target = q_net.apply(target_params, batch["next_obs"])
    chooser = q_net.apply(params, batch["next_obs"]) if double else next_target
    best = jnp.argmax(_combined(chooser, weights), axis=-1)
    next_q = jnp.take_along_axis(next_target, best[:, None, None], axis=1)[:, 0]  # [B, K]
    cont = jnp.where(jnp.asarray(episodic), 1.0 - batch["terminated"][:, None], 1.0)
    target = jax.lax.stop_gradient(batch["rewards"] + discounts * cont * next_q)
    loss = 0.5 * ((q_taken - target) ** 2).mean(0).sum()
    return loss, (q_taken * weights).sum(-1).mean()


def _iteration(config: DQNConfig, parts: _Parts, state: DQNState) -> tuple[DQNState, Metrics]:
    key, rollout_key, update_key, transform_key = jax.random.split(state.key, 4)
    steps_done = state.iteration * config.steps_per_iteration
    epsilon = linear_epsilon(steps_done, config.total_timesteps, config.eps_start, config.eps_end, config.eps_fraction)

    def act(k, obs):
        q = parts.q.apply(state.params, flatten_obs(obs, 1))
        return epsilon_greedy(k, _combined(q, state.weights), epsilon), None

    envs, batch, _ = rollout(config.env, config.env_params, act, state.envs, rollout_key, config.num_steps)
    streams, transform_state = config.transform.apply(state.transform_state, env_streams(batch, config.gamma), batch)
    check_streams(streams, (config.num_steps, config.num_envs), where=f"{type(config.transform).__name__}.apply")
    rewards, weights, discounts, episodic = stack_streams(streams)

    flat = lambda x: x.reshape((config.steps_per_iteration, *x.shape[2:]))
    items = {
        "obs": flat(flatten_obs(batch.obs, 2)),
        "action": flat(batch.action).astype(jnp.int32),
        "rewards": flat(rewards),
        "terminated": flat(batch.terminated.astype(jnp.float32)),
        "next_obs": flat(flatten_obs(batch.next_obs, 2)),
    }
    buffer = state.buffer.add(items)
    loss_fn = lambda p, b: td_loss(parts.q, p, state.target_params, b, weights, discounts, episodic, config.double)
    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    def learn(carry):
        def step(c, k):
            params, opt_state = c
            (loss, q_mean), grads = grad_fn(params, buffer.sample(k, config.batch_size))
            updates, opt_state = parts.tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), (loss, q_mean)

        carry, (loss, q_mean) = jax.lax.scan(step, carry, jax.random.split(update_key, config.num_updates))
        return carry, loss.mean(), q_mean.mean()

    def skip(carry):
        return carry, jnp.float32(0.0), jnp.float32(0.0)

    ready = buffer.size >= config.learning_starts
    (params, opt_state), loss, q_mean = jax.lax.cond(ready, learn, skip, (state.params, state.opt_state))
    sync = (state.iteration + 1) % config.target_update_every == 0
    polyak = jax.tree.map(lambda t, o: (1.0 - config.tau) * t + config.tau * o, state.target_params, params)
    target_params = jax.tree.map(lambda new, old: jnp.where(sync, new, old), polyak, state.target_params)

    transform_state, transform_metrics = config.transform.update(transform_state, batch, streams, transform_key)
    channels = jnp.concatenate([batch.reward[..., None], rewards], axis=-1)
    tracker, episodes = state.tracker.track(channels, batch.done)
    metrics = {
        "loss/td": loss,
        "loss/q_mean": q_mean,
        "train/epsilon": epsilon,
        "train/episode_return": tracker.last_return[0],
        "train/episode_length": tracker.last_length,
        "train/episodes": episodes,
        "nonfinite_updates": opt_state.total_notfinite.astype(jnp.float32),
        "timesteps": ((state.iteration + 1) * config.steps_per_iteration).astype(jnp.float32),
    }
    for i, name in enumerate(parts.layout.names):
        metrics[f"train/stream_return/{name}"] = tracker.last_return[1 + i]
        metrics[f"train/stream_weight/{name}"] = weights[i]
    metrics.update({f"transform/{k}": jnp.asarray(v, jnp.float32) for k, v in transform_metrics.items()})
    new_state = DQNState(
        params=params,
        target_params=target_params,
        opt_state=opt_state,
        buffer=buffer,
        envs=envs,
        transform_state=transform_state,
        tracker=tracker,
        weights=weights,
        key=key,
        iteration=state.iteration + 1,
    )
    return new_state, metrics


def evaluate_policy(config: DQNConfig, state: DQNState, key: PRNGKey) -> dict[str, Array]:
    """Mean undiscounted return of every env stream over ``eval_episodes`` greedy episodes."""
    parts = _parts(config)

    def greedy(k, obs):
        q = parts.q.apply(state.params, flatten_obs(obs, 1))
        return jnp.argmax(_combined(q, state.weights), axis=-1).astype(jnp.int32), None

    return evaluate(config.env, config.env_params, greedy, key, config.eval_episodes, config.eval_max_steps)


def train_segment(config: DQNConfig, state: DQNState) -> tuple[DQNState, Metrics]:
    """``iterations_per_eval`` iterations then one evaluation (metrics ``[iterations_per_eval]``
    and ``eval/...`` scalars)."""
    parts = _parts(config)
    state, metrics = jax.lax.scan(
        lambda s, _: _iteration(config, parts, s), state, None, length=config.iterations_per_eval
    )
    eval_key, key = jax.random.split(state.key)
    metrics.update({f"eval/{k}": v for k, v in evaluate_policy(config, state, eval_key).items()})
    metrics["eval/timesteps"] = (state.iteration * config.steps_per_iteration).astype(jnp.float32)
    return state.replace(key=key), metrics


def train(config: DQNConfig, key: PRNGKey) -> tuple[DQNState, Metrics]:
    """Train DQN from scratch: pure and jittable. Metrics: per-iteration curves
    ``[num_iterations]`` and evaluation curves ``[num_evals]``."""
    state = init(config, key)
    state, metrics = jax.lax.scan(lambda s, _: train_segment(config, s), state, None, length=config.num_evals)
    return state, merge_segments(metrics)
