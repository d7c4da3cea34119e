"""Multi-objective weighting: static weights, dynamic weights, and weight-conditioned
scalarisation (linear or Chebyshev) for one policy that covers the Pareto front.

Objective streams come from the environment's ``info["rewards"]`` (``reward_<name>``, weight
0 until a transform weighs them). Agents with one value head per stream (PPO) combine the
streams' advantages with the weights set here.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.running_stats import RunningMeanStd
from jaxrl_rewards.core.streams import TASK
from jaxrl_rewards.core.types import Array, Streams, TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError, check_finite, check_in_range, check_positive
from jaxrl_rewards.transforms.core import RewardTransform


def _need(streams_or_names, names: tuple[str, ...], who: str) -> None:
    have = list(streams_or_names)
    missing = [n for n in names if n not in have]
    if missing:
        raise ValueError(f"{who}: unknown stream(s) {missing}; the batch has streams {sorted(have)}")


# --------------------------------------------------------------------------- static


class StaticWeights(RewardTransform):
    """Static linear scalarisation: set stream weights ``w_k`` (the objective is
    ``sum_k w_k r_k``; Roijers et al., 2013, "A survey of multi-objective sequential
    decision-making"). ``others``: weight given to every stream not listed (``None``: keep)."""

    names: tuple[str, ...] = struct.field(pytree_node=False, default=())
    weights: tuple[Array | float, ...] = ()
    others: Array | float | None = None

    def validate(self) -> StaticWeights:
        """At least one stream, one weight per stream, every weight and ``others`` finite
        (element by element: swept values too)."""
        if not self.names or len(self.weights) != len(self.names):
            raise ConfigError(
                f"static_weights: give one weight per stream (at least one); got streams {list(self.names)} and "
                f"{len(self.weights)} weights"
            )
        for name, w in zip(self.names, self.weights, strict=True):
            check_finite(w, f"static_weights: weight of {name!r}")
        if self.others is not None:
            check_finite(self.others, "static_weights: others")
        return self

    def apply(self, state, streams: Streams, batch: Transition):
        _need(streams, self.names, "static_weights")
        out = dict(streams)
        if self.others is not None:
            out = {k: s.replace(weight=jnp.asarray(self.others, jnp.float32)) for k, s in out.items()}
        for name, w in zip(self.names, self.weights, strict=True):
            out[name] = out[name].replace(weight=jnp.asarray(w, jnp.float32))
        return out, state


def static_weights(weights: Mapping[str, float], others: float | None = None) -> RewardTransform:
    """Set the weights of the named streams (sweepable leaves); ``others`` for the rest."""
    if not weights:
        raise ConfigError("static_weights: give at least one stream weight")
    return StaticWeights(names=tuple(weights), weights=tuple(weights.values()), others=others).validate()


# --------------------------------------------------------------------------- dynamic


class DynamicState(struct.PyTreeNode):
    """State of ``DynamicWeights``.

    Attributes:
        weights: current weights ``[K]`` (sum to ``total``).
        magnitude: running mean of ``|r_k|`` (``RunningMeanStd`` of shape ``[K]``).
        running: per-env undiscounted returns of the unfinished episodes ``[N, K]``.
        returns: running average episode return per objective ``[K]`` (EMA).
        seen: whether any episode finished yet (bool).
    """

    weights: Array
    magnitude: RunningMeanStd
    running: Array
    returns: Array
    seen: Array


class DynamicWeights(RewardTransform):
    """Dynamic objective weights, set on the streams from the transform's state.

    * ``mode="inverse_magnitude"``: ``w_k = total * (1 / (m_k + eps)) / sum_j 1 / (m_j + eps)``
      with ``m_k`` the running mean of ``|r_k|`` (updated in ``apply`` before use): each
      objective contributes equally regardless of its scale (loss balancing by inverse
      magnitude, cf. Chen et al., 2018, GradNorm; Kendall et al., 2018).
    * ``mode="least_satisfied"``: in ``update``, ``w <- (1 - rate) w + rate * total * e_j``
      with ``j = argmax_k (target_k - R_k) / scale_k`` the objective furthest below its
      target (``R_k``: EMA of finished episodes' returns, rate ``ema``). Weights move toward
      the least-satisfied objective (a max-min / minimax scalarisation, cf. Abdolmaleki et
      al., 2020, and Lagrangian-style objective balancing).
    """

    names: tuple[str, ...] = struct.field(pytree_node=False, default=())
    mode: str = struct.field(pytree_node=False, default="inverse_magnitude")
    total: Array | float = 1.0
    eps: Array | float = 1e-6
    targets: tuple[Array | float, ...] | None = None
    scales: tuple[Array | float, ...] | None = None
    rate: Array | float = 0.1
    ema: Array | float = 0.1

    def validate(self) -> DynamicWeights:
        """At least one stream; ``total > 0``, ``eps > 0``, ``rate`` and ``ema`` in ``[0, 1]``
        (element by element: swept values too); ``mode`` one of the two; ``least_satisfied``
        has one target and one positive scale per stream."""
        if not self.names:
            raise ConfigError("dynamic_weights: give at least one stream")
        check_positive(self.total, "dynamic_weights: total")
        check_positive(self.eps, "dynamic_weights: eps")
        check_in_range(self.rate, "dynamic_weights: rate", 0.0, 1.0)
        check_in_range(self.ema, "dynamic_weights: ema", 0.0, 1.0)
        if self.mode == "least_satisfied":
            if self.targets is None or len(self.targets) != len(self.names):
                raise ConfigError("dynamic_weights: least_satisfied needs one target per stream")
            if self.scales is None or len(self.scales) != len(self.names):
                raise ConfigError("dynamic_weights: need one scale per stream")
            for name, target, scale in zip(self.names, self.targets, self.scales, strict=True):
                check_finite(target, f"dynamic_weights: target of {name!r}")
                check_positive(scale, f"dynamic_weights: scales ({name!r})")
        elif self.mode != "inverse_magnitude":
            raise ConfigError(
                f"dynamic_weights: mode must be 'inverse_magnitude' or 'least_satisfied', got {self.mode!r}"
            )
        return self

    def init(self, key, spec: TransformSpec) -> DynamicState:
        _need(spec.streams, self.names, "dynamic_weights")
        k = len(self.names)
        return DynamicState(
            weights=jnp.full((k,), self.total / k, jnp.float32),
            magnitude=RunningMeanStd.create((k,)),
            running=jnp.zeros((spec.num_envs, k), jnp.float32),
            returns=jnp.zeros((k,), jnp.float32),
            seen=jnp.bool_(False),
        )

    def apply(self, state: DynamicState, streams: Streams, batch: Transition):
        _need(streams, self.names, "dynamic_weights")
        rewards = jnp.stack([streams[n].reward for n in self.names], axis=-1)  # [T, N, K]
        magnitude = state.magnitude.update(jnp.abs(rewards))
        if self.mode == "inverse_magnitude":
            inv = 1.0 / (magnitude.mean + self.eps)
            weights = self.total * inv / inv.sum()
        else:
            weights = state.weights

        def step(carry, xs):
            running, total, count = carry
            r, d = xs
            running = running + r
            df = d.astype(jnp.float32)[:, None]
            return (running * (1 - df), total + (running * df).sum(0), count + df.sum()), None

        k = len(self.names)
        (running, total, count), _ = jax.lax.scan(
            step, (state.running, jnp.zeros((k,)), jnp.float32(0.0)), (rewards, batch.done)
        )
        mean = total / jnp.maximum(count, 1.0)
        returns = jnp.where(
            count > 0, jnp.where(state.seen, (1 - self.ema) * state.returns + self.ema * mean, mean), state.returns
        )
        out = dict(streams)
        for i, name in enumerate(self.names):
            out[name] = streams[name].replace(weight=weights[i])
        new = DynamicState(weights, magnitude, running, returns, state.seen | (count > 0))
        return out, new

    def update(self, state: DynamicState, streams, batch, key):
        metrics = {f"dynamic_weights/{n}": state.weights[i] for i, n in enumerate(self.names)}
        if self.mode != "least_satisfied":
            return state, metrics
        shortfall = (jnp.asarray(self.targets, jnp.float32) - state.returns) / jnp.asarray(self.scales, jnp.float32)
        target_w = self.total * jax.nn.one_hot(jnp.argmax(shortfall), len(self.names))
        weights = jnp.where(state.seen, (1 - self.rate) * state.weights + self.rate * target_w, state.weights)
        return state.replace(weights=weights), metrics


def dynamic_weights(
    names: tuple[str, ...],
    mode: str = "inverse_magnitude",
    *,
    total: float = 1.0,
    targets: tuple[float, ...] | None = None,
    scales: tuple[float, ...] | None = None,
    rate: float = 0.1,
    ema: float = 0.1,
    eps: float = 1e-6,
) -> RewardTransform:
    """Weights of ``names`` set from the transform's state (see ``DynamicWeights``).

    Args:
        names: the objective streams.
        mode: ``"inverse_magnitude"`` or ``"least_satisfied"`` (needs ``targets``).
        total: the weights sum to this.
        targets: per-objective target episode returns (``least_satisfied``).
        scales: per-objective scale of the shortfall (default 1).
        rate: step of the weights toward the least-satisfied objective per ``update``.
        ema: EMA rate of the episode-return estimates.
        eps: added to magnitudes.
    """
    names = tuple(names)
    if mode == "least_satisfied":
        scales = tuple(1.0 for _ in names) if scales is None else tuple(scales)
        targets = None if targets is None else tuple(targets)
    return DynamicWeights(
        names=names, mode=mode, total=total, eps=eps, targets=targets, scales=scales, rate=rate, ema=ema
    ).validate()


# --------------------------------------------------------------------------- conditioned


UTILITIES = ("linear", "chebyshev")


def chebyshev_utility(returns: Array, weights: Array, utopia: Array) -> Array:
    """``U(G) = -max_k w_k (z_k - G_k)`` (weighted Chebyshev / Tchebycheff, Moffaert et al.,
    2013); ``returns``/``weights`` ``[..., K]``, ``utopia`` ``[K]`` -> ``[...]``."""
    return -jnp.max(weights * (utopia - returns), axis=-1)


class ConditionedScalarization(RewardTransform):
    """Scalarise objective streams with per-environment weights read from
    ``batch.info[weights_key]`` (``[T, N, K]``, e.g. sampled per episode by
    ``jaxrl_rewards.envs.multi_objective.weight_conditioned.WeightConditioned``, which also shows them to the
    policy: conditioned networks, Abels et al., 2019; Yang et al., 2019). The result replaces
    the ``to`` stream (weight 1); objectives are first divided by ``scales``.

    * ``utility="linear"``: ``r_t = sum_k w_k r_k,t / s_k``.
    * ``utility="chebyshev"``: a non-linear utility of the episode's vector return,
      paid as utility differences ``r_t = U(G_{0:t+1}) - U(G_{0:t})`` with
      ``U = chebyshev_utility(., w, utopia)`` and ``G_{0:t}`` the undiscounted scaled vector
      return so far, which telescope to ``U(G) - U(0)`` per episode. The running vector
      return ``[N, K]`` is the state, carried across rollouts and reset on episode ends. It
      can reach points in concave parts of the Pareto front that no linear weight selects.
    """

    names: tuple[str, ...] = struct.field(pytree_node=False, default=())
    utility: str = struct.field(pytree_node=False, default="linear")
    weights_key: str = struct.field(pytree_node=False, default="weights")
    to: str = struct.field(pytree_node=False, default=TASK)
    scales: tuple[Array | float, ...] = ()
    utopia: tuple[Array | float, ...] = ()

    def validate(self) -> ConditionedScalarization:
        """At least one objective; ``utility`` one of ``UTILITIES``; one scale ``> 0`` per
        objective; for Chebyshev one finite utopia value per objective (element by element:
        swept values too)."""
        if not self.names:
            raise ConfigError("conditioned_scalarization: give at least one objective stream")
        if self.utility not in UTILITIES:
            raise ConfigError(
                f"conditioned_scalarization: utility must be one of {UTILITIES}, got {self.utility!r}"
            )
        if len(self.scales) != len(self.names):
            raise ConfigError("conditioned_scalarization: need one scale per objective")
        for name, scale in zip(self.names, self.scales, strict=True):
            check_positive(scale, f"conditioned_scalarization: scales ({name!r})")
        if self.utility == "chebyshev":
            if len(self.utopia) != len(self.names):
                raise ConfigError(
                    "conditioned_scalarization: chebyshev needs a utopia point with one value per objective"
                )
            for name, value in zip(self.names, self.utopia, strict=True):
                check_finite(value, f"conditioned_scalarization: utopia ({name!r})")
        return self

    def init(self, key, spec: TransformSpec) -> Array:
        _need(spec.streams, self.names, "conditioned_scalarization")
        if self.weights_key not in spec.example.info:
            raise ValueError(
                f"conditioned_scalarization: batch.info has no {self.weights_key!r} (wrap the env in "
                "WeightConditioned, or pass weights_key)"
            )
        return jnp.zeros((spec.num_envs, len(self.names)), jnp.float32)

    def apply(self, state: Array, streams: Streams, batch: Transition):
        _need(streams, (*self.names, self.to), "conditioned_scalarization")
        rewards = jnp.stack([streams[n].reward for n in self.names], axis=-1) / jnp.asarray(self.scales)
        weights = jnp.asarray(batch.info[self.weights_key], jnp.float32)
        if self.utility == "linear":
            scalar = (weights * rewards).sum(-1)
            new_state = state
        else:
            utopia = jnp.asarray(self.utopia, jnp.float32)

            def step(g, xs):
                r, w, d = xs
                new_g = g + r
                paid = chebyshev_utility(new_g, w, utopia) - chebyshev_utility(g, w, utopia)
                return jnp.where(d[:, None], 0.0, new_g), paid

            new_state, scalar = jax.lax.scan(step, state, (rewards, weights, batch.done))
        target = streams[self.to]
        return {**streams, self.to: target.replace(reward=scalar, weight=jnp.float32(1.0))}, new_state


def conditioned_scalarization(
    names: tuple[str, ...],
    utility: str = "linear",
    *,
    scales: tuple[float, ...] | None = None,
    utopia: tuple[float, ...] | None = None,
    weights_key: str = "weights",
    to: str = TASK,
) -> RewardTransform:
    """Scalarise ``names`` into ``to`` with the per-episode weights in ``info[weights_key]``
    (see ``ConditionedScalarization``). ``utopia`` (scaled units) is needed for Chebyshev."""
    names = tuple(names)
    scales = tuple(1.0 for _ in names) if scales is None else tuple(float(s) for s in scales)
    if utopia is None:
        # linear needs no utopia (zeros); Chebyshev without one is rejected by validate()
        utopia = tuple(0.0 for _ in names) if utility != "chebyshev" else ()
    else:
        utopia = tuple(float(u) for u in utopia)
    return ConditionedScalarization(
        names=names, utility=utility, weights_key=weights_key, to=to, scales=scales, utopia=utopia
    ).validate()


__all__ = [
    "UTILITIES",
    "ConditionedScalarization",
    "DynamicState",
    "DynamicWeights",
    "StaticWeights",
    "chebyshev_utility",
    "conditioned_scalarization",
    "dynamic_weights",
    "static_weights",
]
