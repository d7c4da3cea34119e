"""PQN: parallel Q-learning without replay, with Q(λ) returns and layer norm (one Q head per stream).

Gallici et al., 2024, "Simplifying Deep Temporal Difference Learning": no replay buffer, no
target network, layer norm, λ-returns; one Q head per reward stream; a pure function.

``train(config, key) -> (state, metrics)`` is jittable and vmappable like PPO's.

One iteration:
 1. act ε-greedily on ``Q(s, .) = sum_k w_k Q_k(s, .)`` for ``num_steps`` steps in ``num_envs``
    environments -> ``[T, N]`` batch; build streams and apply the reward transform;
 2. per stream k compute Q(λ) targets (Watkins-style λ-returns on the greedy action
    ``a* = argmax_a sum_j w_j Q_j(s', a)``, Peng & Williams 1996; PQN's form):
    ``G_t = r_t + gamma_k c_t [(1 - λ) Q_k(s', a*) + λ G_{t+1}]``, where the recursion stops at
    episode ends (``G_{t+1}`` replaced by ``Q_k(s', a*)``, with ``s'`` the true final
    observation so truncations bootstrap correctly) and at the batch end; ``c_t = 0`` on
    terminations of episodic streams. Non-episodic streams run on through episode ends;
 3. ``update_epochs`` epochs over ``num_minibatches`` minibatches of ``sum_k 0.5 (Q_k(s, a) - G_k)^2``
    (targets fixed for the iteration); the network has layer norm after every hidden layer.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from jaxrl_rewards.agents.acting import flatten_obs, linear_epsilon, q_policy
from jaxrl_rewards.agents.base import StreamLayout, apply_transform, config_layout
from jaxrl_rewards.agents.config import EpsilonGreedyConfig, OnPolicyConfig, build_config, check_discrete, static
from jaxrl_rewards.agents.loop import guarded_optimizer, iteration_metrics, merge_segments, run_segment, run_training
from jaxrl_rewards.core import struct
from jaxrl_rewards.core.exact import exact_mean, exact_sum
from jaxrl_rewards.core.networks import MultiStreamQNetwork
from jaxrl_rewards.core.optim import radam
from jaxrl_rewards.core.rollout import EnvCarry, EpisodeTracker, evaluate, reset_envs, rollout
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey
from jaxrl_rewards.core.validation import check_in_range

DESCRIPTION = "PQN: parallel Q-learning without replay, with Q(lambda) returns and layer norm."


class PQNConfig(EpsilonGreedyConfig, OnPolicyConfig):
    """PQN configuration: ``AgentConfig``, ``OnPolicyConfig`` and ``EpsilonGreedyConfig`` fields
    (PQN's defaults) plus ``layer_norm`` (static) and ``q_lambda`` (the Q(λ) mixing, a leaf)."""

    num_envs: int = static(32)
    num_steps: int = static(64)
    hidden_sizes: tuple[int, ...] = static((128, 128))
    activation: str = static("relu")
    learning_rate: Array | float = 1e-4
    max_grad_norm: Array | float = 10.0
    num_minibatches: int = static(16)
    anneal_lr: bool = static(False)
    eps_fraction: Array | float = 0.2
    layer_norm: bool = static(True)
    q_lambda: Array | float = 0.65


#: Defaults per environment (on top of the PQNConfig defaults).
PRESETS: dict[str, dict[str, Any]] = {
    "CartPole-v1": {},
    "Breakout-MinAtar": {
        "num_envs": 128,
        "num_steps": 32,
        "num_minibatches": 32,
        "update_epochs": 2,
        "hidden_sizes": (256, 256),
        "learning_rate": 3e-4,
        "eps_end": 0.01,
        "eps_fraction": 0.1,
        "anneal_lr": True,
        "eval_max_steps": 1000,
    },
}


def validate(config: PQNConfig) -> PQNConfig:
    """Check a configuration eagerly; raise ``ConfigError`` with a clear message."""
    config.check_fields()
    check_discrete(config, "PQN")
    check_in_range(config.q_lambda, "q_lambda", 0.0, 1.0)
    return config


def make_config(env: str | Any = "CartPole-v1", env_params: Any = None, **overrides: Any) -> PQNConfig:
    """Build and validate a PQN configuration (a registered env name or an env object; any
    ``PQNConfig`` field as a keyword, on top of ``PRESETS[env]``)."""
    return build_config(PQNConfig, "PQN", PRESETS, validate, env, env_params, overrides)


class PQNState(struct.PyTreeNode):
    """Training state: parameters, optimiser, envs, transform state, episode tracker."""

    params: Any
    opt_state: Any
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


def _parts(config: PQNConfig) -> _Parts:
    n = int(config.env.action_space(config.env_params).n)
    layout = config_layout(config)
    q = MultiStreamQNetwork(n, len(layout.names), config.hidden_sizes, config.activation, config.layer_norm)
    anneal = config.num_updates_per_run if config.anneal_lr else None
    tx = guarded_optimizer(radam, config.learning_rate, config.max_grad_norm, anneal)
    return _Parts(q, tx, layout)


def init(config: PQNConfig, key: PRNGKey) -> PQNState:
    """Initial training state for one seed (pure; vmap it over keys)."""
    validate(config)
    parts = _parts(config)
    env_key, q_key, transform_key, run_key = jax.random.split(key, 4)
    envs = reset_envs(config.env, config.env_params, env_key, config.num_envs)
    params = parts.q.init(q_key, flatten_obs(envs.obs, 1)[:1])
    names = parts.layout.names
    weights = jnp.asarray([1.0 if n == "task" else 0.0 for n in names], jnp.float32)
    return PQNState(
        params=params,
        opt_state=parts.tx.init(params),
        envs=envs,
        transform_state=config.transform.init(transform_key, parts.layout.spec),
        tracker=EpisodeTracker.create(config.num_envs, 1 + len(names)),
        weights=weights,
        key=run_key,
        iteration=jnp.int32(0),
    )


def q_lambda_returns(
    rewards: Array, bootstrap: Array, nonterminal: Array, continues: Array, discounts: Array, q_lambda: Array | float
) -> Array:
    """Q(λ) targets for K streams.

    Args:
        rewards: ``[T, N, K]``.
        bootstrap: ``Q_k(s_{t+1}, a*)`` of the observation after step t, ``[T, N, K]``.
        nonterminal: 0 where step t terminated (no bootstrap), ``[T, N, K]``.
        continues: 0 where the recursion must stop after step t (episode ends of episodic
            streams); the batch end always stops it. ``[T, N, K]``.
        discounts: ``[K]``; q_lambda: scalar.

    Returns:
        ``G_t = r_t + gamma c_t [bootstrap_t + λ cont_t (G_{t+1} - bootstrap_t)]``, ``[T, N, K]``.
    """

    def step(next_return, xs):
        r, boot, nonterm, cont = xs
        mixed = boot + q_lambda * cont * (next_return - boot)
        g = r + discounts * nonterm * mixed
        return g, g

    continues = continues.at[-1].set(0.0)
    _, returns = jax.lax.scan(
        step, jnp.zeros_like(rewards[0]), (rewards, bootstrap, nonterminal, continues), reverse=True
    )
    return returns


def _greedy_values(q: Array, weights: Array) -> Array:
    """``Q_k(s, argmax_a sum_j w_j Q_j(s, a))``: ``[..., A, K] -> [..., K]``."""
    best = jnp.argmax((q * weights).sum(-1), axis=-1)
    return jnp.take_along_axis(q, best[..., None, None], axis=-2)[..., 0, :]


def _iteration(config: PQNConfig, parts: _Parts, state: PQNState) -> tuple[PQNState, Metrics]:
    key, rollout_key, update_key, transform_key = jax.random.split(state.key, 4)
    steps_done = state.iteration * config.batch_size
    epsilon = linear_epsilon(steps_done, config.total_timesteps, config.eps_start, config.eps_end, config.eps_fraction)
    act = q_policy(parts.q, state.params, state.weights, epsilon)
    envs, batch, _ = rollout(config.env, config.env_params, act, state.envs, rollout_key, config.num_steps)
    streams, transform_state, (rewards, weights, discounts, episodic) = apply_transform(
        config, state.transform_state, batch
    )

    q_of = lambda obs, nd: parts.q.apply(state.params, flatten_obs(obs, nd))
    q_obs = q_of(batch.obs, 2)
    q_final = _greedy_values(q_of(batch.next_obs, 2), weights)
    q_following = _greedy_values(jnp.concatenate([q_obs[1:], q_of(envs.obs, 1)[None]], axis=0), weights)
    mask = jnp.asarray(episodic)
    term, done = batch.terminated[..., None], batch.done[..., None]
    bootstrap = jnp.where(mask, q_final, q_following)
    nonterminal = jnp.broadcast_to(jnp.where(mask, 1.0 - term, 1.0), rewards.shape)
    continues = jnp.broadcast_to(jnp.where(mask, 1.0 - done, 1.0), rewards.shape)
    targets = q_lambda_returns(rewards, bootstrap, nonterminal, continues, discounts, config.q_lambda)

    flat = lambda x: x.reshape((config.batch_size, *x.shape[2:]))
    data = (flat(flatten_obs(batch.obs, 2)), flat(batch.action).astype(jnp.int32), flat(targets))

    def loss_fn(params, mb):
        obs, action, target = mb
        q = jnp.take_along_axis(parts.q.apply(params, obs), action[:, None, None], axis=1)[:, 0]
        return 0.5 * exact_sum(exact_mean((q - target) ** 2, 0)), exact_mean((q * weights).sum(-1))

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    def minibatch_step(carry, mb):
        params, opt_state = carry
        (loss, q_mean), grads = grad_fn(params, mb)
        updates, opt_state = parts.tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), (loss, q_mean)

    def epoch(carry, k):
        perm = jax.random.permutation(k, config.batch_size)
        shuffled = jax.tree.map(lambda x: x[perm].reshape((config.num_minibatches, -1, *x.shape[1:])), data)
        return jax.lax.scan(minibatch_step, carry, shuffled)

    (params, opt_state), (loss, q_mean) = jax.lax.scan(
        epoch, (state.params, state.opt_state), jax.random.split(update_key, config.update_epochs)
    )
    transform_state, transform_metrics = config.transform.update(transform_state, streams, batch, transform_key)
    names = parts.layout.names
    tracker, metrics = iteration_metrics(
        config, state.tracker, batch, rewards, weights, names, transform_metrics, opt_state, state.iteration
    )
    metrics.update({"loss/td": loss.mean(), "loss/q_mean": q_mean.mean(), "train/epsilon": epsilon})
    new_state = PQNState(
        params=params,
        opt_state=opt_state,
        envs=envs,
        transform_state=transform_state,
        tracker=tracker,
        weights=weights,
        key=key,
        iteration=state.iteration + 1,
    )
    return new_state, metrics


def evaluate_policy(config: PQNConfig, state: PQNState, key: PRNGKey) -> dict[str, Array]:
    """Mean undiscounted return of every env stream over ``eval_episodes`` greedy episodes."""
    greedy = q_policy(_parts(config).q, state.params, state.weights)
    return evaluate(config.env, config.env_params, greedy, key, config.eval_episodes, config.eval_max_steps)


def train_segment(config: PQNConfig, state: PQNState) -> tuple[PQNState, Metrics]:
    """``iterations_per_eval`` iterations then one evaluation."""
    parts = _parts(config)
    return run_segment(config, state, lambda s: _iteration(config, parts, s), evaluate_policy)


def train(config: PQNConfig, key: PRNGKey) -> tuple[PQNState, Metrics]:
    """Train PQN from scratch: pure and jittable. Metrics: per-iteration curves
    ``[num_iterations]`` and evaluation curves ``[num_evals]``."""
    return run_training(config, init(config, key), train_segment)


__all__ = [  # the Agent protocol (agents.base.Agent)
    "DESCRIPTION",
    "PRESETS",
    "PQNConfig",
    "PQNState",
    "evaluate_policy",
    "init",
    "make_config",
    "merge_segments",
    "q_lambda_returns",
    "train",
    "train_segment",
    "validate",
]
