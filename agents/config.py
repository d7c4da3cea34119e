"""Agent configurations: one base config and mixins, so a field shared by agents is declared once.

Every agent config is a flax ``struct.PyTreeNode`` dataclass built from these classes:

* :class:`AgentConfig`: what every agent has (env, transform, run schedule, evaluation,
  network shape, ``learning_rate``, ``gamma``, ``max_grad_norm``) and the schedule properties
  (``steps_per_iteration``, ``iterations_per_eval``, ``num_iterations``, ``trained_timesteps``);
* :class:`OnPolicyConfig`: epochs over minibatches of each fresh ``[T, N]`` batch (PPO, PQN);
* :class:`ReplayConfig`: a replay buffer sampled ``num_updates`` times per iteration (DQN, SAC);
* :class:`EpsilonGreedyConfig`: a linear ε schedule (DQN, PQN).

An agent config inherits the mixins it needs and redeclares a field only to change its default
(``num_envs: int = static(10)``); a redeclared field keeps its place in the field order. Mixins
only add fields and never redeclare a base field: with two mixins, the base's declaration
would come back through the other one.
Static fields (``pytree_node=False``: the env, sizes, switches) are part of the compiled program;
the others are pytree leaves that ``vmap`` can batch (a sweep). Each class checks its own fields
in :meth:`AgentConfig.check_fields`; mixins extend it with ``super()``, so an agent's ``validate``
calls ``config.check_fields()`` once and then checks only its own fields.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
from gymnax.environments import spaces

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.networks import activation_fn
from jaxrl_rewards.core.types import Array
from jaxrl_rewards.core.validation import (
    ConfigError,
    check_env_params,
    check_in_range,
    check_positive,
    check_positive_int,
)
from jaxrl_rewards.envs import make as make_env
from jaxrl_rewards.transforms.core import RewardTransform, identity

#: the largest count an int32 counter (iterations, optimiser steps; x64 is off) holds
INT32_MAX = 2**31 - 1


def static(default: Any) -> Any:
    """A static config field (``pytree_node=False``) with ``default``: part of the compiled
    program, not a leaf ``vmap`` can batch. Use it for sizes, switches and names."""
    return struct.field(pytree_node=False, default=default)


class AgentConfig(struct.PyTreeNode):
    """Fields and schedule every agent shares.

    Attributes:
        env: the environment object (static). env_params: its parameters (leaves).
        transform: the reward transform (its hyperparameters are leaves).
        num_envs, num_steps: parallel environments and steps per iteration; one iteration
            sees a ``[num_steps, num_envs]`` batch.
        total_timesteps: budget; rounded down to ``num_evals`` whole segments.
        hidden_sizes, activation: network shape.
        num_evals, eval_episodes, eval_max_steps: evaluations per run, episodes and step cap each.
        env_name: the registered name (filled in by ``make_config``).
        learning_rate, gamma, max_grad_norm: optimiser step, discount, global-norm clip (leaves).
    """

    env: Any = struct.field(pytree_node=False)
    env_params: Any
    transform: RewardTransform = struct.field(default_factory=identity)
    num_envs: int = static(4)
    num_steps: int = static(128)
    total_timesteps: int = static(500_000)
    hidden_sizes: tuple[int, ...] = static((64, 64))
    activation: str = static("tanh")
    num_evals: int = static(10)
    eval_episodes: int = static(8)
    eval_max_steps: int = static(500)
    env_name: str = static("")
    learning_rate: Array | float = 2.5e-4
    gamma: Array | float = 0.99
    max_grad_norm: Array | float = 0.5

    @property
    def steps_per_iteration(self) -> int:
        """Environment steps per iteration, ``num_envs * num_steps``."""
        return self.num_envs * self.num_steps

    @property
    def iterations_per_eval(self) -> int:
        """Iterations between two evaluations, ``total_timesteps // steps_per_iteration // num_evals``."""
        return self.total_timesteps // self.steps_per_iteration // self.num_evals

    @property
    def num_iterations(self) -> int:
        """Iterations actually run: ``iterations_per_eval * num_evals``."""
        return self.iterations_per_eval * self.num_evals

    @property
    def trained_timesteps(self) -> int:
        """Environment steps actually taken (``total_timesteps`` rounded down)."""
        return self.num_iterations * self.steps_per_iteration

    def check_fields(self) -> None:
        """``ConfigError`` unless the shared fields are valid: sizes positive ints, ``hidden_sizes``
        a non-empty tuple of positive ints, a known ``activation``, a budget of at least
        ``num_evals`` iterations, an env with ``reset``/``step``, a ``RewardTransform``,
        ``learning_rate > 0``, ``gamma`` in ``[0, 1]``, ``max_grad_norm > 0``, env params finite
        numbers with positive step caps (``core.validation.check_env_params``). Concrete leaves are
        checked element by element (a batched sweep config too); tracers are skipped."""
        check_env_params(self.env_params)  # first: a bad step cap is named, not blamed on eval_max_steps
        for name in ("num_envs", "num_steps", "total_timesteps", "num_evals", "eval_episodes", "eval_max_steps"):
            check_positive_int(getattr(self, name), name)
        if not self.hidden_sizes or any(not isinstance(h, int) or h <= 0 for h in self.hidden_sizes):
            raise ConfigError(f"hidden_sizes must be a non-empty tuple of positive ints, got {self.hidden_sizes!r}")
        try:
            activation_fn(self.activation)
        except ValueError as err:
            raise ConfigError(str(err)) from None
        if self.iterations_per_eval < 1:
            steps = self.steps_per_iteration
            raise ConfigError(
                f"total_timesteps={self.total_timesteps} is too small: it must cover at least num_evals="
                f"{self.num_evals} iterations of {steps} steps (>= {self.num_evals * steps})"
            )
        if self.num_iterations > INT32_MAX:
            raise ConfigError(
                f"total_timesteps={self.total_timesteps:,} needs {self.num_iterations:,} iterations of "
                f"{self.steps_per_iteration} steps; at most {INT32_MAX:,} fit the int32 iteration counter "
                "(raise num_envs or num_steps, or lower total_timesteps)"
            )
        check_env(self.env)
        if not isinstance(self.transform, RewardTransform):
            raise ConfigError(f"transform must be a RewardTransform, got {type(self.transform).__name__}")
        self.transform.validate()
        check_positive(self.learning_rate, "learning_rate")
        check_in_range(self.gamma, "gamma", 0.0, 1.0)
        check_positive(self.max_grad_norm, "max_grad_norm")


class OnPolicyConfig(AgentConfig):
    """Mixin: ``update_epochs`` passes over each fresh batch of ``num_envs * num_steps``
    transitions, in ``num_minibatches`` minibatches; ``anneal_lr`` decays the learning rate
    linearly to 0 over the run's ``num_iterations * update_epochs * num_minibatches`` updates."""

    update_epochs: int = static(4)
    num_minibatches: int = static(4)
    anneal_lr: bool = static(True)

    @property
    def batch_size(self) -> int:
        """Transitions per iteration, ``num_envs * num_steps`` (= ``steps_per_iteration``)."""
        return self.steps_per_iteration

    @property
    def num_updates_per_run(self) -> int:
        """Minibatch updates of a whole run, ``num_iterations * update_epochs * num_minibatches``."""
        return self.num_iterations * self.update_epochs * self.num_minibatches

    def check_fields(self) -> None:
        """Shared checks, plus: ``update_epochs`` and ``num_minibatches`` positive ints, and
        ``num_minibatches`` divides the ``num_envs * num_steps`` batch."""
        super().check_fields()
        check_positive_int(self.update_epochs, "update_epochs")
        check_positive_int(self.num_minibatches, "num_minibatches")
        if self.num_updates_per_run > INT32_MAX:
            raise ConfigError(
                f"total_timesteps={self.total_timesteps:,} needs {self.num_updates_per_run:,} optimiser updates "
                f"(iterations x update_epochs x num_minibatches); at most {INT32_MAX:,} fit the optimiser's int32 "
                "step count (raise num_envs or num_steps, or lower total_timesteps)"
            )
        if self.steps_per_iteration % self.num_minibatches:
            raise ConfigError(
                f"num_minibatches={self.num_minibatches} does not divide the batch of num_envs * num_steps = "
                f"{self.num_envs} * {self.num_steps} = {self.steps_per_iteration} transitions"
            )


class ReplayConfig(AgentConfig):
    """Mixin: a replay buffer of ``buffer_size`` items; once it holds ``learning_starts``
    items, every iteration takes ``num_updates`` gradient steps on ``batch_size`` sampled items;
    target networks move toward the online ones at rate ``tau`` (a leaf)."""

    buffer_size: int = static(10_000)
    batch_size: int = static(128)
    learning_starts: int = static(10_000)
    num_updates: int = static(1)
    tau: Array | float = 1.0

    def check_fields(self) -> None:
        """Shared checks, plus: ``buffer_size``, ``batch_size``, ``num_updates`` positive ints,
        ``learning_starts`` a non-negative int, ``tau`` in ``[0, 1]``."""
        super().check_fields()
        for name in ("buffer_size", "batch_size", "num_updates"):
            check_positive_int(getattr(self, name), name)
        if not isinstance(self.learning_starts, int) or self.learning_starts < 0:
            raise ConfigError(f"learning_starts must be a non-negative integer, got {self.learning_starts!r}")
        check_in_range(self.tau, "tau", 0.0, 1.0)


class EpsilonGreedyConfig(AgentConfig):
    """Mixin: ε-greedy acting, ε decaying linearly from ``eps_start`` to ``eps_end`` over the
    first ``eps_fraction * total_timesteps`` steps (leaves; see ``agents.acting.linear_epsilon``)."""

    eps_start: Array | float = 1.0
    eps_end: Array | float = 0.05
    eps_fraction: Array | float = 0.5

    def check_fields(self) -> None:
        """Shared checks, plus: ``eps_start``, ``eps_end`` and ``eps_fraction`` in ``[0, 1]``."""
        super().check_fields()
        for name in ("eps_start", "eps_end", "eps_fraction"):
            check_in_range(getattr(self, name), name, 0.0, 1.0)


# --------------------------------------------------------------------------- checks


def check_env(env: Any) -> None:
    """``ConfigError`` unless ``env`` has ``reset`` and ``step``."""
    if not (hasattr(env, "reset") and hasattr(env, "step")):
        raise ConfigError(f"env must be an environment object with reset/step, got {type(env).__name__}")


def check_discrete(config: AgentConfig, agent: str) -> None:
    """``ConfigError`` unless the env's action space is discrete (value-based agents)."""
    if not isinstance(config.env.action_space(config.env_params), spaces.Discrete):
        raise ConfigError(f"{agent} needs a discrete action space; use SAC or PPO for continuous actions")


def check_options(cls: type, overrides: dict[str, Any], agent: str) -> None:
    """``ConfigError`` listing the valid options when ``overrides`` has keys that are not fields of ``cls``."""
    fields = set(cls.__dataclass_fields__)
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ConfigError(
            f"unknown {agent} option(s) {unknown}; valid options: {sorted(fields - {'env', 'env_params'})}"
        )


# --------------------------------------------------------------------------- make_config


def resolve_env(env: str | Any, env_params: Any, presets: dict[str, dict[str, Any]], overrides: dict[str, Any]):
    """Shared ``make_config`` front end: look up a registered name (applying its preset) or
    take an env object. Returns ``(env, params, options)`` with ``env_name`` and
    ``eval_max_steps`` (from ``max_steps_in_episode``) filled in when not given."""
    if isinstance(env, str):
        name = env
        env, default_params = make_env(name)
        options = {**presets.get(name, {}), **overrides}
    elif not (hasattr(env, "reset") and hasattr(env, "step") and hasattr(env, "default_params")):
        raise ConfigError(
            f"env must be a registered environment name (see `jaxrl-rewards list envs`) or an environment "
            f"object with reset/step/default_params, got {env!r} ({type(env).__name__})"
        )
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
