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
compiled run. Non-finite gradients are never applied (``jaxrl_rewards.optim.skip_nonfinite``) and are counted
in the metrics so the host can report them (``jaxrl_rewards.runner.check_finite_metrics``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct
from gymnax.environments import spaces

from jaxrl_rewards.agents import estimators
from jaxrl_rewards.agents.estimators import ESTIMATORS, GROUP_ESTIMATORS, gae
from jaxrl_rewards.networks import DiscretePolicy, GaussianPolicy, MultiStreamCritic, activation_fn
from jaxrl_rewards.optim import clip_by_global_norm, skip_nonfinite
from jaxrl_rewards.rollout import EnvCarry, EpisodeTracker, evaluate, example_batch, reset_envs, rollout
from jaxrl_rewards.running_stats import RunningMeanStd
from jaxrl_rewards.streams import check_streams, env_streams, stack_streams, stream_names
from jaxrl_rewards.transforms.basic import normalize_rewards
from jaxrl_rewards.transforms.core import RewardTransform, identity
from jaxrl_rewards.types import Array, Metrics, PRNGKey, TransformSpec
from jaxrl_rewards.validation import (
    ConfigError,
    check_in_range,
    check_nonnegative,
    check_positive,
    check_positive_int,
)

#: Hyperparameters (pytree leaves) that a sweep may batch.
SWEEPABLE = ("learning_rate", "gamma", "gae_lambda", "clip_eps", "ent_coef", "vf_coef", "max_grad_norm", "obs_clip")


class PPOConfig(struct.PyTreeNode):
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
        """Transitions per iteration, ``num_envs * num_steps``."""
        return self.num_envs * self.num_steps

    @property
    def iterations_per_eval(self) -> int:
        return self.total_timesteps // self.batch_size // self.num_evals

    @property
    def num_iterations(self) -> int:
        """Iterations actually run: a multiple of ``num_evals``."""
        return self.iterations_per_eval * self.num_evals

    @property
    def trained_timesteps(self) -> int:
        """Environment steps actually taken (``total_timesteps`` rounded down)."""
        return self.num_iterations * self.batch_size


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
    for name in (
        "num_envs",
        "num_steps",
        "total_timesteps",
        "update_epochs",
        "num_minibatches",
        "num_evals",
        "eval_episodes",
        "eval_max_steps",
    ):
        check_positive_int(getattr(config, name), name)
    if not config.hidden_sizes or any(not isinstance(h, int) or h <= 0 for h in config.hidden_sizes):
        raise ConfigError(f"hidden_sizes must be a non-empty tuple of positive ints, got {config.hidden_sizes!r}")
    try:
        activation_fn(config.activation)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    if config.batch_size % config.num_minibatches:
        raise ConfigError(
            f"num_minibatches={config.num_minibatches} does not divide the batch of "
            f"num_envs * num_steps = {config.num_envs} * {config.num_steps} = {config.batch_size} transitions"
        )
    if config.iterations_per_eval < 1:
        raise ConfigError(
            f"total_timesteps={config.total_timesteps} is too small: it must cover at least num_evals="
            f"{config.num_evals} iterations of {config.batch_size} steps (>= {config.num_evals * config.batch_size})"
        )
    if not (hasattr(config.env, "reset") and hasattr(config.env, "step")):
        raise ConfigError(f"env must be an environment object with reset/step, got {type(config.env).__name__}")
    if not isinstance(config.transform, RewardTransform):
        raise ConfigError(f"transform must be a RewardTransform, got {type(config.transform).__name__}")
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
    fields = set(PPOConfig.__dataclass_fields__)
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ConfigError(f"unknown PPO option(s) {unknown}; valid options: {sorted(fields - {'env', 'env_params'})}")
    if isinstance(env, str):
        from jaxrl_rewards.envs import make as make_env

        name = env
        env, default_params = make_env(name)
        options = {**PRESETS.get(name, {}), **overrides}
    else:
        name = getattr(env, "name", type(env).__name__)
        default_params = env.default_params
        options = dict(overrides)
    options.setdefault("env_name", name)
    params = default_params if env_params is None else env_params
    if "eval_max_steps" not in options and hasattr(params, "max_steps_in_episode"):
        try:
            options["eval_max_steps"] = int(params.max_steps_in_episode)
        except (TypeError, jax.errors.ConcretizationTypeError):
            pass
    if "hidden_sizes" in options:
        options["hidden_sizes"] = tuple(options["hidden_sizes"])
    return validate(PPOConfig(env=env, env_params=params, **options))


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
    discrete: bool
    action_low: Array | None
    action_high: Array | None
    spec: TransformSpec
    streams: tuple[str, ...]
    episodic: tuple[bool, ...]


def _flatten_obs(obs: Array, batch_ndim: int) -> Array:
    return jnp.asarray(obs, jnp.float32).reshape((*obs.shape[:batch_ndim], -1))


def _parts(config: PPOConfig) -> _Parts:
    env, params = config.env, config.env_params
    action_space = env.action_space(params)
    obs_space = env.observation_space(params)
    discrete = isinstance(action_space, spaces.Discrete)
    if discrete:
        actor = DiscretePolicy(int(action_space.n), config.hidden_sizes, config.activation)
        low = high = None

        def zero_action(key, obs):
            return jnp.zeros(jax.tree.leaves(obs)[0].shape[:1], jnp.int32)
    else:
        shape = tuple(action_space.shape)
        if len(shape) != 1:
            raise ConfigError(f"continuous PPO needs a flat action space; got shape {shape}")
        actor = GaussianPolicy(shape[0], config.hidden_sizes, config.activation)
        low = jnp.broadcast_to(jnp.asarray(action_space.low, jnp.float32), shape)
        high = jnp.broadcast_to(jnp.asarray(action_space.high, jnp.float32), shape)

        def zero_action(key, obs):
            return jnp.zeros(jax.tree.leaves(obs)[0].shape[:1] + shape, jnp.float32)

    example = example_batch(env, params, config.num_envs, zero_action)
    base_names = stream_names(env_streams(example, config.gamma))
    spec = TransformSpec(obs_space, action_space, config.num_envs, base_names, example)

    def streams_of(key):
        state = config.transform.init(key, spec)
        out, _ = config.transform.apply(state, env_streams(example, config.gamma), example)
        return out

    out_streams = jax.eval_shape(streams_of, jax.random.key(0))
    check_streams(out_streams, (1, config.num_envs), where=f"{type(config.transform).__name__}.apply")
    names = stream_names(out_streams)
    episodic = tuple(bool(out_streams[k].episodic) for k in names)
    critic = MultiStreamCritic(len(names), config.hidden_sizes, config.activation)

    updates_per_run = config.num_iterations * config.update_epochs * config.num_minibatches
    lr = optax.linear_schedule(config.learning_rate, 0.0, updates_per_run) if config.anneal_lr else config.learning_rate
    tx = skip_nonfinite(optax.chain(clip_by_global_norm(config.max_grad_norm), optax.adam(lr, eps=1e-5)))
    return _Parts(actor, critic, tx, discrete, low, high, spec, names, episodic)


def _normalize(config: PPOConfig, stats: RunningMeanStd, obs: Array, batch_ndim: int) -> Array:
    flat = _flatten_obs(obs, batch_ndim)
    return stats.normalize(flat, config.obs_clip) if config.normalize_obs else flat


def _env_action(parts: _Parts, action: Array) -> Array:
    """Map a raw policy sample to the env: continuous actions live in [-1, 1] units."""
    if parts.discrete:
        return action
    unit = jnp.clip(action, -1.0, 1.0)
    finite = jnp.isfinite(parts.action_low) & jnp.isfinite(parts.action_high)
    scaled = parts.action_low + (unit + 1.0) * 0.5 * (parts.action_high - parts.action_low)
    return jnp.where(finite, scaled, action)


class _EnvWithActionMap:
    """Present the env with the policy's raw actions mapped to the env's action bounds."""

    def __init__(self, env: Any, parts: _Parts):
        self._env, self._parts = env, parts

    def reset(self, key, params):
        return self._env.reset(key, params)

    def step(self, key, state, action, params):
        return self._env.step(key, state, _env_action(self._parts, action), params)


# --------------------------------------------------------------------------- init / iterate


def init(config: PPOConfig, key: PRNGKey) -> PPOState:
    """Initial training state for one seed (pure; vmap it over keys)."""
    validate(config)
    parts = _parts(config)
    env_key, actor_key, critic_key, transform_key, run_key = jax.random.split(key, 5)
    envs = reset_envs(config.env, config.env_params, env_key, config.num_envs)
    obs_dim = _flatten_obs(envs.obs, 1).shape[-1]
    dummy = jnp.zeros((1, obs_dim), jnp.float32)
    params = {"actor": parts.actor.init(actor_key, dummy), "critic": parts.critic.init(critic_key, dummy)}
    return PPOState(
        params=params,
        opt_state=parts.tx.init(params),
        obs_stats=RunningMeanStd.create((obs_dim,)),
        envs=envs,
        transform_state=config.transform.init(transform_key, parts.spec),
        tracker=EpisodeTracker.create(config.num_envs, 1 + len(parts.streams)),
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
                _flatten_obs(batch.obs, 2).reshape((to_go.size, -1)),
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

    env = _EnvWithActionMap(config.env, parts)
    start = state.envs if config.group_size == 1 else _shared_start(config, jax.random.fold_in(rollout_key, 1))
    envs, batch, log_prob = rollout(env, config.env_params, act, start, rollout_key, config.num_steps)
    # transforms that regularise toward a reference policy (KL penalties) read the behaviour log-prob
    batch = batch.replace(info={**batch.info, "policy_log_prob": log_prob})
    batch_shape = (config.num_steps, config.num_envs)

    # reward streams
    streams, transform_state = config.transform.apply(state.transform_state, env_streams(batch, config.gamma), batch)
    check_streams(streams, batch_shape, where=f"{type(config.transform).__name__}.apply")
    rewards, weights, discounts, episodic = stack_streams(streams)

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

    transform_state, transform_metrics = config.transform.update(transform_state, batch, streams, transform_key)
    obs_stats = stats.update(_flatten_obs(batch.obs, 2)) if config.normalize_obs else stats
    channels = jnp.concatenate([batch.reward[..., None], rewards], axis=-1)
    tracker, episodes = state.tracker.track(channels, batch.done)

    metrics = {k: v.mean() for k, v in aux.items()}
    metrics["train/episode_return"] = tracker.last_return[0]
    metrics["train/episode_length"] = tracker.last_length
    metrics["train/episodes"] = episodes
    for i, name in enumerate(parts.streams):
        metrics[f"train/stream_return/{name}"] = tracker.last_return[1 + i]
        metrics[f"train/stream_weight/{name}"] = weights[i]
    metrics.update({f"transform/{k}": jnp.asarray(v, jnp.float32) for k, v in transform_metrics.items()})
    metrics["nonfinite_updates"] = opt_state.total_notfinite.astype(jnp.float32)
    metrics["timesteps"] = ((state.iteration + 1) * config.batch_size).astype(jnp.float32)

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
    parts = _parts(config)

    def greedy(k, obs):
        dist = parts.actor.apply(state.params["actor"], _normalize(config, state.obs_stats, obs, 1))
        return dist.mode(), None

    env = _EnvWithActionMap(config.env, parts)
    return evaluate(env, config.env_params, greedy, key, config.eval_episodes, config.eval_max_steps)


def train_segment(config: PPOConfig, state: PPOState) -> tuple[PPOState, Metrics]:
    """Run ``iterations_per_eval`` iterations then one evaluation.

    Returns:
        The new state and metrics: per-iteration ones ``[iterations_per_eval]`` and
        evaluation ones (prefixed ``eval/``) as scalars.
    """
    parts = _parts(config)
    state, metrics = jax.lax.scan(
        lambda s, _: _iteration(config, parts, s), state, None, length=config.iterations_per_eval
    )
    eval_key, key = jax.random.split(state.key)
    eval_metrics = evaluate_policy(config, state, eval_key)
    metrics.update({f"eval/{k}": v for k, v in eval_metrics.items()})
    metrics["eval/timesteps"] = (state.iteration * config.batch_size).astype(jnp.float32)
    return state.replace(key=key), metrics


def train(config: PPOConfig, key: PRNGKey) -> tuple[PPOState, Metrics]:
    """Train PPO from scratch: pure and jittable.

    Returns:
        The final state and metrics: per-iteration curves ``[num_iterations]`` (``train/``,
        ``loss/``, ``transform/``, ``timesteps``, ``nonfinite_updates``) and evaluation
        curves ``[num_evals]`` (``eval/return/<stream>``, ``eval/length``, ``eval/timesteps``).
    """
    state = init(config, key)
    state, metrics = jax.lax.scan(lambda s, _: train_segment(config, s), state, None, length=config.num_evals)
    return state, merge_segments(metrics)


def merge_segments(metrics: Metrics) -> Metrics:
    """Flatten ``[num_evals, iterations_per_eval, ...]`` per-iteration metrics of stacked
    segments into ``[num_iterations, ...]``; evaluation metrics stay ``[num_evals, ...]``.
    Leading batch axes are not allowed here (call it per run, or vmap it)."""
    out = {}
    for name, value in metrics.items():
        if name.startswith("eval/"):
            out[name] = value
        else:
            out[name] = value.reshape((-1, *value.shape[2:]))
    return out
