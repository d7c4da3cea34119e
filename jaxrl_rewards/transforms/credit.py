"""Credit-assignment helpers: least-squares redistribution of a delayed episode outcome over the
steps of the episode, and a trust weight for auxiliary rewards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.streams import TASK
from jaxrl_rewards.core.types import Array, Streams, TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError, check_finite, check_positive, check_positive_int
from jaxrl_rewards.transforms.core import RewardTransform


def _need(streams, names, who):
    missing = [n for n in names if n not in streams]
    if missing:
        raise ValueError(f"{who}: unknown stream(s) {missing}; the batch has streams {sorted(streams)}")


# --------------------------------------------------------------------------- redistribution


class RedistributionState(struct.PyTreeNode):
    """State of ``RedistributeOutcome``.

    Attributes:
        theta: step-contribution weights ``[D]``.
        gram: ``sum_e Phi_e Phi_e^T`` over finished episodes ``[D, D]``.
        moment: ``sum_e Phi_e R_e`` ``[D]``.
        features: per-env feature sums of the unfinished episodes ``[N, D]``.
        outcome: per-env sums of the source stream ``[N]``.
        predicted: per-env sums of the predicted contributions ``[N]``.
        episodes: number of episodes in the least-squares fit.
    """

    theta: Array
    gram: Array
    moment: Array
    features: Array
    outcome: Array
    predicted: Array
    episodes: Array


def onehot_state_action_features(num_actions: int) -> Callable[[Any, Array], Array]:
    """``phi(s, a) = flatten(s) (x) one_hot(a)``: tabular features for one-hot observations."""

    def phi(obs, action):
        return jnp.outer(jnp.ravel(jnp.asarray(obs, jnp.float32)), jax.nn.one_hot(action, num_actions)).ravel()

    return phi


class RedistributeOutcome(RewardTransform):
    """Least-squares return decomposition (Efroni, Merlis & Mannor, 2021, "Reinforcement
    learning with trajectory feedback"; RUDDER, Arjona-Medina et al., 2019): fit linear step
    contributions ``r_hat(s, a) = theta . phi(s, a)`` so that each finished episode's
    contributions sum to its outcome ``R_e = sum_t r_t`` (the source stream's episode total),

        theta = argmin sum_e (theta . Phi_e - R_e)^2 + ridge |theta|^2,  Phi_e = sum_t phi(s_t, a_t)

    (solved in ``update``). ``apply`` pays ``r_hat`` at every step and, at the episode's last
    step, the residual ``R_e - sum_t r_hat_t``, so the redistributed rewards of every episode
    sum **exactly** to its outcome (the return-equivalence that keeps the optimal policy).
    Before any fit (``theta = 0``) this is the delayed reward itself.
    """

    features: Callable[[Any, Array], Array] = struct.field(pytree_node=False, default=None)
    num_features: int = struct.field(pytree_node=False, default=1)
    ridge: Array | float = 1e-3
    stream: str = struct.field(pytree_node=False, default=TASK)

    def validate(self) -> RedistributeOutcome:
        """``features`` callable, ``num_features`` a positive int (static), ``ridge > 0``
        (element by element)."""
        if not callable(self.features):
            raise ConfigError("redistribute_outcome: features must be a callable (obs, action) -> [D]")
        check_positive_int(self.num_features, "redistribute_outcome: num_features")
        check_positive(self.ridge, "redistribute_outcome: ridge")
        return self

    def init(self, key, spec: TransformSpec) -> RedistributionState:
        d, n = self.num_features, spec.num_envs
        return RedistributionState(
            theta=jnp.zeros((d,), jnp.float32),
            gram=jnp.zeros((d, d), jnp.float32),
            moment=jnp.zeros((d,), jnp.float32),
            features=jnp.zeros((n, d), jnp.float32),
            outcome=jnp.zeros((n,), jnp.float32),
            predicted=jnp.zeros((n,), jnp.float32),
            episodes=jnp.float32(0.0),
        )

    def apply(self, state: RedistributionState, streams: Streams, batch: Transition):
        _need(streams, (self.stream,), "redistribute_outcome")
        phi = jax.vmap(jax.vmap(self.features))(batch.obs, batch.action).astype(jnp.float32)  # [T, N, D]
        predicted = phi @ state.theta  # [T, N]

        def step(carry, xs):
            feats, out, pred, gram, moment, count = carry
            f, p, r, d = xs
            feats, out, pred = feats + f, out + r, pred + p
            paid = p + jnp.where(d, out - pred, 0.0)
            df = d.astype(jnp.float32)
            gram = gram + jnp.einsum("n,ni,nj->ij", df, feats, feats)
            moment = moment + jnp.einsum("n,ni,n->i", df, feats, out)
            keep = 1.0 - df
            return (feats * keep[:, None], out * keep, pred * keep, gram, moment, count + df.sum()), paid

        init = (state.features, state.outcome, state.predicted, state.gram, state.moment, state.episodes)
        (feats, out, pred, gram, moment, count), paid = jax.lax.scan(
            step, init, (phi, predicted, streams[self.stream].reward, batch.done)
        )
        new = state.replace(features=feats, outcome=out, predicted=pred, gram=gram, moment=moment, episodes=count)
        s = streams[self.stream]
        return {**streams, self.stream: s.replace(reward=paid)}, new

    def update(self, state: RedistributionState, streams, batch, key):
        d = self.num_features
        theta = jnp.linalg.solve(state.gram + self.ridge * jnp.eye(d), state.moment)
        theta = jnp.where(state.episodes > 0, theta, state.theta)
        return state.replace(theta=theta), {"redistribute/episodes": state.episodes}


def redistribute_outcome(
    features: Callable[[Any, Array], Array],
    num_features: int,
    *,
    ridge: float = 1e-3,
    stream: str = TASK,
) -> RewardTransform:
    """Redistribute ``stream``'s episode outcome over the episode's steps by least squares
    (see ``RedistributeOutcome``). ``features(obs, action) -> [num_features]`` for ONE step;
    ``onehot_state_action_features(A)`` gives tabular ones."""
    return RedistributeOutcome(features=features, num_features=num_features, ridge=ridge, stream=stream).validate()


# --------------------------------------------------------------------------- trust weight


class TrustState(struct.PyTreeNode):
    """Per-env episode sums of the auxiliary and outcome streams ``[N]``, and the totals of
    auxiliary returns / counts over successful and failed episodes (scalars)."""

    aux: Array
    outcome: Array
    success_sum: Array
    success_count: Array
    failure_sum: Array
    failure_count: Array


class AuxiliaryTrust(RewardTransform):
    """Trust weight for an auxiliary reward: how much more of it successful episodes collect
    than failed ones,

        trust = mean(aux return | outcome >= threshold) - mean(aux return | outcome < threshold)

    (0 until both kinds of episode have been seen), in the spirit of validating shaping
    rewards against the true outcome (e.g. Hu et al., 2020; Ng et al., 1999's warning that
    unvalidated bonuses mislead). ``mode="weight"``: the auxiliary stream's weight becomes
    ``clip(scale * trust, 0, max_weight)``; ``mode="gate"``: ``max_weight * [trust > 0]``.
    Episode statistics accumulate in the state (all episodes so far).
    """

    aux: str = struct.field(pytree_node=False, default="")
    outcome: str = struct.field(pytree_node=False, default=TASK)
    threshold: Array | float = 0.5
    scale: Array | float = 1.0
    max_weight: Array | float = 1.0
    mode: str = struct.field(pytree_node=False, default="weight")

    def validate(self) -> AuxiliaryTrust:
        """``aux`` a stream other than ``outcome``, ``mode`` 'weight' or 'gate', ``threshold``
        finite, ``scale > 0`` and ``max_weight > 0`` (element by element)."""
        if not self.aux or self.aux == self.outcome:
            raise ConfigError(f"auxiliary_trust: aux must be a stream other than outcome, got {self.aux!r}")
        if self.mode not in ("weight", "gate"):
            raise ConfigError(f"auxiliary_trust: mode must be 'weight' or 'gate', got {self.mode!r}")
        check_finite(self.threshold, "auxiliary_trust: threshold")
        check_positive(self.scale, "auxiliary_trust: scale")
        check_positive(self.max_weight, "auxiliary_trust: max_weight")
        return self

    def init(self, key, spec: TransformSpec) -> TrustState:
        z = jnp.zeros((spec.num_envs,), jnp.float32)
        s = jnp.float32(0.0)
        return TrustState(aux=z, outcome=z, success_sum=s, success_count=s, failure_sum=s, failure_count=s)

    def trust(self, state: TrustState) -> Array:
        """The current trust value (scalar)."""
        have = (state.success_count > 0) & (state.failure_count > 0)
        diff = state.success_sum / jnp.maximum(state.success_count, 1.0) - state.failure_sum / jnp.maximum(
            state.failure_count, 1.0
        )
        return jnp.where(have, diff, 0.0)

    def weight(self, state: TrustState) -> Array:
        """The auxiliary stream's weight implied by ``state`` (scalar)."""
        t = self.trust(state)
        if self.mode == "gate":
            return jnp.where(t > 0, self.max_weight, 0.0).astype(jnp.float32)
        return jnp.clip(self.scale * t, 0.0, self.max_weight).astype(jnp.float32)

    def apply(self, state: TrustState, streams: Streams, batch: Transition):
        _need(streams, (self.aux, self.outcome), "auxiliary_trust")

        def step(carry, xs):
            aux, out, ss, sc, fs, fc = carry
            a, o, d = xs
            aux, out = aux + a, out + o
            df = d.astype(jnp.float32)
            win = df * (out >= self.threshold)
            lose = df - win
            carry = (aux * (1 - df), out * (1 - df), ss + (aux * win).sum(), sc + win.sum(), fs + (aux * lose).sum())
            return (*carry, fc + lose.sum()), None

        init = (
            state.aux,
            state.outcome,
            state.success_sum,
            state.success_count,
            state.failure_sum,
            state.failure_count,
        )
        carry, _ = jax.lax.scan(step, init, (streams[self.aux].reward, streams[self.outcome].reward, batch.done))
        new = TrustState(*carry)
        return {**streams, self.aux: streams[self.aux].replace(weight=self.weight(new))}, new

    def update(self, state: TrustState, streams, batch, key):
        return state, {"trust/value": self.trust(state), "trust/weight": self.weight(state)}


def auxiliary_trust(
    aux: str,
    outcome: str = TASK,
    *,
    threshold: float = 0.5,
    scale: float = 1.0,
    max_weight: float = 1.0,
    mode: str = "weight",
) -> RewardTransform:
    """Weight (or gate) the ``aux`` stream by its trust: mean aux return on successful episodes
    minus on failed ones (see ``AuxiliaryTrust``)."""
    return AuxiliaryTrust(
        aux=aux, outcome=outcome, threshold=threshold, scale=scale, max_weight=max_weight, mode=mode
    ).validate()


__all__ = [
    "AuxiliaryTrust",
    "RedistributeOutcome",
    "RedistributionState",
    "TrustState",
    "auxiliary_trust",
    "onehot_state_action_features",
    "redistribute_outcome",
]
