"""Adversarial imitation: GAIL- and AIRL-style discriminator rewards, with a gradient penalty.

A discriminator is trained in ``update`` to tell expert transitions (label 1) from the
policy's (label 0) by logistic regression on its logit ``l``; ``apply`` replaces the
``target`` stream's reward (default ``"task"``: the agent never sees the environment reward)
with a reward derived from ``l``:

* **GAIL** (Ho & Ermon, 2016, "Generative adversarial imitation learning"): ``l = D_phi(s, a)``
  and the reward is ``-log(1 - sigmoid(l)) = softplus(l)`` (positive; ``reward_form="logit"``
  gives ``l = log D - log(1 - D)`` instead).
* **AIRL** (Fu et al., 2018, "Learning robust rewards with adversarial inverse reinforcement
  learning"): the logit has the shaped structure ``f(s, a, s') = g(s, a) + gamma * (1 - done)
  * h(s') - h(s)`` and the reward is ``f``. Original AIRL subtracts ``log pi(a|s)`` from the
  logit; that needs the current policy's log-probability of *expert* actions, which a reward
  transform cannot see, so here the discriminator is ``sigmoid(f)`` (the log-pi term dropped)
  and ``g`` is the disentangled reward estimate. ``reward_form="softplus"`` gives the positive
  ``-log(1 - sigmoid(f))`` instead, for tasks where staying alive is the goal (see
  :func:`adversarial_reward`).
* **Gradient penalty** (Gulrajani et al., 2017; used for imitation by Kostrikov et al., 2019,
  DAC): ``gp_coef * E[(||grad_x l(x_hat)||_2 - gp_center)^2]`` on random interpolates
  ``x_hat`` between expert and policy inputs, which keeps the discriminator (hence the reward)
  Lipschitz-smooth.

Expert data come from a trained agent: :func:`collect_expert_data` rolls out a trained PPO
policy (:func:`jaxrl_rewards.agents.policies.expert_data_from_ppo`) or any policy function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.rollout import reset_envs, rollout
from jaxrl_rewards.core.streams import TASK
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey, Stream, Streams, TransformSpec, Transition
from jaxrl_rewards.core.validation import (
    ConfigError,
    check_finite,
    check_in_range,
    check_nonnegative,
    check_positive,
    check_positive_int,
)
from jaxrl_rewards.transforms.core import RewardTransform
from jaxrl_rewards.transforms.learned.features import (
    RewardNet,
    action_width,
    num_discrete_actions,
    transition_features,
)

KINDS = ("gail", "airl")


class ExpertData(struct.PyTreeNode):
    """Expert transitions, flat: ``obs [M, ...]``, ``action [M, ...]``, ``next_obs [M, ...]``
    (true final observation on episode ends), ``terminated [M]`` bool."""

    obs: Array
    action: Array
    next_obs: Array
    terminated: Array

    @property
    def size(self) -> int:
        return int(self.terminated.shape[0])


def expert_data_from_batch(batch: Transition) -> ExpertData:
    """Flatten a ``[T, N]`` batch of expert transitions into :class:`ExpertData`."""
    flat = lambda x: x.reshape((-1, *x.shape[2:]))
    return ExpertData(flat(batch.obs), flat(batch.action), flat(batch.next_obs), flat(batch.terminated))


def collect_expert_data(
    env: Any, env_params: Any, policy: Callable, key: PRNGKey, num_envs: int = 8, num_steps: int = 512
) -> tuple[ExpertData, Transition]:
    """Roll out ``policy(key, obs [N, ...]) -> (action [N], extras)`` for ``num_steps`` steps in
    ``num_envs`` environments; returns the flat expert data and the ``[T, N]`` batch."""
    reset_key, run_key = jax.random.split(key)
    carry = reset_envs(env, env_params, reset_key, num_envs)
    _, batch, _ = rollout(env, env_params, policy, carry, run_key, num_steps)
    return expert_data_from_batch(batch), batch


class AdversarialState(struct.PyTreeNode):
    """Discriminator parameters (``g`` and, for AIRL, ``h``) and Adam state."""

    params: Any
    opt_state: Any


class AdversarialReward(RewardTransform):
    """GAIL / AIRL discriminator reward (see the module docstring). Build with
    :func:`gail_reward` or :func:`airl_reward`."""

    expert: ExpertData = None
    kind: str = struct.field(pytree_node=False, default="gail")
    reward_form: str = struct.field(pytree_node=False, default="softplus")
    hidden_sizes: tuple[int, ...] = struct.field(pytree_node=False, default=(64, 64))
    num_updates: int = struct.field(pytree_node=False, default=8)
    minibatch_size: int = struct.field(pytree_node=False, default=256)
    target: str = struct.field(pytree_node=False, default=TASK)
    replace_target: bool = struct.field(pytree_node=False, default=True)
    name: str = struct.field(pytree_node=False, default="imitation")
    learning_rate: Array | float = 3e-4
    gp_coef: Array | float = 10.0
    gp_center: Array | float = 1.0
    gamma: Array | float = 0.99
    reward_clip: Array | float = 10.0
    weight: Array | float = 1.0

    def validate(self) -> AdversarialReward:
        """``kind`` in ``KINDS``, ``reward_form`` softplus or logit; ``gp_coef >= 0``,
        ``gp_center >= 0``, ``learning_rate > 0``, ``reward_clip > 0``, ``gamma`` in ``[0, 1]``,
        ``weight`` finite (element by element: swept values too); ``num_updates`` and
        ``minibatch_size`` positive ints. The expert data is checked by the factory."""
        who = "adversarial_reward"
        if self.kind not in KINDS:
            raise ConfigError(f"{who}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.reward_form not in ("softplus", "logit"):
            raise ConfigError(f"{who}: reward_form must be 'softplus' or 'logit', got {self.reward_form!r}")
        check_nonnegative(self.gp_coef, f"{who}: gp_coef")
        check_nonnegative(self.gp_center, f"{who}: gp_center")
        check_positive(self.learning_rate, f"{who}: learning_rate")
        check_positive(self.reward_clip, f"{who}: reward_clip")
        check_in_range(self.gamma, f"{who}: gamma", 0.0, 1.0)
        check_finite(self.weight, f"{who}: weight")
        check_positive_int(self.num_updates, f"{who}: num_updates")
        check_positive_int(self.minibatch_size, f"{who}: minibatch_size")
        return self

    def _net(self) -> RewardNet:
        return RewardNet(self.hidden_sizes, "tanh")

    def _width(self, params: Any, obs: Any, action: Array, lead: int) -> int | None:
        kernel = params["g"]["params"]["MLP_0"]["Dense_0"]["kernel"]
        return action_width(("obs", "action"), int(kernel.shape[0]), obs, obs, action, lead)

    def _inputs(self, params, obs, action, next_obs, lead):
        """Concatenated discriminator input ``[*lead, D_sa + D_s]`` (state-action, next state)."""
        width = self._width(params, obs, action, lead)
        sa = transition_features(obs, action, next_obs, ("obs", "action"), width, lead)
        s2 = transition_features(obs, action, next_obs, ("next_obs",), width, lead)
        return sa, s2

    def _logit(self, params, sa: Array, s2: Array, terminated: Array) -> Array:
        net = self._net()
        g = net.apply(params["g"], sa)
        if self.kind == "gail":
            return g
        obs_dim = s2.shape[-1]
        h_now = net.apply(params["h"], sa[..., :obs_dim])
        h_next = net.apply(params["h"], s2)
        return g + self.gamma * (1.0 - terminated.astype(jnp.float32)) * h_next - h_now

    def init(self, key: PRNGKey, spec: TransformSpec) -> AdversarialState:
        n_act = num_discrete_actions(spec.action_space)
        ex = spec.example
        sa = transition_features(ex.obs, ex.action, ex.next_obs, ("obs", "action"), n_act, 2)
        s2 = transition_features(ex.obs, ex.action, ex.next_obs, ("next_obs",), n_act, 2)
        kg, kh = jax.random.split(key)
        net = self._net()
        params = {"g": net.init(kg, sa[0])}
        if self.kind == "airl":
            params["h"] = net.init(kh, s2[0])
        return AdversarialState(params=params, opt_state=optax.adam(1.0).init(params))

    def discriminator_logit(self, state: AdversarialState, batch: Transition) -> Array:
        """Discriminator logit on a ``[T, N]`` batch, ``[T, N]``."""
        sa, s2 = self._inputs(state.params, batch.obs, batch.action, batch.next_obs, 2)
        return self._logit(state.params, sa, s2, batch.terminated)

    def reward(self, state: AdversarialState, batch: Transition) -> Array:
        """The imitation reward ``[T, N]`` (clipped to ``[-reward_clip, reward_clip]``)."""
        logit = self.discriminator_logit(state, batch)
        r = jax.nn.softplus(logit) if self.reward_form == "softplus" else logit
        return jnp.clip(r, -self.reward_clip, self.reward_clip)

    def apply(self, state: AdversarialState, streams: Streams, batch: Transition) -> tuple[Streams, AdversarialState]:
        if self.target not in streams:
            raise ValueError(f"adversarial reward: no stream {self.target!r}; streams are {sorted(streams)}")
        reward = self.reward(state, batch)
        base = streams[self.target]
        if self.replace_target:
            return {**streams, self.target: base.replace(reward=reward)}, state
        new = Stream(
            reward=reward, weight=jnp.asarray(self.weight, jnp.float32), discount=base.discount, kind="learned"
        )
        return {**streams, self.name: new}, state

    def update(
        self, state: AdversarialState, streams: Streams, batch: Transition, key: PRNGKey
    ) -> tuple[AdversarialState, Metrics]:
        del streams
        p_sa, p_s2 = self._inputs(state.params, batch.obs, batch.action, batch.next_obs, 2)
        flat = lambda x: x.reshape((-1, x.shape[-1]))
        p_sa, p_s2, p_term = flat(p_sa), flat(p_s2), batch.terminated.reshape(-1)
        e = self.expert
        e_sa, e_s2 = self._inputs(state.params, e.obs, e.action, e.next_obs, 1)
        tx = optax.adam(1.0)

        def loss_fn(params, ps, es, k):
            (psa, ps2, pt), (esa, es2, et) = ps, es
            lp = self._logit(params, psa, ps2, pt)
            le = self._logit(params, esa, es2, et)
            bce = 0.5 * (jax.nn.softplus(-le).mean() + jax.nn.softplus(lp).mean())
            eps = jax.random.uniform(k, (psa.shape[0], 1))
            xsa, xs2 = eps * esa + (1 - eps) * psa, eps * es2 + (1 - eps) * ps2
            zero = jnp.zeros(psa.shape[0], bool)
            grad_sa, grad_s2 = jax.grad(lambda a, b: self._logit(params, a, b, zero).sum(), argnums=(0, 1))(xsa, xs2)
            norm = jnp.sqrt((grad_sa**2).sum(-1) + (grad_s2**2).sum(-1) + 1e-12)
            gp = ((norm - self.gp_center) ** 2).mean()
            acc = 0.5 * ((le > 0).mean() + (lp < 0).mean())
            return bce + self.gp_coef * gp, (bce, gp, acc)

        def step(carry, k):
            params, opt_state = carry
            kp, ke, kg = jax.random.split(k, 3)
            ip = jax.random.randint(kp, (self.minibatch_size,), 0, p_sa.shape[0])
            ie = jax.random.randint(ke, (self.minibatch_size,), 0, e_sa.shape[0])
            ps = (p_sa[ip], p_s2[ip], p_term[ip])
            es = (e_sa[ie], e_s2[ie], e.terminated[ie])
            grads, aux = jax.grad(loss_fn, has_aux=True)(params, ps, es, kg)
            updates, opt_state = tx.update(grads, opt_state)
            params = jax.tree.map(lambda p, u: p + self.learning_rate * u, params, updates)
            return (params, opt_state), aux

        (params, opt_state), (bce, gp, acc) = jax.lax.scan(
            step, (state.params, state.opt_state), jax.random.split(key, self.num_updates)
        )
        return AdversarialState(params=params, opt_state=opt_state), {
            "discriminator/loss": bce.mean(),
            "discriminator/gradient_penalty": gp.mean(),
            "discriminator/accuracy": acc.mean(),
        }


def _check_expert(expert: Any) -> None:
    if not isinstance(expert, ExpertData):
        raise ConfigError(f"expert must be ExpertData (see collect_expert_data), got {type(expert).__name__}")
    m = expert.size
    for field in ("obs", "action", "next_obs"):
        shape = jnp.shape(getattr(expert, field))
        if not shape or shape[0] != m:
            raise ConfigError(f"expert.{field} must be [M, ...] with M = {m} (len of terminated); got {shape}")
    if jnp.shape(expert.obs) != jnp.shape(expert.next_obs):
        raise ConfigError(f"expert obs {jnp.shape(expert.obs)} and next_obs {jnp.shape(expert.next_obs)} differ")


def adversarial_reward(
    expert: ExpertData,
    kind: str = "gail",
    *,
    gp_coef: float = 10.0,
    gp_center: float = 1.0,
    learning_rate: float = 3e-4,
    num_updates: int = 8,
    minibatch_size: int = 256,
    hidden_sizes: tuple[int, ...] = (64, 64),
    reward_form: str | None = None,
    gamma: float = 0.99,
    reward_clip: float = 10.0,
    target: str = TASK,
    replace_target: bool = True,
    name: str = "imitation",
    weight: float = 1.0,
) -> AdversarialReward:
    """A GAIL or AIRL discriminator reward trained in ``update`` (see the module docstring).

    Args:
        expert: expert transitions (:func:`collect_expert_data`).
        kind: ``"gail"`` or ``"airl"``.
        gp_coef: gradient-penalty weight (0 disables it); ``gp_center``: its target norm.
        learning_rate, num_updates, minibatch_size, hidden_sizes: discriminator training.
        reward_form: ``"softplus"`` (``-log(1 - D)``: positive, a survival bonus) or
            ``"logit"`` (``log D - log(1 - D)``, which for AIRL is ``f``); ``None`` picks each
            method's own form: softplus for GAIL, logit for AIRL. The sign matters in episodic
            tasks (Kostrikov et al., 2019): a positive reward pays for staying alive and a
            negative one for ending the episode, so survival tasks such as CartPole want
            ``"softplus"`` whichever discriminator is used.
        gamma: AIRL shaping discount.
        reward_clip: rewards are clipped to ``[-reward_clip, reward_clip]``.
        target, replace_target, name, weight: replace stream ``target``'s reward, or add a
            new stream ``name`` with weight ``weight``.
    """
    _check_expert(expert)
    if reward_form is None:
        reward_form = "softplus" if kind == "gail" else "logit"
    return AdversarialReward(
        expert=jax.tree.map(jnp.asarray, expert),
        kind=kind,
        reward_form=reward_form,
        hidden_sizes=tuple(hidden_sizes),
        num_updates=num_updates,
        minibatch_size=minibatch_size,
        target=target,
        replace_target=replace_target,
        name=name,
        learning_rate=learning_rate,
        gp_coef=gp_coef,
        gp_center=gp_center,
        gamma=gamma,
        reward_clip=reward_clip,
        weight=weight,
    ).validate()


def gail_reward(expert: ExpertData, **kwargs: Any) -> AdversarialReward:
    """GAIL discriminator reward (``adversarial_reward(expert, "gail", ...)``)."""
    return adversarial_reward(expert, "gail", **kwargs)


def airl_reward(expert: ExpertData, **kwargs: Any) -> AdversarialReward:
    """AIRL shaped-discriminator reward (``adversarial_reward(expert, "airl", ...)``)."""
    return adversarial_reward(expert, "airl", **kwargs)


__all__ = [
    "KINDS",
    "AdversarialReward",
    "AdversarialState",
    "ExpertData",
    "adversarial_reward",
    "airl_reward",
    "collect_expert_data",
    "expert_data_from_batch",
    "gail_reward",
]
