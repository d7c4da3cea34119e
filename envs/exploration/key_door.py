"""``KeyDoorGrid``: a two-room grid with a key, a locked door and a sparse goal.

A ``size x size`` grid is split by a wall in column ``size // 2``; the only gap is a door at
``(0, size // 2)`` (top row), locked until the agent holds the key. The agent starts at
``(0, 0)``; the key lies in the far corner of the left room, ``(size - 1, 0)``; the goal is the
far corner of the right room, ``(size - 1, size - 1)``. Stepping on the key picks it up (no
reward); stepping on the goal pays ``goal_reward`` and terminates. Everything else pays 0, so a
policy must go down for the key, back up through the door and down again before it ever sees
a reward. Actions: up/right/down/left (0..3); blocked moves leave the agent in place.

Observation: one-hot float32 ``[2 * size * size]`` of ``has_key * size * size + cell`` (cells
``row * size + col``), so exact counts apply. ``info["has_key"]`` and ``info["success"]``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core import struct

from ..base import Environment, EnvParams, EnvState, EqualByConfig, spaces
from ..gridworld import MOVES


@struct.dataclass
class KeyDoorState(EnvState):
    """Agent position ``pos`` (int32 ``[2]``), ``has_key`` (bool) and step counter."""

    pos: jax.Array
    has_key: jax.Array
    time: int


@struct.dataclass
class KeyDoorParams(EnvParams):
    """Leaves (vmappable): time limit and goal reward."""

    max_steps_in_episode: int = 200
    goal_reward: float = 1.0


class KeyDoorGrid(EqualByConfig, Environment[KeyDoorState, KeyDoorParams]):
    """Key-door-goal grid (see module docstring). ``size`` (static) ``>= 4``."""

    def __init__(self, size: int = 8) -> None:
        super().__init__()
        if int(size) != size or size < 4:
            raise ValueError(f"size must be an integer >= 4, got {size!r}")
        self.size = int(size)
        wall = np.zeros((self.size, self.size), bool)
        wall[:, self.size // 2] = True
        wall[self.door] = False
        self.walls = wall

    config_fields = ("size",)

    def __repr__(self) -> str:
        return f"KeyDoorGrid(size={self.size})"

    @property
    def name(self) -> str:
        return "KeyDoorGrid"

    @property
    def num_actions(self) -> int:
        return 4

    @property
    def num_states(self) -> int:
        """``2 * size * size`` (cell x has_key)."""
        return 2 * self.size * self.size

    @property
    def door(self) -> tuple[int, int]:
        return (0, self.size // 2)

    @property
    def key(self) -> tuple[int, int]:
        return (self.size - 1, 0)

    @property
    def goal(self) -> tuple[int, int]:
        return (self.size - 1, self.size - 1)

    @property
    def default_params(self) -> KeyDoorParams:
        return KeyDoorParams(max_steps_in_episode=4 * self.size * self.size)

    def state_index(self, pos: jax.Array, has_key: jax.Array) -> jax.Array:
        """Index ``has_key * size^2 + row * size + col``."""
        return has_key.astype(jnp.int32) * self.size * self.size + pos[..., 0] * self.size + pos[..., 1]

    def reset_env(self, key: jax.Array, params: KeyDoorParams) -> tuple[jax.Array, KeyDoorState]:
        del key
        state = KeyDoorState(pos=jnp.zeros(2, jnp.int32), has_key=jnp.bool_(False), time=jnp.int32(0))
        return self.get_obs(state, params), state

    def step_env(
        self, key: jax.Array, state: KeyDoorState, action: int | jax.Array, params: KeyDoorParams
    ) -> tuple[jax.Array, KeyDoorState, jax.Array, jax.Array, dict[str, Any]]:
        del key
        target = jnp.clip(state.pos + jnp.asarray(MOVES)[jnp.asarray(action, jnp.int32)], 0, self.size - 1)
        at_door = jnp.all(target == jnp.asarray(self.door))
        blocked = jnp.asarray(self.walls)[target[0], target[1]] | (at_door & ~state.has_key)
        pos = jnp.where(blocked, state.pos, target)
        has_key = state.has_key | jnp.all(pos == jnp.asarray(self.key))
        new = KeyDoorState(pos=pos, has_key=has_key, time=state.time + 1)
        success = self.is_terminated(new, params)
        reward = jnp.where(success, params.goal_reward, 0.0).astype(jnp.float32)
        info = {"has_key": has_key.astype(jnp.float32), "success": success.astype(jnp.float32)}
        return self.get_obs(new, params), new, reward, success, info

    def get_obs(self, state: KeyDoorState, params: KeyDoorParams | None = None, key: Any = None) -> jax.Array:
        return jax.nn.one_hot(self.state_index(state.pos, state.has_key), self.num_states, dtype=jnp.float32)

    def is_terminated(self, state: KeyDoorState, params: KeyDoorParams) -> jax.Array:
        return jnp.all(state.pos == jnp.asarray(self.goal))

    def action_space(self, params: KeyDoorParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(4)

    def observation_space(self, params: KeyDoorParams | None = None) -> spaces.Box:
        return spaces.Box(0.0, 1.0, (self.num_states,), jnp.float32)

    def state_space(self, params: KeyDoorParams) -> spaces.Dict:
        return spaces.Dict(
            {
                "pos": spaces.Box(0, self.size - 1, (2,), jnp.int32),
                "has_key": spaces.Discrete(2),
                "time": spaces.Discrete(int(params.max_steps_in_episode) + 1),
            }
        )


def make_key_door(size: int = 8) -> tuple[KeyDoorGrid, Any]:
    """Registry factory: ``(KeyDoorGrid(size), default params)``."""
    env = KeyDoorGrid(size)
    return env, env.default_params
