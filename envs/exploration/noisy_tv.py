"""``NoisyTVGrid``: an open grid with a sparse goal and a "TV remote" action that shows noise.

The agent starts at ``(0, 0)`` of a ``size x size`` grid; reaching ``(size - 1, size - 1)`` pays
``goal_reward`` and terminates. Actions 0..3 move up/right/down/left; action 4 ("watch TV")
leaves the agent in place and fills the ``noise_dim`` TV pixels of the observation with fresh
uniform ``[0, 1)`` noise (the noisy TV of Burda et al. 2019); any other action switches the
TV off (pixels 0). The noise is unpredictable by construction, so a bonus that pays
prediction error is paid for ever for watching; a bonus that discounts irreducible noise
is not.

Observation: float32 ``[size * size + noise_dim]``: one-hot cell, then the TV pixels.
``info["tv"]`` is 1.0 on steps that watched the TV (its mean is the share of time at the TV).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_rewards.core import struct

from ..base import Environment, EnvParams, EnvState, EqualByConfig, spaces
from ..gridworld import MOVES

TV_ACTION = 4


@struct.dataclass
class NoisyTVState(EnvState):
    """Agent position (int32 ``[2]``), the TV pixels shown (``[noise_dim]``) and step counter."""

    pos: jax.Array
    screen: jax.Array
    time: int


@struct.dataclass
class NoisyTVParams(EnvParams):
    """Leaves (vmappable): time limit, goal reward, noise amplitude."""

    max_steps_in_episode: int = 100
    goal_reward: float = 1.0
    noise_scale: float = 1.0


class NoisyTVGrid(EqualByConfig, Environment[NoisyTVState, NoisyTVParams]):
    """Grid with a noisy TV action (see module docstring). ``size >= 2``, ``noise_dim >= 1`` (static)."""

    def __init__(self, size: int = 8, noise_dim: int = 16) -> None:
        super().__init__()
        if int(size) != size or size < 2:
            raise ValueError(f"size must be an integer >= 2, got {size!r}")
        if int(noise_dim) != noise_dim or noise_dim < 1:
            raise ValueError(f"noise_dim must be an integer >= 1, got {noise_dim!r}")
        self.size, self.noise_dim = int(size), int(noise_dim)

    config_fields = (
        "size",
        "noise_dim",
    )

    def __repr__(self) -> str:
        return f"NoisyTVGrid(size={self.size}, noise_dim={self.noise_dim})"

    @property
    def name(self) -> str:
        return "NoisyTVGrid"

    @property
    def num_actions(self) -> int:
        return 5

    @property
    def default_params(self) -> NoisyTVParams:
        return NoisyTVParams(max_steps_in_episode=max(100, 4 * self.size * self.size))

    def reset_env(self, key: jax.Array, params: NoisyTVParams) -> tuple[jax.Array, NoisyTVState]:
        del key
        state = NoisyTVState(pos=jnp.zeros(2, jnp.int32), screen=jnp.zeros(self.noise_dim), time=jnp.int32(0))
        return self.get_obs(state, params), state

    def step_env(
        self, key: jax.Array, state: NoisyTVState, action: int | jax.Array, params: NoisyTVParams
    ) -> tuple[jax.Array, NoisyTVState, jax.Array, jax.Array, dict[str, Any]]:
        action = jnp.asarray(action, jnp.int32)
        tv = action == TV_ACTION
        move = jnp.asarray(MOVES)[jnp.minimum(action, 3)] * (~tv)
        pos = jnp.clip(state.pos + move, 0, self.size - 1)
        noise = jax.random.uniform(key, (self.noise_dim,)) * params.noise_scale
        screen = jnp.where(tv, noise, 0.0)
        new = NoisyTVState(pos=pos, screen=screen, time=state.time + 1)
        done = self.is_terminated(new, params)
        reward = jnp.where(done, params.goal_reward, 0.0).astype(jnp.float32)
        return self.get_obs(new, params), new, reward, done, {"tv": tv.astype(jnp.float32)}

    def get_obs(self, state: NoisyTVState, params: NoisyTVParams | None = None, key: Any = None) -> jax.Array:
        cell = jax.nn.one_hot(state.pos[0] * self.size + state.pos[1], self.size * self.size, dtype=jnp.float32)
        return jnp.concatenate([cell, state.screen.astype(jnp.float32)])

    def is_terminated(self, state: NoisyTVState, params: NoisyTVParams) -> jax.Array:
        return jnp.all(state.pos == self.size - 1)

    def action_space(self, params: NoisyTVParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(5)

    def observation_space(self, params: NoisyTVParams | None = None) -> spaces.Box:
        return spaces.Box(0.0, 1.0, (self.size * self.size + self.noise_dim,), jnp.float32)

    def state_space(self, params: NoisyTVParams) -> spaces.Dict:
        return spaces.Dict(
            {
                "pos": spaces.Box(0, self.size - 1, (2,), jnp.int32),
                "screen": spaces.Box(0.0, 1.0, (self.noise_dim,), jnp.float32),
                "time": spaces.Discrete(int(params.max_steps_in_episode) + 1),
            }
        )


def make_noisy_tv(size: int = 8, noise_dim: int = 16) -> tuple[NoisyTVGrid, Any]:
    """Registry factory: ``(NoisyTVGrid(size, noise_dim), default params)``."""
    env = NoisyTVGrid(size, noise_dim)
    return env, env.default_params
