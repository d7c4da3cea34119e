"""Registry entries for our own exploration environments.

ENVIRONMENTS maps a name to (factory, description); factory(**options) returns
(env, default_params). jaxrl_rewards.envs.registry registers every entry at import.
"""

from __future__ import annotations

from .contextual_grid import make_contextual_grid, make_fixed_contextual_grid
from .deceptive_maze import make_deceptive_maze
from .deep_sea import make_deep_sea
from .key_door import make_key_door
from .noisy_tv import make_noisy_tv

ENVIRONMENTS: dict = {
    "DeepSea-v0": (make_deep_sea, "Deep sea (Osband et al.) with a size parameter: treasure N-1 right moves away."),
    "KeyDoor-v0": (make_key_door, "Two-room grid: fetch a key, unlock the door, reach a sparse goal."),
    "NoisyTV-v0": (make_noisy_tv, "Open grid with a sparse goal and an action that shows random noise (noisy TV)."),
    "ContextualGrid-v0": (
        make_contextual_grid,
        "Two-room grid whose layout is resampled every episode (resample=True) or fixed.",
    ),
    "ContextualGridFixed-v0": (make_fixed_contextual_grid, "ContextualGrid with one fixed layout for every episode."),
    "DeceptiveMaze-v0": (
        make_deceptive_maze,
        "Grid maze whose distance-to-goal reward leads into a walled pocket; the goal is around the wall.",
    ),
}
