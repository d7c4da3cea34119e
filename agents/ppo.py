"""Proximal Policy Optimisation with one value head per reward stream, as a pure function.

``train(config, key) -> (state, metrics)`` runs a whole training run, evaluation included, and
is jittable and vmappable: ``jax.jit(jax.vmap(train, in_axes=(None, 0)))(config, keys)`` trains
many seeds in one compiled call; batching a leaf of ``config`` (``learning_rate``, ``gamma``, a
transform's coefficient, an env parameter) sweeps it in the same call.

One iteration:
 1. roll the policy out for ``num_steps`` steps in ``num_envs`` environments -> ``[T, N]`` batch;
 2. build the env's reward streams (task, costs, components) and pass them through the reward
    transform (``apply``);
 3. per stream k, compute GAE advantages ``A_k`` and value targets with the stream's own
    discount; episodic streams stop at terminations and bootstrap from the true final
    observation on truncations, non-episodic streams run on through episode ends;
 4. combine ``A = sum_k w_k A_k`` with the streams' weights, and run ``update_epochs`` epochs
    of clipped PPO over ``num_minibatches`` minibatches; the critic learns every head;
 5. let the transform learn (``update``) and update observation statistics.

Advantage estimators are a registry (``agents/estimators.py``: ``ESTIMATORS``, ``register_estimator``)
that steps 3-4 dispatch through: ``advantage="gae"`` (default), ``"n_step"``, ``"monte_carlo"`` and
``"min_form"`` replace GAE per stream; the critic-free group estimators (``"group_relative"``, ``"gdpo"``,
``"rloo"``, ``"anchor_state"``, ...) need ``group_size >= 2``: each group of ``group_size`` consecutive envs
starts every iteration from one shared start state (:func:`shared_start`), each rollout's first episode
is scored and the steps after it masked.

Steps 3-5 live in ``agents/ppo_update.py``, shared with recurrent PPO. Every ``num_iterations / num_evals``
iterations the deterministic policy is evaluated inside the compiled run. Non-finite gradients are never applied
(``core.optim.skip_nonfinite``); the host reports their count (``experiments.runner.check_finite_metrics``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from gymnax.environments import spaces

from jaxrl_rewards.agents.acting import ActionMappedEnv, flatten_obs, scale_action
from jaxrl_rewards.agents.base import StreamLayout, apply_transform, config_layout
from jaxrl_rewards.agents.config import OnPolicyConfig, build_config, static
from jaxrl_rewards.agents.drift import check_drift
from jaxrl_rewards.agents.estimators import FLOOR_MODES, gae, get_estimator
from jaxrl_rewards.agents.loop import guarded_optimizer, merge_segments, run_segment, run_training
from jaxrl_rewards.agents.ppo_update import Minibatch, clipped_loss, estimate, finish_iteration, run_epochs
from jaxrl_rewards.core import struct
from jaxrl_rewards.core.networks import DiscretePolicy, GaussianPolicy, MultiStreamCritic
from jaxrl_rewards.core.optim import adam
from jaxrl_rewards.core.rollout import EnvCarry, EpisodeTracker, evaluate, reset_envs, rollout
from jaxrl_rewards.core.running_stats import RunningMeanStd
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey
from jaxrl_rewards.core.validation import (
    ConfigError,
    check_in_range,
    check_nonnegative,
    check_positive,
    check_positive_int,
    close_matches,
)
from jaxrl_rewards.transforms.basic import normalize_rewards

DESCRIPTION = "Proximal Policy Optimisation with one value head per reward stream (discrete and continuous)."

#: ``batch.info`` key under which PPO stores the behaviour policy's log-prob ``[T, N]`` before
#: calling the reward transform (KL penalties toward a reference policy read it).
POLICY_LOG_PROB = "policy_log_prob"


class PPOConfig(OnPolicyConfig):
    """PPO configuration: ``AgentConfig`` and ``OnPolicyConfig`` fields plus PPO's own.

    Static: ``normalize_obs`` (running observation statistics), the advantage estimator
    ``advantage`` (a name in ``ESTIMATORS``), ``n_steps`` (``n_step``), ``group_size``
    (shared-start groups) and ``std_floor_mode`` (``"max"``: ``max(std, std_floor)``, ``"add"``:
    ``std + std_floor``). Leaves: ``gae_lambda``, ``clip_eps``, ``ent_coef``, ``vf_coef``,
    ``obs_clip``, ``std_floor`` and ``anchor_weight`` (group estimators). Build one with ``make_config``.
    EPO: static ``entropy_band`` (δ; ``None`` = off), leaf ``entropy_band_coef`` (``ppo_update.clipped_loss``).
    LPO: static ``objective="drift"``, leaf ``drift_params`` (``agents.drift``; ``agents.lpo`` evolves them).
    """

    normalize_obs: bool = static(False)
    advantage: str = static("gae")
    n_steps: int = static(5)
    group_size: int = static(1)
    gae_lambda: Array | float = 0.95
    clip_eps: Array | float = 0.2
    ent_coef: Array | float = 0.01
    vf_coef: Array | float = 0.5
    obs_clip: Array | float = 10.0
    std_floor: Array | float = 0.0
    std_floor_mode: str = static("max")
    anchor_weight: Array | float = 1.0
    entropy_band: float | None = static(None)
    entropy_band_coef: Array | float = 1.0
    objective: str = static("clip")
    drift_params: Any = None


#: Defaults that work out of the box, per environment (on top of the PPOConfig defaults).
PRESETS: dict[str, dict[str, Any]] = {
    "CartPole-v1": {},
    "Acrobot-v1": {"eval_max_steps": 500},
    "Pendulum-v1": {
        "num_envs": 16,
        "num_steps": 256,
        "update_epochs": 10,
        "num_minibatches": 16,
        "learning_rate": 1e-3,
        "gamma": 0.95,
        "ent_coef": 0.0,
        "normalize_obs": True,
        "eval_max_steps": 200,
        # return-based reward normalisation: 4/4 seeds reach -145 +- 11 at 1M steps
        # (benchmarks/results/learning.md)
        "transform": normalize_rewards(),
    },
}


def validate(config: PPOConfig) -> PPOConfig:
    """Check a configuration eagerly; raise ``ConfigError`` with a clear message.

    Concrete leaves are checked element by element (so a batched sweep config is checked
    before ``vmap``); abstract leaves (tracers) are skipped.
    """
    config.check_fields()
    check_in_range(config.gae_lambda, "gae_lambda", 0.0, 1.0)
    check_positive(config.clip_eps, "clip_eps")
    check_nonnegative(config.ent_coef, "ent_coef")
    check_nonnegative(config.vf_coef, "vf_coef")
    check_positive(config.obs_clip, "obs_clip")
    if config.entropy_band is not None:
        check_nonnegative(config.entropy_band, "entropy_band")
    check_nonnegative(config.entropy_band_coef, "entropy_band_coef")
    if config.objective not in ("clip", "drift"):
        raise ConfigError(f"objective must be 'clip' or 'drift'{close_matches(config.objective, ('clip', 'drift'))}")
    if config.objective == "drift":
        check_drift(config.drift_params)
    estimator = get_estimator(config.advantage)
    check_positive_int(config.n_steps, "n_steps")
    check_positive_int(config.group_size, "group_size")
    if config.num_envs % config.group_size:
        raise ConfigError(f"group_size={config.group_size} must divide num_envs={config.num_envs}")
    if estimator.needs_group and config.group_size < 2:
        raise ConfigError(f"advantage={config.advantage!r} compares rollouts of a group: set group_size >= 2")
    check_nonnegative(config.std_floor, "std_floor")
    if config.std_floor_mode not in FLOOR_MODES:
        raise ConfigError(f"std_floor_mode={config.std_floor_mode!r} is not one of {list(FLOOR_MODES)}")
    check_nonnegative(config.anchor_weight, "anchor_weight")
    return config


def make_config(env: str | Any = "CartPole-v1", env_params: Any = None, **overrides: Any) -> PPOConfig:
    """Build and validate a PPO configuration.

    Args:
        env: a registered environment name (see ``jaxrl_rewards.envs.registered_envs``) or an
            environment object (then pass ``env_params`` too, or its defaults are used).
        env_params: environment parameters; default: the registry's/env's defaults.
        **overrides: any ``PPOConfig`` field (applied on top of ``PRESETS[env]``).
    """
    return build_config(PPOConfig, "PPO", PRESETS, validate, env, env_params, overrides)


# --------------------------------------------------------------------------- state


class PPOState(struct.PyTreeNode):
    """Everything a run carries from one iteration to the next (checkpointable pytree).

    Attributes:
        params: ``{"actor": ..., "critic": ...}`` network parameters.
        opt_state: optimiser state.
        obs_stats: running observation statistics (used when ``normalize_obs``).
        envs: the environments' states and current observations ``[N, ...]``.
        transform_state: the reward transform's state.
        tracker: per-episode sums of the raw reward and every stream.
        key: PRNG key for the rest of the run.
        iteration: iterations done so far (int32 scalar).
    """

    params: Any
    opt_state: Any
    obs_stats: RunningMeanStd
    envs: EnvCarry
    transform_state: Any
    tracker: EpisodeTracker
    key: PRNGKey
    iteration: Array


class _Parts(NamedTuple):
    """Objects derived from a config at trace time (networks, optimiser, stream layout)."""

    actor: nn.Module
    critic: nn.Module
    tx: optax.GradientTransformation
    layout: StreamLayout


def actor_network(config: PPOConfig) -> nn.Module:
    """PPO's policy network for ``config``'s action space: ``apply(params["actor"], obs [B, D])``
    (flat, normalised observations) gives a distrax distribution over raw policy actions
    (categorical for discrete spaces; Gaussian in ``[-1, 1]`` units for flat continuous ones)."""
    action_space = config.env.action_space(config.env_params)
    if isinstance(action_space, spaces.Discrete):
        return DiscretePolicy(int(action_space.n), config.hidden_sizes, config.activation)
    shape = tuple(action_space.shape)
    if len(shape) != 1:
        raise ConfigError(f"continuous PPO needs a flat action space; got shape {shape}")
    return GaussianPolicy(shape[0], config.hidden_sizes, config.activation)


def _action_map(config: PPOConfig) -> Callable[[Array], Array]:
    """Raw policy actions -> env actions: identity for discrete spaces; continuous actions live
    in ``[-1, 1]`` units and are scaled to the bounds (unbounded dimensions pass through)."""
    action_space = config.env.action_space(config.env_params)
    if isinstance(action_space, spaces.Discrete):
        return lambda action: action
    shape = tuple(action_space.shape)
    low = jnp.broadcast_to(jnp.asarray(action_space.low, jnp.float32), shape)
    high = jnp.broadcast_to(jnp.asarray(action_space.high, jnp.float32), shape)
    return lambda action: scale_action(action, low, high)


def env_with_action_map(config: PPOConfig) -> ActionMappedEnv:
    """``config.env`` taking PPO's raw policy actions (what ``batch.action`` holds, ``[N, ...]``)
    and mapping them to the env's action bounds, as PPO's own rollouts and evaluation do."""
    return ActionMappedEnv(config.env, _action_map(config))


def _normalize(config: PPOConfig, stats: RunningMeanStd, obs: Array, batch_ndim: int) -> Array:
    flat = flatten_obs(obs, batch_ndim)
    return stats.normalize(flat, config.obs_clip) if config.normalize_obs else flat


def policy_fn(config: PPOConfig, state: PPOState) -> Callable[[Any], distrax.Distribution]:
    """The policy of a single-seed ``state``: ``obs [N, ...] -> distribution`` over raw policy
    actions ``[N, ...]`` (observations flattened and, with ``normalize_obs``, normalised with the
    state's statistics, as in training). Step the env with :func:`env_with_action_map`."""
    actor = actor_network(config)
    return lambda obs: actor.apply(state.params["actor"], _normalize(config, state.obs_stats, obs, 1))


def make_optimizer(config: PPOConfig) -> optax.GradientTransformation:
    """Adam (eps 1e-5) after global-norm clipping at ``max_grad_norm``, skipping non-finite
    updates; with ``anneal_lr`` the rate decays linearly to 0 over the run's minibatch updates."""
    return guarded_optimizer(
        lambda lr: adam(lr, eps=1e-5),
        config.learning_rate,
        config.max_grad_norm,
        config.num_updates_per_run if config.anneal_lr else None,
    )


def _parts(config: PPOConfig) -> _Parts:
    actor = actor_network(config)
    # the example batch carries the behaviour log-prob, as PPO's real batches do
    layout = config_layout(config, {POLICY_LOG_PROB: jnp.zeros((1, config.num_envs), jnp.float32)})
    critic = MultiStreamCritic(len(layout.names), config.hidden_sizes, config.activation)
    return _Parts(actor, critic, make_optimizer(config), layout)


# --------------------------------------------------------------------------- init / iterate


def init(config: PPOConfig, key: PRNGKey) -> PPOState:
    """Initial training state for one seed (pure; vmap it over keys)."""
    validate(config)
    parts = _parts(config)
    env_key, actor_key, critic_key, transform_key, run_key = jax.random.split(key, 5)
    envs = reset_envs(config.env, config.env_params, env_key, config.num_envs)
    obs_dim = flatten_obs(envs.obs, 1).shape[-1]
    dummy = jnp.zeros((1, obs_dim), jnp.float32)
    params = {"actor": parts.actor.init(actor_key, dummy), "critic": parts.critic.init(critic_key, dummy)}
    return PPOState(
        params=params,
        opt_state=parts.tx.init(params),
        obs_stats=RunningMeanStd.create((obs_dim,)),
        envs=envs,
        transform_state=config.transform.init(transform_key, parts.layout.spec),
        tracker=EpisodeTracker.create(config.num_envs, 1 + len(parts.layout.names)),
        key=run_key,
        iteration=jnp.int32(0),
    )


def shared_start(config: PPOConfig, key: PRNGKey) -> EnvCarry:
    """Reset all ``num_envs`` envs so that each group of ``group_size`` consecutive envs starts
    from the same state (one reset key per group); the envs' later randomness stays independent."""
    keys = jnp.repeat(jax.random.split(key, config.num_envs // config.group_size), config.group_size, axis=0)
    obs, env_state = jax.vmap(config.env.reset, in_axes=(0, None))(keys, config.env_params)
    return EnvCarry(env_state=env_state, obs=obs)


def _iteration(config: PPOConfig, parts: _Parts, state: PPOState) -> tuple[PPOState, Metrics]:
    key, rollout_key, update_key, transform_key = jax.random.split(state.key, 4)
    stats = state.obs_stats

    def act(k, obs):
        dist = parts.actor.apply(state.params["actor"], _normalize(config, stats, obs, 1))
        action, log_prob = dist.sample_and_log_prob(seed=k)
        return action, log_prob

    env = env_with_action_map(config)
    start = state.envs if config.group_size == 1 else shared_start(config, jax.random.fold_in(rollout_key, 1))
    envs, batch, log_prob = rollout(env, config.env_params, act, start, rollout_key, config.num_steps)
    # transforms that regularise toward a reference policy (KL penalties) read the behaviour log-prob
    batch = batch.replace(info={**batch.info, POLICY_LOG_PROB: log_prob})

    # reward streams, then per-stream advantages of the configured estimator
    streams, transform_state, (rewards, weights, discounts, episodic) = apply_transform(
        config, state.transform_state, batch
    )
    critic = lambda obs, nd: parts.critic.apply(state.params["critic"], _normalize(config, stats, obs, nd))
    values = critic(batch.obs, 2)
    adv = estimate(
        config, batch, rewards, weights, discounts, episodic, values, critic(batch.next_obs, 2), critic(envs.obs, 1)
    )

    # PPO epochs over shuffled minibatches of the flat [T * N] batch
    flat = lambda x: x.reshape((config.batch_size, *x.shape[2:]))
    data = Minibatch(
        obs=jax.tree.map(flat, batch.obs),
        action=flat(batch.action),
        log_prob=flat(log_prob),
        advantage=flat(adv.combined),
        value=flat(values),
        target=flat(adv.targets),
        mask=None if adv.mask is None else flat(adv.mask),
    )

    def loss(params, mb):
        obs = _normalize(config, stats, mb.obs, 1)
        dist = parts.actor.apply(params["actor"], obs)
        extra = {"progress": state.iteration / config.num_iterations} if config.objective == "drift" else {}
        return clipped_loss(config, dist, parts.critic.apply(params["critic"], obs), mb, **extra)

    def minibatches(k):
        perm = jax.random.permutation(k, config.batch_size)
        return jax.tree.map(lambda x: x[perm].reshape((config.num_minibatches, -1, *x.shape[1:])), data)

    (params, opt_state), aux = run_epochs(
        config, parts.tx, loss, state.params, state.opt_state, update_key, minibatches
    )

    names = parts.layout.names
    transform_state, tracker, metrics = finish_iteration(
        config, names, state, batch, streams, transform_state, rewards, weights, opt_state, aux, transform_key
    )
    obs_stats = stats.update(flatten_obs(batch.obs, 2)) if config.normalize_obs else stats
    new_state = PPOState(
        params=params,
        opt_state=opt_state,
        obs_stats=obs_stats,
        envs=envs,
        transform_state=transform_state,
        tracker=tracker,
        key=key,
        iteration=state.iteration + 1,
    )
    return new_state, metrics


def evaluate_policy(config: PPOConfig, state: PPOState, key: PRNGKey) -> dict[str, Array]:
    """Mean undiscounted return of every env stream over ``eval_episodes`` episodes of the
    deterministic policy (mode of the action distribution)."""
    policy = policy_fn(config, state)
    greedy = lambda k, obs: (policy(obs).mode(), None)
    return evaluate(
        env_with_action_map(config), config.env_params, greedy, key, config.eval_episodes, config.eval_max_steps
    )


def train_segment(config: PPOConfig, state: PPOState) -> tuple[PPOState, Metrics]:
    """Run ``iterations_per_eval`` iterations then one evaluation.

    Returns:
        The new state and metrics: per-iteration ones ``[iterations_per_eval]`` and
        evaluation ones (prefixed ``eval/``) as scalars.
    """
    parts = _parts(config)
    return run_segment(config, state, lambda s: _iteration(config, parts, s), evaluate_policy)


def train(config: PPOConfig, key: PRNGKey) -> tuple[PPOState, Metrics]:
    """Train PPO from scratch: pure and jittable.

    Returns:
        The final state and metrics: per-iteration curves ``[num_iterations]`` (``train/``,
        ``loss/``, ``transform/``, ``timesteps``, ``nonfinite_updates``) and evaluation
        curves ``[num_evals]`` (``eval/return/<stream>``, ``eval/length``, ``eval/timesteps``).
    """
    return run_training(config, init(config, key), train_segment)


__all__ = [  # the Agent protocol (agents.base.Agent) and PPO's public helpers
    "DESCRIPTION",
    "POLICY_LOG_PROB",
    "PRESETS",
    "PPOConfig",
    "PPOState",
    "actor_network",
    "env_with_action_map",
    "evaluate_policy",
    "gae",
    "init",
    "make_config",
    "make_optimizer",
    "merge_segments",
    "policy_fn",
    "shared_start",
    "train",
    "train_segment",
    "validate",
]
