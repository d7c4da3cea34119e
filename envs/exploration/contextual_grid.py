"""``ContextualGrid``: a two-room grid whose layout is resampled every episode, or fixed.

A ``size x size`` grid has a vertical wall in column ``c`` with a one-cell door in row ``d``;
the agent starts at a cell ``s`` left of the wall and the goal ``g`` (``goal_reward``,
terminates) lies right of it. The layout ``(c, d, s, g)`` is drawn at every reset from the
episode's key when ``params.resample`` is true (a contextual MDP: every episode is a new
context, as in procedurally generated games) and from the fixed key ``layout_seed``
otherwise (the same layout every episode). ``resample`` is a params leaf, so fixed and
resampled variants can be vmapped together.

Observation: float32 ``[3 * size * size]``: agent one-hot, wall map, goal one-hot.
``info["success"]`` is 1.0 when the goal is reached.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_rewards.core import struct

from ..base import Environment, EnvParams, EnvState, EqualByConfig, spaces
from ..gridworld import MOVES


@struct.dataclass
class ContextualGridState(EnvState):
    """Agent position, wall column, door row, goal position (int32) and step counter."""

    pos: jax.Array
    wall_col: jax.Array
    door_row: jax.Array
    goal: jax.Array
    time: int


@struct.dataclass
class ContextualGridParams(EnvParams):
    """Leaves (vmappable): time limit, goal reward, ``resample`` (bool) and ``layout_seed``."""

    max_steps_in_episode: int = 100
    goal_reward: float = 1.0
    resample: bool = True
    layout_seed: int = 0


class ContextualGrid(EqualByConfig, Environment[ContextualGridState, ContextualGridParams]):
    """Two-room grid with a per-episode (or fixed) layout; see module docstring. ``size >= 5``."""

    def __init__(self, size: int = 9) -> None:
        super().__init__()
        if int(size) != size or size < 5:
            raise ValueError(f"size must be an integer >= 5, got {size!r}")
        self.size = int(size)

    config_fields = ("size",)

    def __repr__(self) -> str:
        return f"ContextualGrid(size={self.size})"

    @property
    def name(self) -> str:
        return "ContextualGrid"

    @property
    def num_actions(self) -> int:
        return 4

    @property
    def default_params(self) -> ContextualGridParams:
        return ContextualGridParams(max_steps_in_episode=2 * self.size * self.size)

    def sample_layout(self, key: jax.Array) -> ContextualGridState:
        """A fresh layout (state at time 0) drawn from ``key``."""
        k_col, k_door, k_sr, k_sc, k_gr, k_gc = jax.random.split(key, 6)
        n = self.size
        col = jax.random.randint(k_col, (), 2, n - 2)
        door = jax.random.randint(k_door, (), 0, n)
        start = jnp.stack([jax.random.randint(k_sr, (), 0, n), jax.random.randint(k_sc, (), 0, col)])
        goal = jnp.stack([jax.random.randint(k_gr, (), 0, n), jax.random.randint(k_gc, (), col + 1, n)])
        return ContextualGridState(pos=start, wall_col=col, door_row=door, goal=goal, time=jnp.int32(0))

    def reset_env(self, key: jax.Array, params: ContextualGridParams) -> tuple[jax.Array, ContextualGridState]:
        fresh = self.sample_layout(key)
        fixed = self.sample_layout(jax.random.fold_in(jax.random.key(0), params.layout_seed))
        state = jax.tree.map(lambda a, b: jnp.where(params.resample, a, b), fresh, fixed)
        return self.get_obs(state, params), state

    def _wall(self, state: ContextualGridState, pos: jax.Array) -> jax.Array:
        return (pos[1] == state.wall_col) & (pos[0] != state.door_row)

    def step_env(
        self, key: jax.Array, state: ContextualGridState, action: int | jax.Array, params: ContextualGridParams
    ) -> tuple[jax.Array, ContextualGridState, jax.Array, jax.Array, dict[str, Any]]:
        del key
        target = jnp.clip(state.pos + jnp.asarray(MOVES)[jnp.asarray(action, jnp.int32)], 0, self.size - 1)
        pos = jnp.where(self._wall(state, target), state.pos, target)
        new = state.replace(pos=pos, time=state.time + 1)
        success = self.is_terminated(new, params)
        reward = jnp.where(success, params.goal_reward, 0.0).astype(jnp.float32)
        return self.get_obs(new, params), new, reward, success, {"success": success.astype(jnp.float32)}

    def get_obs(
        self, state: ContextualGridState, params: ContextualGridParams | None = None, key: Any = None
    ) -> jax.Array:
        n = self.size
        rows, cols = jnp.divmod(jnp.arange(n * n), n)
        agent = (rows == state.pos[0]) & (cols == state.pos[1])
        wall = (cols == state.wall_col) & (rows != state.door_row)
        goal = (rows == state.goal[0]) & (cols == state.goal[1])
        return jnp.concatenate([agent, wall, goal]).astype(jnp.float32)

    def is_terminated(self, state: ContextualGridState, params: ContextualGridParams) -> jax.Array:
        return jnp.all(state.pos == state.goal)

    def action_space(self, params: ContextualGridParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(4)

    def observation_space(self, params: ContextualGridParams | None = None) -> spaces.Box:
        return spaces.Box(0.0, 1.0, (3 * self.size * self.size,), jnp.float32)

    def state_space(self, params: ContextualGridParams) -> spaces.Dict:
        n = self.size
        return spaces.Dict(
            {
                "pos": spaces.Box(0, n - 1, (2,), jnp.int32),
                "wall_col": spaces.Discrete(n),
                "door_row": spaces.Discrete(n),
                "goal": spaces.Box(0, n - 1, (2,), jnp.int32),
                "time": spaces.Discrete(int(params.max_steps_in_episode) + 1),
            }
        )


def make_contextual_grid(size: int = 9, resample: bool = True) -> tuple[ContextualGrid, Any]:
    """Registry factory: ``(ContextualGrid(size), params)`` with ``resample`` set."""
    env = ContextualGrid(size)
    return env, env.default_params.replace(resample=resample)


def make_fixed_contextual_grid(size: int = 9) -> tuple[ContextualGrid, Any]:
    """Registry factory: the same ``ContextualGrid`` with one fixed layout (``resample=False``)."""
    return make_contextual_grid(size, resample=False)
