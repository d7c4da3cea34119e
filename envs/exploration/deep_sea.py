"""``DeepSea``: the hard-exploration chain of Osband et al. (2019, "Deep Exploration via Randomized
Value Functions"; bsuite), with a size parameter.

The agent starts at the top-left cell ``(0, 0)`` of a ``size x size`` grid and descends one row
per step; each step it moves one column left or right (clipped at the borders). Which of the
two actions means "right" is drawn once per cell from ``mapping_seed`` (``randomize_actions``),
so no fixed action sequence works for every cell. A move right costs ``0.01 / size``; arriving
at the bottom-right cell ``(size - 1, size - 1)`` (only possible by going right on every one of
the ``size - 1`` steps) pays ``treasure_reward``. Episodes last exactly ``size - 1`` steps and
terminate. A uniformly random policy finds the treasure with probability ``2**-(size - 1)``.

Observation: one-hot float32 ``[size * size]`` of the cell ``row * size + col``.
``info["treasure"]`` is 1.0 on the step that reaches the treasure.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core import struct

from ..base import Environment, EnvParams, EnvState, EqualByConfig, spaces


@struct.dataclass
class DeepSeaState(EnvState):
    """Row, column and step counter."""

    row: jax.Array
    col: jax.Array
    time: int


@struct.dataclass
class DeepSeaParams(EnvParams):
    """Leaves (vmappable): time limit, treasure reward, cost of a move right (times size)."""

    max_steps_in_episode: int = 1000
    treasure_reward: float = 1.0
    move_cost: float = 0.01


class DeepSea(EqualByConfig, Environment[DeepSeaState, DeepSeaParams]):
    """Deep sea (see module docstring).

    Args:
        size: grid side N (static), ``>= 2``; the treasure is ``N - 1`` right moves away.
        randomize_actions: draw the meaning of the two actions per cell (bsuite's default).
        mapping_seed: seed of that draw.
    """

    def __init__(self, size: int = 20, randomize_actions: bool = True, mapping_seed: int = 0) -> None:
        super().__init__()
        if int(size) != size or size < 2:
            raise ValueError(f"size must be an integer >= 2, got {size!r}")
        self.size = int(size)
        self.randomize_actions = bool(randomize_actions)
        self.mapping_seed = int(mapping_seed)
        rng = np.random.default_rng(self.mapping_seed)
        draw = rng.integers(0, 2, (self.size, self.size)) if self.randomize_actions else np.ones((self.size,) * 2)
        #: ``right_action[row, col]``: the action that moves right in that cell.
        self.right_action = np.asarray(draw, np.int32)

    def _config(self) -> tuple:
        return (self.size, self.randomize_actions, self.mapping_seed)

    def __repr__(self) -> str:
        return f"DeepSea(size={self.size}, randomize_actions={self.randomize_actions})"

    @property
    def name(self) -> str:
        return "DeepSea"

    @property
    def num_actions(self) -> int:
        return 2

    @property
    def num_states(self) -> int:
        return self.size * self.size

    @property
    def default_params(self) -> DeepSeaParams:
        return DeepSeaParams(max_steps_in_episode=self.size)

    def reset_env(self, key: jax.Array, params: DeepSeaParams) -> tuple[jax.Array, DeepSeaState]:
        del key
        state = DeepSeaState(row=jnp.int32(0), col=jnp.int32(0), time=jnp.int32(0))
        return self.get_obs(state, params), state

    def step_env(
        self, key: jax.Array, state: DeepSeaState, action: int | jax.Array, params: DeepSeaParams
    ) -> tuple[jax.Array, DeepSeaState, jax.Array, jax.Array, dict[str, Any]]:
        del key
        right = jnp.asarray(action, jnp.int32) == jnp.asarray(self.right_action)[state.row, state.col]
        col = jnp.clip(state.col + jnp.where(right, 1, -1), 0, self.size - 1)
        new = DeepSeaState(row=state.row + 1, col=col, time=state.time + 1)
        treasure = jnp.logical_and(new.row == self.size - 1, new.col == self.size - 1)
        reward = jnp.where(treasure, params.treasure_reward, 0.0) - jnp.where(right, params.move_cost / self.size, 0.0)
        done = self.is_terminated(new, params)
        info = {"treasure": treasure.astype(jnp.float32)}
        return self.get_obs(new, params), new, jnp.asarray(reward, jnp.float32), done, info

    def get_obs(self, state: DeepSeaState, params: DeepSeaParams | None = None, key: Any = None) -> jax.Array:
        row = jnp.minimum(state.row, self.size - 1)
        return jax.nn.one_hot(row * self.size + state.col, self.num_states, dtype=jnp.float32)

    def is_terminated(self, state: DeepSeaState, params: DeepSeaParams) -> jax.Array:
        return state.row >= self.size - 1

    def action_space(self, params: DeepSeaParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(2)

    def observation_space(self, params: DeepSeaParams | None = None) -> spaces.Box:
        return spaces.Box(0.0, 1.0, (self.num_states,), jnp.float32)

    def state_space(self, params: DeepSeaParams) -> spaces.Dict:
        return spaces.Dict(
            {
                "row": spaces.Discrete(self.size),
                "col": spaces.Discrete(self.size),
                "time": spaces.Discrete(int(params.max_steps_in_episode) + 1),
            }
        )


def make_deep_sea(size: int = 20, randomize_actions: bool = True, mapping_seed: int = 0) -> tuple[DeepSea, Any]:
    """Registry factory: ``(DeepSea(...), default params)``."""
    env = DeepSea(size, randomize_actions, mapping_seed)
    return env, env.default_params
