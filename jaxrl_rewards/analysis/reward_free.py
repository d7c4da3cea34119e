"""Reward-free exploration, then planning on the learned empirical model (tabular environments).

The protocol of reward-free RL (Jin, Krishnamurthy, Simchowitz & Yu 2020): first explore
*without* a task reward (here: any agent driven by an intrinsic bonus only), recording an
empirical model ``N(s, a, s')``; afterwards, for any reward handed over later, plan on the
estimated MDP ``P_hat(s' | s, a) = N(s, a, s') / N(s, a)`` and evaluate the planned policy in the
true MDP. Coverage (states and state-action pairs seen) and the value the planned policy
reaches (as a fraction of the optimal value) measure how good the exploration was.

* ``empirical_model(index, num_states, num_actions)`` is a ``RewardTransform`` that leaves the
  streams alone and accumulates ``N(s, a, s')`` and terminal counts from every batch (chain it
  after the bonus; PPO carries it in its state).
* ``estimate_mdp``, ``value_iteration``, ``policy_evaluation``, ``plan`` and ``coverage`` are
  numpy (float64) helpers on ``[S, A, S]`` arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey, Streams, TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError, check_in_range
from jaxrl_rewards.transforms.core import RewardTransform


class ModelCounts(struct.PyTreeNode):
    """Visit counts: ``transitions [S, A, S]`` (``N(s, a, s')``) and ``terminal [S]`` (how often
    reaching ``s'`` terminated an episode)."""

    transitions: Array
    terminal: Array


class EmpiricalModel(RewardTransform):
    """Accumulates ``N(s, a, s')`` from every batch; streams pass through unchanged.

    ``index`` maps ONE observation to its state index (int scalar); it is vmapped over
    ``[T, N]``. Actions must be discrete ints in ``[0, num_actions)``.
    """

    index: Callable = struct.field(pytree_node=False, default=None)
    num_states: int = struct.field(pytree_node=False, default=1)
    num_actions: int = struct.field(pytree_node=False, default=1)

    def init(self, key: PRNGKey, spec: TransformSpec) -> ModelCounts:
        del key, spec
        return ModelCounts(
            transitions=jnp.zeros((self.num_states, self.num_actions, self.num_states), jnp.float32),
            terminal=jnp.zeros((self.num_states,), jnp.float32),
        )

    def indices(self, obs: Array) -> Array:
        """State indices int32 ``[T, N]`` of observations ``[T, N, *obs_shape]``."""
        return jnp.asarray(jax.vmap(jax.vmap(self.index))(obs), jnp.int32)

    def apply(self, state: ModelCounts, streams: Streams, batch: Transition) -> tuple[Streams, ModelCounts]:
        s, s_next = self.indices(batch.obs).reshape(-1), self.indices(batch.next_obs).reshape(-1)
        a = jnp.asarray(batch.action, jnp.int32).reshape(-1)
        transitions = state.transitions.at[s, a, s_next].add(1.0)
        terminal = state.terminal.at[s_next].add(batch.terminated.reshape(-1).astype(jnp.float32))
        return streams, ModelCounts(transitions=transitions, terminal=terminal)

    def update(self, state: ModelCounts, streams: Streams, batch: Transition, key: PRNGKey) -> tuple[Any, Metrics]:
        seen = state.transitions.sum(-1) > 0
        metrics = {
            "model/visited_states": (seen.any(-1) | (state.transitions.sum((0, 1)) > 0)).sum().astype(jnp.float32),
            "model/visited_pairs": seen.sum().astype(jnp.float32),
        }
        return state, metrics


def empirical_model(index: Callable[[Array], Array], num_states: int, num_actions: int) -> EmpiricalModel:
    """Record the empirical model ``N(s, a, s')`` (see ``EmpiricalModel``)."""
    if not callable(index):
        raise ConfigError(f"empirical_model: index must be a callable obs -> int, got {type(index).__name__}")
    for value, label in ((num_states, "num_states"), (num_actions, "num_actions")):
        if not isinstance(value, int) or value <= 0:
            raise ConfigError(f"empirical_model: {label} must be a positive int, got {value!r}")
    return EmpiricalModel(index=index, num_states=num_states, num_actions=num_actions)


class EstimatedMDP(NamedTuple):
    """``transitions [S, A, S]`` (rows of unseen pairs loop on themselves), ``known [S, A]``
    (pair seen at least once), ``terminal [S]`` (reaching it ever ended an episode)."""

    transitions: np.ndarray
    known: np.ndarray
    terminal: np.ndarray


def estimate_mdp(counts: ModelCounts) -> EstimatedMDP:
    """Maximum-likelihood ``P_hat = N(s, a, s') / N(s, a)`` (numpy float64); unseen pairs stay put."""
    n = np.asarray(counts.transitions, np.float64)
    total = n.sum(-1, keepdims=True)
    known = total[..., 0] > 0
    num_states = n.shape[0]
    stay = np.broadcast_to(np.eye(num_states)[:, None, :], n.shape)
    p = np.where(total > 0, n / np.maximum(total, 1.0), stay)
    return EstimatedMDP(p, known, np.asarray(counts.terminal) > 0)


def value_iteration(
    transitions: np.ndarray,
    rewards: np.ndarray,
    gamma: float,
    terminal: np.ndarray | None = None,
    tol: float = 1e-10,
    max_iters: int = 100_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Optimal ``V [S]`` and ``Q [S, A]`` of ``P [S, A, S]``, ``R [S, A]`` (numpy float64).
    Terminal states (``[S]`` bool) have value 0."""
    check_in_range(gamma, "value_iteration: gamma", 0.0, 1.0)
    p, r = np.asarray(transitions, np.float64), np.asarray(rewards, np.float64)
    alive = np.ones(p.shape[0]) if terminal is None else 1.0 - np.asarray(terminal, np.float64)
    v = np.zeros(p.shape[0])
    for _ in range(max_iters):
        q = r + gamma * p @ (alive * v)
        new = q.max(-1) * alive
        if np.max(np.abs(new - v)) < tol:
            v = new
            break
        v = new
    return v, r + gamma * p @ (alive * v)


def policy_evaluation(
    transitions: np.ndarray, rewards: np.ndarray, policy: np.ndarray, gamma: float, terminal: np.ndarray | None = None
) -> np.ndarray:
    """Exact value ``V [S]`` of a deterministic ``policy [S]`` (linear solve, float64)."""
    p, r = np.asarray(transitions, np.float64), np.asarray(rewards, np.float64)
    states = np.arange(p.shape[0])
    alive = np.ones(p.shape[0]) if terminal is None else 1.0 - np.asarray(terminal, np.float64)
    p_pi = p[states, policy] * alive[None, :]
    r_pi = r[states, policy] * alive
    return np.linalg.solve(np.eye(p.shape[0]) - gamma * p_pi, r_pi)


def goal_task(transitions: np.ndarray, goal: int, terminal: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A reward handed over after exploration: +1 for entering ``goal``, which then ends the
    episode. Returns ``R [S, A] = P(goal | s, a)`` and the terminal mask ``[S]`` (``goal`` plus
    ``terminal``)."""
    p = np.asarray(transitions, np.float64)
    done = np.zeros(p.shape[0], bool) if terminal is None else np.asarray(terminal, bool).copy()
    done[goal] = True
    return p[:, :, goal].copy(), done


def plan(model: EstimatedMDP, state_reward: np.ndarray, gamma: float, goal_terminal: np.ndarray) -> np.ndarray:
    """Greedy policy ``[S]`` on the estimated MDP for a reward on *entered* states
    (``state_reward [S]``: ``R_hat(s, a) = sum_s' P_hat(s'|s,a) r(s')``); ``goal_terminal [S]``
    marks states that end the new task (the estimated terminals end it too)."""
    r_hat = model.transitions @ np.asarray(state_reward, np.float64)
    _, q = value_iteration(model.transitions, r_hat, gamma, goal_terminal | model.terminal)
    return q.argmax(-1)


def reachable_states(transitions: np.ndarray, initial_state: int, terminal: np.ndarray | None = None) -> np.ndarray:
    """Bool ``[S]``: states reachable from ``initial_state`` (terminal states are not left)."""
    p = np.asarray(transitions) > 0
    seen = np.zeros(p.shape[0], bool)
    seen[initial_state] = True
    frontier = [initial_state]
    while frontier:
        s = frontier.pop()
        if terminal is not None and terminal[s]:
            continue
        for s2 in np.flatnonzero(p[s].any(0)):
            if not seen[s2]:
                seen[s2] = True
                frontier.append(int(s2))
    return seen


def coverage(counts: ModelCounts, reachable: np.ndarray) -> float:
    """Fraction of ``reachable`` states (bool ``[S]``) seen (as a start or a next state)."""
    n = np.asarray(counts.transitions)
    seen = (n.sum((1, 2)) > 0) | (n.sum((0, 1)) > 0)
    return float((seen & reachable).sum() / max(reachable.sum(), 1))


def planning_scores(
    counts: ModelCounts,
    true_transitions: np.ndarray,
    true_terminal: np.ndarray,
    goals: np.ndarray,
    initial_state: int,
    gamma: float = 0.95,
) -> np.ndarray:
    """For each goal state: value of the policy planned on the empirical model, evaluated in
    the true MDP, divided by the optimal value (1.0 = as good as planning on the true model).

    Returns:
        float64 ``[len(goals)]``.
    """
    model = estimate_mdp(counts)
    scores = []
    for goal in np.asarray(goals):
        r_true, done = goal_task(true_transitions, int(goal), true_terminal)
        v_opt, _ = value_iteration(true_transitions, r_true, gamma, done)
        onehot = np.zeros(len(done))
        onehot[int(goal)] = 1.0
        goal_mask = np.zeros(len(done), bool)
        goal_mask[int(goal)] = True
        policy = plan(model, onehot, gamma, goal_mask)
        v_pi = policy_evaluation(true_transitions, r_true, policy, gamma, done)
        scores.append(v_pi[initial_state] / max(v_opt[initial_state], 1e-12))
    return np.asarray(scores)
