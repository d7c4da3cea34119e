"""``DeceptiveMaze``: a small grid maze whose dense reward leads greedy search into a dead end.

A ``size x size`` grid (rows top to bottom, ``size >= 6``, default 7); ``c = size // 2``. The goal
is ``(0, c)`` on the top row. The agent starts at ``(c, c)``, below a wall along row 2 from
column 1 to ``size - 2`` (for ``size >= 8`` side walls in columns 1 and ``size - 2``, rows
``2..c-1``, make it a pocket open at the bottom). For ``size = 7``::

    . . . G . . .      G goal (0, 3)
    . . . . . . .
    . # # # # # .      # wall
    . . . S . . .      S start (3, 3)
    . . . . . . .
    . . . . . . .
    . . . . . . .

Reward of a step into cell ``p'``::

    r = goal_reward * [p' = goal] - distance_coef * d(p', goal) / (2 * (size - 1))

with ``d`` the Manhattan distance (so the penalty lies in ``[0, distance_coef]``). Every move
from the start raises the distance, so following the reward greedily stays at the wall (for
``size = 7`` at distance 3: return ``-30 * 3 / 12 = -7.5`` over the 30-step horizon), a local
optimum. The goal is 9 steps away around the wall's end (the distance rising to 6 on the way;
return ``10 - 30 / 12 = 7.5``). Reaching the goal pays ``goal_reward`` and terminates. With
``decoy_reward = b != 0`` the bottom cell below the start, ``(size - 1, c)``, is a decoy: entering it
pays ``b`` on top of the step's reward and terminates (for ``size = 7``, 3 steps down: return
``b - (4 + 5 + 6) / 12 = b - 1.25``), a second local optimum that is easy to find. Actions:
up/right/down/left/stay (0..4); moves into a wall or the border leave the agent in place.

Observation: ``obs_mode="onehot"`` (default) float32 ``[size * size]`` (one-hot of ``row * size +
col``, so exact counts apply) or ``"coords"`` float32 ``[2]``: ``(row, col) / (size - 1)``.
``info["pos"]`` (int32 ``[2]``, row and column after the move; on an episode end the true last
position, before the auto-reset), ``info["success"]`` (1.0 on the step that reaches the goal) and
``info["distance"]`` (``d(p', goal) / (2 * (size - 1))``, float32).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core import struct

from ..base import Environment, EnvParams, EnvState, EqualByConfig, spaces
from ..gridworld import MOVES, OBS_MODES

#: Row/column offset of each action: up, right, down, left, stay.
MAZE_MOVES: np.ndarray = np.concatenate([MOVES, np.zeros((1, 2), np.int32)])


@struct.dataclass
class DeceptiveMazeState(EnvState):
    """Agent position ``pos`` (int32 ``[2]``: row, col) and step counter ``time``."""

    pos: jax.Array
    time: int


@struct.dataclass
class DeceptiveMazeParams(EnvParams):
    """Leaves (vmappable): time limit, goal reward, scale of the distance penalty, decoy reward
    (0: no decoy)."""

    max_steps_in_episode: int = 30
    goal_reward: float = 10.0
    distance_coef: float = 1.0
    decoy_reward: float = 0.0


def maze_walls(size: int) -> np.ndarray:
    """Wall mask (bool ``[size, size]``) of the maze of side ``size`` (see module docstring)."""
    c = size // 2
    walls = np.zeros((size, size), bool)
    walls[2, 1 : size - 1] = True
    walls[2:c, 1] = True
    walls[2:c, size - 2] = True
    return walls


class DeceptiveMaze(EqualByConfig, Environment[DeceptiveMazeState, DeceptiveMazeParams]):
    """Deceptive maze (see module docstring).

    Args:
        size: grid side (static), an integer ``>= 6``.
        obs_mode: ``"onehot"`` (float32 ``[size * size]``) or ``"coords"`` (float32 ``[2]``).
    """

    config_fields = ("size", "obs_mode")

    def __init__(self, size: int = 7, obs_mode: str = "onehot") -> None:
        super().__init__()
        if isinstance(size, bool) or int(size) != size or size < 6:
            raise ValueError(f"size must be an integer >= 6, got {size!r}")
        if obs_mode not in OBS_MODES:
            raise ValueError(f"obs_mode must be one of {OBS_MODES}, got {obs_mode!r}")
        self.size = int(size)
        self.obs_mode = obs_mode
        #: ``walls[row, col]``: bool ``[size, size]``
        self.walls = maze_walls(self.size)

    def __repr__(self) -> str:
        return f"DeceptiveMaze(size={self.size}, obs_mode={self.obs_mode!r})"

    @property
    def name(self) -> str:
        return "DeceptiveMaze"

    @property
    def num_actions(self) -> int:
        return 5

    @property
    def num_states(self) -> int:
        """Number of cells, ``size * size``."""
        return self.size * self.size

    @property
    def goal(self) -> tuple[int, int]:
        """Goal cell ``(0, size // 2)``."""
        return (0, self.size // 2)

    @property
    def start(self) -> tuple[int, int]:
        """Start cell ``(size // 2, size // 2)``, inside the pocket."""
        return (self.size // 2, self.size // 2)

    @property
    def decoy(self) -> tuple[int, int]:
        """Decoy cell ``(size - 1, size // 2)``: the bottom row, ``size // 2`` steps below the start."""
        return (self.size - 1, self.size // 2)

    @property
    def default_params(self) -> DeceptiveMazeParams:
        """Defaults; the time limit is ``5 * (size - 1)`` (30 for size 7)."""
        return DeceptiveMazeParams(max_steps_in_episode=5 * (self.size - 1))

    def min_reward(self, params: DeceptiveMazeParams) -> Any:
        """A lower bound of the per-step reward: ``-distance_coef`` (an episode of ``H`` steps
        returns at least ``-H * distance_coef``)."""
        return -params.distance_coef

    def distance(self, pos: jax.Array) -> jax.Array:
        """Normalised Manhattan distance to the goal, ``d(pos, goal) / (2 * (size - 1))``
        (float32; ``pos`` int ``[..., 2]`` -> ``[...]``)."""
        d = jnp.abs(pos - jnp.asarray(self.goal, jnp.int32)).sum(-1)
        return d.astype(jnp.float32) / (2 * (self.size - 1))

    def state_index(self, pos: jax.Array) -> jax.Array:
        """Cell index ``row * size + col`` of ``pos`` (int ``[..., 2]`` -> ``[...]``)."""
        return pos[..., 0] * self.size + pos[..., 1]

    def reset_env(self, key: jax.Array, params: DeceptiveMazeParams) -> tuple[jax.Array, DeceptiveMazeState]:
        """Start at :attr:`start` (deterministic). Returns ``(obs, state)``."""
        del key
        state = DeceptiveMazeState(pos=jnp.asarray(self.start, jnp.int32), time=jnp.zeros((), jnp.int32))
        return self.get_obs(state, params), state

    def step_env(
        self, key: jax.Array, state: DeceptiveMazeState, action: int | jax.Array, params: DeceptiveMazeParams
    ) -> tuple[jax.Array, DeceptiveMazeState, jax.Array, jax.Array, dict[str, Any]]:
        """Move unless blocked; reward ``goal_reward * reached - distance_coef * distance`` (float32)."""
        del key
        target = jnp.clip(state.pos + jnp.asarray(MAZE_MOVES)[jnp.asarray(action, jnp.int32)], 0, self.size - 1)
        blocked = jnp.asarray(self.walls)[target[0], target[1]]
        pos = jnp.where(blocked, state.pos, target)
        new = DeceptiveMazeState(pos=pos, time=state.time + 1)
        reached = self.at_goal(pos)
        decoy = self.at_decoy(pos, params)
        distance = self.distance(pos)
        reward = jnp.where(reached, params.goal_reward, 0.0) - params.distance_coef * distance
        reward = jnp.where(decoy, reward + params.decoy_reward, reward)
        info = {"pos": pos, "success": reached.astype(jnp.float32), "distance": distance}
        return self.get_obs(new, params), new, jnp.asarray(reward, jnp.float32), reached | decoy, info

    def at_goal(self, pos: jax.Array) -> jax.Array:
        """Bool: ``pos`` is the goal cell :attr:`goal`."""
        return jnp.all(pos == jnp.asarray(self.goal, jnp.int32))

    def at_decoy(self, pos: jax.Array, params: DeceptiveMazeParams) -> jax.Array:
        """Bool: ``pos`` is the decoy cell :attr:`decoy` and the decoy is on (``decoy_reward != 0``)."""
        return jnp.all(pos == jnp.asarray(self.decoy, jnp.int32)) & (params.decoy_reward != 0)

    def get_obs(
        self, state: DeceptiveMazeState, params: DeceptiveMazeParams | None = None, key: Any = None
    ) -> jax.Array:
        """One-hot float32 ``[size * size]`` or normalised coords float32 ``[2]``."""
        if self.obs_mode == "coords":
            return state.pos.astype(jnp.float32) / (self.size - 1)
        return jax.nn.one_hot(self.state_index(state.pos), self.num_states, dtype=jnp.float32)

    def is_terminated(self, state: DeceptiveMazeState, params: DeceptiveMazeParams) -> jax.Array:
        """Bool scalar: the agent is on the goal, or on the decoy when it is on."""
        return self.at_goal(state.pos) | self.at_decoy(state.pos, params)

    def action_space(self, params: DeceptiveMazeParams | None = None) -> spaces.Discrete:
        """``Discrete(5)``: up, right, down, left, stay."""
        return spaces.Discrete(5)

    def observation_space(self, params: DeceptiveMazeParams | None = None) -> spaces.Box:
        """``Box(0, 1, (size * size,) | (2,), float32)``."""
        shape = (2,) if self.obs_mode == "coords" else (self.num_states,)
        return spaces.Box(0.0, 1.0, shape, jnp.float32)

    def state_space(self, params: DeceptiveMazeParams) -> spaces.Dict:
        """Positions in ``[0, size - 1]^2`` and the step counter."""
        return spaces.Dict(
            {
                "pos": spaces.Box(0, self.size - 1, (2,), jnp.int32),
                "time": spaces.Discrete(int(params.max_steps_in_episode) + 1),
            }
        )


def make_deceptive_maze(size: int = 7, obs_mode: str = "onehot") -> tuple[DeceptiveMaze, Any]:
    """Registry factory: ``(DeceptiveMaze(size, obs_mode), default params)``."""
    env = DeceptiveMaze(size, obs_mode)
    return env, env.default_params
