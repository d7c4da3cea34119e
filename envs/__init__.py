"""Environments for reward research behind one functional, gymnax 1.0-compatible API.

``make(name, **kwargs) -> (env, params)`` builds gymnax, brax and our own environments;
``env.reset(key, params) -> (obs, state)`` and ``env.step(key, state, action, params) ->
(obs, state, reward, terminated, truncated, info)`` with auto-reset and
``info["final_observation"]``. See :mod:`.base` for the contract.

``BraxEnv`` (and brax/mujoco) is imported lazily on first use, since importing brax is slow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import CondResetEnvironment, Environment, EnvParams, EnvState, spaces
from .gridworld import GridDistancePotential, GridWorldParams, GridWorldState, SparseGridWorld, TabularMDP
from .registry import (
    UnavailableEnvironmentError,
    UnknownEnvironmentError,
    env_info,
    make,
    register,
    registered_envs,
    unregister,
)

if TYPE_CHECKING:
    from .brax_adapter import BraxEnv, BraxEnvParams, BraxEnvState

_LAZY = {"BraxEnv", "BraxEnvParams", "BraxEnvState"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import brax_adapter

        return getattr(brax_adapter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BraxEnv",
    "BraxEnvParams",
    "BraxEnvState",
    "CondResetEnvironment",
    "EnvParams",
    "EnvState",
    "Environment",
    "GridDistancePotential",
    "GridWorldParams",
    "GridWorldState",
    "SparseGridWorld",
    "TabularMDP",
    "UnavailableEnvironmentError",
    "UnknownEnvironmentError",
    "env_info",
    "make",
    "register",
    "registered_envs",
    "spaces",
    "unregister",
]
