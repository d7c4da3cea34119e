"""``SparseGridWorld``: a square grid with a single sparse reward in the far corner.

The agent starts in the top-left cell ``(0, 0)``; the goal is the bottom-right cell
``(size - 1, size - 1)``. Four actions move ``up/right/down/left`` (0/1/2/3); a move into
the border leaves the agent in place. With probability ``slip_prob`` the chosen action is
replaced by one drawn uniformly from all four (possibly the same one). Each step costs
``step_cost``; entering the goal pays ``goal_reward`` and terminates, so the reward of a
step is ``goal_reward * [entered goal] - step_cost``.

``tabular_mdp(params)`` returns the exact MDP (``P[S, A, S']``, ``R[S, A]``, terminal mask)
for value iteration and exact tests; cells are indexed ``row * size + col``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core import struct

from .base import Environment, EnvParams, EnvState, EqualByConfig, spaces

#: Row/column offset of each action: up, right, down, left.
MOVES: np.ndarray = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]], dtype=np.int32)
ACTION_NAMES: tuple[str, ...] = ("up", "right", "down", "left")
OBS_MODES: tuple[str, ...] = ("onehot", "coords")


@struct.dataclass
class GridWorldState(EnvState):
    """Agent position ``pos`` (int32 ``[2]``: row, col) and step counter ``time``."""

    pos: jax.Array
    time: int


@struct.dataclass
class GridWorldParams(EnvParams):
    """Parameters of :class:`SparseGridWorld`; every field is a leaf (vmappable)."""

    max_steps_in_episode: int = 100
    goal_reward: float = 1.0
    step_cost: float = 0.0
    slip_prob: float = 0.0


class TabularMDP(NamedTuple):
    """Exact tabular description of a :class:`SparseGridWorld` (numpy arrays).

    ``transitions[s, a, s']`` (float64 ``[S, A, S]``) is ``P(s' | s, a)``; ``rewards[s, a]``
    (float64 ``[S, A]``) the expected reward; ``terminal[s]`` (bool ``[S]``) marks the
    absorbing goal (its rows loop on itself with zero reward); ``initial_state`` is the
    start cell's index.
    """

    transitions: np.ndarray
    rewards: np.ndarray
    terminal: np.ndarray
    initial_state: int


class SparseGridWorld(EqualByConfig, Environment[GridWorldState, GridWorldParams]):
    """Sparse-goal grid world (see module docstring).

    Args:
        size: side length of the grid (static: it sets the observation shape), ``>= 2``.
        obs_mode: ``"onehot"`` gives float32 ``[size * size]`` (one-hot of the cell);
            ``"coords"`` gives float32 ``[2]``: ``(row, col) / (size - 1)``.
    """

    def __init__(self, size: int = 8, obs_mode: str = "onehot") -> None:
        super().__init__()
        if int(size) != size or size < 2:
            raise ValueError(f"size must be an integer >= 2, got {size!r}")
        if obs_mode not in OBS_MODES:
            raise ValueError(f"obs_mode must be one of {OBS_MODES}, got {obs_mode!r}")
        self.size = int(size)
        self.obs_mode = obs_mode

    def _config(self) -> tuple[int, str]:
        return (self.size, self.obs_mode)

    def __repr__(self) -> str:
        return f"SparseGridWorld(size={self.size}, obs_mode={self.obs_mode!r})"

    @property
    def name(self) -> str:
        return "SparseGridWorld"

    @property
    def num_actions(self) -> int:
        return len(ACTION_NAMES)

    @property
    def num_states(self) -> int:
        """Number of cells, ``size * size``."""
        return self.size * self.size

    @property
    def goal(self) -> tuple[int, int]:
        """Goal cell ``(row, col)``."""
        return (self.size - 1, self.size - 1)

    @property
    def default_params(self) -> GridWorldParams:
        """Defaults; the time limit is ``max(100, 8 * (size - 1))`` (100 for size 8)."""
        return GridWorldParams(max_steps_in_episode=max(100, 8 * (self.size - 1)))

    def state_index(self, pos: jax.Array) -> jax.Array:
        """Cell index ``row * size + col`` of ``pos`` (int ``[..., 2]`` -> ``[...]``)."""
        return pos[..., 0] * self.size + pos[..., 1]

    def reset_env(self, key: jax.Array, params: GridWorldParams) -> tuple[jax.Array, GridWorldState]:
        """Start at ``(0, 0)`` (deterministic). Returns ``(obs, state)``."""
        del key
        state = GridWorldState(pos=jnp.zeros(2, jnp.int32), time=jnp.zeros((), jnp.int32))
        return self.get_obs(state, params), state

    def step_env(
        self,
        key: jax.Array,
        state: GridWorldState,
        action: int | jax.Array,
        params: GridWorldParams,
    ) -> tuple[jax.Array, GridWorldState, jax.Array, jax.Array, dict[str, Any]]:
        """Move (maybe slipping); reward ``goal_reward * reached - step_cost`` (float32)."""
        slip_key, random_key = jax.random.split(key)
        action = jnp.asarray(action, jnp.int32)
        slipped = jax.random.uniform(slip_key) < params.slip_prob
        random_action = jax.random.randint(random_key, (), 0, self.num_actions)
        action = jnp.where(slipped, random_action, action)
        pos = jnp.clip(state.pos + jnp.asarray(MOVES)[action], 0, self.size - 1)
        new_state = GridWorldState(pos=pos, time=state.time + 1)
        reached = self.is_terminated(new_state, params)
        reward = jnp.where(reached, params.goal_reward, 0.0) - params.step_cost
        reward = jnp.asarray(reward, jnp.float32)
        return self.get_obs(new_state, params), new_state, reward, reached, {}

    def get_obs(self, state: GridWorldState, params: GridWorldParams | None = None, key: Any = None) -> jax.Array:
        """One-hot float32 ``[size * size]`` or normalised coords float32 ``[2]``."""
        if self.obs_mode == "coords":
            return state.pos.astype(jnp.float32) / (self.size - 1)
        return jax.nn.one_hot(self.state_index(state.pos), self.num_states, dtype=jnp.float32)

    def is_terminated(self, state: GridWorldState, params: GridWorldParams) -> jax.Array:
        """Bool scalar: the agent is on the goal."""
        return jnp.all(state.pos == jnp.asarray(self.goal, jnp.int32))

    def action_space(self, params: GridWorldParams | None = None) -> spaces.Discrete:
        """``Discrete(4)``: up, right, down, left."""
        return spaces.Discrete(self.num_actions)

    def observation_space(self, params: GridWorldParams | None = None) -> spaces.Box:
        """``Box(0, 1, (size * size,) | (2,), float32)``."""
        shape = (2,) if self.obs_mode == "coords" else (self.num_states,)
        return spaces.Box(0.0, 1.0, shape, jnp.float32)

    def state_space(self, params: GridWorldParams) -> spaces.Dict:
        """Positions in ``[0, size - 1]^2`` and the step counter."""
        return spaces.Dict(
            {
                "pos": spaces.Box(0, self.size - 1, (2,), jnp.int32),
                "time": spaces.Discrete(int(params.max_steps_in_episode) + 1),
            }
        )

    # ----- exact tabular model -------------------------------------------------------

    def tabular_mdp(self, params: GridWorldParams | None = None) -> TabularMDP:
        """The exact MDP of this grid under ``params`` (unbatched); see :class:`TabularMDP`."""
        params = self.default_params if params is None else params
        slip = float(params.slip_prob)
        goal_reward, step_cost = float(params.goal_reward), float(params.step_cost)
        n, num_states = self.size, self.num_states
        rows, cols = np.divmod(np.arange(num_states), n)
        next_rows = np.clip(rows[:, None] + MOVES[None, :, 0], 0, n - 1)
        next_cols = np.clip(cols[:, None] + MOVES[None, :, 1], 0, n - 1)
        deterministic = np.eye(num_states)[next_rows * n + next_cols]  # [S, A, S]
        transitions = (1.0 - slip) * deterministic + slip * deterministic.mean(1, keepdims=True)
        goal = (n - 1) * n + (n - 1)
        terminal = np.zeros(num_states, dtype=bool)
        terminal[goal] = True
        transitions[goal] = 0.0
        transitions[goal, :, goal] = 1.0
        rewards = goal_reward * transitions[:, :, goal] - step_cost
        rewards[terminal] = 0.0
        return TabularMDP(transitions, rewards, terminal, initial_state=0)

    def transition_matrix(self, params: GridWorldParams | None = None) -> np.ndarray:
        """``P[s, a, s']`` (float64 ``[S, A, S]``); see :meth:`tabular_mdp`."""
        return self.tabular_mdp(params).transitions

    def reward_matrix(self, params: GridWorldParams | None = None) -> np.ndarray:
        """Expected reward ``R[s, a]`` (float64 ``[S, A]``); see :meth:`tabular_mdp`."""
        return self.tabular_mdp(params).rewards

    def terminal_mask(self) -> np.ndarray:
        """Bool ``[S]``: True at the goal cell."""
        mask = np.zeros(self.num_states, dtype=bool)
        mask[self.state_index(np.asarray(self.goal))] = True
        return mask


@dataclasses.dataclass(frozen=True)
class GridDistancePotential:
    """Distance-to-goal potential for :class:`SparseGridWorld` observations (either mode).

    ``Phi(obs) = -scale * manhattan(cell, goal) / (2 * (size - 1))``, in ``[-scale, 0]``,
    highest at the goal (bottom-right). Called on ONE observation: one-hot ``[size * size]``
    or normalised coordinates ``[2]``; returns a float32 scalar. A frozen dataclass, so equal
    potentials compare equal and a transform holding one does not force a recompile. Use it
    with ``jaxrl_rewards.transforms.potential_shaping``.
    """

    size: int
    scale: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.size, int) or self.size < 2:
            raise ValueError(f"size must be an int >= 2, got {self.size!r}")

    def __call__(self, obs: jax.Array) -> jax.Array:
        size = self.size
        if obs.shape[-1] == 2:
            row, col = obs[0] * (size - 1), obs[1] * (size - 1)
        else:
            index = jnp.argmax(obs)
            row, col = index // size, index % size
        distance = (size - 1 - row) + (size - 1 - col)
        return -self.scale * jnp.asarray(distance, jnp.float32) / (2 * (size - 1))
