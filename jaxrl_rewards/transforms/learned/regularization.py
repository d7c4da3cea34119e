"""Regularisation toward a reference policy, against reward hacking and overoptimisation.

* :func:`kl_penalty` — action-level KL penalty (as in RLHF, Ziegler et al., 2019; Jaques et
  al., 2017): a stream ``r_t = -(log pi(a_t|s_t) - log pi_ref(a_t|s_t))`` with weight ``coef``,
  whose expected return is ``-coef * KL(pi || pi_ref)`` along the policy's own trajectories.
  The behaviour log-probability comes from ``batch.info["policy_log_prob"]`` ``[T, N]`` (PPO
  and recurrent PPO put it there, in their example batches too); a batch without it is a
  ``ConfigError`` (DQN, PQN and SAC record no behaviour log-prob). The reference is a function,
  saved actor parameters (``agents.policies.reference_from_ppo``) or ``None``: then ``log pi_ref = 0``
  and the stream is an entropy bonus ``-log pi(a|s)`` (KL to the uniform policy up to a constant).
* :func:`occupancy_penalty` — occupancy-measure regularisation (Laidlaw et al., 2024,
  "Preventing reward hacking with occupancy measure regularization", ORPO): a discriminator
  ``d(s, a)`` is trained in ``update`` to tell the current policy's state-action pairs (label
  1) from a fixed set of the reference policy's (label 0); with balanced classes its logit
  estimates ``log mu_pi(s, a) / mu_ref(s, a)``. The penalty stream is the functional gradient
  of the divergence: ``chi2``: ``r_t = -2 (w - 1)`` with ``w = exp(clip(logit))`` (``D_chi2 =
  E_ref[(w - 1)^2]``); ``kl``: ``r_t = -log w``. Its weight is ``coef``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.rollout import reset_envs, rollout
from jaxrl_rewards.core.streams import TASK
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey, Stream, Streams, TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError, check_nonnegative, check_positive, check_positive_int
from jaxrl_rewards.transforms.core import RewardTransform
from jaxrl_rewards.transforms.learned.features import (
    RewardNet,
    action_width,
    num_discrete_actions,
    transition_features,
)
from jaxrl_rewards.transforms.models import adam, gradient_steps, scaled_apply

POLICY_LOG_PROB = "policy_log_prob"


# --------------------------------------------------------------------------- reference policies


class FunctionReference(struct.PyTreeNode):
    """A reference policy given as ``fn(obs [T, N, ...], action [T, N, ...]) -> log_prob [T, N]``."""

    fn: Callable[[Any, Array], Array] = struct.field(pytree_node=False)

    def log_prob(self, obs: Any, action: Array) -> Array:
        return self.fn(obs, action)


class ActorReference(struct.PyTreeNode):
    """A saved actor network as a reference policy (``agents.policies.reference_from_ppo``
    builds one from a trained PPO state).

    ``params`` and ``obs_stats`` are leaves (swap in other checkpoints without recompiling);
    the actor module and normalisation switch are static.
    """

    params: Any
    obs_stats: Any
    obs_clip: Array | float
    actor: Any = struct.field(pytree_node=False)
    normalize_obs: bool = struct.field(pytree_node=False, default=False)

    def log_prob(self, obs: Any, action: Array) -> Array:
        x = jnp.asarray(obs, jnp.float32).reshape((*action.shape[:2], -1))
        if self.normalize_obs:
            x = self.obs_stats.normalize(x, self.obs_clip)
        return self.actor.apply(self.params, x).log_prob(action)


def _as_reference(reference: Any) -> Any:
    if reference is None or hasattr(reference, "log_prob"):
        return reference
    if callable(reference):
        return FunctionReference(fn=reference)
    raise ConfigError(
        "reference must be None (entropy bonus), a function (obs, action) -> log_prob, or a "
        f"reference policy with .log_prob (agents.policies.reference_from_ppo); got {type(reference).__name__}"
    )


class KLPenalty(RewardTransform):
    """Per-step KL penalty toward a reference policy (see the module docstring)."""

    reference: Any = None
    coef: Array | float = 0.1
    name: str = struct.field(pytree_node=False, default="kl_penalty")
    to: str | None = struct.field(pytree_node=False, default=None)

    def validate(self) -> KLPenalty:
        """``coef >= 0``, element by element (swept values too)."""
        check_nonnegative(self.coef, "kl_penalty: coef")
        return self

    def penalty_reward(self, batch: Transition) -> Array:
        """``-(log pi - log pi_ref)`` per transition, ``[T, N]``, with ``log pi`` read from
        ``batch.info["policy_log_prob"]``; a batch without it raises ``ConfigError`` (at trace time)."""
        log_pi = batch.info.get(POLICY_LOG_PROB)
        if log_pi is None:
            raise ConfigError(
                f"kl_penalty needs the behaviour policy's log-prob: the agent must put log pi(a_t|s_t) [T, N] in "
                f"batch.info[{POLICY_LOG_PROB!r}] (in its example batch too), as PPO does; this batch has info keys "
                f"{sorted(batch.info)}. DQN, PQN and SAC record no behaviour log-prob, so they cannot use it."
            )
        log_ref = 0.0 if self.reference is None else self.reference.log_prob(batch.obs, batch.action)
        return -(log_pi - log_ref)

    def apply(self, state: Any, streams: Streams, batch: Transition) -> tuple[Streams, Any]:
        reward = self.penalty_reward(batch)
        if self.to is not None:
            if self.to not in streams:
                raise ValueError(f"kl_penalty: no stream {self.to!r}; streams are {sorted(streams)}")
            target = streams[self.to]
            return {**streams, self.to: target.replace(reward=target.reward + self.coef * reward)}, state
        base = streams[TASK] if TASK in streams else next(iter(streams.values()))
        new = Stream(reward=reward, weight=jnp.asarray(self.coef, jnp.float32), discount=base.discount, kind="penalty")
        return {**streams, self.name: new}, state

    def update(self, state, streams, batch, key):
        return state, {"kl_penalty/mean_log_ratio": -self.penalty_reward(batch).mean()}


def kl_penalty(reference: Any = None, coef: float = 0.1, name: str = "kl_penalty", to: str | None = None) -> KLPenalty:
    """KL penalty toward ``reference`` (``None``: entropy bonus).

    Args:
        reference: ``fn(obs, action) -> log_prob [T, N]``, a :class:`ActorReference`, or ``None``.
        coef: penalty weight (sweepable leaf), >= 0.
        name: the new stream's name (weight ``coef``), when ``to`` is ``None``.
        to: add ``coef * penalty`` to this existing stream instead of adding a stream.
    """
    return KLPenalty(reference=_as_reference(reference), coef=coef, name=name, to=to).validate()


# --------------------------------------------------------------------------- occupancy penalty


class ReferenceSamples(struct.PyTreeNode):
    """State-action samples of the reference policy: ``obs [M, ...]``, ``action [M, ...]``."""

    obs: Array
    action: Array


def collect_reference_samples(
    env: Any, env_params: Any, policy: Callable, key: PRNGKey, num_envs: int = 16, num_steps: int = 64
) -> ReferenceSamples:
    """Roll ``policy(key, obs [N, ...]) -> (action [N], extras)`` out and keep its
    ``num_envs * num_steps`` state-action pairs."""
    reset_key, run_key = jax.random.split(key)
    carry = reset_envs(env, env_params, reset_key, num_envs)
    _, batch, _ = rollout(env, env_params, policy, carry, run_key, num_steps)
    flat = lambda x: x.reshape((num_envs * num_steps, *x.shape[2:]))
    return ReferenceSamples(obs=flat(batch.obs), action=flat(batch.action))


class OccupancyState(struct.PyTreeNode):
    """Discriminator parameters and Adam state."""

    params: Any
    opt_state: Any


class OccupancyPenalty(RewardTransform):
    """Occupancy-measure divergence penalty toward reference samples (see module docstring)."""

    reference: ReferenceSamples = None
    coef: Array | float = 0.1
    learning_rate: Array | float = 1e-3
    logit_clip: Array | float = 5.0
    divergence: str = struct.field(pytree_node=False, default="chi2")
    hidden_sizes: tuple[int, ...] = struct.field(pytree_node=False, default=(64, 64))
    num_updates: int = struct.field(pytree_node=False, default=8)
    minibatch_size: int = struct.field(pytree_node=False, default=128)
    name: str = struct.field(pytree_node=False, default="occupancy_penalty")
    inputs: tuple[str, ...] = struct.field(pytree_node=False, default=("obs", "action"))

    def validate(self) -> OccupancyPenalty:
        """``divergence`` chi2 or kl; ``coef >= 0``, ``learning_rate > 0``, ``logit_clip > 0``
        (element by element: swept values too); ``num_updates`` and ``minibatch_size``
        positive ints. The reference samples are checked by the factory."""
        who = "occupancy_penalty"
        if self.divergence not in ("chi2", "kl"):
            raise ConfigError(f"{who}: divergence must be 'chi2' or 'kl', got {self.divergence!r}")
        check_nonnegative(self.coef, f"{who}: coef")
        check_positive(self.learning_rate, f"{who}: learning_rate")
        check_positive(self.logit_clip, f"{who}: logit_clip")
        check_positive_int(self.num_updates, f"{who}: num_updates")
        check_positive_int(self.minibatch_size, f"{who}: minibatch_size")
        return self

    def _net(self) -> RewardNet:
        return RewardNet(self.hidden_sizes, "relu")

    def init(self, key: PRNGKey, spec: TransformSpec) -> OccupancyState:
        n_act = num_discrete_actions(spec.action_space)
        ex = spec.example
        dim = transition_features(ex.obs, ex.action, ex.next_obs, self.inputs, n_act, 2).shape[-1]
        params = self._net().init(key, jnp.zeros((1, dim), jnp.float32))
        return OccupancyState(params=params, opt_state=adam(1.0).init(params))

    def _features(self, state: OccupancyState, obs: Any, action: Array, lead: int) -> Array:
        width = self._width(state, obs, action, lead)
        return transition_features(obs, action, obs, self.inputs, width, lead)

    def _width(self, state: OccupancyState, obs: Any, action: Array, lead: int) -> int | None:
        first = state.params["params"]["MLP_0"]["Dense_0"]["kernel"]
        return action_width(self.inputs, int(first.shape[0]), obs, obs, action, lead)

    def log_ratio(self, state: OccupancyState, obs: Any, action: Array, lead: int = 2) -> Array:
        """Clipped discriminator logit, the estimate of ``log mu_pi / mu_ref``, ``[*lead]``."""
        logit = self._net().apply(state.params, self._features(state, obs, action, lead))
        return jnp.clip(logit, -self.logit_clip, self.logit_clip)

    def penalty_reward(self, state: OccupancyState, batch: Transition) -> Array:
        """The penalty stream's reward ``[T, N]`` (before the weight ``coef``)."""
        log_w = self.log_ratio(state, batch.obs, batch.action, 2)
        if self.divergence == "chi2":
            return -2.0 * (jnp.exp(log_w) - 1.0)
        return -log_w

    def apply(self, state: OccupancyState, streams: Streams, batch: Transition) -> tuple[Streams, OccupancyState]:
        base = streams[TASK] if TASK in streams else next(iter(streams.values()))
        new = Stream(
            reward=self.penalty_reward(state, batch),
            weight=jnp.asarray(self.coef, jnp.float32),
            discount=base.discount,
            kind="penalty",
        )
        return {**streams, self.name: new}, state

    def update(
        self, state: OccupancyState, streams: Streams, batch: Transition, key: PRNGKey
    ) -> tuple[OccupancyState, Metrics]:
        del streams
        width = self._width(state, batch.obs, batch.action, 2)
        pol = transition_features(batch.obs, batch.action, batch.obs, self.inputs, width, 2)
        pol = pol.reshape((-1, pol.shape[-1]))
        ref = transition_features(self.reference.obs, self.reference.action, self.reference.obs, self.inputs, width, 1)
        net, tx = self._net(), adam(1.0)

        def loss_fn(params, xp, xr):
            lp, lr = net.apply(params, xp), net.apply(params, xr)
            return 0.5 * (jax.nn.softplus(-lp).mean() + jax.nn.softplus(lr).mean())

        def minibatch(k):
            kp, kr = jax.random.split(k)
            xp = pol[jax.random.randint(kp, (self.minibatch_size,), 0, pol.shape[0])]
            xr = ref[jax.random.randint(kr, (self.minibatch_size,), 0, ref.shape[0])]
            return xp, xr

        params, opt_state, losses = gradient_steps(
            loss_fn,
            tx,
            state.params,
            state.opt_state,
            jax.random.split(key, self.num_updates),
            inputs=minibatch,
            apply=scaled_apply(self.learning_rate),
            pass_params=False,
        )
        state = OccupancyState(params=params, opt_state=opt_state)
        ratio = jnp.exp(self.log_ratio(state, batch.obs, batch.action, 2))
        return state, {"occupancy/loss": losses.mean(), "occupancy/mean_ratio": ratio.mean()}


def occupancy_penalty(
    reference: ReferenceSamples,
    coef: float = 0.1,
    divergence: str = "chi2",
    learning_rate: float = 1e-3,
    logit_clip: float = 5.0,
    hidden_sizes: tuple[int, ...] = (64, 64),
    num_updates: int = 8,
    minibatch_size: int = 128,
    name: str = "occupancy_penalty",
) -> OccupancyPenalty:
    """χ² (or KL) occupancy-measure penalty toward the reference policy's samples.

    Args:
        reference: :class:`ReferenceSamples` of the reference policy (see
            :func:`collect_reference_samples`).
        coef: the penalty stream's weight (sweepable), >= 0.
        divergence: ``"chi2"`` or ``"kl"``.
        learning_rate, num_updates, minibatch_size, hidden_sizes: the discriminator's training.
        logit_clip: clip of the log density-ratio estimate (bounds the penalty).
    """
    if not isinstance(reference, ReferenceSamples):
        raise ConfigError(f"reference must be ReferenceSamples (collect_reference_samples), got {type(reference)}")
    if jnp.shape(reference.obs)[0] != jnp.shape(reference.action)[0] or jnp.shape(reference.obs)[0] == 0:
        raise ConfigError(
            f"reference obs {jnp.shape(reference.obs)} and action {jnp.shape(reference.action)} must share M >= 1"
        )
    return OccupancyPenalty(
        reference=reference,
        coef=coef,
        learning_rate=learning_rate,
        logit_clip=logit_clip,
        divergence=divergence,
        hidden_sizes=tuple(hidden_sizes),
        num_updates=num_updates,
        minibatch_size=minibatch_size,
        name=name,
    ).validate()


__all__ = [
    "ActorReference",
    "FunctionReference",
    "KLPenalty",
    "OccupancyPenalty",
    "OccupancyState",
    "ReferenceSamples",
    "collect_reference_samples",
    "kl_penalty",
    "occupancy_penalty",
]
