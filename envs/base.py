"""The environment API shared by every ``jaxrl_rewards`` environment.

We adopt gymnax 1.0's functional API unchanged, so any gymnax environment works as is:

* ``env.reset(key, params) -> (obs, state)``
* ``env.step(key, state, action, params) -> (obs, state, reward, terminated, truncated, info)``

``step`` auto-resets when ``terminated or truncated``: the returned ``obs``/``state`` are
those of the new episode and the true last observation is kept in
``info["final_observation"]``. ``terminated`` (a natural end: no bootstrapping) and
``truncated`` (the time limit ``state.time >= params.max_steps_in_episode``) are separate
bool scalars.

Subclasses implement ``step_env(key, state, action, params) -> (obs, state, reward,
terminated, info)`` (which must increment ``state.time``), ``reset_env(key, params) ->
(obs, state)``, ``get_obs``, ``is_terminated``, ``action_space``, ``observation_space``,
``default_params``, ``name`` and ``num_actions``.
"""

from __future__ import annotations

from functools import partial
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
from gymnax.environments import spaces
from gymnax.environments.environment import Environment, EnvParams, EnvState

__all__ = ["CondResetEnvironment", "EnvParams", "EnvState", "Environment", "EqualByConfig", "spaces"]

TState = TypeVar("TState", bound=EnvState)
TParams = TypeVar("TParams", bound=EnvParams)


class EqualByConfig:
    """Mixin: env instances are equal when their class and constructor options are.

    ``self`` is a static argument of the jitted ``step``/``reset``, so equal instances share one
    compilation (a second ``make("...")`` does not recompile). An env lists its constructor options in
    ``config_fields`` (or overrides ``_config``); put the mixin first in the bases.
    """

    config_fields: tuple[str, ...] = ()

    def _config(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.config_fields)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._config() == self._config()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self._config()))


class CondResetEnvironment(Environment[TState, TParams]):
    """An ``Environment`` whose auto-reset runs ``reset_env`` only when an episode ends.

    gymnax's ``step`` computes ``reset_env`` on every step and selects its result when the
    episode is over. Here the reset sits in ``jax.lax.cond``: an unbatched step skips it
    when the episode continues. Under ``vmap`` with a batched ``done`` JAX turns the cond
    into a select, so batched steps cost the same as gymnax's. Results (returned values
    and ``info`` keys) are identical to gymnax's ``step``. Worth it for environments with
    an expensive reset (physics simulators).
    """

    @partial(jax.jit, static_argnames=("self",))
    def step(
        self,
        key: jax.Array,
        state: TState,
        action: Any,
        params: TParams | None = None,
    ) -> tuple[Any, TState, jax.Array, jax.Array, jax.Array, dict[str, Any]]:
        """Step, auto-resetting on ``terminated or truncated`` (see class docstring)."""
        if params is None:
            params = self.default_params
        key_step, key_reset = jax.random.split(key)
        obs_step, state_step, reward, terminated, info = self.step_env(key_step, state, action, params)
        truncated = jnp.asarray(self.is_truncated(state_step, params))
        done = jnp.logical_or(terminated, truncated)
        obs, next_state = jax.lax.cond(
            done,
            lambda: self.reset_env(key_reset, params),
            lambda: (obs_step, state_step),
        )
        info = {
            **info,
            "terminated": terminated,
            "truncated": truncated,
            "final_observation": obs_step,
        }
        return obs, next_state, reward, terminated, truncated, info
