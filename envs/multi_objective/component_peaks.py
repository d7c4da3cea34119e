"""``ComponentPeaks``: a one-step continuous-action test bed for constrained composite rewards.

The agent picks one action ``a`` in ``[-2, 2]`` (``Box [1]``; clipped) and the episode ends. K
component rewards peak at different actions,

    r_k(a) = 1 - ((a - c_k) / w_k)^2          (centres ``c [K]``, widths ``w [K]``),

reported in ``info["rewards"] = {"c0": r_0, "c1": r_1, ...}``; the env reward is their sum
(the "unconstrained sum of reward models"). The gold objective, which the components are
proxies for, is ``g(a) = 1 - ((a - a_g) / w_g)^2`` in ``info["true_reward"]`` (weight 0: only
measured). The components' *proxy points* are their values at the gold optimum,
``theta_k = r_k(a_g)``: Moskovitz et al. (2023, "Confronting reward model overoptimization with
constrained RLHF") give each component the threshold ``theta_k`` and push it only while below,
so a policy stops where every component is good enough instead of where their sum peaks.

With the defaults (``c = (1, -1)``, ``w = (2, 2)``, ``a_g = 0.5``, ``w_g = 1``) the sum peaks at
``a = 0`` (gold 0.75; component ``c1`` is pushed to 0.75, past its proxy point 0.4375), a fixed weighting ``(lambda,
1 - lambda)`` of the components peaks at ``a = 2 lambda - 1``, and the thresholds
``r_k >= theta_k`` alone pin ``a = a_g`` (gold 1). The observation is a constant ``[1]``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_rewards.core import struct

from ..base import Environment, EnvParams, EnvState, EqualByConfig, spaces

LOW, HIGH = -2.0, 2.0


@struct.dataclass
class PeaksState(EnvState):
    """Only the step counter ``time``."""

    time: int


@struct.dataclass
class PeaksParams(EnvParams):
    """Component centres ``centers [K]`` and widths ``widths [K]``, the gold optimum
    ``gold_center`` and width ``gold_width`` (all leaves), and a time limit that one-step
    episodes never reach (they terminate, they are not truncated)."""

    centers: jax.Array = struct.field(default_factory=lambda: jnp.asarray([1.0, -1.0]))
    widths: jax.Array = struct.field(default_factory=lambda: jnp.asarray([2.0, 2.0]))
    gold_center: float = 0.5
    gold_width: float = 1.0
    max_steps_in_episode: int = 2  # never reached: every episode terminates after one step


def component_rewards(action: jax.Array, params: PeaksParams) -> jax.Array:
    """``r_k(a) = 1 - ((a - c_k) / w_k)^2`` for a clipped scalar action, ``[K]``."""
    a = jnp.clip(jnp.reshape(action, ()), LOW, HIGH)
    return 1.0 - ((a - params.centers) / params.widths) ** 2


def gold_reward(action: jax.Array, params: PeaksParams) -> jax.Array:
    """``g(a) = 1 - ((a - a_g) / w_g)^2`` for a clipped scalar action, scalar."""
    a = jnp.clip(jnp.reshape(action, ()), LOW, HIGH)
    return 1.0 - ((a - params.gold_center) / params.gold_width) ** 2


class ComponentPeaks(EqualByConfig, Environment[PeaksState, PeaksParams]):
    """One-step env with K component rewards peaking at different actions (module docstring)."""

    @property
    def name(self) -> str:
        return "ComponentPeaks"

    @property
    def num_actions(self) -> int:
        return 1

    @property
    def default_params(self) -> PeaksParams:
        return PeaksParams()

    def reset_env(self, key: jax.Array, params: PeaksParams) -> tuple[jax.Array, PeaksState]:
        state = PeaksState(time=jnp.zeros((), jnp.int32))
        return self.get_obs(state, params), state

    def step_env(self, key: jax.Array, state: PeaksState, action: Any, params: PeaksParams):
        components = component_rewards(action, params).astype(jnp.float32)
        info = {
            "rewards": {f"c{k}": components[k] for k in range(components.shape[0])},
            "true_reward": gold_reward(action, params).astype(jnp.float32),
        }
        new_state = PeaksState(time=state.time + 1)
        return self.get_obs(new_state, params), new_state, components.sum(), jnp.asarray(True), info

    def get_obs(self, state: PeaksState, params: PeaksParams | None = None, key: Any = None) -> jax.Array:
        return jnp.ones((1,), jnp.float32)

    def is_terminated(self, state: PeaksState, params: PeaksParams) -> jax.Array:
        return jnp.asarray(state.time >= 1)

    def action_space(self, params: PeaksParams | None = None) -> spaces.Box:
        return spaces.Box(LOW, HIGH, (1,), jnp.float32)

    def observation_space(self, params: PeaksParams | None = None) -> spaces.Box:
        return spaces.Box(1.0, 1.0, (1,), jnp.float32)

    def state_space(self, params: PeaksParams) -> spaces.Dict:
        return spaces.Dict({"time": spaces.Discrete(int(params.max_steps_in_episode) + 1)})


__all__ = ["ComponentPeaks", "PeaksParams", "PeaksState", "component_rewards", "gold_reward"]
