"""Recurrent PPO: PPO with a GRU policy/critic for partially observed tasks, as a pure function.

Same contract and configuration as ``jaxrl_rewards.agents.ppo`` (``RecurrentPPOConfig`` adds
``hidden_size``), and the same update: bootstrapping, the estimator registry, the clipped
objective, the minibatch epochs and the iteration tail are PPO's (``agents/ppo_update.py``), so
it reports the same metrics (``loss/approx_kl``, ``loss/clip_fraction``, ``loss/grad_norm``).
The differences:

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

Discrete actions only; critic-based estimators only (no shared-start groups); no observation
normalisation. Evaluation runs the deterministic policy (argmax) with its own hidden state.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from gymnax.environments import spaces

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.agents.acting import flatten_obs
from jaxrl_rewards.agents.base import StreamLayout, apply_transform, config_layout
from jaxrl_rewards.agents.config import build_config, static
from jaxrl_rewards.agents.estimators import get_estimator
from jaxrl_rewards.agents.loop import merge_segments, run_segment, run_training
from jaxrl_rewards.agents.ppo import POLICY_LOG_PROB
from jaxrl_rewards.agents.ppo_update import Minibatch, clipped_loss, estimate, finish_iteration, run_epochs
from jaxrl_rewards.core import struct
from jaxrl_rewards.core.networks import RecurrentActorCritic
from jaxrl_rewards.core.rollout import EnvCarry, EpisodeTracker, reset_envs, step_envs
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey
from jaxrl_rewards.core.validation import ConfigError, check_positive_int

DESCRIPTION = "Recurrent PPO: PPO with a GRU policy and critic for partially observed tasks."


class RecurrentPPOConfig(ppo.PPOConfig):
    """``PPOConfig`` plus the GRU width ``hidden_size`` (static)."""

    hidden_size: int = static(64)


PRESETS: dict[str, dict[str, Any]] = {
    "MemoryChain-bsuite": {"num_envs": 16, "num_steps": 32, "learning_rate": 1e-3, "eval_max_steps": 20},
}


def validate(config: RecurrentPPOConfig) -> RecurrentPPOConfig:
    """PPO's checks plus: discrete actions, ``num_minibatches`` divides ``num_envs``, an estimator
    without shared-start groups, ``group_size == 1`` and ``normalize_obs=False``."""
    ppo.validate(config)
    check_positive_int(config.hidden_size, "hidden_size")
    if not isinstance(config.env.action_space(config.env_params), spaces.Discrete):
        raise ConfigError("recurrent PPO supports discrete action spaces")
    if config.num_envs % config.num_minibatches:
        raise ConfigError(
            f"recurrent PPO splits minibatches by environment: num_minibatches={config.num_minibatches} "
            f"must divide num_envs={config.num_envs}"
        )
    if get_estimator(config.advantage).needs_group or config.group_size != 1 or config.normalize_obs:
        raise ConfigError(
            "recurrent PPO supports critic-based estimators (no group estimators), group_size=1 and "
            f"normalize_obs=False; got advantage={config.advantage!r}, group_size={config.group_size}, "
            f"normalize_obs={config.normalize_obs}"
        )
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
    adv = estimate(config, batch, rewards, weights, discounts, episodic, values, final_values, last_values)
    # whole-environment sequences [T, N]: minibatches split the envs, never the time axis
    data = Minibatch(flatten_obs(batch.obs, 2), batch.action, log_prob, adv.combined, values, adv.targets)

    def loss(p, idx):
        mb, reset = jax.tree.map(lambda x: x[:, idx], (data, resets))
        _, logits, value = parts.net.apply(p, state.hidden[idx], mb.obs, reset)
        return clipped_loss(config, distrax.Categorical(logits=logits), value, mb)

    def minibatches(k):
        return jax.random.permutation(k, config.num_envs).reshape((config.num_minibatches, -1))

    (new_params, opt_state), aux = run_epochs(config, parts.tx, loss, params, state.opt_state, update_key, minibatches)
    names = parts.layout.names
    transform_state, tracker, metrics = finish_iteration(
        config, names, state, batch, streams, transform_state, rewards, weights, opt_state, aux, transform_key
    )
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


__all__ = [  # the Agent protocol (agents.base.Agent)
    "DESCRIPTION",
    "PRESETS",
    "RecurrentPPOConfig",
    "RecurrentPPOState",
    "evaluate_policy",
    "init",
    "make_config",
    "merge_segments",
    "train",
    "train_segment",
    "validate",
]
