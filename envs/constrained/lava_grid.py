"""``LavaGrid``: a grid world whose shortest path crosses lava cells that emit cost.

The layout is a tuple of equal-length strings: ``S`` start, ``G`` goal, ``L`` lava, ``.``
floor. Four actions move ``up/right/down/left`` (0/1/2/3); moves into the border leave the
agent in place; with probability ``slip_prob`` the action is replaced by a uniformly random
one. Entering the goal pays ``goal_reward`` and terminates; each step pays ``-step_cost``.
Entering (or staying on) a lava cell costs 1 in ``info["cost"]`` (scalar) and does not end the
episode: lava is a constraint, not a death.

Default layout (4 x 7): the straight path (6 steps) crosses one lava cell, the safe path
around the lava wall takes 12 steps::

    S..L..G
    ...L...
    ...L...
    .......

``tabular_mdp(params)`` gives the exact constrained MDP (``P[S, A, S']``, ``R[S, A]``,
``C[S, A]``, terminal mask, start) for linear programming (``jaxrl_rewards.analysis.cmdp``); cells are
indexed ``row * width + col``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core import struct

from ..base import Environment, EnvParams, EnvState, EqualByConfig, spaces

MOVES: np.ndarray = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]], dtype=np.int32)
DEFAULT_LAYOUT: tuple[str, ...] = ("S..L..G", "...L...", "...L...", ".......")


@struct.dataclass
class LavaGridState(EnvState):
    """Agent position ``pos`` (int32 ``[2]``: row, col) and step counter ``time``."""

    pos: jax.Array
    time: int


@struct.dataclass
class LavaGridParams(EnvParams):
    """Parameters of :class:`LavaGrid`; every field is a leaf (vmappable)."""

    max_steps_in_episode: int = 50
    goal_reward: float = 1.0
    step_cost: float = 0.0
    slip_prob: float = 0.0


class ConstrainedTabularMDP(NamedTuple):
    """Exact tabular constrained MDP (numpy float64).

    ``transitions [S, A, S']``, expected reward ``rewards [S, A]``, expected cost
    ``costs [S, A]``, ``terminal [S]`` (absorbing, zero reward and cost), ``initial_state``.
    """

    transitions: np.ndarray
    rewards: np.ndarray
    costs: np.ndarray
    terminal: np.ndarray
    initial_state: int


class LavaGrid(EqualByConfig, Environment[LavaGridState, LavaGridParams]):
    """Grid world with lava cells that emit cost (see module docstring).

    Args:
        layout: rows of the grid (static), one ``S`` and one ``G``.
    """

    def __init__(self, layout: tuple[str, ...] = DEFAULT_LAYOUT) -> None:
        super().__init__()
        layout = tuple(layout)
        if not layout or len({len(r) for r in layout}) != 1 or not layout[0]:
            raise ValueError(f"layout must be non-empty rows of equal length, got {layout!r}")
        text = "".join(layout)
        if set(text) - set("SGL.") or text.count("S") != 1 or text.count("G") != 1:
            raise ValueError(
                f"layout may contain only 'S', 'G', 'L', '.', with exactly one S and one G; got {layout!r}"
            )
        self.layout = layout
        self.height, self.width = len(layout), len(layout[0])
        self.start = divmod(text.index("S"), self.width)
        self.goal = divmod(text.index("G"), self.width)
        self.lava = np.array([c == "L" for c in text], dtype=bool)

    config_fields = ("layout",)

    def __repr__(self) -> str:
        return f"LavaGrid(layout={self.layout!r})"

    @property
    def name(self) -> str:
        return "LavaGrid"

    @property
    def num_actions(self) -> int:
        return 4

    @property
    def num_states(self) -> int:
        return self.height * self.width

    @property
    def default_params(self) -> LavaGridParams:
        return LavaGridParams()

    def state_index(self, pos: jax.Array) -> jax.Array:
        """Cell index ``row * width + col``."""
        return pos[..., 0] * self.width + pos[..., 1]

    def reset_env(self, key: jax.Array, params: LavaGridParams) -> tuple[jax.Array, LavaGridState]:
        del key
        state = LavaGridState(pos=jnp.asarray(self.start, jnp.int32), time=jnp.zeros((), jnp.int32))
        return self.get_obs(state, params), state

    def step_env(
        self, key: jax.Array, state: LavaGridState, action: jax.Array, params: LavaGridParams
    ) -> tuple[jax.Array, LavaGridState, jax.Array, jax.Array, dict[str, Any]]:
        """Move (maybe slipping); reward ``goal_reward * reached - step_cost``; lava cost in info."""
        slip_key, random_key = jax.random.split(key)
        action = jnp.asarray(action, jnp.int32)
        slipped = jax.random.uniform(slip_key) < params.slip_prob
        action = jnp.where(slipped, jax.random.randint(random_key, (), 0, 4), action)
        limit = jnp.asarray([self.height - 1, self.width - 1], jnp.int32)
        pos = jnp.clip(state.pos + jnp.asarray(MOVES)[action], 0, limit)
        new_state = LavaGridState(pos=pos, time=state.time + 1)
        reached = self.is_terminated(new_state, params)
        reward = jnp.where(reached, params.goal_reward, 0.0) - params.step_cost
        cost = jnp.asarray(self.lava)[self.state_index(pos)].astype(jnp.float32)
        obs = self.get_obs(new_state, params)
        return obs, new_state, jnp.asarray(reward, jnp.float32), reached, {"cost": cost}

    def get_obs(self, state: LavaGridState, params: LavaGridParams | None = None, key: Any = None) -> jax.Array:
        """One-hot of the cell, float32 ``[height * width]``."""
        return jax.nn.one_hot(self.state_index(state.pos), self.num_states, dtype=jnp.float32)

    def is_terminated(self, state: LavaGridState, params: LavaGridParams) -> jax.Array:
        return jnp.all(state.pos == jnp.asarray(self.goal, jnp.int32))

    def action_space(self, params: LavaGridParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(4)

    def observation_space(self, params: LavaGridParams | None = None) -> spaces.Box:
        return spaces.Box(0.0, 1.0, (self.num_states,), jnp.float32)

    def state_space(self, params: LavaGridParams) -> spaces.Dict:
        return spaces.Dict(
            {
                "pos": spaces.Box(0, max(self.height, self.width) - 1, (2,), jnp.int32),
                "time": spaces.Discrete(int(params.max_steps_in_episode) + 1),
            }
        )

    def tabular_mdp(self, params: LavaGridParams | None = None) -> ConstrainedTabularMDP:
        """The exact constrained MDP under ``params`` (unbatched); see :class:`ConstrainedTabularMDP`.
        The time limit is not part of it (use a discount)."""
        params = self.default_params if params is None else params
        slip = float(params.slip_prob)
        rows, cols = np.divmod(np.arange(self.num_states), self.width)
        next_rows = np.clip(rows[:, None] + MOVES[None, :, 0], 0, self.height - 1)
        next_cols = np.clip(cols[:, None] + MOVES[None, :, 1], 0, self.width - 1)
        deterministic = np.eye(self.num_states)[next_rows * self.width + next_cols]  # [S, A, S]
        transitions = (1.0 - slip) * deterministic + slip * deterministic.mean(1, keepdims=True)
        goal = self.goal[0] * self.width + self.goal[1]
        terminal = np.zeros(self.num_states, dtype=bool)
        terminal[goal] = True
        transitions[goal] = 0.0
        transitions[goal, :, goal] = 1.0
        rewards = float(params.goal_reward) * transitions[:, :, goal] - float(params.step_cost)
        costs = transitions @ self.lava.astype(np.float64)
        rewards[terminal] = 0.0
        costs[terminal] = 0.0
        start = self.start[0] * self.width + self.start[1]
        return ConstrainedTabularMDP(transitions, rewards, costs, terminal, int(start))


__all__ = ["DEFAULT_LAYOUT", "ConstrainedTabularMDP", "LavaGrid", "LavaGridParams", "LavaGridState"]
