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

Advantage estimators are swappable (``agents/estimators.py``): ``advantage="gae"`` (default),
``"n_step"`` (``n_steps``), ``"monte_carlo"``, ``"min_form"`` replace step 3's GAE per stream;
the critic-free group estimators ``"group_relative"`` (``std_floor``), ``"rloo"`` and
``"anchor_state"`` (``anchor_weight``) need ``group_size >= 2``: every iteration then resets the
envs so that each group of ``group_size`` consecutive envs starts from one shared start state,
scores each rollout's first episode by its weighted return, and masks the steps after it.
``group_size > 1`` alone (with a critic-based estimator) gives shared-start rollouts too.

Every ``num_iterations / num_evals`` iterations the deterministic policy is evaluated inside the
compiled run. Non-finite gradients are never applied (``jaxrl_rewards.core.optim.skip_nonfinite``) and are counted
in the metrics so the host can report them (``jaxrl_rewards.experiments.runner.check_finite_metrics``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct
from gymnax.environments import spaces

from jaxrl_rewards.agents import estimators
from jaxrl_rewards.agents.base import (
    ActionMappedEnv,
    IterationSchedule,
    StreamLayout,
    apply_transform,
    build_config,
    check_agent_config,
    check_minibatches,
    config_layout,
    flatten_obs,
    guarded_optimizer,
    iteration_metrics,
    merge_segments,  # noqa: F401 (re-exported: every agent module has merge_segments)
    run_segment,
    run_training,
    scale_action,
)
from jaxrl_rewards.agents.estimators import ESTIMATORS, GROUP_ESTIMATORS, gae
from jaxrl_rewards.core.networks import DiscretePolicy, GaussianPolicy, MultiStreamCritic
from jaxrl_rewards.core.rollout import EnvCarry, EpisodeTracker, evaluate, reset_envs, rollout
from jaxrl_rewards.core.running_stats import RunningMeanStd
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey
from jaxrl_rewards.core.validation import (
    ConfigError,
    check_in_range,
    check_nonnegative,
    check_positive,
    check_positive_int,
)
from jaxrl_rewards.transforms.basic import normalize_rewards
from jaxrl_rewards.transforms.core import RewardTransform, identity

#: Hyperparameters (pytree leaves) that a sweep may batch.
SWEEPABLE = ("learning_rate", "gamma", "gae_lambda", "clip_eps", "ent_coef", "vf_coef", "max_grad_norm", "obs_clip")


#: ``batch.info`` key under which PPO stores the behaviour policy's log-prob ``[T, N]`` before
#: calling the reward transform (KL penalties toward a reference policy read it).
POLICY_LOG_PROB = "policy_log_prob"


class PPOConfig(IterationSchedule, struct.PyTreeNode):
    """PPO configuration: static structure plus sweepable leaves.

    Static (``pytree_node=False``): the environment object, sizes, network shape, switches.
    Leaves: ``env_params``, the ``transform`` (its hyperparameters), and the numbers in
    ``SWEEPABLE``. Build one with ``make_config``.
    """

    env: Any = struct.field(pytree_node=False)
    env_params: Any
    transform: RewardTransform = struct.field(default_factory=identity)
    # sizes and switches (static)
    num_envs: int = struct.field(pytree_node=False, default=4)
    num_steps: int = struct.field(pytree_node=False, default=128)
    total_timesteps: int = struct.field(pytree_node=False, default=500_000)
    update_epochs: int = struct.field(pytree_node=False, default=4)
    num_minibatches: int = struct.field(pytree_node=False, default=4)
    hidden_sizes: tuple[int, ...] = struct.field(pytree_node=False, default=(64, 64))
    activation: str = struct.field(pytree_node=False, default="tanh")
    anneal_lr: bool = struct.field(pytree_node=False, default=True)
    normalize_obs: bool = struct.field(pytree_node=False, default=False)
    num_evals: int = struct.field(pytree_node=False, default=10)
    eval_episodes: int = struct.field(pytree_node=False, default=8)
    eval_max_steps: int = struct.field(pytree_node=False, default=500)
    env_name: str = struct.field(pytree_node=False, default="")
    # advantage estimator (``agents/estimators.py``) and shared-start rollouts
    advantage: str = struct.field(pytree_node=False, default="gae")
    n_steps: int = struct.field(pytree_node=False, default=5)
    group_size: int = struct.field(pytree_node=False, default=1)
    # sweepable hyperparameters (leaves)
    learning_rate: Array | float = 2.5e-4
    gamma: Array | float = 0.99
    gae_lambda: Array | float = 0.95
    clip_eps: Array | float = 0.2
    ent_coef: Array | float = 0.01
    vf_coef: Array | float = 0.5
    max_grad_norm: Array | float = 0.5
    obs_clip: Array | float = 10.0
    std_floor: Array | float = 0.0
    anchor_weight: Array | float = 1.0

    @property
    def batch_size(self) -> int:
        """Transitions per iteration, ``num_envs * num_steps`` (= ``steps_per_iteration``)."""
        return self.steps_per_iteration


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
    check_agent_config(config, sizes=("update_epochs", "num_minibatches"))
    check_minibatches(config)
    check_positive(config.learning_rate, "learning_rate")
    check_in_range(config.gamma, "gamma", 0.0, 1.0)
    check_in_range(config.gae_lambda, "gae_lambda", 0.0, 1.0)
    check_positive(config.clip_eps, "clip_eps")
    check_nonnegative(config.ent_coef, "ent_coef")
    check_nonnegative(config.vf_coef, "vf_coef")
    check_positive(config.max_grad_norm, "max_grad_norm")
    check_positive(config.obs_clip, "obs_clip")
    if config.advantage not in ESTIMATORS:
        raise ConfigError(f"unknown advantage estimator {config.advantage!r}; choose one of {list(ESTIMATORS)}")
    check_positive_int(config.n_steps, "n_steps")
    check_positive_int(config.group_size, "group_size")
    if config.num_envs % config.group_size:
        raise ConfigError(f"group_size={config.group_size} must divide num_envs={config.num_envs}")
    if config.advantage in GROUP_ESTIMATORS and config.group_size < 2:
        raise ConfigError(f"advantage={config.advantage!r} compares rollouts of a group: set group_size >= 2")
    check_nonnegative(config.std_floor, "std_floor")
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
    updates_per_run = config.num_iterations * config.update_epochs * config.num_minibatches
    return guarded_optimizer(
        lambda lr: optax.adam(lr, eps=1e-5),
        config.learning_rate,
        config.max_grad_norm,
        updates_per_run if config.anneal_lr else None,
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


class _Minibatch(NamedTuple):
    obs: Array
    action: Array
    log_prob: Array
    advantage: Array
    value: Array
    target: Array
    mask: Array | None = None  # group estimators: 1 on steps of each rollout's first episode


def _ppo_loss(config: PPOConfig, parts: _Parts, params, stats: RunningMeanStd, mb: _Minibatch):
    obs = _normalize(config, stats, mb.obs, 1)
    dist = parts.actor.apply(params["actor"], obs)
    log_prob = dist.log_prob(mb.action)
    ratio = jnp.exp(log_prob - mb.log_prob)
    clipped = jnp.clip(ratio, 1.0 - config.clip_eps, 1.0 + config.clip_eps)
    if mb.mask is None:
        adv = (mb.advantage - mb.advantage.mean()) / (mb.advantage.std() + 1e-8)
        policy_loss = -jnp.minimum(ratio * adv, clipped * adv).mean()
    else:  # group estimators: already normalised within groups; only first-episode steps count
        adv = mb.advantage
        count = jnp.maximum(mb.mask.sum(), 1.0)
        policy_loss = -(mb.mask * jnp.minimum(ratio * adv, clipped * adv)).sum() / count
    value = parts.critic.apply(params["critic"], obs)
    value_clipped = mb.value + jnp.clip(value - mb.value, -config.clip_eps, config.clip_eps)
    value_loss = 0.5 * jnp.maximum((value - mb.target) ** 2, (value_clipped - mb.target) ** 2).mean(0).sum()
    entropy = dist.entropy().mean()
    total = policy_loss + config.vf_coef * value_loss - config.ent_coef * entropy
    aux = {
        "loss/policy": policy_loss,
        "loss/value": value_loss,
        "loss/entropy": entropy,
        "loss/approx_kl": ((ratio - 1.0) - jnp.log(ratio)).mean(),
        "loss/clip_fraction": (jnp.abs(ratio - 1.0) > config.clip_eps).mean(),
    }
    return total, aux


def _shared_start(config: PPOConfig, key: PRNGKey) -> EnvCarry:
    """Reset all envs so that each group of ``group_size`` consecutive envs starts from the same
    state (one reset key per group); the envs' later randomness stays independent."""
    keys = jnp.repeat(jax.random.split(key, config.num_envs // config.group_size), config.group_size, axis=0)
    obs, env_state = jax.vmap(config.env.reset, in_axes=(0, None))(keys, config.env_params)
    return EnvCarry(env_state=env_state, obs=obs)


def _other_advantages(config: PPOConfig, batch, args, discounts: Array, weights: Array):
    """Advantages of the non-default estimators: ``(combined [T, N], value targets [T, N, K], mask)``.

    Group estimators score each rollout's first episode by its undiscounted weighted return
    ``sum_k w_k R_k`` and give every step of that episode the rollout's advantage (steps after
    it are masked out); the critic keeps learning GAE targets (reported, unused by the policy).
    """
    rewards = args[0]
    if config.advantage == "n_step":
        advantages, targets = estimators.n_step(*args, discounts, config.n_steps)
    elif config.advantage == "monte_carlo":
        advantages, targets = estimators.monte_carlo(*args, discounts)
    elif config.advantage == "min_form":
        advantages, targets = estimators.min_form(*args)
    else:
        _, targets = gae(*args, discounts, config.gae_lambda)
        reward = (rewards * weights).sum(-1)
        mask, episode_return = estimators.first_episode(reward, batch.done)
        if config.advantage == "rloo":
            per_rollout = estimators.rloo(episode_return, config.group_size)
        else:
            per_rollout = estimators.group_relative(episode_return, config.group_size, config.std_floor)
        combined = jnp.broadcast_to(per_rollout, reward.shape)
        if config.advantage == "anchor_state":
            to_go = estimators.returns_to_go(reward, batch.done, config.gamma)
            groups = jnp.broadcast_to(jnp.arange(config.num_envs) // config.group_size, reward.shape)
            step_adv = estimators.anchor_state(
                to_go.reshape(-1),
                flatten_obs(batch.obs, 2).reshape((to_go.size, -1)),
                groups.reshape(-1),
                mask.reshape(-1),
                config.std_floor,
            )
            combined = combined + config.anchor_weight * step_adv.reshape(reward.shape)
        mask = mask.astype(jnp.float32)
        return combined * mask, targets, mask
    return (advantages * weights).sum(-1), targets, None


def _iteration(config: PPOConfig, parts: _Parts, state: PPOState) -> tuple[PPOState, Metrics]:
    key, rollout_key, update_key, transform_key = jax.random.split(state.key, 4)
    stats = state.obs_stats

    def act(k, obs):
        dist = parts.actor.apply(state.params["actor"], _normalize(config, stats, obs, 1))
        action, log_prob = dist.sample_and_log_prob(seed=k)
        return action, log_prob

    env = env_with_action_map(config)
    start = state.envs if config.group_size == 1 else _shared_start(config, jax.random.fold_in(rollout_key, 1))
    envs, batch, log_prob = rollout(env, config.env_params, act, start, rollout_key, config.num_steps)
    # transforms that regularise toward a reference policy (KL penalties) read the behaviour log-prob
    batch = batch.replace(info={**batch.info, POLICY_LOG_PROB: log_prob})

    # reward streams
    streams, transform_state, (rewards, weights, discounts, episodic) = apply_transform(
        config, state.transform_state, batch
    )

    # values and per-stream GAE
    critic = lambda obs, nd: parts.critic.apply(state.params["critic"], _normalize(config, stats, obs, nd))
    values = critic(batch.obs, 2)
    final_values = critic(batch.next_obs, 2)
    last_values = critic(envs.obs, 1)
    following_values = jnp.concatenate([values[1:], last_values[None]], axis=0)
    episodic_mask = jnp.asarray(episodic)
    term = batch.terminated[..., None]
    done = batch.done[..., None]
    next_values = jnp.where(episodic_mask, final_values, following_values)
    nonterminal = jnp.where(episodic_mask, 1.0 - term, 1.0)
    continues = jnp.where(episodic_mask, 1.0 - done, 1.0)
    if config.advantage == "gae":
        advantages, targets = gae(rewards, values, next_values, nonterminal, continues, discounts, config.gae_lambda)
        combined = (advantages * weights).sum(-1)
        mask = None
    else:
        args = (rewards, values, next_values, nonterminal, continues)
        combined, targets, mask = _other_advantages(config, batch, args, discounts, weights)

    # PPO epochs over minibatches
    flat = lambda x: x.reshape((config.batch_size, *x.shape[2:]))
    data = _Minibatch(
        obs=jax.tree.map(flat, batch.obs),
        action=flat(batch.action),
        log_prob=flat(log_prob),
        advantage=flat(combined),
        value=flat(values),
        target=flat(targets),
        mask=None if mask is None else flat(mask),
    )
    grad_fn = jax.value_and_grad(lambda p, mb: _ppo_loss(config, parts, p, stats, mb), has_aux=True)

    def minibatch_step(carry, mb):
        params, opt_state = carry
        (_, aux), grads = grad_fn(params, mb)
        updates, opt_state = parts.tx.update(grads, opt_state, params)
        aux["loss/grad_norm"] = optax.tree.norm(grads)
        return (optax.apply_updates(params, updates), opt_state), aux

    def epoch(carry, k):
        perm = jax.random.permutation(k, config.batch_size)
        shuffled = jax.tree.map(lambda x: x[perm].reshape((config.num_minibatches, -1, *x.shape[1:])), data)
        return jax.lax.scan(minibatch_step, carry, shuffled)

    (params, opt_state), aux = jax.lax.scan(
        epoch, (state.params, state.opt_state), jax.random.split(update_key, config.update_epochs)
    )

    transform_state, transform_metrics = config.transform.update(transform_state, streams, batch, transform_key)
    obs_stats = stats.update(flatten_obs(batch.obs, 2)) if config.normalize_obs else stats
    names = parts.layout.names
    tracker, metrics = iteration_metrics(
        config, state.tracker, batch, rewards, weights, names, transform_metrics, opt_state, state.iteration
    )
    metrics.update({k: v.mean() for k, v in aux.items()})

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
