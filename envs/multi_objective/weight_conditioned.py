"""``WeightConditioned``: a wrapper that samples an objective-weight vector per episode, appends it
to the observation and reports it in ``info["weights"]``, so one policy learns the whole
Pareto front (conditioned networks: Abels et al., 2019; Yang et al., 2019) with an unchanged
agent. Pair it with ``jaxrl_rewards.transforms.objectives.conditioned_scalarization``.

Weights are drawn from a Dirichlet(``alpha``) distribution on the simplex at every reset, or
fixed to ``params.fixed_weights`` when ``params.use_fixed`` (evaluation at chosen weights).
``info["weights"]`` holds the weights of the episode the transition belongs to (before the
auto-reset).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_rewards.core import struct

from ..base import Environment, EnvParams, EnvState, EqualByConfig, spaces


@struct.dataclass
class WeightConditionedState(EnvState):
    """The wrapped env's state, this episode's weights ``[K]`` and the step counter."""

    inner: Any
    weights: jax.Array
    time: int


@struct.dataclass
class WeightConditionedParams(EnvParams):
    """Wrapped env params, Dirichlet concentration, fixed weights for evaluation; the time limit
    ``max_steps_in_episode`` is informational (truncation is the wrapped env's)."""

    inner: Any = None
    alpha: float = 1.0
    fixed_weights: Any = None
    use_fixed: bool = False


class WeightConditioned(EqualByConfig, Environment[WeightConditionedState, WeightConditionedParams]):
    """Wrap ``env`` (one whose ``step_env`` puts K objectives in ``info["rewards"]``).

    Observations become ``concat(flatten(obs), weights)`` (float32 ``[D + K]``).
    """

    def __init__(self, env: Environment, num_objectives: int) -> None:
        super().__init__()
        if int(num_objectives) != num_objectives or num_objectives < 1:
            raise ValueError(f"num_objectives must be a positive integer, got {num_objectives!r}")
        self.env = env
        self.num_objectives = int(num_objectives)

    config_fields = (
        "env",
        "num_objectives",
    )

    @property
    def name(self) -> str:
        return f"WeightConditioned({self.env.name})"

    @property
    def num_actions(self) -> int:
        return self.env.num_actions

    @property
    def default_params(self) -> WeightConditionedParams:
        k = self.num_objectives
        return WeightConditionedParams(
            inner=self.env.default_params,
            alpha=jnp.float32(1.0),
            fixed_weights=jnp.full((k,), 1.0 / k, jnp.float32),
            use_fixed=jnp.asarray(False),
            max_steps_in_episode=getattr(self.env.default_params, "max_steps_in_episode", 1000),
        )

    def _obs(self, obs: jax.Array, weights: jax.Array) -> jax.Array:
        return jnp.concatenate([jnp.ravel(jnp.asarray(obs, jnp.float32)), weights])

    def reset_env(self, key: jax.Array, params: WeightConditionedParams):
        inner_key, w_key = jax.random.split(key)
        obs, inner = self.env.reset_env(inner_key, params.inner)
        sampled = jax.random.dirichlet(w_key, jnp.full((self.num_objectives,), params.alpha, jnp.float32))
        weights = jnp.where(params.use_fixed, jnp.asarray(params.fixed_weights, jnp.float32), sampled)
        state = WeightConditionedState(inner=inner, weights=weights, time=jnp.zeros((), jnp.int32))
        return self._obs(obs, weights), state

    def step_env(self, key: jax.Array, state: WeightConditionedState, action: Any, params: WeightConditionedParams):
        obs, inner, reward, terminated, info = self.env.step_env(key, state.inner, action, params.inner)
        new_state = WeightConditionedState(inner=inner, weights=state.weights, time=state.time + 1)
        return self._obs(obs, state.weights), new_state, reward, terminated, {**info, "weights": state.weights}

    def is_truncated(self, state: WeightConditionedState, params: WeightConditionedParams) -> jax.Array:
        return self.env.is_truncated(state.inner, params.inner)

    def is_terminated(self, state: WeightConditionedState, params: WeightConditionedParams) -> jax.Array:
        return self.env.is_terminated(state.inner, params.inner)

    def get_obs(self, state: WeightConditionedState, params: WeightConditionedParams | None = None, key=None):
        p = self.default_params if params is None else params
        return self._obs(self.env.get_obs(state.inner, p.inner), state.weights)

    def action_space(self, params: WeightConditionedParams | None = None):
        return self.env.action_space(None if params is None else params.inner)

    def observation_space(self, params: WeightConditionedParams | None = None) -> spaces.Box:
        inner = self.env.observation_space(None if params is None else params.inner)
        dim = math.prod(tuple(inner.shape)) + self.num_objectives
        return spaces.Box(-jnp.inf, jnp.inf, (dim,), jnp.float32)


def with_fixed_weights(params: WeightConditionedParams, weights: Any) -> WeightConditionedParams:
    """Params that make every episode use ``weights`` ``[K]`` (evaluation at chosen weights)."""
    return params.replace(fixed_weights=jnp.asarray(weights, jnp.float32), use_fixed=jnp.asarray(True))


__all__ = ["WeightConditioned", "WeightConditionedParams", "WeightConditionedState", "with_fixed_weights"]
