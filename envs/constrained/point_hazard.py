"""``PointHazard``: a continuous point robot reaching a goal past hazard regions that emit cost.

A point moves in the arena ``[-1, 1]^2``; the action ``a`` (float32 ``[2]``, clipped to
``[-1, 1]``) moves it by ``max_speed * a`` (the position is clipped to the arena). It starts
near ``start`` (uniform noise of ``start_noise`` per axis) and must reach the disc of radius
``goal_radius`` around ``goal``, which pays ``goal_reward`` and terminates. Every step pays
the progress ``progress_scale * (d_{t-1} - d_t)`` toward the goal (``d``: distance to it), so
the undiscounted return of reaching the goal is path independent and discounting favours the
straight line — which crosses the hazard discs (centres ``hazard_centers [H, 2]``, radii
``hazard_radii [H]``) placed between start and goal.

Cost: 1 for each step that ends inside a hazard, in ``info["cost"]``: a scalar (any hazard) by
default, or one entry per hazard (``[H]``, ``per_hazard_cost=True``) for several constraints.
The cost is never hidden from the observation: the observation (float32 ``[4 + 2H]``) is the
position, the goal minus the position and each hazard centre minus the position.

With the defaults (start (-0.8, 0), goal (0.8, 0), one hazard of radius 0.4 at the origin,
speed 0.1) the straight path spends about 8 steps in the hazard; going around costs ~4 steps.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_rewards.core import struct

from ..base import Environment, EnvParams, EnvState, EqualByConfig, spaces


@struct.dataclass
class PointHazardState(EnvState):
    """Position ``pos`` (float32 ``[2]``) and step counter ``time``."""

    pos: jax.Array
    time: int


@struct.dataclass
class PointHazardParams(EnvParams):
    """Parameters of :class:`PointHazard`; every field is a leaf (vmappable)."""

    max_steps_in_episode: int = 100
    max_speed: float = 0.1
    start: jax.Array = struct.field(default_factory=lambda: jnp.array([-0.8, 0.0], jnp.float32))
    start_noise: float = 0.05
    goal: jax.Array = struct.field(default_factory=lambda: jnp.array([0.8, 0.0], jnp.float32))
    goal_radius: float = 0.1
    goal_reward: float = 1.0
    progress_scale: float = 1.0
    hazard_centers: jax.Array = struct.field(default_factory=lambda: jnp.array([[0.0, 0.0]], jnp.float32))
    hazard_radii: jax.Array = struct.field(default_factory=lambda: jnp.array([0.4], jnp.float32))


class PointHazard(EqualByConfig, Environment[PointHazardState, PointHazardParams]):
    """Point robot with hazards (see module docstring).

    Args:
        per_hazard_cost: ``info["cost"]`` is ``[H]`` (one constraint per hazard) instead of a
            scalar (static: it sets the cost shape).
    """

    def __init__(self, per_hazard_cost: bool = False) -> None:
        super().__init__()
        self.per_hazard_cost = bool(per_hazard_cost)

    config_fields = ("per_hazard_cost",)

    def __repr__(self) -> str:
        return f"PointHazard(per_hazard_cost={self.per_hazard_cost})"

    @property
    def name(self) -> str:
        return "PointHazard"

    @property
    def num_actions(self) -> int:
        return 2

    @property
    def default_params(self) -> PointHazardParams:
        return PointHazardParams()

    def reset_env(self, key: jax.Array, params: PointHazardParams) -> tuple[jax.Array, PointHazardState]:
        """Start at ``start`` plus uniform noise in ``[-start_noise, start_noise]^2``."""
        noise = jax.random.uniform(key, (2,), jnp.float32, -1.0, 1.0) * params.start_noise
        state = PointHazardState(pos=jnp.clip(params.start + noise, -1.0, 1.0), time=jnp.zeros((), jnp.int32))
        return self.get_obs(state, params), state

    def hazard_cost(self, pos: jax.Array, params: PointHazardParams) -> jax.Array:
        """Per-hazard indicator of ``pos`` inside the hazard, float32 ``[H]``."""
        dist = jnp.linalg.norm(params.hazard_centers - pos[None, :], axis=-1)
        return (dist < params.hazard_radii).astype(jnp.float32)

    def step_env(
        self, key: jax.Array, state: PointHazardState, action: jax.Array, params: PointHazardParams
    ) -> tuple[jax.Array, PointHazardState, jax.Array, jax.Array, dict[str, Any]]:
        """Move; reward = progress toward the goal (+ ``goal_reward`` on arrival); cost in info."""
        del key
        move = params.max_speed * jnp.clip(jnp.asarray(action, jnp.float32), -1.0, 1.0)
        pos = jnp.clip(state.pos + move, -1.0, 1.0)
        new_state = PointHazardState(pos=pos, time=state.time + 1)
        before = jnp.linalg.norm(params.goal - state.pos)
        after = jnp.linalg.norm(params.goal - pos)
        reached = self.is_terminated(new_state, params)
        reward = params.progress_scale * (before - after) + jnp.where(reached, params.goal_reward, 0.0)
        per_hazard = self.hazard_cost(pos, params)
        cost = per_hazard if self.per_hazard_cost else jnp.max(per_hazard)
        info = {"cost": cost}
        return self.get_obs(new_state, params), new_state, jnp.asarray(reward, jnp.float32), reached, info

    def get_obs(self, state: PointHazardState, params: PointHazardParams | None = None, key: Any = None) -> jax.Array:
        """``[pos, goal - pos, hazard_centers - pos]`` flattened, float32 ``[4 + 2H]``."""
        params = self.default_params if params is None else params
        rel_hazards = (params.hazard_centers - state.pos[None, :]).reshape(-1)
        return jnp.concatenate([state.pos, params.goal - state.pos, rel_hazards]).astype(jnp.float32)

    def is_terminated(self, state: PointHazardState, params: PointHazardParams) -> jax.Array:
        """Bool scalar: inside the goal disc."""
        return jnp.linalg.norm(params.goal - state.pos) < params.goal_radius

    def action_space(self, params: PointHazardParams | None = None) -> spaces.Box:
        """``Box(-1, 1, (2,))``: the move as a fraction of ``max_speed`` per axis."""
        return spaces.Box(-1.0, 1.0, (2,), jnp.float32)

    def observation_space(self, params: PointHazardParams | None = None) -> spaces.Box:
        """``Box(-2, 2, (4 + 2H,))``."""
        params = self.default_params if params is None else params
        dim = 4 + 2 * int(params.hazard_centers.shape[0])
        return spaces.Box(-2.0, 2.0, (dim,), jnp.float32)

    def state_space(self, params: PointHazardParams) -> spaces.Dict:
        """Positions in the arena and the step counter."""
        return spaces.Dict(
            {
                "pos": spaces.Box(-1.0, 1.0, (2,), jnp.float32),
                "time": spaces.Discrete(int(params.max_steps_in_episode) + 1),
            }
        )


def two_hazard_params(**overrides: Any) -> PointHazardParams:
    """Parameters with two hazards side by side across the straight path (one constraint
    each with ``PointHazard(per_hazard_cost=True)``): discs of radius 0.3 at (-0.2, 0) and (0.3, 0)."""
    params = PointHazardParams(
        hazard_centers=jnp.array([[-0.2, 0.0], [0.3, 0.0]], jnp.float32),
        hazard_radii=jnp.array([0.3, 0.3], jnp.float32),
    )
    return params.replace(**overrides)


__all__ = ["PointHazard", "PointHazardParams", "PointHazardState", "two_hazard_params"]
