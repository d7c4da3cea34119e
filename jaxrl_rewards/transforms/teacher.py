"""Teacher rewards from an exact optimal value ``V*`` of a tabular environment.

A teacher who knows ``V*`` hands out, per step, the one-step advantage of the action under ``V*``:

    r_teach(s, a, s') = r(s, a) + γ V*(s') (1 - terminated) - V*(s)

Its expectation over ``s'`` is ``A*(s, a) = Q*(s, a) - V*(s) <= 0``, exactly 0 for optimal actions,
so every step's reward reads as "how much this step cost you against the optimum" (interpretable:
the return of an episode is the sum of its regrets plus ``-V*(s_0)``). It is potential-based
shaping with ``Phi = V*`` (Ng et al. 1999), so the optimal policies are unchanged, and with the
env's own discount it turns a sparse reward into a dense one.

``values`` is a sweepable leaf ``[S]``; ``state_index(obs) -> int`` maps ONE observation to its
state (default: ``argmax`` of a one-hot observation). ``grid_teacher`` builds one for
``SparseGridWorld`` by value iteration on the env's exact MDP.

>>> import numpy as np
>>> teacher = teacher_reward(np.array([0.5, 1.0, 0.0]), gamma=0.9)
>>> float(teacher.values[1])
1.0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.streams import TASK
from jaxrl_rewards.core.types import Array, Stream, Streams, Transition
from jaxrl_rewards.core.validation import ConfigError, check_finite, check_in_range
from jaxrl_rewards.envs.gridworld import SparseGridWorld
from jaxrl_rewards.transforms.core import RewardTransform
from jaxrl_rewards.transforms.shaping import potentials, shaping_term


def onehot_index(obs: Array) -> Array:
    """State index of ONE one-hot observation: ``argmax(obs.ravel())``."""
    return jnp.argmax(jnp.ravel(obs))


class TeacherReward(RewardTransform):
    """``r_to <- r_to + coef * (γ V*(s') (1 - terminated) - V*(s))`` (module docstring).

    Attributes:
        values: ``V*`` per state, ``[S]`` (leaf).
        coef: scale of the teacher term (leaf).
        gamma: discount of the term; ``None`` uses the target stream's.
        state_index: static, ``obs -> state index`` for one observation.
        to: static, the stream the term is added to.
        as_stream: static; put the term in a new ``"shaping"`` stream of this name instead.
    """

    values: Array = None
    coef: Array | float = 1.0
    gamma: Array | float | None = None
    state_index: Callable[[Array], Array] = struct.field(pytree_node=False, default=onehot_index)
    to: str = struct.field(pytree_node=False, default=TASK)
    as_stream: str | None = struct.field(pytree_node=False, default=None)

    def validate(self) -> TeacherReward:
        """``values`` a finite ``[S]`` array (``S >= 1``), ``coef`` finite, ``gamma`` (when set)
        in ``[0, 1]``, element by element (swept values too)."""
        shape = np.shape(self.values) if self.values is not None else None
        if shape is None or len(shape) != 1 or shape[0] < 1:
            raise ConfigError(f"teacher_reward: values must be V* per state, shape [S], got shape {shape}")
        check_finite(self.values, "teacher_reward: values")
        check_finite(self.coef, "teacher_reward: coef")
        if self.gamma is not None:
            check_in_range(self.gamma, "teacher_reward: gamma", 0.0, 1.0)
        return self

    def potential(self, obs: Array) -> Array:
        """``V*`` of one observation."""
        return self.values[self.state_index(obs)]

    def apply(self, state: Any, streams: Streams, batch: Transition) -> tuple[Streams, Any]:
        if self.to not in streams:
            raise ValueError(f"teacher_reward: no stream {self.to!r}; the batch has streams {sorted(streams)}")
        target = streams[self.to]
        gamma = target.discount if self.gamma is None else self.gamma
        phi, phi_next = potentials(self.potential, batch.obs), potentials(self.potential, batch.next_obs)
        term = self.coef * shaping_term(phi, phi_next, batch.terminated, gamma)
        if self.as_stream is None:
            return {**streams, self.to: target.replace(reward=target.reward + term)}, state
        if self.as_stream in streams:
            raise ValueError(f"teacher_reward: stream {self.as_stream!r} already exists")
        new = Stream(reward=term, weight=jnp.float32(1.0), discount=target.discount, episodic=True, kind="shaping")
        return {**streams, self.as_stream: new}, state


def teacher_reward(
    values: Any,
    coef: Array | float = 1.0,
    *,
    gamma: Array | float | None = None,
    state_index: Callable[[Array], Array] = onehot_index,
    to: str = TASK,
    as_stream: str | None = None,
) -> RewardTransform:
    """The teacher reward of ``values = V* [S]`` (module docstring); ``ConfigError`` unless
    ``values`` is a finite ``[S]`` array."""
    try:
        arr = jnp.asarray(values, jnp.float32)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"teacher_reward: values must be V* per state, [S] numbers, got {values!r}") from err
    return TeacherReward(
        values=arr, coef=coef, gamma=gamma, state_index=state_index, to=to, as_stream=as_stream
    ).validate()


def tabular_optimal_values(
    transitions: np.ndarray, rewards: np.ndarray, terminal: np.ndarray, gamma: float, tol: float = 1e-10
) -> np.ndarray:
    """``V* [S]`` of ``P [S, A, S]``, ``R [S, A]`` by value iteration (terminal states 0)."""
    check_in_range(gamma, "gamma", 0.0, 0.9999)
    alive = 1.0 - np.asarray(terminal, np.float64)
    v = np.zeros(transitions.shape[0])
    while True:
        new = (rewards + gamma * transitions @ (alive * v)).max(-1) * alive
        if np.max(np.abs(new - v)) < tol:
            return new
        v = new


def grid_teacher(size: int = 8, gamma: float = 0.99, slip_prob: float = 0.0, coef: float = 1.0) -> RewardTransform:
    """Teacher reward for ``SparseGridWorld-v0`` (one-hot observations) of the given ``size``
    and ``slip_prob``: ``V*`` by value iteration at ``gamma`` (use the agent's discount)."""
    env = SparseGridWorld(size=size)
    mdp = env.tabular_mdp(env.default_params.replace(slip_prob=slip_prob))
    values = tabular_optimal_values(mdp.transitions, mdp.rewards, mdp.terminal, gamma)
    return teacher_reward(values, coef, gamma=gamma)


__all__ = ["TeacherReward", "grid_teacher", "onehot_index", "tabular_optimal_values", "teacher_reward"]
