"""Registry entries for our own constrained environments (costs in ``info["cost"]``).

ENVIRONMENTS maps a name to (factory, description); factory(**options) returns
(env, default_params). jaxrl_rewards.envs.registry registers every entry at import.
"""

from __future__ import annotations

from typing import Any

from .cartpole import ConstrainedCartPole
from .lava_grid import DEFAULT_LAYOUT, LavaGrid
from .point_hazard import PointHazard, two_hazard_params


def _point_hazard(per_hazard_cost: bool = False) -> tuple[Any, Any]:
    env = PointHazard(per_hazard_cost=per_hazard_cost)
    return env, env.default_params


def _point_two_hazards() -> tuple[Any, Any]:
    return PointHazard(per_hazard_cost=True), two_hazard_params()


def _lava_grid(layout: tuple[str, ...] = DEFAULT_LAYOUT) -> tuple[Any, Any]:
    env = LavaGrid(layout=layout)
    return env, env.default_params


def _constrained_cartpole() -> tuple[Any, Any]:
    env = ConstrainedCartPole()
    return env, env.default_params


ENVIRONMENTS: dict = {
    "PointHazard-v0": (
        _point_hazard,
        "Continuous point robot reaching a goal; a hazard disc on the straight path costs 1 per step inside.",
    ),
    "PointTwoHazards-v0": (
        _point_two_hazards,
        'Point robot with two hazards across its path; info["cost"] is [2], one constraint per hazard.',
    ),
    "LavaGrid-v0": (
        _lava_grid,
        "4x7 grid; the short path crosses a lava wall (cost 1 per lava step), the safe path is longer.",
    ),
    "ConstrainedCartPole-v0": (
        _constrained_cartpole,
        "CartPole-v1 with cost 1 per step while the cart is outside |x| <= 0.5.",
    ),
}
