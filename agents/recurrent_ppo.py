"""Recurrent PPO: PPO with a GRU policy/critic for partially observed tasks, as a pure function.

Same contract and configuration as ``jaxrl_rewards.agents.ppo`` (``RecurrentPPOConfig`` adds
``hidden_size``), same per-stream GAE and clipped objective, with these differences:

* the network is ``RecurrentActorCritic`` (embedding -> GRU -> policy head and one value head
  per stream); its hidden state ``[N, H]`` is part of the training state, so it is **carried
  across rollout boundaries**, and it is **reset to zero at episode starts** (the step after a
  ``done``);
* minibatches are groups of whole environments (``num_minibatches`` must divide ``num_envs``):
  each minibatch replays its ``[T, n]`` sequences from the hidden state stored at the start of
  the rollout, with the same resets, so the gradient flows through time (truncated BPTT over
  the rollout);
* truncations bootstrap from ``V(final observation)`` computed by one more GRU step from the
  hidden state after the last step of the episode.

Discrete actions only. Evaluation runs the deterministic policy (argmax) with its own hidden state.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct
from gymnax.environments import spaces

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.agents.base import (
    StreamLayout,
    apply_transform,
    build_config,
    config_layout,
    flatten_obs,
    iteration_metrics,
    merge_segments,  # noqa: F401 (every agent module has merge_segments)
    run_segment,
    run_training,
)
from jaxrl_rewards.agents.estimators import gae
from jaxrl_rewards.agents.ppo import POLICY_LOG_PROB
from jaxrl_rewards.core.networks import RecurrentActorCritic
from jaxrl_rewards.core.rollout import EnvCarry, EpisodeTracker, reset_envs, step_envs
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey
from jaxrl_rewards.core.validation import ConfigError, check_positive_int

SWEEPABLE = ppo.SWEEPABLE


class RecurrentPPOConfig(ppo.PPOConfig):
    """``PPOConfig`` plus the GRU width ``hidden_size`` (static)."""

    hidden_size: int = struct.field(pytree_node=False, default=64)


PRESETS: dict[str, dict[str, Any]] = {
    "MemoryChain-bsuite": {"num_envs": 16, "num_steps": 32, "learning_rate": 1e-3, "eval_max_steps": 20},
}


def validate(config: RecurrentPPOConfig) -> RecurrentPPOConfig:
    """PPO's checks plus: discrete actions, GAE, ``num_minibatches`` divides ``num_envs``."""
    ppo.validate(config)
    check_positive_int(config.hidden_size, "hidden_size")
    if not isinstance(config.env.action_space(config.env_params), spaces.Discrete):
        raise ConfigError("recurrent PPO supports discrete action spaces")
    if config.num_envs % config.num_minibatches:
        raise ConfigError(
            f"recurrent PPO splits minibatches by environment: num_minibatches={config.num_minibatches} "
            f"must divide num_envs={config.num_envs}"
        )
    if config.advantage != "gae" or config.group_size != 1 or config.normalize_obs:
        raise ConfigError("recurrent PPO supports advantage='gae', group_size=1 and normalize_obs=False")
    return config


def make_config(env: str | Any = "MemoryChain-bsuite", env_params: Any = None, **overrides: Any) -> RecurrentPPOConfig:
    """Build and validate a recurrent PPO configuration (as ``ppo.make_config``)."""
    return build_config(RecurrentPPOConfig, "recurrent PPO", PRESETS, validate, env, env_params, overrides)


class RecurrentPPOState(struct.PyTreeNode):
    """PPO's state plus the GRU hidden state ``[N, H]`` and the last step's ``done`` flags ``[N]``."""

    params: Any
    opt_state: Any
    envs: EnvCarry
    hidden: Array
    prev_done: Array
    transform_state: Any
    tracker: EpisodeTracker
    key: PRNGKey
    iteration: Array


class _Parts(NamedTuple):
    net: nn.Module
    tx: optax.GradientTransformation
    layout: StreamLayout


def _parts(config: RecurrentPPOConfig) -> _Parts:
    n = int(config.env.action_space(config.env_params).n)
    # the example batch carries the behaviour log-prob, as the real batches do (PPO's contract)
    layout = config_layout(config, {POLICY_LOG_PROB: jnp.zeros((1, config.num_envs), jnp.float32)})
    net = RecurrentActorCritic(n, len(layout.names), config.hidden_size, config.activation)
    return _Parts(net, ppo.make_optimizer(config), layout)


def init(config: RecurrentPPOConfig, key: PRNGKey) -> RecurrentPPOState:
    """Initial training state for one seed (pure; vmap it over keys)."""
    validate(config)
    parts = _parts(config)
    env_key, net_key, transform_key, run_key = jax.random.split(key, 4)
    envs = reset_envs(config.env, config.env_params, env_key, config.num_envs)
    obs = flatten_obs(envs.obs, 1)
    hidden = jnp.zeros((config.num_envs, config.hidden_size), jnp.float32)
    params = parts.net.init(net_key, hidden[:1], obs[None, :1], jnp.zeros((1, 1), bool))
    return RecurrentPPOState(
        params=params,
        opt_state=parts.tx.init(params),
        envs=envs,
        hidden=hidden,
        prev_done=jnp.ones((config.num_envs,), bool),
        transform_state=config.transform.init(transform_key, parts.layout.spec),
        tracker=EpisodeTracker.create(config.num_envs, 1 + len(parts.layout.names)),
        key=run_key,
        iteration=jnp.int32(0),
    )


def _step_net(parts: _Parts, params: Any, hidden: Array, obs: Array, reset: Array):
    """One GRU step on ``obs [N, ...]``: ``(hidden, logits [N, A], values [N, K])``."""
    hidden, logits, values = parts.net.apply(params, hidden, flatten_obs(obs, 1)[None], reset[None])
    return hidden, logits[0], values[0]


def _iteration(config: RecurrentPPOConfig, parts: _Parts, state: RecurrentPPOState):
    key, rollout_key, update_key, transform_key = jax.random.split(state.key, 4)
    params = state.params

    def step(carry, k):
        envs, hidden, prev_done = carry
        policy_key, env_key = jax.random.split(k)
        hidden, logits, value = _step_net(parts, params, hidden, envs.obs, prev_done)
        action, log_prob = distrax.Categorical(logits=logits).sample_and_log_prob(seed=policy_key)
        envs, tr = step_envs(config.env, config.env_params, env_key, envs, action)
        _, _, final_value = _step_net(parts, params, hidden, tr.next_obs, jnp.zeros_like(prev_done))
        return (envs, hidden, tr.done), (tr, log_prob, value, final_value, prev_done)

    carry = (state.envs, state.hidden, state.prev_done)
    (envs, hidden, prev_done), (batch, log_prob, values, final_values, resets) = jax.lax.scan(
        step, carry, jax.random.split(rollout_key, config.num_steps)
    )
    _, _, last_values = _step_net(parts, params, hidden, envs.obs, prev_done)
    batch = batch.replace(info={**batch.info, POLICY_LOG_PROB: log_prob})

    streams, transform_state, (rewards, weights, discounts, episodic) = apply_transform(
        config, state.transform_state, batch
    )
    mask = jnp.asarray(episodic)
    following = jnp.concatenate([values[1:], last_values[None]], axis=0)
    next_values = jnp.where(mask, final_values, following)
    nonterminal = jnp.where(mask, 1.0 - batch.terminated[..., None], 1.0)
    continues = jnp.where(mask, 1.0 - batch.done[..., None], 1.0)
    advantages, targets = gae(rewards, values, next_values, nonterminal, continues, discounts, config.gae_lambda)
    combined = (advantages * weights).sum(-1)

    data = (flatten_obs(batch.obs, 2), resets, batch.action, log_prob, combined, values, targets)

    def loss_fn(p, mb, h0):
        obs, reset, action, old_logp, adv, old_v, target = mb
        _, logits, value = parts.net.apply(p, h0, obs, reset)
        dist = distrax.Categorical(logits=logits)
        ratio = jnp.exp(dist.log_prob(action) - old_logp)
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        clipped = jnp.clip(ratio, 1.0 - config.clip_eps, 1.0 + config.clip_eps)
        policy_loss = -jnp.minimum(ratio * adv, clipped * adv).mean()
        v_clipped = old_v + jnp.clip(value - old_v, -config.clip_eps, config.clip_eps)
        value_loss = 0.5 * jnp.maximum((value - target) ** 2, (v_clipped - target) ** 2).mean((0, 1)).sum()
        entropy = dist.entropy().mean()
        total = policy_loss + config.vf_coef * value_loss - config.ent_coef * entropy
        return total, {"loss/policy": policy_loss, "loss/value": value_loss, "loss/entropy": entropy}

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
    size = config.num_envs // config.num_minibatches

    def epoch(carry, k):
        perm = jax.random.permutation(k, config.num_envs).reshape((config.num_minibatches, size))

        def minibatch(c, idx):
            p, opt_state = c
            mb = jax.tree.map(lambda x: x[:, idx], data)
            (_, aux), grads = grad_fn(p, mb, state.hidden[idx])
            updates, opt_state = parts.tx.update(grads, opt_state, p)
            return (optax.apply_updates(p, updates), opt_state), aux

        return jax.lax.scan(minibatch, carry, perm)

    (new_params, opt_state), aux = jax.lax.scan(
        epoch, (params, state.opt_state), jax.random.split(update_key, config.update_epochs)
    )
    transform_state, transform_metrics = config.transform.update(transform_state, streams, batch, transform_key)
    names = parts.layout.names
    tracker, metrics = iteration_metrics(
        config, state.tracker, batch, rewards, weights, names, transform_metrics, opt_state, state.iteration
    )
    metrics.update({k: v.mean() for k, v in aux.items()})
    new_state = RecurrentPPOState(
        params=new_params,
        opt_state=opt_state,
        envs=envs,
        hidden=hidden,
        prev_done=prev_done,
        transform_state=transform_state,
        tracker=tracker,
        key=key,
        iteration=state.iteration + 1,
    )
    return new_state, metrics


def evaluate_policy(config: RecurrentPPOConfig, state: RecurrentPPOState, key: PRNGKey) -> dict[str, Array]:
    """Mean undiscounted task return (and length) of ``eval_episodes`` episodes of the greedy
    recurrent policy, each starting from a zero hidden state."""
    parts = _parts(config)
    reset_key, run_key = jax.random.split(key)
    n = config.eval_episodes
    envs = reset_envs(config.env, config.env_params, reset_key, n)

    def step(carry, k):
        envs, hidden, first, total, length, alive = carry
        hidden, logits, _ = _step_net(parts, state.params, hidden, envs.obs, first)
        envs, tr = step_envs(config.env, config.env_params, k, envs, jnp.argmax(logits, -1).astype(jnp.int32))
        alive_f = alive.astype(jnp.float32)
        total, length = total + tr.reward * alive_f, length + alive_f
        return (envs, hidden, jnp.zeros_like(first), total, length, alive & ~tr.done), None

    init_carry = (
        envs,
        jnp.zeros((n, config.hidden_size), jnp.float32),
        jnp.ones((n,), bool),
        jnp.zeros((n,), jnp.float32),
        jnp.zeros((n,), jnp.float32),
        jnp.ones((n,), bool),
    )
    (_, _, _, total, length, _), _ = jax.lax.scan(step, init_carry, jax.random.split(run_key, config.eval_max_steps))
    return {"return/task": total.mean(), "length": length.mean()}


def train_segment(config: RecurrentPPOConfig, state: RecurrentPPOState) -> tuple[RecurrentPPOState, Metrics]:
    """``iterations_per_eval`` iterations then one evaluation."""
    parts = _parts(config)
    return run_segment(config, state, lambda s: _iteration(config, parts, s), evaluate_policy)


def train(config: RecurrentPPOConfig, key: PRNGKey) -> tuple[RecurrentPPOState, Metrics]:
    """Train recurrent PPO from scratch: pure and jittable (metrics as ``ppo.train``)."""
    return run_training(config, init(config, key), train_segment)
