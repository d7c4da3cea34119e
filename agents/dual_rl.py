"""Offline learners from the dual of the visitation LP (Dual RL, Sikchi et al. 2023): ReCOIL
imitation from expert + arbitrary data, f-DVL offline RL, and behaviour cloning as the baseline.
Discrete actions; every learner is one pure, jittable function of ``(config, data..., key)``.

**Conjugates.** For an f-divergence with the visitation ratio constrained to ``w >= 0`` the
conjugate is ``f*_p(y) = max_{w >= 0} (w y - f(w))`` with maximiser ``w*(y)``:

* ``"chi2"`` (Pearson, ``f(w) = (w - 1)^2``): ``f*_p(y) = y + y^2 / 4`` for ``y >= -2``, else
  ``-1``; ``w*(y) = max(0, 1 + y / 2)``.
* ``"kl"`` (``f(w) = w log w``): ``f*_p(y) = exp(y - 1)``; ``w*(y) = exp(y - 1)`` (XQL's Gumbel
  loss is this form up to a shift); ``y`` is clipped at ``KL_CLIP = 20`` against overflow.

**ReCOIL** (imitation). Match the mixtures ``β d^π + (1-β) d^S`` and ``β d^E + (1-β) d^S``
(``d^E`` expert data, ``d^S`` arbitrary data, the mixture makes the divergence well defined
without a discriminator). Its dual over a Q function ``[S, A]`` with the soft value
``V(s) = τ logsumexp(Q(s, ·) / τ)`` and the implied reward ``r(s,a,s') = Q(s,a) - γ V(s')``
(``V = 0`` after termination) is minimised:

    L(Q) = β E_{d^S}[V(s) - γ V(s')]                       (β (1-γ) E_ρ0[V], telescoped on d^S)
         + β E_{d^E}[f*_p(-r)] + (1-β) E_{d^S}[f*_p(-r)]   (the expert mixture)
         + (1-β) E_{d^S}[r]

The minimiser's implied reward is higher on expert pairs than on pairs seen only in ``d^S``
(with γ = 0, β = 1/2 and χ²: ``2/3`` against ``-1``, ``tests/agents/test_dual_rl.py``), so the
learned Q is the soft value of a reward that pays for being on expert pairs, propagated through
the dynamics seen in ``d^S``; the policy is ``softmax(Q / τ)`` (greedy: argmax).

**f-DVL** (offline RL, in-sample). ``Q`` by TD to ``r + γ V_target(s')``, ``V`` by

    L(V) = E_{d^O}[(1-λ) V(s) + λ α f*_p((Q̂(s,a) - V(s)) / α)]

(``Q̂`` stop-gradient; λ → 1 pushes V toward the in-sample max of Q), then a policy by weighted
behaviour cloning with weights ``min(w*((Q̂ - V) / α), max_weight)``.

**BC**: maximise ``E[log π(a|s)]`` on the given data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from jaxrl_rewards.core import struct
from jaxrl_rewards.core.dataset import Dataset, sample
from jaxrl_rewards.core.networks import MLP
from jaxrl_rewards.core.types import Array, PRNGKey
from jaxrl_rewards.core.validation import (
    ConfigError,
    check_in_range,
    check_positive,
    check_positive_int,
    close_matches,
)

#: the KL conjugate's argument is clipped at this value (``exp`` overflows float32 near 88)
KL_CLIP = 20.0

#: divergence name -> (f*_p, w*)
DIVERGENCES: dict[str, tuple[Callable[[Array], Array], Callable[[Array], Array]]] = {
    "chi2": (
        lambda y: jnp.where(y >= -2.0, y + 0.25 * y**2, -1.0),
        lambda y: jnp.maximum(0.0, 1.0 + 0.5 * y),
    ),
    "kl": (lambda y: jnp.exp(jnp.minimum(y, KL_CLIP) - 1.0), lambda y: jnp.exp(jnp.minimum(y, KL_CLIP) - 1.0)),
}


def conjugate(divergence: str, y: Array) -> Array:
    """``f*_p(y)`` of ``divergence`` (``"chi2"`` or ``"kl"``), elementwise."""
    return _divergence(divergence)[0](y)


def optimal_ratio(divergence: str, y: Array) -> Array:
    """The maximiser ``w*(y) >= 0`` of ``w y - f(w)`` (the derivative of ``f*_p``), elementwise."""
    return _divergence(divergence)[1](y)


def _divergence(name: str):
    if name not in DIVERGENCES:
        raise ConfigError(
            f"unknown divergence {name!r}{close_matches(name, DIVERGENCES)}; choose from {sorted(DIVERGENCES)}"
        )
    return DIVERGENCES[name]


class OfflineConfig(struct.PyTreeNode):
    """Hyperparameters of the offline learners (array leaves sweep; static fields don't).

    Attributes:
        num_actions: static, size of the discrete action space.
        num_updates: static, gradient steps.
        batch_size: static, transitions per batch (per dataset for ReCOIL).
        hidden: static, hidden layer sizes of every network.
        divergence: static, ``"chi2"`` or ``"kl"``.
        learning_rate: Adam step size.
        gamma: discount.
        beta: ReCOIL's mixture weight of the expert / policy visitation, in ``(0, 1]``.
        temperature: τ of ReCOIL's soft value and policy.
        lam: f-DVL's λ in ``(0, 1)``.
        alpha: f-DVL's temperature α.
        tau: f-DVL's target-network averaging rate.
        max_weight: cap on the f-DVL policy weights.
    """

    num_actions: int = struct.field(pytree_node=False)
    num_updates: int = struct.field(pytree_node=False, default=2000)
    batch_size: int = struct.field(pytree_node=False, default=256)
    hidden: tuple[int, ...] = struct.field(pytree_node=False, default=(64, 64))
    divergence: str = struct.field(pytree_node=False, default="chi2")
    learning_rate: Array = 1e-3
    gamma: Array = 0.95
    beta: Array = 0.5
    temperature: Array = 0.1
    lam: Array = 0.8
    alpha: Array = 0.01
    tau: Array = 0.01
    max_weight: Array = 100.0


def make_config(num_actions: int, **overrides: Any) -> OfflineConfig:
    """A checked :class:`OfflineConfig` (``ConfigError`` on bad values or unknown fields)."""
    fields = set(OfflineConfig.__dataclass_fields__) - {"num_actions"}
    unknown = [k for k in overrides if k not in fields]
    if unknown:
        raise ConfigError(
            f"unknown offline config field {unknown[0]!r}{close_matches(unknown[0], fields)}; fields: {sorted(fields)}"
        )
    return validate(OfflineConfig(num_actions=num_actions, **overrides))


def validate(config: OfflineConfig) -> OfflineConfig:
    """``ConfigError`` on bad values; returns ``config``."""
    for name in ("num_actions", "num_updates", "batch_size"):
        check_positive_int(getattr(config, name), name)
    _divergence(config.divergence)
    for name in ("learning_rate", "temperature", "alpha", "tau", "max_weight"):
        check_positive(getattr(config, name), name)
    check_in_range(config.gamma, "gamma", 0.0, 0.999)
    check_in_range(config.beta, "beta", 1e-6, 1.0)
    check_in_range(config.lam, "lam", 1e-6, 1.0 - 1e-6)
    return config


def _check_data(config: OfflineConfig, *datasets: Dataset) -> None:
    for i, data in enumerate(datasets):
        if not jnp.issubdtype(data.action.dtype, jnp.integer) or data.action.ndim != 1:
            raise ConfigError(
                f"dataset {i}: offline learners need discrete actions [M], got {data.action.shape} {data.action.dtype}"
            )
        top = int(jnp.max(data.action))
        if top >= config.num_actions or int(jnp.min(data.action)) < 0:
            raise ConfigError(f"dataset {i}: actions must lie in [0, {config.num_actions}), found {top}")
    shapes = {d.obs.shape[1:] for d in datasets}
    if len(shapes) > 1:
        raise ConfigError(f"datasets have different observation shapes {sorted(shapes)}")


def _flat(obs: Array) -> Array:
    return obs.reshape((obs.shape[0], -1))


class Head(nn.Module):
    """``MLP(hidden, relu)`` then a linear layer: ``[B, D] -> [B, outputs]``."""

    hidden: tuple[int, ...]
    outputs: int

    @nn.compact
    def __call__(self, x: Array) -> Array:
        return nn.Dense(self.outputs)(MLP(hidden_sizes=self.hidden, activation="relu")(x))


def q_network(config: OfflineConfig) -> nn.Module:
    """``obs [B, D] -> [B, A]`` (Q values or policy logits)."""
    return Head(hidden=config.hidden, outputs=config.num_actions)


def soft_value(q: Array, temperature: Array) -> Array:
    """``V = τ logsumexp(Q / τ)`` over the last axis: ``[B, A] -> [B]``."""
    return temperature * jax.nn.logsumexp(q / temperature, axis=-1)


# --------------------------------------------------------------------------- losses


def recoil_loss(
    config: OfflineConfig, q_of: Callable[[Array], Array], expert: Dataset, mixed: Dataset
) -> tuple[Array, dict]:
    """ReCOIL's dual objective (module docstring) on one expert batch and one batch of the
    arbitrary data ``d^S``; ``q_of(obs [B, D]) -> [B, A]``. Returns ``(loss, metrics)``."""
    f_star = _divergence(config.divergence)[0]
    gamma, beta, tau = config.gamma, config.beta, config.temperature

    def parts(data):
        q_all = q_of(_flat(data.obs))
        q = jnp.take_along_axis(q_all, data.action[:, None], -1)[:, 0]
        v = soft_value(q_all, tau)
        v_next = soft_value(q_of(_flat(data.next_obs)), tau) * (1.0 - data.terminated.astype(jnp.float32))
        return q, v, v_next

    q_e, _, vn_e = parts(expert)
    q_s, v_s, vn_s = parts(mixed)
    r_e, r_s = q_e - gamma * vn_e, q_s - gamma * vn_s
    initial = beta * jnp.mean(v_s - gamma * vn_s)
    mix = beta * jnp.mean(f_star(-r_e)) + (1.0 - beta) * jnp.mean(f_star(-r_s))
    linear = (1.0 - beta) * jnp.mean(r_s)
    loss = initial + mix + linear
    return loss, {"loss": loss, "reward_expert": r_e.mean(), "reward_mixed": r_s.mean()}


def fdvl_value_loss(config: OfflineConfig, q_hat: Array, v: Array) -> Array:
    """``mean((1-λ) V + λ α f*_p((Q̂ - V) / α))`` over ``[B]`` arrays ``q_hat`` (data actions) and ``v``."""
    f_star = _divergence(config.divergence)[0]
    return jnp.mean((1.0 - config.lam) * v + config.lam * config.alpha * f_star((q_hat - v) / config.alpha))


def fdvl_weights(config: OfflineConfig, q_hat: Array, v: Array) -> Array:
    """Policy-extraction weights ``min(w*((Q̂ - V) / α), max_weight)``, ``[B]``."""
    return jnp.minimum(_divergence(config.divergence)[1]((q_hat - v) / config.alpha), config.max_weight)


def td_loss(config: OfflineConfig, q: Array, reward: Array, v_next: Array, terminated: Array) -> Array:
    """``mean((r + γ (1 - terminated) V(s') - Q(s,a))^2)`` with the target held fixed."""
    target = jax.lax.stop_gradient(reward + config.gamma * (1.0 - terminated.astype(jnp.float32)) * v_next)
    return jnp.mean((target - q) ** 2)


def weighted_nll(logits: Array, action: Array, weights: Array) -> Array:
    """``-mean(weights * log softmax(logits)[action])`` for ``logits [B, A]``, ``action [B]``."""
    logp = jnp.take_along_axis(jax.nn.log_softmax(logits, -1), action[:, None], -1)[:, 0]
    return -jnp.mean(weights * logp)


# --------------------------------------------------------------------------- learners


class OfflineResult(struct.PyTreeNode):
    """A trained offline learner: ``params`` of ``q_network(config)`` whose greedy action is the
    policy (ReCOIL: Q values; f-DVL and BC: policy logits) and the loss curve ``[num_updates]``."""

    params: Any
    losses: Array
    metrics: dict[str, Array]


def _scan_updates(config, params, loss_fn, key):
    opt = optax.adam(config.learning_rate)

    def step(carry, k):
        params, opt_state = carry
        (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, k)
        updates, opt_state = opt.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), (loss, metrics)

    (params, _), (losses, metrics) = jax.lax.scan(
        step, (params, opt.init(params)), jax.random.split(key, config.num_updates)
    )
    return params, losses, metrics


def _init(config: OfflineConfig, data: Dataset, key: PRNGKey) -> Any:
    return q_network(config).init(key, _flat(data.obs[:1]))


def train_recoil(config: OfflineConfig, expert: Dataset, mixed: Dataset, key: PRNGKey) -> OfflineResult:
    """ReCOIL on expert data ``expert`` and arbitrary data ``mixed`` (which may contain expert
    transitions too). Greedy policy: ``argmax_a Q``. Checks run eagerly when called outside jit."""
    _check_data(config, expert, mixed)
    return _train_recoil(config, expert, mixed, key)


@jax.jit
def _train_recoil(config, expert, mixed, key):
    init_key, run_key = jax.random.split(key)
    net = q_network(config)

    def loss_fn(params, k):
        ek, mk = jax.random.split(k)
        q_of = lambda obs: net.apply(params, obs)
        return recoil_loss(config, q_of, sample(expert, ek, config.batch_size), sample(mixed, mk, config.batch_size))

    params, losses, metrics = _scan_updates(config, _init(config, mixed, init_key), loss_fn, run_key)
    return OfflineResult(params=params, losses=losses, metrics=metrics)


def train_bc(config: OfflineConfig, data: Dataset, key: PRNGKey) -> OfflineResult:
    """Behaviour cloning: ``argmax_θ E_data[log π_θ(a|s)]``; greedy policy ``argmax`` of the logits."""
    _check_data(config, data)
    return _train_bc(config, data, key)


@jax.jit
def _train_bc(config, data, key):
    init_key, run_key = jax.random.split(key)
    net = q_network(config)

    def loss_fn(params, k):
        batch = sample(data, k, config.batch_size)
        loss = weighted_nll(net.apply(params, _flat(batch.obs)), batch.action, jnp.ones(config.batch_size))
        return loss, {"loss": loss}

    params, losses, metrics = _scan_updates(config, _init(config, data, init_key), loss_fn, run_key)
    return OfflineResult(params=params, losses=losses, metrics=metrics)


def train_fdvl(config: OfflineConfig, data: Dataset, key: PRNGKey) -> OfflineResult:
    """f-DVL on ``data`` (its rewards): Q by TD to ``r + γ V_target(s')``, V by the f-DVL value
    loss, then weighted BC. Returns the policy network's parameters; ``metrics`` has the value
    and Q losses per update."""
    _check_data(config, data)
    return _train_fdvl(config, data, key)


@jax.jit
def _train_fdvl(config, data, key):
    q_key, v_key, pi_key, run_key = jax.random.split(key, 4)
    q_net, v_net, pi_net = q_network(config), Head(hidden=config.hidden, outputs=1), q_network(config)
    example = _flat(data.obs[:1])
    params = {"q": q_net.init(q_key, example), "v": v_net.init(v_key, example), "pi": pi_net.init(pi_key, example)}
    params["q_target"] = params["q"]
    opt = optax.adam(config.learning_rate)
    learned = ("q", "v", "pi")

    def loss_fn(p, target, batch):
        obs, next_obs = _flat(batch.obs), _flat(batch.next_obs)
        q = jnp.take_along_axis(q_net.apply(p["q"], obs), batch.action[:, None], -1)[:, 0]
        q_hat = jax.lax.stop_gradient(jnp.take_along_axis(q_net.apply(target, obs), batch.action[:, None], -1)[:, 0])
        v = v_net.apply(p["v"], obs)[:, 0]
        v_next = jax.lax.stop_gradient(v_net.apply(p["v"], next_obs)[:, 0])
        q_loss = td_loss(config, q, batch.reward, v_next, batch.terminated)
        v_loss = fdvl_value_loss(config, q_hat, v)
        weights = jax.lax.stop_gradient(fdvl_weights(config, q_hat, v))
        pi_loss = weighted_nll(pi_net.apply(p["pi"], obs), batch.action, weights)
        return q_loss + v_loss + pi_loss, {
            "loss": q_loss + v_loss + pi_loss,
            "q_loss": q_loss,
            "v_loss": v_loss,
            "pi_loss": pi_loss,
        }

    def step(carry, k):
        p, target, opt_state = carry
        (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            p, target, sample(data, k, config.batch_size)
        )
        updates, opt_state = opt.update(grads, opt_state, p)
        p = optax.apply_updates(p, updates)
        target = optax.incremental_update(p["q"], target, config.tau)
        return (p, target, opt_state), (loss, metrics)

    p = {k: params[k] for k in learned}
    (p, _, _), (losses, metrics) = jax.lax.scan(
        step, (p, params["q_target"], opt.init(p)), jax.random.split(run_key, config.num_updates)
    )
    return OfflineResult(params=p["pi"], losses=losses, metrics=metrics)


def greedy_policy(config: OfflineConfig, result: OfflineResult) -> Callable[[PRNGKey, Any], tuple[Array, None]]:
    """``policy(key, obs [N, ...]) -> (argmax actions [N] int32, None)`` of a trained learner."""
    net = q_network(config)

    def act(key, obs):
        del key
        return jnp.argmax(net.apply(result.params, _flat(obs)), -1).astype(jnp.int32), None

    return act


__all__ = [
    "DIVERGENCES",
    "OfflineConfig",
    "OfflineResult",
    "conjugate",
    "fdvl_value_loss",
    "fdvl_weights",
    "greedy_policy",
    "make_config",
    "optimal_ratio",
    "recoil_loss",
    "soft_value",
    "td_loss",
    "train_bc",
    "train_fdvl",
    "train_recoil",
    "validate",
    "weighted_nll",
]
