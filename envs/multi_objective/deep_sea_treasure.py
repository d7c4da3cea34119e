"""``DeepSeaTreasure``: the two-objective benchmark of Vamplew et al. (2011), "Empirical
evaluation methods for multiobjective reinforcement learning algorithms".

A submarine starts at the top-left cell ``(0, 0)`` of an 11 x 10 grid. Column ``c`` holds a
treasure of value ``TREASURES[c]`` at depth ``DEPTHS[c]``; the cells below it are sea floor
(impassable). Four actions move up/right/down/left (0/1/2/3); moving into the floor or the
border leaves the submarine in place. Reaching a treasure ends the episode.

Objectives, in ``info["rewards"] = {"treasure": ..., "time": ...}``: the treasure value on the
step that collects it (else 0), and -1 per step. The scalar env reward is their sum. The
Pareto front (treasure, -steps) is ``(1, -1), (2, -3), (3, -5), (5, -7), (8, -8), (16, -9),
(24, -13), (50, -14), (74, -17), (124, -19)``; it is not convex, so most of it is out of reach
of linear scalarisation.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core import struct

from ..base import Environment, EnvParams, EnvState, EqualByConfig, spaces

ROWS, COLS = 11, 10
DEPTHS: tuple[int, ...] = (1, 2, 3, 4, 4, 4, 7, 7, 9, 10)
TREASURES: tuple[float, ...] = (1.0, 2.0, 3.0, 5.0, 8.0, 16.0, 24.0, 50.0, 74.0, 124.0)
MOVES = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]], dtype=np.int32)


def _grid() -> np.ndarray:
    """``[ROWS, COLS]`` float: 0 sea, -1 floor, > 0 treasure value."""
    grid = np.zeros((ROWS, COLS), np.float32)
    for c, (d, v) in enumerate(zip(DEPTHS, TREASURES, strict=True)):
        grid[d, c] = v
        grid[d + 1 :, c] = -1.0
    return grid


GRID = _grid()


@struct.dataclass
class DSTState(EnvState):
    """Submarine position ``pos`` (int32 ``[2]``) and step counter ``time``."""

    pos: jax.Array
    time: int


@struct.dataclass
class DSTParams(EnvParams):
    """``max_steps_in_episode`` (time limit) is the only parameter."""

    max_steps_in_episode: int = 50


class DeepSeaTreasure(EqualByConfig, Environment[DSTState, DSTParams]):
    """Deep Sea Treasure (see module docstring). ``obs_mode``: ``"onehot"`` (float32 ``[110]``)
    or ``"coords"`` (float32 ``[2]``, row / 10 and col / 9)."""

    def __init__(self, obs_mode: str = "onehot") -> None:
        super().__init__()
        if obs_mode not in ("onehot", "coords"):
            raise ValueError(f"obs_mode must be 'onehot' or 'coords', got {obs_mode!r}")
        self.obs_mode = obs_mode

    config_fields = ("obs_mode",)

    @property
    def name(self) -> str:
        return "DeepSeaTreasure"

    @property
    def num_actions(self) -> int:
        return 4

    @property
    def default_params(self) -> DSTParams:
        return DSTParams()

    def reset_env(self, key: jax.Array, params: DSTParams) -> tuple[jax.Array, DSTState]:
        state = DSTState(pos=jnp.zeros(2, jnp.int32), time=jnp.zeros((), jnp.int32))
        return self.get_obs(state, params), state

    def step_env(self, key: jax.Array, state: DSTState, action: Any, params: DSTParams):
        grid = jnp.asarray(GRID)
        target = state.pos + jnp.asarray(MOVES)[jnp.asarray(action, jnp.int32)]
        inside = jnp.all((target >= 0) & (target < jnp.asarray([ROWS, COLS])))
        clipped = jnp.clip(target, 0, jnp.asarray([ROWS - 1, COLS - 1]))
        blocked = ~inside | (grid[clipped[0], clipped[1]] < 0)
        pos = jnp.where(blocked, state.pos, clipped)
        value = grid[pos[0], pos[1]]
        new_state = DSTState(pos=pos, time=state.time + 1)
        treasure = jnp.where(value > 0, value, 0.0).astype(jnp.float32)
        time_cost = jnp.float32(-1.0)
        info = {"rewards": {"treasure": treasure, "time": time_cost}}
        return self.get_obs(new_state, params), new_state, treasure + time_cost, value > 0, info

    def get_obs(self, state: DSTState, params: DSTParams | None = None, key: Any = None) -> jax.Array:
        if self.obs_mode == "coords":
            return state.pos.astype(jnp.float32) / jnp.asarray([ROWS - 1, COLS - 1], jnp.float32)
        return jax.nn.one_hot(state.pos[0] * COLS + state.pos[1], ROWS * COLS, dtype=jnp.float32)

    def is_terminated(self, state: DSTState, params: DSTParams) -> jax.Array:
        return jnp.asarray(GRID)[state.pos[0], state.pos[1]] > 0

    def action_space(self, params: DSTParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(4)

    def observation_space(self, params: DSTParams | None = None) -> spaces.Box:
        shape = (2,) if self.obs_mode == "coords" else (ROWS * COLS,)
        return spaces.Box(0.0, 1.0, shape, jnp.float32)

    def state_space(self, params: DSTParams) -> spaces.Dict:
        return spaces.Dict(
            {
                "pos": spaces.Box(0, max(ROWS, COLS) - 1, (2,), jnp.int32),
                "time": spaces.Discrete(int(params.max_steps_in_episode) + 1),
            }
        )

    @staticmethod
    def true_pareto_front() -> np.ndarray:
        """The exact Pareto front ``[10, 2]`` (treasure, -steps), by breadth-first search of
        the shortest path to every treasure."""
        dist = -np.ones((ROWS, COLS), int)
        dist[0, 0] = 0
        queue = deque([(0, 0)])
        while queue:
            r, c = queue.popleft()
            if GRID[r, c] > 0:
                continue
            for dr, dc in MOVES:
                nr, nc = r + dr, c + dc
                if 0 <= nr < ROWS and 0 <= nc < COLS and GRID[nr, nc] >= 0 and dist[nr, nc] < 0:
                    dist[nr, nc] = dist[r, c] + 1
                    queue.append((nr, nc))
        points = [(TREASURES[c], -dist[DEPTHS[c], c]) for c in range(COLS)]
        return np.asarray(points, np.float64)


__all__ = ["COLS", "DEPTHS", "GRID", "ROWS", "TREASURES", "DSTParams", "DSTState", "DeepSeaTreasure"]
