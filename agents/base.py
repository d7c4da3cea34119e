"""Pieces shared by the agents (PPO, recurrent PPO, DQN, PQN, SAC): the iteration schedule of a
config, config checks and ``make_config`` front end, the stream layout a transform produces,
the transform/metrics boilerplate of one iteration, the train/evaluate segment loop,
observation flattening, ε schedules, action scaling.

Reward streams in value-based agents: every agent learns one value head per stream (the
stream's own discount and episodic flag) and combines heads with the stream weights, as PPO
combines advantages. ``jaxrl_rewards.core.streams.scalarize`` is the fallback for an agent that
wants one scalar reward (the minimal example agent uses it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from gymnax.environments import spaces

from jaxrl_rewards.core.networks import activation_fn
from jaxrl_rewards.core.optim import clip_by_global_norm, skip_nonfinite
from jaxrl_rewards.core.rollout import EpisodeTracker, example_batch
from jaxrl_rewards.core.streams import check_streams, env_streams, stack_streams, stream_names
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey, Streams, TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError, check_in_range, check_positive_int
from jaxrl_rewards.envs import make as make_env
from jaxrl_rewards.transforms.core import RewardTransform

# --------------------------------------------------------------------------- configs


class IterationSchedule:
    """Mixin for agent configs with ``num_envs``, ``num_steps``, ``total_timesteps`` and
    ``num_evals``: how a run splits into iterations and evaluation segments (all static ints)."""

    @property
    def steps_per_iteration(self) -> int:
        """Environment steps per iteration, ``num_envs * num_steps``."""
        return self.num_envs * self.num_steps

    @property
    def iterations_per_eval(self) -> int:
        """Iterations between two evaluations."""
        return self.total_timesteps // self.steps_per_iteration // self.num_evals

    @property
    def num_iterations(self) -> int:
        """Iterations actually run: a multiple of ``num_evals``."""
        return self.iterations_per_eval * self.num_evals

    @property
    def trained_timesteps(self) -> int:
        """Environment steps actually taken (``total_timesteps`` rounded down)."""
        return self.num_iterations * self.steps_per_iteration


#: Static sizes every agent config has; all must be positive ints.
SCHEDULE_SIZES = ("num_envs", "num_steps", "total_timesteps", "num_evals", "eval_episodes", "eval_max_steps")


def check_agent_config(config: Any, sizes: Sequence[str] = (), counts: Sequence[str] = ()) -> None:
    """The checks every agent config shares; ``ConfigError`` with a clear message.

    ``SCHEDULE_SIZES`` and ``sizes`` must be positive ints, ``counts`` non-negative ints;
    ``hidden_sizes`` a non-empty tuple of positive ints; ``activation`` a known name; the
    budget must cover ``num_evals`` iterations; ``env`` an environment object; ``transform``
    a ``RewardTransform``.
    """
    for name in (*SCHEDULE_SIZES, *sizes):
        check_positive_int(getattr(config, name), name)
    for name in counts:
        value = getattr(config, name)
        if not isinstance(value, int) or value < 0:
            raise ConfigError(f"{name} must be a non-negative integer, got {value!r}")
    if not config.hidden_sizes or any(not isinstance(h, int) or h <= 0 for h in config.hidden_sizes):
        raise ConfigError(f"hidden_sizes must be a non-empty tuple of positive ints, got {config.hidden_sizes!r}")
    try:
        activation_fn(config.activation)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    if config.iterations_per_eval < 1:
        steps = config.steps_per_iteration
        raise ConfigError(
            f"total_timesteps={config.total_timesteps} is too small: it must cover at least num_evals="
            f"{config.num_evals} iterations of {steps} steps (>= {config.num_evals * steps})"
        )
    check_env(config.env)
    if not isinstance(config.transform, RewardTransform):
        raise ConfigError(f"transform must be a RewardTransform, got {type(config.transform).__name__}")
    config.transform.validate()


def check_minibatches(config: Any) -> None:
    """``ConfigError`` unless ``num_minibatches`` divides the ``num_envs * num_steps`` batch."""
    if config.steps_per_iteration % config.num_minibatches:
        raise ConfigError(
            f"num_minibatches={config.num_minibatches} does not divide the batch of "
            f"num_envs * num_steps = {config.num_envs} * {config.num_steps} = {config.steps_per_iteration} transitions"
        )


def check_discrete(config: Any, agent: str) -> None:
    """``ConfigError`` unless the env's action space is discrete (value-based agents)."""
    if not isinstance(config.env.action_space(config.env_params), spaces.Discrete):
        raise ConfigError(f"{agent} needs a discrete action space; use SAC or PPO for continuous actions")


def check_epsilon_schedule(config: Any) -> None:
    """``ConfigError`` unless ``eps_start``, ``eps_end`` and ``eps_fraction`` lie in ``[0, 1]``."""
    for name in ("eps_start", "eps_end", "eps_fraction"):
        check_in_range(getattr(config, name), name, 0.0, 1.0)


def guarded_optimizer(
    optimizer: Callable[[Any], optax.GradientTransformation],
    learning_rate: Array | float,
    max_grad_norm: Array | float,
    anneal_steps: int | None = None,
) -> optax.GradientTransformation:
    """``optimizer(lr)`` after global-norm clipping, skipping non-finite updates
    (``jaxrl_rewards.core.optim.skip_nonfinite``); ``lr`` decays linearly to 0 over
    ``anneal_steps`` updates when given, else stays ``learning_rate``."""
    lr = learning_rate if anneal_steps is None else optax.linear_schedule(learning_rate, 0.0, anneal_steps)
    return skip_nonfinite(optax.chain(clip_by_global_norm(max_grad_norm), optimizer(lr)))


# --------------------------------------------------------------------------- streams


class StreamLayout(NamedTuple):
    """Static stream layout of a (env, transform) pair, found by tracing ``transform.apply``
    abstractly on an example batch.

    Attributes:
        spec: the ``TransformSpec`` handed to ``transform.init``.
        names: output stream names in canonical order (one value head each).
        episodic: the streams' episodic flags.
    """

    spec: TransformSpec
    names: tuple[str, ...]
    episodic: tuple[bool, ...]


def stream_layout(
    env: Any,
    env_params: Any,
    transform: RewardTransform,
    num_envs: int,
    gamma: Array | float,
    zero_action: Callable[[PRNGKey, Any], Array],
    example_info: dict[str, Array] | None = None,
) -> StreamLayout:
    """Trace ``transform`` on a ``[1, N]`` example batch (nothing is compiled) and return the
    stream layout; wrong stream shapes raise a ``ValueError`` naming the stream.

    ``example_info`` adds ``[1, N, ...]`` entries to the example batch's ``info`` (what the
    agent puts there before calling the transform, e.g. PPO's ``policy_log_prob``)."""
    example = example_batch(env, env_params, num_envs, zero_action)
    if example_info:
        example = example.replace(info={**example.info, **example_info})
    base = stream_names(env_streams(example, gamma))
    spec = TransformSpec(env.observation_space(env_params), env.action_space(env_params), num_envs, base, example)

    def streams_of(key):
        state = transform.init(key, spec)
        out, _ = transform.apply(state, env_streams(example, gamma), example)
        return out

    out = jax.eval_shape(streams_of, jax.random.key(0))
    check_streams(out, (1, num_envs), where=f"{type(transform).__name__}.apply")
    names = stream_names(out)
    return StreamLayout(spec, names, tuple(bool(out[k].episodic) for k in names))


def config_layout(config: Any, example_info: dict[str, Array] | None = None) -> StreamLayout:
    """:func:`stream_layout` of an agent config (``env``, ``env_params``, ``transform``,
    ``num_envs``, ``gamma``), with zero actions of the env's action space."""
    zero = zero_action(config.env.action_space(config.env_params))
    return stream_layout(
        config.env, config.env_params, config.transform, config.num_envs, config.gamma, zero, example_info
    )


def zero_action(action_space: Any) -> Callable[[PRNGKey, Any], Array]:
    """``(key, obs [N, ...]) -> zeros`` actions for ``action_space``: int32 ``[N]`` for a discrete
    space, float32 ``[N, *shape]`` otherwise (for :func:`stream_layout`)."""
    if isinstance(action_space, spaces.Discrete):
        return lambda key, obs: jnp.zeros(jax.tree.leaves(obs)[0].shape[:1], jnp.int32)
    shape = tuple(action_space.shape)
    return lambda key, obs: jnp.zeros(jax.tree.leaves(obs)[0].shape[:1] + shape, jnp.float32)


def apply_transform(
    config: Any, transform_state: Any, batch: Transition
) -> tuple[Streams, Any, tuple[Array, Array, Array, tuple[bool, ...]]]:
    """Build the env's streams of a ``[T, N]`` batch, pass them through ``config.transform``,
    check their shapes and stack them.

    Returns:
        ``(streams, transform_state, (rewards [T, N, K], weights [K], discounts [K], episodic))``.
    """
    streams, transform_state = config.transform.apply(transform_state, env_streams(batch, config.gamma), batch)
    check_streams(streams, (config.num_steps, config.num_envs), where=f"{type(config.transform).__name__}.apply")
    return streams, transform_state, stack_streams(streams)


def iteration_metrics(
    config: Any,
    tracker: EpisodeTracker,
    batch: Transition,
    rewards: Array,
    weights: Array,
    names: Sequence[str],
    transform_metrics: Metrics,
    opt_state: Any,
    iteration: Array,
) -> tuple[EpisodeTracker, Metrics]:
    """Track episodes of the raw reward and every stream (``rewards [T, N, K]``) and build the
    metrics every agent reports per iteration: ``train/episode_return``, ``train/episode_length``,
    ``train/episodes``, ``train/stream_return/<name>``, ``train/stream_weight/<name>``,
    ``transform/<metric>``, ``nonfinite_updates`` (from a ``skip_nonfinite`` ``opt_state``) and
    ``timesteps`` (after this iteration, the ``iteration``-th, counted from 0)."""
    channels = jnp.concatenate([batch.reward[..., None], rewards], axis=-1)
    tracker, episodes = tracker.track(channels, batch.done)
    metrics = {
        "train/episode_return": tracker.last_return[0],
        "train/episode_length": tracker.last_length,
        "train/episodes": episodes,
        "nonfinite_updates": opt_state.total_notfinite.astype(jnp.float32),
        "timesteps": ((iteration + 1) * config.steps_per_iteration).astype(jnp.float32),
    }
    for i, name in enumerate(names):
        metrics[f"train/stream_return/{name}"] = tracker.last_return[1 + i]
        metrics[f"train/stream_weight/{name}"] = weights[i]
    metrics.update({f"transform/{k}": jnp.asarray(v, jnp.float32) for k, v in transform_metrics.items()})
    return tracker, metrics


def replay_item(obs: Array, action: Array, num_streams: int) -> dict[str, Array]:
    """Template of one replay item (for ``ReplayBuffer.create``) from one flat observation
    ``[D]`` and one action: ``obs``, ``action``, ``rewards [K]``, ``terminated``, ``next_obs``."""
    return {
        "obs": obs,
        "action": action,
        "rewards": jnp.zeros((num_streams,), jnp.float32),
        "terminated": jnp.float32(0),
        "next_obs": obs,
    }


def replay_items(batch: Transition, rewards: Array, action: Array) -> dict[str, Array]:
    """A ``[T, N]`` batch as ``T * N`` replay items (layout of :func:`replay_item`): flat
    ``obs``, ``action`` (given, e.g. cast), transformed ``rewards [T, N, K]``, ``terminated``
    and ``next_obs`` (the true final observation on episode ends)."""
    flat = lambda x: x.reshape((-1, *x.shape[2:]))
    return {
        "obs": flat(flatten_obs(batch.obs, 2)),
        "action": flat(action),
        "rewards": flat(rewards),
        "terminated": flat(batch.terminated.astype(jnp.float32)),
        "next_obs": flat(flatten_obs(batch.next_obs, 2)),
    }


# --------------------------------------------------------------------------- training loop


def run_segment(
    config: Any,
    state: Any,
    iteration: Callable[[Any], tuple[Any, Metrics]],
    evaluate: Callable[[Any, Any, PRNGKey], dict[str, Array]],
) -> tuple[Any, Metrics]:
    """``iterations_per_eval`` calls of ``iteration(state) -> (state, metrics)`` (scanned), then
    ``evaluate(config, state, key)``. ``state`` needs ``key`` and ``iteration`` fields.

    Returns:
        The new state and metrics: per-iteration ones ``[iterations_per_eval]`` and evaluation
        ones (prefixed ``eval/``, plus ``eval/timesteps``) as scalars.
    """
    state, metrics = jax.lax.scan(lambda s, _: iteration(s), state, None, length=config.iterations_per_eval)
    eval_key, key = jax.random.split(state.key)
    metrics.update({f"eval/{k}": v for k, v in evaluate(config, state, eval_key).items()})
    metrics["eval/timesteps"] = (state.iteration * config.steps_per_iteration).astype(jnp.float32)
    return state.replace(key=key), metrics


def run_training(config: Any, state: Any, segment: Callable[[Any, Any], tuple[Any, Metrics]]) -> tuple[Any, Metrics]:
    """``num_evals`` calls of ``segment(config, state)`` (scanned) from the initial ``state``;
    metrics merged with :func:`merge_segments`."""
    state, metrics = jax.lax.scan(lambda s, _: segment(config, s), state, None, length=config.num_evals)
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


# --------------------------------------------------------------------------- acting


def flatten_obs(obs: Array, batch_ndim: int) -> Array:
    """``[*batch, ...] -> [*batch, D]`` float32."""
    return jnp.asarray(obs, jnp.float32).reshape((*obs.shape[:batch_ndim], -1))


def linear_epsilon(step: Array, total: int, start: Array, end: Array, fraction: Array) -> Array:
    """ε decaying linearly from ``start`` to ``end`` over the first ``fraction * total`` steps."""
    progress = jnp.clip(step / jnp.maximum(fraction * total, 1.0), 0.0, 1.0)
    return start + (end - start) * progress


def q_policy(
    q_net: Any, params: Any, weights: Array, epsilon: Array | None = None
) -> Callable[[PRNGKey, Any], tuple[Array, None]]:
    """Policy of a multi-stream Q network (``[N, A, K]`` heads) on ``sum_k w_k Q_k``:
    ``(key, obs [N, ...]) -> (actions [N] int32, None)``, greedy, or ε-greedy when ``epsilon`` is given."""

    def act(key, obs):
        q = (q_net.apply(params, flatten_obs(obs, 1)) * weights).sum(-1)
        if epsilon is None:
            return jnp.argmax(q, axis=-1).astype(jnp.int32), None
        return epsilon_greedy(key, q, epsilon), None

    return act


def epsilon_greedy(key: PRNGKey, q: Array, epsilon: Array) -> Array:
    """Greedy actions of ``q [N, A]`` replaced by uniform ones with probability ε; ``[N]`` int32."""
    explore_key, action_key = jax.random.split(key)
    greedy = jnp.argmax(q, axis=-1)
    random = jax.random.randint(action_key, greedy.shape, 0, q.shape[-1])
    explore = jax.random.uniform(explore_key, greedy.shape) < epsilon
    return jnp.where(explore, random, greedy).astype(jnp.int32)


def scale_action(unit: Array, low: Array, high: Array) -> Array:
    """Map ``[-1, 1]`` actions to ``[low, high]`` (unbounded dimensions pass through)."""
    finite = jnp.isfinite(low) & jnp.isfinite(high)
    scaled = low + (jnp.clip(unit, -1.0, 1.0) + 1.0) * 0.5 * (high - low)
    return jnp.where(finite, scaled, unit)


class ActionMappedEnv:
    """Present ``env`` with actions passed through ``fn`` first (e.g. ``[-1, 1]`` -> bounds)."""

    def __init__(self, env: Any, fn: Callable[[Array], Array]):
        self._env, self._fn = env, fn

    def reset(self, key, params):
        return self._env.reset(key, params)

    def step(self, key, state, action, params):
        return self._env.step(key, state, self._fn(action), params)


def check_env(env: Any) -> None:
    """``ConfigError`` unless ``env`` has ``reset`` and ``step``."""
    if not (hasattr(env, "reset") and hasattr(env, "step")):
        raise ConfigError(f"env must be an environment object with reset/step, got {type(env).__name__}")


def resolve_env(env: str | Any, env_params: Any, presets: dict[str, dict[str, Any]], overrides: dict[str, Any]):
    """Shared ``make_config`` front end: look up a registered name (applying its preset) or
    take an env object. Returns ``(env, params, options)`` with ``env_name`` and
    ``eval_max_steps`` (from ``max_steps_in_episode``) filled in when not given."""
    if isinstance(env, str):
        name = env
        env, default_params = make_env(name)
        options = {**presets.get(name, {}), **overrides}
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
    return env, params, options


def build_config(
    cls: type,
    agent: str,
    presets: dict[str, dict[str, Any]],
    validate: Callable[[Any], Any],
    env: str | Any,
    env_params: Any,
    overrides: dict[str, Any],
) -> Any:
    """The whole ``make_config`` of an agent: refuse unknown options (:func:`check_options`),
    resolve the env and its preset (:func:`resolve_env`), build ``cls`` and ``validate`` it."""
    check_options(cls, overrides, agent)
    env, params, options = resolve_env(env, env_params, presets, overrides)
    return validate(cls(env=env, env_params=params, **options))


def check_options(cls: type, overrides: dict[str, Any], agent: str) -> None:
    """``ConfigError`` listing the valid options when ``overrides`` has unknown keys."""
    fields = set(cls.__dataclass_fields__)
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ConfigError(
            f"unknown {agent} option(s) {unknown}; valid options: {sorted(fields - {'env', 'env_params'})}"
        )
