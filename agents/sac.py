"""Soft actor-critic: twin critics, automatic entropy tuning, device replay, one Q head per stream.

Haarnoja et al., 2018, as a pure function: twin critics, automatic entropy tuning and a replay
buffer in device memory, with one Q head per reward stream.

``train(config, key) -> (state, metrics)`` is jittable and vmappable like PPO's.

Reward streams: each critic ``Q_i`` (i = 1, 2) has one head per stream k, learning the
stream's own discounted return, plus one *entropy head* ``Q_i,H`` learning the discounted sum
of future entropy bonuses. The soft Q-value is the weighted sum
``Q_i(s, a) = sum_k w_k Q_i,k(s, a) + Q_i,H(s, a)``, so with the single task stream this is
exactly SAC. Targets (clipped double Q, Fujimoto et al. 2018: ``j = argmin_i Q^target_i(s', a')``
with ``a' ~ pi(s')``):
``y_k = r_k + gamma_k c_k Q^target_j,k(s', a')`` and
``y_H = gamma c (Q^target_j,H(s', a') - alpha log pi(a'|s'))``, ``c = 1 - terminated`` for
episodic streams. Actor: minimise ``alpha log pi(a|s) - min_i Q_i(s, a)``; temperature:
minimise ``-log(alpha) (log pi(a|s) + target_entropy)`` with ``target_entropy = -|A|``.

One iteration steps ``num_envs`` envs ``num_steps`` times (actions uniform at random before
``learning_starts``), stores transformed rewards in the buffer, and takes ``num_updates``
gradient steps; target critics follow by Polyak averaging with rate ``tau``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from gymnax.environments import spaces

from jaxrl_rewards.agents.acting import ActionMappedEnv, flatten_obs, scale_action
from jaxrl_rewards.agents.base import StreamLayout, apply_transform, config_layout
from jaxrl_rewards.agents.config import ReplayConfig, build_config, static
from jaxrl_rewards.agents.loop import guarded_optimizer, iteration_metrics, merge_segments, run_segment, run_training
from jaxrl_rewards.agents.replay import ReplayBuffer, replay_item, replay_items
from jaxrl_rewards.core import struct
from jaxrl_rewards.core.exact import exact_mean, exact_sum
from jaxrl_rewards.core.networks import TanhGaussianPolicy, TwinMultiStreamQ, tanh_gaussian_sample
from jaxrl_rewards.core.optim import adam
from jaxrl_rewards.core.rollout import EnvCarry, EpisodeTracker, evaluate, reset_envs, rollout
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey
from jaxrl_rewards.core.validation import ConfigError, check_positive

DESCRIPTION = "Soft actor-critic: twin critics, automatic entropy tuning, device replay, one Q head per stream."


class SACConfig(ReplayConfig):
    """SAC configuration: ``AgentConfig`` and ``ReplayConfig`` fields (SAC's defaults) plus
    ``init_alpha`` (initial temperature) and ``target_entropy_scale`` (target entropy
    ``-scale * |A|``), both leaves."""

    num_steps: int = static(1)
    total_timesteps: int = static(50_000)
    hidden_sizes: tuple[int, ...] = static((128, 128))
    activation: str = static("relu")
    eval_max_steps: int = static(1000)
    learning_rate: Array | float = 1e-3
    max_grad_norm: Array | float = 10.0
    buffer_size: int = static(50_000)
    learning_starts: int = static(1_000)
    num_updates: int = static(2)
    tau: Array | float = 0.005
    init_alpha: Array | float = 1.0
    target_entropy_scale: Array | float = 1.0


#: Defaults per environment (on top of the SACConfig defaults).
PRESETS: dict[str, dict[str, Any]] = {"Pendulum-v1": {"eval_max_steps": 200}}


def validate(config: SACConfig) -> SACConfig:
    """Check a configuration eagerly; raise ``ConfigError`` with a clear message."""
    config.check_fields()
    space = config.env.action_space(config.env_params)
    if not isinstance(space, spaces.Box) or len(space.shape) != 1:
        raise ConfigError("SAC needs a flat continuous (Box) action space; use DQN, PQN or PPO for discrete actions")
    check_positive(config.init_alpha, "init_alpha")
    check_positive(config.target_entropy_scale, "target_entropy_scale")
    return config


def make_config(env: str | Any = "Pendulum-v1", env_params: Any = None, **overrides: Any) -> SACConfig:
    """Build and validate a SAC configuration (a registered env name or an env object; any
    ``SACConfig`` field as a keyword, on top of ``PRESETS[env]``)."""
    return build_config(SACConfig, "SAC", PRESETS, validate, env, env_params, overrides)


class SACState(struct.PyTreeNode):
    """Training state. ``params`` holds ``actor``, ``critic`` and ``log_alpha``."""

    params: Any
    target_critic: Any
    opt_state: Any
    buffer: ReplayBuffer
    envs: EnvCarry
    transform_state: Any
    tracker: EpisodeTracker
    key: PRNGKey
    iteration: Array


class _Parts(NamedTuple):
    actor: nn.Module
    critic: nn.Module
    tx: optax.GradientTransformation
    layout: StreamLayout
    action_dim: int
    low: Array
    high: Array


def _parts(config: SACConfig) -> _Parts:
    space = config.env.action_space(config.env_params)
    dim = int(space.shape[0])
    low = jnp.broadcast_to(jnp.asarray(space.low, jnp.float32), (dim,))
    high = jnp.broadcast_to(jnp.asarray(space.high, jnp.float32), (dim,))
    layout = config_layout(config)
    actor = TanhGaussianPolicy(dim, config.hidden_sizes, config.activation)
    # one head per stream plus the entropy head (last)
    critic = TwinMultiStreamQ(len(layout.names) + 1, config.hidden_sizes, config.activation)
    tx = guarded_optimizer(adam, config.learning_rate, config.max_grad_norm)
    return _Parts(actor, critic, tx, layout, dim, low, high)


def _env(config: SACConfig, parts: _Parts) -> ActionMappedEnv:
    return ActionMappedEnv(config.env, lambda a: scale_action(a, parts.low, parts.high))


def init(config: SACConfig, key: PRNGKey) -> SACState:
    """Initial training state for one seed (pure; vmap it over keys)."""
    validate(config)
    parts = _parts(config)
    env_key, actor_key, critic_key, transform_key, run_key = jax.random.split(key, 5)
    envs = reset_envs(config.env, config.env_params, env_key, config.num_envs)
    obs = flatten_obs(envs.obs, 1)
    action = jnp.zeros((1, parts.action_dim), jnp.float32)
    critic = parts.critic.init(critic_key, obs[:1], action)
    params = {
        "actor": parts.actor.init(actor_key, obs[:1]),
        "critic": critic,
        "log_alpha": jnp.log(jnp.asarray(config.init_alpha, jnp.float32)),
    }
    k = len(parts.layout.names)
    item = replay_item(obs[0], action[0], k)
    return SACState(
        params=params,
        target_critic=critic,
        opt_state=parts.tx.init(params),
        buffer=ReplayBuffer.create(item, config.buffer_size),
        envs=envs,
        transform_state=config.transform.init(transform_key, parts.layout.spec),
        tracker=EpisodeTracker.create(config.num_envs, 1 + k),
        key=run_key,
        iteration=jnp.int32(0),
    )


def sac_losses(
    config: SACConfig,
    parts: _Parts,
    params: Any,
    target_critic: Any,
    batch: dict[str, Array],
    weights: Array,
    discounts: Array,
    episodic: tuple[bool, ...],
    key: PRNGKey,
) -> tuple[Array, dict[str, Array]]:
    """Critic + actor + temperature losses on replayed items (one scalar to differentiate:
    each part only reaches its own parameters through ``stop_gradient``)."""
    next_key, key_pi = jax.random.split(key)
    alpha = jnp.exp(params["log_alpha"])
    sg = jax.lax.stop_gradient
    # critic targets
    mean, log_std = parts.actor.apply(sg(params["actor"]), batch["next_obs"])
    next_action, next_logp = tanh_gaussian_sample(next_key, mean, log_std)
    q_next = parts.critic.apply(target_critic, batch["next_obs"], next_action)  # [2, B, K+1]
    w_all = jnp.concatenate([weights, jnp.ones((1,), weights.dtype)])
    j = jnp.argmin((q_next * w_all).sum(-1), axis=0)  # [B]
    q_next = jnp.take_along_axis(q_next, j[None, :, None], axis=0)[0]  # [B, K+1]
    term = batch["terminated"][:, None]
    cont = jnp.where(jnp.asarray(episodic), 1.0 - term, 1.0)
    y_streams = batch["rewards"] + discounts * cont * q_next[:, :-1]
    y_entropy = config.gamma * (1.0 - term[:, 0]) * (q_next[:, -1] - sg(alpha) * next_logp)
    target = sg(jnp.concatenate([y_streams, y_entropy[:, None]], axis=-1))
    q = parts.critic.apply(params["critic"], batch["obs"], batch["action"])  # [2, B, K+1]
    critic_loss = 0.5 * exact_sum(exact_mean((q - target) ** 2, 1))
    # actor
    mean, log_std = parts.actor.apply(params["actor"], batch["obs"])
    action, logp = tanh_gaussian_sample(key_pi, mean, log_std)
    q_pi = (parts.critic.apply(sg(params["critic"]), batch["obs"], action) * w_all).sum(-1).min(0)
    actor_loss = exact_mean(sg(alpha) * logp - q_pi)
    target_entropy = -config.target_entropy_scale * parts.action_dim
    alpha_loss = -exact_mean(params["log_alpha"] * sg(logp + target_entropy))
    aux = {
        "loss/critic": critic_loss,
        "loss/actor": actor_loss,
        "loss/alpha": alpha_loss,
        "train/alpha": alpha,
        "train/entropy": -exact_mean(logp),
    }
    return critic_loss + actor_loss + alpha_loss, aux


def _iteration(config: SACConfig, parts: _Parts, state: SACState) -> tuple[SACState, Metrics]:
    key, rollout_key, update_key, transform_key = jax.random.split(state.key, 4)
    warmup = state.buffer.size < config.learning_starts

    def act(k, obs):
        mean, log_std = parts.actor.apply(state.params["actor"], flatten_obs(obs, 1))
        sample_key, uniform_key = jax.random.split(k)
        action, _ = tanh_gaussian_sample(sample_key, mean, log_std)
        uniform = jax.random.uniform(uniform_key, action.shape, minval=-1.0, maxval=1.0)
        return jnp.where(warmup, uniform, action), None

    envs, batch, _ = rollout(_env(config, parts), config.env_params, act, state.envs, rollout_key, config.num_steps)
    streams, transform_state, (rewards, weights, discounts, episodic) = apply_transform(
        config, state.transform_state, batch
    )
    buffer = state.buffer.add(replay_items(batch, rewards, batch.action))
    grad_fn = jax.grad(
        lambda p, t, b, k: sac_losses(config, parts, p, t, b, weights, discounts, episodic, k), has_aux=True
    )
    aux_names = ("loss/critic", "loss/actor", "loss/alpha", "train/alpha", "train/entropy")

    def learn(carry):
        def step(c, k):
            params, target, opt_state = c
            sample_key, loss_key = jax.random.split(k)
            grads, aux = grad_fn(params, target, buffer.sample(sample_key, config.batch_size), loss_key)
            updates, opt_state = parts.tx.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
            target = optax.incremental_update(params["critic"], target, config.tau)
            return (params, target, opt_state), aux

        carry, aux = jax.lax.scan(step, carry, jax.random.split(update_key, config.num_updates))
        return carry, {k: aux[k].mean() for k in aux_names}

    def skip(carry):
        return carry, {k: jnp.float32(0.0) for k in aux_names}

    ready = buffer.size >= config.learning_starts
    (params, target_critic, opt_state), aux = jax.lax.cond(
        ready, learn, skip, (state.params, state.target_critic, state.opt_state)
    )
    transform_state, transform_metrics = config.transform.update(transform_state, streams, batch, transform_key)
    names = parts.layout.names
    tracker, metrics = iteration_metrics(
        config, state.tracker, batch, rewards, weights, names, transform_metrics, opt_state, state.iteration
    )
    metrics.update(aux)
    new_state = SACState(
        params=params,
        target_critic=target_critic,
        opt_state=opt_state,
        buffer=buffer,
        envs=envs,
        transform_state=transform_state,
        tracker=tracker,
        key=key,
        iteration=state.iteration + 1,
    )
    return new_state, metrics


def evaluate_policy(config: SACConfig, state: SACState, key: PRNGKey) -> dict[str, Array]:
    """Mean undiscounted return of every env stream over ``eval_episodes`` episodes of the
    deterministic policy ``tanh(mean)``."""
    parts = _parts(config)

    def deterministic(k, obs):
        mean, _ = parts.actor.apply(state.params["actor"], flatten_obs(obs, 1))
        return jnp.tanh(mean), None

    return evaluate(
        _env(config, parts), config.env_params, deterministic, key, config.eval_episodes, config.eval_max_steps
    )


def train_segment(config: SACConfig, state: SACState) -> tuple[SACState, Metrics]:
    """``iterations_per_eval`` iterations then one evaluation."""
    parts = _parts(config)
    return run_segment(config, state, lambda s: _iteration(config, parts, s), evaluate_policy)


def train(config: SACConfig, key: PRNGKey) -> tuple[SACState, Metrics]:
    """Train SAC from scratch: pure and jittable. Metrics: per-iteration curves
    ``[num_iterations]`` and evaluation curves ``[num_evals]``."""
    return run_training(config, init(config, key), train_segment)


__all__ = [  # the Agent protocol (agents.base.Agent)
    "DESCRIPTION",
    "PRESETS",
    "SACConfig",
    "SACState",
    "evaluate_policy",
    "init",
    "make_config",
    "merge_segments",
    "sac_losses",
    "train",
    "train_segment",
    "validate",
]
