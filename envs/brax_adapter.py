"""Adapter exposing a brax environment through the gymnax-style API of :mod:`.base`.

Findings (brax 0.14.2, jax 0.10.2, shared 2-core CPU, so numbers are +-30% noisy):

* Backends: brax 0.14.2 has ``mjx``, ``generalized``, ``positional`` and ``spring``
  (:data:`BRAX_BACKENDS`). All brax envs accept ``mjx`` except swimmer (``generalized``
  only, and that fails to trace with jax 0.10.2: see the registry). ``InvertedPendulum``,
  16 envs under ``vmap``, compile of reset + one step / throughput of a jitted
  ``lax.scan``: ``spring`` ~2 s + 4 s, 95-180k env-steps/s; ``generalized`` ~3 s + 5 s,
  40-57k; ``positional`` ~2 s + 6-10 s, 43-67k; ``mjx`` ~6 s + 7-10 s, 45-67k. ``spring``
  compiles and runs fastest on CPU but is an approximate physics model; the default
  stays ``mjx`` (MuJoCo's maintained physics). Choose with ``make(name, backend=...)``.
* Auto-reset cost: gymnax's ``step`` runs ``reset_env`` on every step and selects. An mjx
  reset costs ~25% (InvertedPendulum) to ~30% (Ant) of a step. :class:`BraxEnv` uses
  :class:`.base.CondResetEnvironment`, which puts the reset under ``lax.cond``: unbatched
  InvertedPendulum 29k -> 81k env-steps/s; under ``vmap`` the cond becomes a select, so
  batched speed is unchanged (16 envs: 63k vs 61k; Ant 10.4k vs 10.4k). Reusing each
  env's first state on reset (brax's ``AutoResetWrapper``) was +12% (InvertedPendulum) /
  +28% (Ant) batched but makes every episode of an env start identically, so it was
  rejected: resets here are freshly random per episode.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import brax.envs
import jax
import jax.numpy as jnp

from jaxrl_rewards.core import struct

from .base import CondResetEnvironment, EnvParams, EnvState, spaces

#: Physics backends offered by brax 0.14.2's ``PipelineEnv``.
BRAX_BACKENDS: tuple[str, ...] = ("mjx", "generalized", "positional", "spring")
DEFAULT_BACKEND = "mjx"
#: brax environments that do not support :data:`DEFAULT_BACKEND`, with the one they use.
BACKEND_EXCEPTIONS: dict[str, str] = {"swimmer": "generalized"}


def default_backend(env_name: str) -> str:
    """The backend used for brax environment ``env_name`` when none is given."""
    return BACKEND_EXCEPTIONS.get(env_name, DEFAULT_BACKEND)


@struct.dataclass
class BraxEnvParams(EnvParams):
    """Parameters of a :class:`BraxEnv` (a pytree: vmappable)."""

    max_steps_in_episode: int = 1000


@struct.dataclass
class BraxEnvState(EnvState):
    """State of a :class:`BraxEnv`: the wrapped brax ``State`` plus the step counter."""

    brax_state: brax.envs.State


def _as_float32(brax_state: brax.envs.State) -> brax.envs.State:
    """Give ``reward`` and ``done`` a fixed float32 dtype (brax mixes Python floats in)."""
    return brax_state.replace(
        reward=jnp.asarray(brax_state.reward, jnp.float32),
        done=jnp.asarray(brax_state.done, jnp.float32),
    )


class BraxEnv(CondResetEnvironment[BraxEnvState, BraxEnvParams]):
    """A brax environment behind the gymnax ``Environment`` API.

    Observations are float32 ``[obs_size]``; actions are float32 ``[action_size]`` in
    ``[-1, 1]`` (clipped inside ``step``). ``terminated`` is brax's ``done``; ``truncated``
    comes from ``params.max_steps_in_episode``. ``info["metrics"]`` carries brax's metrics
    (reward components etc.) of the transition.

    Args:
        env: a brax registry name (``"ant"``, ``"inverted_pendulum"``, ...) or a brax
            ``Env`` instance.
        backend: physics backend, one of :data:`BRAX_BACKENDS` (only with a name);
            default :func:`default_backend` (``"mjx"``; ``"generalized"`` for swimmer,
            the only backend brax's swimmer supports).
        name: display name (defaults to ``"brax:<env>"``).
        **env_kwargs: forwarded to the brax environment's constructor.
    """

    def __init__(
        self,
        env: str | brax.envs.Env,
        *,
        backend: str | None = None,
        name: str | None = None,
        **env_kwargs: Any,
    ) -> None:
        super().__init__()
        if isinstance(env, str):
            backend = default_backend(env) if backend is None else backend
            if backend not in BRAX_BACKENDS:
                raise ValueError(f"unknown brax backend {backend!r}; choose from {BRAX_BACKENDS}")
            with warnings.catch_warnings():  # brax warns on every model load that it is
                warnings.filterwarnings(  # unmaintained; say it once in the docs instead
                    "ignore", message="Brax System, piplines", category=UserWarning
                )
                self._brax_env = brax.envs.get_environment(env, backend=backend, **env_kwargs)
            self._name = name or f"brax:{env}"
        else:
            if env_kwargs or backend is not None:
                raise ValueError("backend/env_kwargs are only accepted with a brax env name")
            self._brax_env = env
            self._name = name or f"brax:{type(env.unwrapped).__name__}"

    @property
    def brax_env(self) -> brax.envs.Env:
        """The wrapped brax environment."""
        return self._brax_env

    @property
    def backend(self) -> str:
        """The brax physics backend in use."""
        return self._brax_env.backend

    @property
    def name(self) -> str:
        return self._name

    @functools.cached_property
    def obs_size(self) -> int:
        """Length of the observation vector (found by abstract evaluation, no compile)."""
        shape = jax.eval_shape(self._brax_env.reset, jax.random.PRNGKey(0)).obs.shape
        return int(shape[-1])

    @property
    def action_size(self) -> int:
        """Length of the action vector."""
        return int(self._brax_env.action_size)

    @property
    def num_actions(self) -> int:
        """Action dimensionality (continuous actions)."""
        return self.action_size

    @property
    def default_params(self) -> BraxEnvParams:
        return BraxEnvParams()

    def reset_env(self, key: jax.Array, params: BraxEnvParams) -> tuple[jax.Array, BraxEnvState]:
        """Sample an initial brax state. Returns ``(obs [obs_size], state)``."""
        del params
        brax_state = _as_float32(self._brax_env.reset(key))
        time = jnp.zeros((), jnp.int32)
        return brax_state.obs, BraxEnvState(time=time, brax_state=brax_state)

    def step_env(
        self,
        key: jax.Array,
        state: BraxEnvState,
        action: jax.Array,
        params: BraxEnvParams,
    ) -> tuple[jax.Array, BraxEnvState, jax.Array, jax.Array, dict[str, Any]]:
        """One brax step with ``action [action_size]`` clipped to ``[-1, 1]``."""
        del key, params  # brax dynamics are deterministic
        action = jnp.clip(jnp.asarray(action, jnp.float32), -1.0, 1.0)
        brax_state = _as_float32(self._brax_env.step(state.brax_state, action))
        new_state = BraxEnvState(time=state.time + 1, brax_state=brax_state)
        terminated = brax_state.done > 0.5
        return (
            brax_state.obs,
            new_state,
            brax_state.reward,
            terminated,
            {"metrics": brax_state.metrics},
        )

    def get_obs(self, state: BraxEnvState, params: Any = None, key: Any = None) -> jax.Array:
        """The observation ``[obs_size]`` of ``state``."""
        return state.brax_state.obs

    def is_terminated(self, state: BraxEnvState, params: BraxEnvParams) -> jax.Array:
        """brax's ``done`` flag of the last transition, as a bool scalar."""
        return state.brax_state.done > 0.5

    def action_space(self, params: BraxEnvParams | None = None) -> spaces.Box:
        """``Box(-1, 1, (action_size,), float32)``."""
        return spaces.Box(-1.0, 1.0, (self.action_size,), jnp.float32)

    def observation_space(self, params: BraxEnvParams | None = None) -> spaces.Box:
        """``Box(-inf, inf, (obs_size,), float32)``."""
        return spaces.Box(-jnp.inf, jnp.inf, (self.obs_size,), jnp.float32)
