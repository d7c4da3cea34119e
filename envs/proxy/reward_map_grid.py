"""``RewardMapGrid``: a continuing grid whose every cell pays a fixed reward (a reward map).

A test bed for learned rewards. The agent starts in the top-left cell ``(0, 0)`` and each step
moves ``up/right/down/left`` or stays (actions 0/1/2/3/4; moves into the border leave it in
place). Each step pays the reward of the cell it ends in, ``reward_map[cell]``. There is no
terminal state: every episode lasts exactly ``max_steps_in_episode`` steps (truncation), so
a reward model's constant offset cannot change the optimal policy (with a terminal goal, a
Bradley-Terry model's unidentified per-step offset decides whether ending the episode looks
good or bad). The default map is a single hill, ``-manhattan(cell, peak) / (2 (size - 1))``
with the peak in the far corner ``(size - 1, size - 1)``: 0 at the peak, -1 at the start.
The reward is also given as ``info["true_reward"]``, so preference oracles can read it.

Optimal return (default map, no discount): walk ``2 (size - 1)`` steps to the peak and stay,
``-sum_{d=0}^{2(size-1)-1} d / (2(size-1))``; :meth:`RewardMapGrid.optimal_return` gives it for
any map by dynamic programming.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core import struct

from ..base import Environment, EnvParams, EnvState, EqualByConfig, spaces

#: Row/column offset of each action: up, right, down, left, stay.
MOVES: np.ndarray = np.array([[-1, 0], [0, 1], [1, 0], [0, -1], [0, 0]], dtype=np.int32)


def hill_map(size: int, peak: tuple[int, int] | None = None) -> np.ndarray:
    """The default reward map, float32 ``[size * size]``: ``-manhattan(cell, peak) / (2 (size - 1))``
    (the peak defaults to the far corner)."""
    if size < 2:
        raise ValueError(f"RewardMapGrid needs size >= 2, got {size}")
    peak = (size - 1, size - 1) if peak is None else peak
    rows, cols = np.divmod(np.arange(size * size), size)
    dist = np.abs(rows - peak[0]) + np.abs(cols - peak[1])
    return (-dist / (2.0 * (size - 1))).astype(np.float32)


def next_cells(size: int) -> np.ndarray:
    """Deterministic transition table, int ``[size * size, 5]``: the cell each action leads to."""
    rows, cols = np.divmod(np.arange(size * size), size)
    r = np.clip(rows[:, None] + MOVES[None, :, 0], 0, size - 1)
    c = np.clip(cols[:, None] + MOVES[None, :, 1], 0, size - 1)
    return r * size + c


@struct.dataclass
class RewardMapGridState(EnvState):
    """Agent position ``pos`` (int32 ``[2]``) and step counter ``time``."""

    pos: jax.Array
    time: int


@struct.dataclass
class RewardMapGridParams(EnvParams):
    """Episode length and the per-cell reward map ``[size * size]`` (leaves: vmappable)."""

    max_steps_in_episode: int = 30
    reward_map: jax.Array | None = None


class RewardMapGrid(EqualByConfig, Environment[RewardMapGridState, RewardMapGridParams]):
    """Continuing reward-map grid (see module docstring).

    Args:
        size: the grid is ``size x size`` (static: it sets the observation shape), ``>= 2``.
    """

    def __init__(self, size: int = 6) -> None:
        super().__init__()
        if int(size) < 2:
            raise ValueError(f"RewardMapGrid needs size >= 2, got {size}")
        self.size = int(size)

    config_fields = ("size",)

    def __repr__(self) -> str:
        return f"RewardMapGrid(size={self.size})"

    @property
    def name(self) -> str:
        return "RewardMapGrid"

    @property
    def num_actions(self) -> int:
        return len(MOVES)

    @property
    def default_params(self) -> RewardMapGridParams:
        return RewardMapGridParams(reward_map=jnp.asarray(hill_map(self.size)))

    def _reward_map(self, params: RewardMapGridParams) -> jax.Array:
        if params.reward_map is None:
            return jnp.asarray(hill_map(self.size))
        return jnp.asarray(params.reward_map, jnp.float32)

    def reset_env(self, key: jax.Array, params: RewardMapGridParams) -> tuple[jax.Array, RewardMapGridState]:
        """Start in cell ``(0, 0)``."""
        del key
        state = RewardMapGridState(pos=jnp.zeros(2, jnp.int32), time=jnp.zeros((), jnp.int32))
        return self.get_obs(state, params), state

    def step_env(
        self, key: jax.Array, state: RewardMapGridState, action: jax.Array, params: RewardMapGridParams
    ) -> tuple[jax.Array, RewardMapGridState, jax.Array, jax.Array, dict[str, Any]]:
        """Move (or stay) and pay the reward of the cell the agent ends in; never terminates."""
        del key
        move = jnp.asarray(MOVES)[jnp.asarray(action, jnp.int32)]
        pos = jnp.clip(state.pos + move, 0, self.size - 1)
        new_state = RewardMapGridState(pos=pos, time=state.time + 1)
        reward = self._reward_map(params)[pos[0] * self.size + pos[1]].astype(jnp.float32)
        terminated = jnp.zeros((), bool)
        return self.get_obs(new_state, params), new_state, reward, terminated, {"true_reward": reward}

    def get_obs(self, state: RewardMapGridState, params: Any = None, key: Any = None) -> jax.Array:
        """One-hot of the agent's cell, float32 ``[size * size]``."""
        return jax.nn.one_hot(state.pos[0] * self.size + state.pos[1], self.size * self.size, dtype=jnp.float32)

    def is_terminated(self, state: RewardMapGridState, params: RewardMapGridParams) -> jax.Array:
        """Never: episodes end by truncation only."""
        return jnp.zeros((), bool)

    def action_space(self, params: Any = None) -> spaces.Discrete:
        """``Discrete(5)``: up, right, down, left, stay."""
        return spaces.Discrete(len(MOVES))

    def observation_space(self, params: Any = None) -> spaces.Box:
        """``Box(0, 1, (size * size,))``: one-hot cell."""
        return spaces.Box(0.0, 1.0, (self.size * self.size,), jnp.float32)

    def optimal_return(self, params: RewardMapGridParams | None = None) -> float:
        """The best undiscounted episode return from the start, by dynamic programming over
        ``max_steps_in_episode`` steps (float)."""
        params = self.default_params if params is None else params
        reward = np.asarray(self._reward_map(params), np.float64)
        nxt = next_cells(self.size)
        value = np.zeros(self.size * self.size)
        for _ in range(int(params.max_steps_in_episode)):
            value = (reward[nxt] + value[nxt]).max(axis=1)
        return float(value[0])


def make_reward_map_grid(size: int = 6) -> tuple[RewardMapGrid, RewardMapGridParams]:
    """Registry factory: ``(RewardMapGrid(size), default params)``."""
    env = RewardMapGrid(size)
    return env, env.default_params
