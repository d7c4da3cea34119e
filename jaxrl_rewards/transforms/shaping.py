"""Reward shaping: potential-based (user or learned potential), non-potential bonuses, and a
learned (bilevel) weight that switches harmful shaping off.

Potential-based shaping (Ng, Harada & Russell, 1999, "Policy invariance under reward
transformations") adds

    F_t = gamma * Phi(s'_t) * (1 - terminated_t) - Phi(s_t)

to a stream. The discounted sum of F over an episode telescopes to
``gamma^L Phi(s_L) [truncated] - Phi(s_0)``, so the optimal policy is unchanged for any
``Phi``. Two details make that true in a batched, auto-resetting rollout:

* **truncation**: ``s'_t`` must be the *true final observation* (``batch.next_obs``), never
  the reset observation of the next episode (``batch.obs[t + 1]``); on truncation the critic
  bootstraps from ``V(s') - Phi(s')`` and the ``gamma Phi(s')`` paid here cancels it.
* **episode starts**: ``Phi(s_t)`` is read from ``batch.obs[t]``, which after an episode end
  is the reset observation of the new episode, so no term ever crosses an episode boundary.
  A terminal state has potential 0 (the ``1 - terminated`` factor).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.networks import MLP, Dense, orthogonal
from jaxrl_rewards.core.streams import TASK
from jaxrl_rewards.core.types import Array, PRNGKey, Stream, Streams, TransformSpec, Transition
from jaxrl_rewards.core.validation import (
    ConfigError,
    check_finite,
    check_nonnegative,
    check_positive,
    check_positive_int,
)
from jaxrl_rewards.transforms.core import RewardTransform, add_term
from jaxrl_rewards.transforms.models import adam, gradient_steps

Potential = Callable[[Any], Array]


# --------------------------------------------------------------------------- helpers


def potentials(fn: Potential, obs: Any) -> Array:
    """Evaluate a per-observation potential ``fn(obs) -> scalar`` on ``[T, N, ...]`` -> ``[T, N]``."""
    return jnp.asarray(jax.vmap(jax.vmap(fn))(obs), jnp.float32)


def shaping_term(phi: Array, phi_next: Array, terminated: Array, gamma: Array | float) -> Array:
    """``F = gamma * Phi(s') * (1 - terminated) - Phi(s)``, all ``[T, N]``."""
    return gamma * phi_next * (1.0 - terminated.astype(jnp.float32)) - phi


def returns_to_go(rewards: Array, done: Array, gamma: Array | float, bootstrap: Array | None = None) -> Array:
    """Discounted return of each step to its episode end or the batch end, ``[T, N]``.

    ``G_t = r_t + gamma * (1 - done_t) * G_{t+1}``; after the last step ``G_T = bootstrap``
    (``[N]``, default 0).
    """
    last = jnp.zeros_like(rewards[0]) if bootstrap is None else bootstrap

    def step(g, xs):
        r, d = xs
        g = r + gamma * (1.0 - d.astype(jnp.float32)) * g
        return g, g

    _, out = jax.lax.scan(step, last, (rewards, done), reverse=True)
    return out


def _check_stream(streams: Streams, name: str, who: str) -> Stream:
    if name not in streams:
        raise ValueError(f"{who}: no stream {name!r}; the batch has streams {sorted(streams)}")
    return streams[name]


def _add_shaping(streams: Streams, to: str, as_stream: str | None, term: Array, who: str) -> Streams:
    target = _check_stream(streams, to, who)
    if as_stream is None:
        return {**streams, to: target.replace(reward=target.reward + term)}
    if as_stream in streams:
        raise ValueError(f"{who}: stream {as_stream!r} already exists")
    new = Stream(reward=term, weight=jnp.float32(1.0), discount=target.discount, episodic=True, kind="shaping")
    return {**streams, as_stream: new}


# --------------------------------------------------------------------------- user potential


class PotentialShaping(RewardTransform):
    """Potential-based shaping with a user potential (Ng, Harada & Russell, 1999).

    ``r_to <- r_to + coef * (gamma * Phi(s') * (1 - terminated) - Phi(s))`` where ``s'`` is
    ``batch.next_obs`` (the true final observation on episode ends) and ``gamma`` is the
    target stream's discount (or ``gamma`` if given). With ``as_stream`` the term becomes a
    new stream of that name (weight 1, same discount) instead.
    """

    potential: Potential = struct.field(pytree_node=False, default=None)
    coef: Array | float = 1.0
    gamma: Array | float | None = None
    to: str = struct.field(pytree_node=False, default=TASK)
    as_stream: str | None = struct.field(pytree_node=False, default=None)

    def validate(self) -> PotentialShaping:
        """``potential`` callable, ``coef`` finite, ``gamma`` (when set) ``>= 0``, element by
        element (swept values too)."""
        if not callable(self.potential):
            raise ConfigError(f"potential_shaping: potential must be callable, got {type(self.potential).__name__}")
        check_finite(self.coef, "potential_shaping: coef")
        if self.gamma is not None:
            check_nonnegative(self.gamma, "potential_shaping: gamma")
        return self

    def term(self, batch: Transition, gamma: Array | float) -> Array:
        """The shaping term ``coef * F`` for a batch, ``[T, N]``."""
        phi = potentials(self.potential, batch.obs)
        phi_next = potentials(self.potential, batch.next_obs)
        return self.coef * shaping_term(phi, phi_next, batch.terminated, gamma)

    def apply(self, state: Any, streams: Streams, batch: Transition) -> tuple[Streams, Any]:
        target = _check_stream(streams, self.to, "potential_shaping")
        gamma = target.discount if self.gamma is None else self.gamma
        return _add_shaping(streams, self.to, self.as_stream, self.term(batch, gamma), "potential_shaping"), state


def potential_shaping(
    potential: Potential,
    coef: Array | float = 1.0,
    *,
    to: str = TASK,
    gamma: Array | float | None = None,
    as_stream: str | None = None,
) -> RewardTransform:
    """Potential-based shaping ``F = gamma * Phi(s') * (1 - terminated) - Phi(s)``.

    Args:
        potential: jittable ``Phi(obs) -> scalar`` for ONE observation (vmapped over ``[T, N]``).
        coef: multiplies ``F`` (sweepable leaf).
        to: the stream ``F`` is added to.
        gamma: discount in ``F``; ``None`` uses the target stream's (the invariant case).
        as_stream: put ``F`` in a new stream of this name instead of adding it to ``to``.
    """
    return PotentialShaping(potential=potential, coef=coef, gamma=gamma, to=to, as_stream=as_stream).validate()


def non_potential_shaping(
    bonus: Callable[[Any, Array, Any, dict], Array], coef: Array | float = 1.0, *, to: str = TASK
) -> RewardTransform:
    """An arbitrary shaping bonus ``r_to <- r_to + coef * bonus(s, a, s', info)``.

    Unlike potential-based shaping (Ng, Harada & Russell, 1999) this may change the optimal
    policy (their Theorem 1: only potential differences are guaranteed safe); the library
    ships it so the difference can be shown (``tests/transforms/test_shaping.py``).
    """
    if not callable(bonus):
        raise ConfigError(f"non_potential_shaping: bonus must be callable, got {type(bonus).__name__}")
    check_finite(coef, "non_potential_shaping: coef")
    return add_term(bonus, to=to, coef=coef)


# --------------------------------------------------------------------------- learned potential


class _ValueNet(nn.Module):
    hidden_sizes: Sequence[int]

    @nn.compact
    def __call__(self, x: Array) -> Array:
        h = MLP(tuple(self.hidden_sizes), "tanh")(x)
        return Dense(1, kernel_init=orthogonal(1.0))(h)[..., 0]


class LearnedPotentialState(struct.PyTreeNode):
    """``params`` of the value network ``V(obs)`` and its optimiser state."""

    params: Any
    opt_state: Any


class LearnedPotential(RewardTransform):
    """Potential shaping with a learned potential ``Phi = coef * V_hat`` (Ng et al., 1999;
    using a value estimate as potential follows e.g. Harutyunyan et al., 2015 and the
    "value as potential" observation that ``Phi = V*`` makes shaped values zero).

    ``V_hat`` is a small MLP fitted in ``update`` to the discounted return of the
    environment reward (``batch.reward``, undiscounted by shaping) with ``fit_steps`` Adam
    steps on the squared error to ``G_t = r_t + gamma (1 - term_t) [V_hat(s'_t) if
    done_t or t = T - 1 else G_{t+1}]``. ``apply`` adds ``gamma Phi(s') (1 - terminated) -
    Phi(s)`` like ``PotentialShaping``.
    """

    coef: Array | float = 1.0
    learning_rate: Array | float = 1e-3
    to: str = struct.field(pytree_node=False, default=TASK)
    hidden_sizes: tuple[int, ...] = struct.field(pytree_node=False, default=(32,))
    fit_steps: int = struct.field(pytree_node=False, default=4)

    def validate(self) -> LearnedPotential:
        """``coef`` finite, ``learning_rate > 0`` (element by element: swept values too);
        ``fit_steps`` and every hidden size positive ints (static)."""
        check_finite(self.coef, "learned_potential: coef")
        check_positive(self.learning_rate, "learned_potential: learning_rate")
        check_positive_int(self.fit_steps, "learned_potential: fit_steps")
        if not self.hidden_sizes or any(
            isinstance(h, bool) or not isinstance(h, int) or h <= 0 for h in self.hidden_sizes
        ):
            raise ConfigError(f"learned_potential: hidden_sizes must be positive ints, got {self.hidden_sizes!r}")
        return self

    def _net(self) -> _ValueNet:
        return _ValueNet(self.hidden_sizes)

    def _flat(self, obs: Array, nd: int) -> Array:
        return jnp.asarray(obs, jnp.float32).reshape((*obs.shape[:nd], -1))

    def init(self, key: PRNGKey, spec: TransformSpec) -> LearnedPotentialState:
        obs = self._flat(spec.example.obs, 2)[0]
        params = self._net().init(key, obs)
        return LearnedPotentialState(params=params, opt_state=adam(self.learning_rate).init(params))

    def value(self, state: LearnedPotentialState, obs: Array) -> Array:
        """``V_hat(obs)`` for ``[T, N, ...]`` observations -> ``[T, N]``."""
        return self._net().apply(state.params, self._flat(obs, 2))

    def apply(self, state: LearnedPotentialState, streams: Streams, batch: Transition):
        target = _check_stream(streams, self.to, "learned_potential")
        phi = self.coef * self.value(state, batch.obs)
        phi_next = self.coef * self.value(state, batch.next_obs)
        term = shaping_term(phi, phi_next, batch.terminated, target.discount)
        return {**streams, self.to: target.replace(reward=target.reward + term)}, state

    def update(self, state: LearnedPotentialState, streams: Streams, batch: Transition, key: PRNGKey):
        gamma = streams[self.to].discount
        v_next = self.value(state, batch.next_obs)
        done = batch.done
        term = batch.terminated.astype(jnp.float32)
        last = jnp.zeros_like(done).at[-1].set(True)

        def step(g, xs):
            r, d, t, vn, is_last = xs
            nxt = jnp.where(jnp.logical_or(d, is_last), vn, g)
            g = r + gamma * (1.0 - t) * nxt
            return g, g

        _, targets = jax.lax.scan(
            step, jnp.zeros_like(batch.reward[0]), (batch.reward, done, term, v_next, last), reverse=True
        )
        targets = jax.lax.stop_gradient(targets)
        obs = self._flat(batch.obs, 2)
        tx = adam(self.learning_rate)

        def loss_fn(params):
            return jnp.mean((self._net().apply(params, obs) - targets) ** 2)

        params, opt_state, losses = gradient_steps(loss_fn, tx, state.params, state.opt_state, length=self.fit_steps)
        return LearnedPotentialState(params, opt_state), {"learned_potential/loss": losses[-1]}


def learned_potential(
    coef: Array | float = 1.0,
    *,
    learning_rate: Array | float = 1e-3,
    to: str = TASK,
    hidden_sizes: Sequence[int] = (32,),
    fit_steps: int = 4,
) -> RewardTransform:
    """Potential shaping whose potential is a value network fitted to the env reward's
    returns in ``update`` (see ``LearnedPotential``)."""
    return LearnedPotential(
        coef=coef, learning_rate=learning_rate, to=to, hidden_sizes=tuple(hidden_sizes), fit_steps=fit_steps
    ).validate()


# --------------------------------------------------------------------------- bilevel weight


class BilevelState(struct.PyTreeNode):
    """The learned shaping weight ``w`` (scalar, in ``[0, max_weight]``)."""

    weight: Array


class BilevelShaping(RewardTransform):
    """A learned global weight on a shaping term, trained to increase the *task* return
    (the bilevel view of shaping of Hu et al., 2020, "Learning to utilize shaping rewards",
    BiPaRS).

    ``apply``: ``r_to <- r_to + w * F`` with ``F`` the potential-based term of ``potential``.

    ``update`` (the upper level): a first-order meta-gradient approximation. A policy-gradient
    step on the shaped reward moves the policy by ``dtheta ~ E[grad log pi (A_task + w A_F)]``;
    the resulting change of the task objective is ``grad J_task . dtheta``, whose derivative in
    ``w`` is ``E[grad log pi A_task] . E[grad log pi A_F]``. Treating the score features of
    different samples as orthogonal (tabular/NTK approximation) this is proportional to the
    covariance of the task advantage and the shaping term over the batch. We use the scale-free
    version, the **correlation** ``rho = corr(F_t, G_t - mean G)`` of the one-step shaping term
    with the task return-to-go ``G_t`` (from ``batch.reward``, the unshaped env reward, within
    the batch), and take a projected step ``w <- clip(w + lr * rho, 0, max_weight)``. With
    ``state_baseline`` (default) both ``F_t`` and ``G_t`` are first replaced by their residuals
    after a ridge regression on the flattened observation (a linear state baseline; exact
    per-state centring for one-hot observations), so only the *action*-dependent parts are
    correlated: without it, a helpful distance potential (whose one-step term is larger far
    from the goal, where returns are lower) looks harmful once the policy is good.

    Why this signal: it needs no second-order terms, no extra rollouts and no access to the
    agent, it is zero when the task gives no signal (the weight then stays put), it is negative
    exactly when the shaping prefers actions after which the task return is lower (a misleading
    potential), and projection onto ``[0, max_weight]`` lets it reach exactly 0 (shaping off).
    """

    potential: Potential = struct.field(pytree_node=False, default=None)
    init_weight: Array | float = 1.0
    learning_rate: Array | float = 0.1
    max_weight: Array | float = 1.0
    baseline_ridge: Array | float = 1e-2
    to: str = struct.field(pytree_node=False, default=TASK)
    state_baseline: bool = struct.field(pytree_node=False, default=True)

    def validate(self) -> BilevelShaping:
        """``potential`` callable; ``init_weight >= 0``, ``learning_rate > 0``,
        ``max_weight > 0``, ``baseline_ridge > 0``, element by element (swept values too)."""
        if not callable(self.potential):
            raise ConfigError(f"bilevel_shaping: potential must be callable, got {type(self.potential).__name__}")
        check_nonnegative(self.init_weight, "bilevel_shaping: init_weight")
        check_positive(self.learning_rate, "bilevel_shaping: learning_rate")
        check_positive(self.max_weight, "bilevel_shaping: max_weight")
        check_positive(self.baseline_ridge, "bilevel_shaping: baseline_ridge")
        return self

    def init(self, key: PRNGKey, spec: TransformSpec) -> BilevelState:
        return BilevelState(weight=jnp.asarray(self.init_weight, jnp.float32))

    def _term(self, batch: Transition, gamma: Array) -> Array:
        phi = potentials(self.potential, batch.obs)
        return shaping_term(phi, potentials(self.potential, batch.next_obs), batch.terminated, gamma)

    def apply(self, state: BilevelState, streams: Streams, batch: Transition):
        target = _check_stream(streams, self.to, "bilevel_shaping")
        term = state.weight * self._term(batch, target.discount)
        return {**streams, self.to: target.replace(reward=target.reward + term)}, state

    def update(self, state: BilevelState, streams: Streams, batch: Transition, key: PRNGKey):
        gamma = streams[self.to].discount
        shaping = self._term(batch, gamma).reshape(-1)
        task = returns_to_go(batch.reward, batch.done, gamma).reshape(-1)
        if self.state_baseline:
            obs = jnp.asarray(batch.obs, jnp.float32).reshape((shaping.shape[0], -1))
            x = jnp.concatenate([obs, jnp.ones_like(obs[:, :1])], axis=1)
            gram = x.T @ x + self.baseline_ridge * jnp.eye(x.shape[1])
            beta = jnp.linalg.solve(gram, x.T @ jnp.stack([shaping, task], axis=1))
            resid = jnp.stack([shaping, task], axis=1) - x @ beta
            f, g = resid[:, 0], resid[:, 1]
        else:
            f, g = shaping - shaping.mean(), task - task.mean()
        rho = (f * g).mean() / (jnp.sqrt((f**2).mean() * (g**2).mean()) + 1e-8)
        weight = jnp.clip(state.weight + self.learning_rate * rho, 0.0, self.max_weight)
        return BilevelState(weight=weight), {"bilevel/weight": weight, "bilevel/signal": rho}


def bilevel_shaping(
    potential: Potential,
    *,
    init_weight: Array | float = 1.0,
    learning_rate: Array | float = 0.1,
    max_weight: Array | float = 1.0,
    to: str = TASK,
    state_baseline: bool = True,
) -> RewardTransform:
    """Potential shaping with a learned weight in ``[0, max_weight]`` that is driven toward 0
    when the shaping works against the task return (see ``BilevelShaping``)."""
    return BilevelShaping(
        potential=potential,
        init_weight=init_weight,
        learning_rate=learning_rate,
        max_weight=max_weight,
        to=to,
        state_baseline=bool(state_baseline),
    ).validate()


__all__ = [
    "BilevelShaping",
    "BilevelState",
    "LearnedPotential",
    "LearnedPotentialState",
    "PotentialShaping",
    "bilevel_shaping",
    "learned_potential",
    "non_potential_shaping",
    "potential_shaping",
    "potentials",
    "returns_to_go",
    "shaping_term",
]
