"""Advantage estimators as a registry of swappable pure functions (PPO's ``advantage`` picks one).

``ESTIMATORS`` maps a name to an :class:`Estimator`; PPO (and recurrent PPO) call
``ESTIMATORS[config.advantage].advantages(config, inputs)`` with one signature for every entry:
``inputs`` is an :class:`AdvantageInputs` (per-stream rewards and critic values ``[T, N, K]``,
the stream weights and discounts ``[K]``, the batch), the result an :class:`Advantages`
(the weighted advantage ``[T, N]`` the policy follows, value targets ``[T, N, K]`` the critic
learns, and a ``[T, N]`` mask of the steps that count, or None). ``register_estimator`` adds one.

Critic-based estimators work per stream on ``[T, N, K]`` arrays with the calling convention of
``gae`` (``values`` = ``V(s_t)``, ``next_values`` = the value to bootstrap from after step t,
``nonterminal`` = 0 on terminations, ``continues`` = 0 where the recursion stops after step t)
and return ``(advantages, value_targets)``:

* ``gae``: generalised advantage estimation (Schulman et al., 2016),
  ``A_t = sum_l (gamma lambda)^l delta_{t+l}``, ``delta_t = r_t + gamma V' - V(s_t)``.
* ``n_step``: ``G_t = sum_{i<n} gamma^i r_{t+i} + gamma^n V(s_{t+n})`` (cut at episode ends,
  bootstrapping on truncation and at the batch end), ``A_t = G_t - V(s_t)``.
* ``monte_carlo``: the discounted return to the episode end, bootstrapping only where the
  episode is cut (truncation, batch end); equal to GAE with lambda = 1.
* ``min_form``: the min-form return of PURE (Cheng et al., 2025, "Stop summation: min-form
  credit assignment"): ``G_t = min(r_t, G_{t+1})`` -- the value of a state is the *minimum* of
  the rewards ahead -- with ``G_t = r_t`` on terminations and ``min(r_t, V')`` where the
  episode is cut; ``A_t = G_t - V(s_t)``.

Critic-free group estimators work on returns of rollouts that start from the same state
(``group_size`` consecutive environments share a start state; see PPO's ``group_size``):

* ``group_relative``: GRPO (Shao et al., 2024): ``A_i = (R_i - mean_g R) / (max(std_g R, floor) + 1e-8)``
  (population std; ``scale=False`` drops the division, as Dr. GRPO, Liu et al. 2025, does;
  ``std_floor_mode="add"`` uses the additive floor ``std_g R + floor + 1e-8`` instead).
* ``gdpo``: GDPO (Liu et al., 2026): each stream's return normalised within the group
  separately, ``A_i = sum_k w_k (R_ik - mean_g R_k) / (std_g R_k floored)``, then standardised
  over the batch (``gdpo_sum``: without that last step). GRPO normalises ``sum_k w_k R_ik``.
* ``rloo``: REINFORCE leave-one-out (Kool et al., 2019; Ahmadian et al., 2024):
  ``A_i = R_i - mean_{j != i} R_j``.
* ``anchor_state``: step-level groups of GiGPO (Feng et al., 2025): steps of rollouts in the
  same group that visit an identical state form an anchor group; each step's discounted
  return-to-go is normalised within its anchor group (singletons get 0).

Invariances (tested as properties): ``group_relative`` (with floor 0) and ``anchor_state`` are
unchanged by adding a per-group constant and by positive scaling; ``rloo`` is unchanged by a
per-group constant and scales with positive scaling; ``min_form`` returns shift by a constant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxrl_rewards.agents.acting import flatten_obs
from jaxrl_rewards.agents.group_advantages import (  # re-exported: estimators.group_relative etc.
    FLOOR_MODES,
    anchor_state,
    floored_std,
    gdpo,
    group_relative,
    rloo,
)
from jaxrl_rewards.core.types import Array, Transition
from jaxrl_rewards.core.validation import ConfigError


def gae(
    rewards: Array,
    values: Array,
    next_values: Array,
    nonterminal: Array,
    continues: Array,
    discounts: Array,
    gae_lambda: Array | float,
) -> tuple[Array, Array]:
    """Generalised advantage estimation for K streams at once.

    Args:
        rewards, values, next_values, nonterminal, continues: ``[T, N, K]`` (see module doc).
        discounts: per-stream discount, ``[K]``.
        gae_lambda: scalar lambda.

    Returns:
        advantages and value targets (``advantages + values``), both ``[T, N, K]``.
    """
    deltas = rewards + discounts * nonterminal * next_values - values

    def step(carry, xs):
        delta, cont = xs
        carry = delta + discounts * gae_lambda * cont * carry
        return carry, carry

    _, adv = jax.lax.scan(step, jnp.zeros_like(deltas[0]), (deltas, continues), reverse=True)
    return adv, adv + values


def monte_carlo(
    rewards: Array, values: Array, next_values: Array, nonterminal: Array, continues: Array, discounts: Array
) -> tuple[Array, Array]:
    """Discounted return to the episode end (bootstrapping where cut); ``[T, N, K]`` each."""
    return gae(rewards, values, next_values, nonterminal, continues, discounts, 1.0)


def n_step(
    rewards: Array,
    values: Array,
    next_values: Array,
    nonterminal: Array,
    continues: Array,
    discounts: Array,
    n: int,
) -> tuple[Array, Array]:
    """n-step returns ``G^(n)_t`` (``n`` static) and advantages ``G - V``; ``[T, N, K]`` each.

    Recursion: ``G^(m)_t = r_t + gamma nonterminal_t [cont_t G^(m-1)_{t+1} + (1 - cont_t) V'_t]``
    and ``G^(0)_{t+1} = V'_t`` (the batch end always cuts).
    """
    cont = continues.at[-1].set(0.0)
    ahead = next_values  # the estimate of what follows step t, from 0 more steps: V'_t
    for _ in range(n):
        returns = rewards + discounts * nonterminal * ahead
        following = jnp.concatenate([returns[1:], next_values[-1:]], axis=0)
        ahead = cont * following + (1.0 - cont) * next_values
    return returns - values, returns


def min_form(
    rewards: Array, values: Array, next_values: Array, nonterminal: Array, continues: Array
) -> tuple[Array, Array]:
    """Min-form returns ``G_t = min(r_t, G_{t+1})`` and advantages ``G - V``; ``[T, N, K]`` each."""
    cont = continues.at[-1].set(0.0)

    def step(following, xs):
        r, nv, nonterm, c = xs
        ahead = jnp.where(c > 0, following, nv)
        g = jnp.where(nonterm > 0, jnp.minimum(r, ahead), r)
        return g, g

    _, returns = jax.lax.scan(step, jnp.zeros_like(rewards[0]), (rewards, next_values, nonterminal, cont), reverse=True)
    return returns - values, returns


# --------------------------------------------------------------------------- group estimators
# (the pure group functions live in agents/group_advantages.py)


def first_episode(rewards: Array, done: Array) -> tuple[Array, Array]:
    """Mask and return of each rollout's first episode.

    Args:
        rewards: ``[T, N]``; done: ``[T, N]`` episode ends.

    Returns:
        mask ``[T, N]`` (steps up to and including the first episode end) and the undiscounted
        first-episode return ``[N]`` (a partial sum if the episode did not end in the batch).
    """
    ended_before = jnp.cumsum(done.astype(jnp.int32), axis=0) - done.astype(jnp.int32)
    mask = ended_before == 0
    return mask, (rewards * mask).sum(0)


def returns_to_go(rewards: Array, done: Array, gamma: Array | float) -> Array:
    """Discounted return-to-go inside each episode, ``[T, N]`` (no bootstrap)."""

    def step(following, xs):
        r, d = xs
        g = r + gamma * (1.0 - d) * following
        return g, g

    _, out = jax.lax.scan(step, jnp.zeros_like(rewards[0]), (rewards, done.astype(rewards.dtype)), reverse=True)
    return out


# --------------------------------------------------------------------------- the registry


class AdvantageInputs(NamedTuple):
    """What an estimator sees of one iteration (critic-based calling convention: module doc).

    Attributes:
        rewards, values, next_values, nonterminal, continues: ``[T, N, K]``.
        discounts, weights: the streams' discounts and weights, ``[K]``.
        batch: the ``[T, N]`` transitions (``done``, ``obs``, ...).
    """

    rewards: Array
    values: Array
    next_values: Array
    nonterminal: Array
    continues: Array
    discounts: Array
    weights: Array
    batch: Transition

    @property
    def critic_args(self) -> tuple[Array, Array, Array, Array, Array]:
        """``(rewards, values, next_values, nonterminal, continues)``, the critic-based estimators' first arguments."""
        return self.rewards, self.values, self.next_values, self.nonterminal, self.continues


class Advantages(NamedTuple):
    """An estimator's result: ``combined [T, N]`` (what the policy follows), value ``targets
    [T, N, K]`` (what the critic learns) and ``mask [T, N]`` (1 on the steps that count; None:
    all steps count and the policy loss normalises ``combined`` per minibatch)."""

    combined: Array
    targets: Array
    mask: Array | None


class Estimator(NamedTuple):
    """A registry entry: ``advantages(config, inputs: AdvantageInputs) -> Advantages``, whether
    it compares rollouts of a shared-start group (``needs_group``: PPO's ``group_size >= 2``), and
    one line of description. ``config`` is the agent config (``gamma``, ``gae_lambda``,
    ``n_steps``, ``group_size``, ``std_floor``, ``std_floor_mode``, ``anchor_weight``, ``num_envs``)."""

    advantages: Callable[[Any, AdvantageInputs], Advantages]
    needs_group: bool
    description: str


def _weighted(advantages: Array, targets: Array, weights: Array) -> Advantages:
    """Per-stream advantages combined with the stream weights, ``sum_k w_k A_k``."""
    return Advantages((advantages * weights).sum(-1), targets, None)


def gae_advantages(config: Any, x: AdvantageInputs) -> Advantages:
    """:func:`gae` per stream with ``config.gae_lambda``, combined with the stream weights."""
    return _weighted(*gae(*x.critic_args, x.discounts, config.gae_lambda), x.weights)


def n_step_advantages(config: Any, x: AdvantageInputs) -> Advantages:
    """:func:`n_step` per stream with ``n = config.n_steps``, combined with the stream weights."""
    return _weighted(*n_step(*x.critic_args, x.discounts, config.n_steps), x.weights)


def monte_carlo_advantages(config: Any, x: AdvantageInputs) -> Advantages:
    """:func:`monte_carlo` per stream, combined with the stream weights."""
    return _weighted(*monte_carlo(*x.critic_args, x.discounts), x.weights)


def min_form_advantages(config: Any, x: AdvantageInputs) -> Advantages:
    """:func:`min_form` per stream, combined with the stream weights."""
    return _weighted(*min_form(*x.critic_args), x.weights)


def _first_episode_scores(config: Any, x: AdvantageInputs, score: Callable[[Array], Array], anchor: bool) -> Advantages:
    """Group estimators: score each rollout's first episode by its undiscounted weighted return
    ``R = sum_t sum_k w_k r_k`` (``score: [N] -> [N]``), give every step of that episode the
    rollout's advantage (plus ``anchor_weight`` times the anchor-state step advantage when
    ``anchor``) and mask the steps after it; the critic keeps learning GAE targets."""
    _, targets = gae(*x.critic_args, x.discounts, config.gae_lambda)
    reward = (x.rewards * x.weights).sum(-1)
    mask, episode_return = first_episode(reward, x.batch.done)
    combined = jnp.broadcast_to(score(episode_return), reward.shape)
    if anchor:
        to_go = returns_to_go(reward, x.batch.done, config.gamma)
        groups = jnp.broadcast_to(jnp.arange(config.num_envs) // config.group_size, reward.shape)
        step_adv = anchor_state(
            to_go.reshape(-1),
            flatten_obs(x.batch.obs, 2).reshape((to_go.size, -1)),
            groups.reshape(-1),
            mask.reshape(-1),
            config.std_floor,
            config.std_floor_mode,
        )
        combined = combined + config.anchor_weight * step_adv.reshape(reward.shape)
    mask = mask.astype(jnp.float32)
    return Advantages(combined * mask, targets, mask)


def group_relative_advantages(config: Any, x: AdvantageInputs) -> Advantages:
    """GRPO: :func:`group_relative` of first-episode returns (``std_floor``, ``std_floor_mode``), per rollout."""
    return _first_episode_scores(
        config,
        x,
        lambda r: group_relative(r, config.group_size, config.std_floor, floor_mode=config.std_floor_mode),
        anchor=False,
    )


def _gdpo_advantages(config: Any, x: AdvantageInputs, batch_normalize: bool) -> Advantages:
    """GDPO on each rollout's first episode: undiscounted per-stream returns ``[N, K]``, scored
    by :func:`gdpo`; every step of the episode gets the rollout's advantage, later steps are
    masked; the critic keeps learning GAE targets."""
    _, targets = gae(*x.critic_args, x.discounts, config.gae_lambda)
    mask, _ = first_episode(x.rewards[..., 0], x.batch.done)
    per_stream = (x.rewards * mask[..., None]).sum(0)  # [N, K]
    score = gdpo(per_stream, config.group_size, x.weights, config.std_floor, config.std_floor_mode, batch_normalize)
    mask = mask.astype(jnp.float32)
    return Advantages(jnp.broadcast_to(score, mask.shape) * mask, targets, mask)


def gdpo_advantages(config: Any, x: AdvantageInputs) -> Advantages:
    """GDPO: per-stream group normalisation, weighted sum, batch normalisation (:func:`gdpo`)."""
    return _gdpo_advantages(config, x, batch_normalize=True)


def gdpo_sum_advantages(config: Any, x: AdvantageInputs) -> Advantages:
    """GDPO without the final batch normalisation: the weighted sum of per-stream group advantages."""
    return _gdpo_advantages(config, x, batch_normalize=False)


def rloo_advantages(config: Any, x: AdvantageInputs) -> Advantages:
    """RLOO: :func:`rloo` of first-episode returns, per rollout."""
    return _first_episode_scores(config, x, lambda r: rloo(r, config.group_size), anchor=False)


def anchor_state_advantages(config: Any, x: AdvantageInputs) -> Advantages:
    """GiGPO: GRPO's episode advantage plus ``anchor_weight`` times :func:`anchor_state`'s step advantage."""
    return _first_episode_scores(
        config,
        x,
        lambda r: group_relative(r, config.group_size, config.std_floor, floor_mode=config.std_floor_mode),
        anchor=True,
    )


#: estimator name -> :class:`Estimator` (PPO's ``advantage`` field names one)
ESTIMATORS: dict[str, Estimator] = {
    "gae": Estimator(gae_advantages, False, "generalised advantage estimation (gae_lambda)"),
    "n_step": Estimator(n_step_advantages, False, "n-step returns minus V (n_steps)"),
    "monte_carlo": Estimator(monte_carlo_advantages, False, "discounted return to the episode end minus V"),
    "min_form": Estimator(min_form_advantages, False, "min-form returns G_t = min(r_t, G_t+1) minus V (PURE)"),
    "group_relative": Estimator(group_relative_advantages, True, "GRPO: group-normalised episode returns"),
    "gdpo": Estimator(gdpo_advantages, True, "GDPO: each stream group-normalised, summed, batch-normalised"),
    "gdpo_sum": Estimator(gdpo_sum_advantages, True, "GDPO without the batch normalisation"),
    "rloo": Estimator(rloo_advantages, True, "REINFORCE leave-one-out episode returns"),
    "anchor_state": Estimator(anchor_state_advantages, True, "GiGPO: GRPO plus anchor-state step advantages"),
}


def register_estimator(
    name: str,
    advantages: Callable[[Any, AdvantageInputs], Advantages],
    needs_group: bool = False,
    description: str = "",
) -> Estimator:
    """Add ``advantages(config, inputs) -> Advantages`` to :data:`ESTIMATORS` under ``name``
    (then ``advantage=name`` selects it); ``ConfigError`` if the name is taken."""
    if name in ESTIMATORS:
        raise ConfigError(f"advantage estimator {name!r} is already registered; registered: {list(ESTIMATORS)}")
    ESTIMATORS[name] = Estimator(advantages, needs_group, description)
    return ESTIMATORS[name]


def get_estimator(name: str) -> Estimator:
    """The registered estimator ``name``; ``ConfigError`` listing the registry otherwise."""
    try:
        return ESTIMATORS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown advantage estimator {name!r}; choose one of {list(ESTIMATORS)}") from None


__all__ = [  # the group functions are re-exported from agents/group_advantages.py
    "ESTIMATORS",
    "FLOOR_MODES",
    "AdvantageInputs",
    "Advantages",
    "Estimator",
    "anchor_state",
    "first_episode",
    "floored_std",
    "gae",
    "gdpo",
    "get_estimator",
    "group_relative",
    "min_form",
    "monte_carlo",
    "n_step",
    "register_estimator",
    "returns_to_go",
    "rloo",
]
