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
    (truncations always bootstrap); the loss is ``sum_k 0.5 (Q_k(s, a) - y_k)^2``; with
    ``max_num_updates > 0`` the number of steps adapts (``agents.replay_ratio``: ``num_updates``
    until the Q network's fraction of active units settles, then ``max_num_updates``);
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

from jaxrl_rewards.agents.acting import flatten_obs, linear_epsilon, q_policy
from jaxrl_rewards.agents.base import StreamLayout, apply_transform, config_layout
from jaxrl_rewards.agents.config import EpsilonGreedyConfig, ReplayConfig, build_config, check_discrete, static
from jaxrl_rewards.agents.loop import guarded_optimizer, iteration_metrics, merge_segments, run_segment, run_training
from jaxrl_rewards.agents.replay import ReplayBuffer, replay_item, replay_items
from jaxrl_rewards.agents.replay_ratio import (
    AdaptiveReplayRatioConfig,
    ReplayRatioState,
    active_fraction,
    dynamic_updates,
    next_ratio_state,
)
from jaxrl_rewards.core import struct
from jaxrl_rewards.core.exact import exact_mean, exact_sum
from jaxrl_rewards.core.networks import MultiStreamQNetwork
from jaxrl_rewards.core.optim import adam
from jaxrl_rewards.core.rollout import EnvCarry, EpisodeTracker, evaluate, reset_envs, rollout
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey
from jaxrl_rewards.core.validation import check_positive_int

DESCRIPTION = "Double DQN with a target network, device-memory replay and one Q head per reward stream."


class DQNConfig(EpsilonGreedyConfig, ReplayConfig, AdaptiveReplayRatioConfig):
    """DQN configuration: ``AgentConfig``, ``ReplayConfig`` and ``EpsilonGreedyConfig`` fields
    (DQN's defaults) plus ``target_update_every`` (iterations between target moves), ``double``
    (double-DQN targets) and ``layer_norm`` (static); ``AdaptiveReplayRatioConfig`` fields
    (off by default)."""

    num_envs: int = static(10)
    num_steps: int = static(1)
    hidden_sizes: tuple[int, ...] = static((120, 84))
    activation: str = static("relu")
    max_grad_norm: Array | float = 10.0
    target_update_every: int = static(50)
    double: bool = static(True)
    layer_norm: bool = static(False)


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
    config.check_fields()
    check_positive_int(config.target_update_every, "target_update_every")
    check_discrete(config, "DQN")
    return config


def make_config(env: str | Any = "CartPole-v1", env_params: Any = None, **overrides: Any) -> DQNConfig:
    """Build and validate a DQN configuration (a registered env name or an env object; any
    ``DQNConfig`` field as a keyword, on top of ``PRESETS[env]``)."""
    return build_config(DQNConfig, "DQN", PRESETS, validate, env, env_params, overrides)


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
    replay_ratio: ReplayRatioState


class _Parts(NamedTuple):
    q: nn.Module
    tx: optax.GradientTransformation
    layout: StreamLayout
    num_actions: int


def _parts(config: DQNConfig) -> _Parts:
    n = int(config.env.action_space(config.env_params).n)
    layout = config_layout(config)
    q = MultiStreamQNetwork(n, len(layout.names), config.hidden_sizes, config.activation, config.layer_norm)
    tx = guarded_optimizer(adam, config.learning_rate, config.max_grad_norm)
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
    item = replay_item(obs[0], jnp.int32(0), k)
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
        replay_ratio=ReplayRatioState.create(),
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
    loss = 0.5 * exact_sum(exact_mean((q_taken - target) ** 2, 0))
    return loss, exact_mean((q_taken * weights).sum(-1))


def _iteration(config: DQNConfig, parts: _Parts, state: DQNState) -> tuple[DQNState, Metrics]:
    key, rollout_key, update_key, transform_key = jax.random.split(state.key, 4)
    steps_done = state.iteration * config.steps_per_iteration
    epsilon = linear_epsilon(steps_done, config.total_timesteps, config.eps_start, config.eps_end, config.eps_fraction)
    act = q_policy(parts.q, state.params, state.weights, epsilon)
    envs, batch, _ = rollout(config.env, config.env_params, act, state.envs, rollout_key, config.num_steps)
    streams, transform_state, (rewards, weights, discounts, episodic) = apply_transform(
        config, state.transform_state, batch
    )

    buffer = state.buffer.add(replay_items(batch, rewards, batch.action.astype(jnp.int32)))
    loss_fn = lambda p, b: td_loss(parts.q, p, state.target_params, b, weights, discounts, episodic, config.double)
    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    def step(c, k):
        params, opt_state = c
        (loss, q_mean), grads = grad_fn(params, buffer.sample(k, config.batch_size))
        updates, opt_state = parts.tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), (loss, q_mean)

    def learn(carry):
        carry, (loss, q_mean) = jax.lax.scan(step, carry, jax.random.split(update_key, config.num_updates))
        return carry, loss.mean(), q_mean.mean()

    def skip(carry):
        return carry, jnp.float32(0.0), jnp.float32(0.0)

    ready = buffer.size >= config.learning_starts
    ratio = state.replay_ratio
    extra: Metrics = {}
    if config.adaptive_replay_ratio:
        fau_key, update_key = jax.random.split(update_key)
        fau = active_fraction(parts.q, state.params, buffer.sample(fau_key, config.batch_size)["obs"])
        ratio = next_ratio_state(ratio, fau, state.iteration, config.rr_check_every, config.rr_tolerance, ready)
        count = jnp.where(ready, jnp.where(ratio.high, config.max_num_updates, config.num_updates), 0)
        (params, opt_state), loss, q_mean = dynamic_updates(step, (state.params, state.opt_state), update_key, count)
        extra = {"train/updates": count.astype(jnp.float32), "train/active_fraction": fau}
    else:
        (params, opt_state), loss, q_mean = jax.lax.cond(ready, learn, skip, (state.params, state.opt_state))
    sync = (state.iteration + 1) % config.target_update_every == 0
    polyak = jax.tree.map(lambda t, o: (1.0 - config.tau) * t + config.tau * o, state.target_params, params)
    target_params = jax.tree.map(lambda new, old: jnp.where(sync, new, old), polyak, state.target_params)

    transform_state, transform_metrics = config.transform.update(transform_state, streams, batch, transform_key)
    names = parts.layout.names
    tracker, metrics = iteration_metrics(
        config, state.tracker, batch, rewards, weights, names, transform_metrics, opt_state, state.iteration
    )
    metrics.update({"loss/td": loss, "loss/q_mean": q_mean, "train/epsilon": epsilon, **extra})
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
        replay_ratio=ratio,
    )
    return new_state, metrics


def evaluate_policy(config: DQNConfig, state: DQNState, key: PRNGKey) -> dict[str, Array]:
    """Mean undiscounted return of every env stream over ``eval_episodes`` greedy episodes."""
    greedy = q_policy(_parts(config).q, state.params, state.weights)
    return evaluate(config.env, config.env_params, greedy, key, config.eval_episodes, config.eval_max_steps)


def train_segment(config: DQNConfig, state: DQNState) -> tuple[DQNState, Metrics]:
    """``iterations_per_eval`` iterations then one evaluation (metrics ``[iterations_per_eval]``
    and ``eval/...`` scalars)."""
    parts = _parts(config)
    return run_segment(config, state, lambda s: _iteration(config, parts, s), evaluate_policy)


def train(config: DQNConfig, key: PRNGKey) -> tuple[DQNState, Metrics]:
    """Train DQN from scratch: pure and jittable. Metrics: per-iteration curves
    ``[num_iterations]`` and evaluation curves ``[num_evals]``."""
    return run_training(config, init(config, key), train_segment)


__all__ = [  # the Agent protocol (agents.base.Agent)
    "DESCRIPTION",
    "PRESETS",
    "DQNConfig",
    "DQNState",
    "evaluate_policy",
    "init",
    "make_config",
    "merge_segments",
    "td_loss",
    "train",
    "train_segment",
    "validate",
]
