"""The contract of an agent and the stream layout every agent works with.

An agent is a module that satisfies :class:`Agent`: ``make_config`` builds and checks a config
(an ``agents.config.AgentConfig``), ``init`` the training state of one seed, ``train_segment``
runs ``iterations_per_eval`` iterations and one evaluation, ``train`` a whole run, all pure and
jittable, vmappable over seeds (keys) and over batched config leaves (sweeps). The runner,
sweeps and CLI use nothing else of an agent. :func:`check_agent` checks a module against the
protocol (``agents.register_agent`` calls it).

Where the rest lives: ``agents.config`` (the base config and on-policy / replay / ε-greedy
mixins, ``make_config``'s front end), ``agents.loop`` (the segment loop, per-iteration metrics,
optimiser guard), ``agents.acting`` (ε-greedy, action scaling), ``agents.replay`` (the buffer).

Reward streams in value-based agents: every agent learns one value head per stream (the
stream's own discount and episodic flag) and combines heads with the stream weights, as PPO
combines advantages. ``jaxrl_rewards.core.streams.scalarize`` is the fallback for an agent that
wants one scalar reward (``examples/minimal_agent.py`` uses it).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import ModuleType
from typing import Any, NamedTuple, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
from gymnax.environments import spaces

from jaxrl_rewards.agents.config import AgentConfig
from jaxrl_rewards.core.rollout import example_batch
from jaxrl_rewards.core.streams import check_streams, env_streams, stack_streams, stream_names
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey, Streams, TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.transforms.core import RewardTransform

# --------------------------------------------------------------------------- the contract


@runtime_checkable
class Agent(Protocol):
    """What every agent module provides (a module satisfies it: its functions take no ``self``).

    Attributes:
        DESCRIPTION: one line saying what the agent is (``jaxrl-rewards list agents``).
        PRESETS: per registered env name, the ``make_config`` options that work out of the box.
    """

    DESCRIPTION: str
    PRESETS: dict[str, dict[str, Any]]

    def make_config(self, env: str | Any = ..., env_params: Any = None, **overrides: Any) -> AgentConfig:
        """A validated config: a registered env name (its preset applied) or an env object, and any field."""
        ...

    def validate(self, config: Any) -> Any:
        """``ConfigError`` on bad values (concrete leaves element by element); returns ``config``."""
        ...

    def init(self, config: Any, key: PRNGKey) -> Any:
        """The training state of one seed (a pytree with ``key`` and ``iteration`` fields)."""
        ...

    def train_segment(self, config: Any, state: Any) -> tuple[Any, Metrics]:
        """``iterations_per_eval`` iterations (metrics ``[iterations_per_eval]``) and one
        evaluation (``eval/...`` scalars)."""
        ...

    def train(self, config: Any, key: PRNGKey) -> tuple[Any, Metrics]:
        """``init`` then ``num_evals`` segments; metrics merged by ``merge_segments``."""
        ...

    def merge_segments(self, metrics: Metrics) -> Metrics:
        """Stacked segment metrics ``[num_evals, iterations_per_eval, ...]`` -> per-iteration
        ``[num_iterations, ...]``; ``eval/...`` stay ``[num_evals, ...]``."""
        ...


#: the protocol's functions and the positional parameters each takes
AGENT_FUNCTIONS: dict[str, tuple[str, ...]] = {
    "make_config": ("env", "env_params"),
    "validate": ("config",),
    "init": ("config", "key"),
    "train_segment": ("config", "state"),
    "train": ("config", "key"),
    "merge_segments": ("metrics",),
}


def check_agent(agent: ModuleType | Any, name: str | None = None) -> Any:
    """Check that ``agent`` satisfies :class:`Agent`; return it, or raise ``ConfigError`` naming
    the agent, every problem and what the protocol asks for.

    Checked: each function of ``AGENT_FUNCTIONS`` exists and takes its positional parameters
    (``make_config`` also ``**overrides``); ``PRESETS`` is a dict of option dicts;
    ``DESCRIPTION`` is one non-empty line. Nothing is built or compiled.
    """
    label = name or getattr(agent, "__name__", type(agent).__name__)
    problems = []
    for function, params in AGENT_FUNCTIONS.items():
        fn = getattr(agent, function, None)
        if not callable(fn):
            problems.append(f"missing function {function}({', '.join(params)})")
            continue
        problem = _signature_problem(fn, params, needs_kwargs=function == "make_config")
        if problem:
            problems.append(f"{function}: {problem}")
    presets = getattr(agent, "PRESETS", None)
    if not isinstance(presets, dict) or not all(isinstance(k, str) and isinstance(v, dict) for k, v in presets.items()):
        problems.append(f"PRESETS must be a dict of env name -> option dict, got {type(presets).__name__}")
    description = getattr(agent, "DESCRIPTION", None)
    if not isinstance(description, str) or not description.strip() or "\n" in description.strip():
        problems.append(f"DESCRIPTION must be one non-empty line, got {description!r}")
    if problems:
        wanted = ", ".join([*(f"{f}({', '.join(p)})" for f, p in AGENT_FUNCTIONS.items()), "PRESETS", "DESCRIPTION"])
        raise ConfigError(f"agent {label!r} does not satisfy the Agent protocol: {'; '.join(problems)}; needs {wanted}")
    return agent


def _signature_problem(fn: Callable, params: tuple[str, ...], needs_kwargs: bool) -> str | None:
    """Why ``fn`` cannot be called as ``fn(*params)`` (and ``**overrides``), or None."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None  # builtins and C functions: nothing to check
    kinds = [p.kind for p in signature.parameters.values()]
    if needs_kwargs and inspect.Parameter.VAR_KEYWORD not in kinds:
        return "must accept **overrides"
    try:
        signature.bind(*params)
    except TypeError as err:
        return f"cannot be called with ({', '.join(params)}): {err}"
    return None


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


def config_layout(config: AgentConfig, example_info: dict[str, Array] | None = None) -> StreamLayout:
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
