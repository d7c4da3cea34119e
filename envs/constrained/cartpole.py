"""``ConstrainedCartPole``: gymnax's CartPole-v1 with a cost for leaving a band around the centre.

Dynamics, reward (+1 per step), termination and time limit are gymnax's CartPole-v1
unchanged (it is reused, not copied). Each step whose new cart position satisfies
``|x| > cost_band`` costs 1 in ``info["cost"]`` (scalar); the episode goes on. The
unconstrained optimum drifts freely; a constrained policy must also keep the cart near the
centre.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from gymnax.environments.classic_control.cartpole import CartPole
from gymnax.environments.classic_control.cartpole import EnvParams as CartPoleParams
from gymnax.environments.classic_control.cartpole import EnvState as CartPoleState

from jaxrl_rewards.core import struct

from ..base import EqualByConfig


@struct.dataclass
class ConstrainedCartPoleParams(CartPoleParams):
    """CartPole-v1 parameters plus ``cost_band``: cart positions ``|x| > cost_band`` cost 1."""

    cost_band: float = 0.5


class ConstrainedCartPole(EqualByConfig, CartPole):
    """CartPole-v1 with ``info["cost"] = [|x| > cost_band]`` (see module docstring)."""

    @property
    def name(self) -> str:
        return "ConstrainedCartPole"

    @property
    def default_params(self) -> ConstrainedCartPoleParams:
        return ConstrainedCartPoleParams()

    def step_env(
        self, key: jax.Array, state: CartPoleState, action: Any, params: ConstrainedCartPoleParams
    ) -> tuple[jax.Array, CartPoleState, jax.Array, jax.Array, dict[str, Any]]:
        """CartPole's step plus ``info["cost"]`` (float32 scalar)."""
        obs, new_state, reward, terminated, _ = super().step_env(key, state, action, params)
        cost = (jnp.abs(new_state.x) > params.cost_band).astype(jnp.float32)
        return obs, new_state, jnp.asarray(reward, jnp.float32), terminated, {"cost": cost}


__all__ = ["ConstrainedCartPole", "ConstrainedCartPoleParams"]
