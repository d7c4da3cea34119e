"""The update half of a PPO iteration, shared by feed-forward PPO (``agents.ppo``) and recurrent
PPO (``agents.recurrent_ppo``): bootstrapping, advantage estimation through the estimator
registry, the clipped objective, epochs over minibatches, and the iteration's tail.

Per iteration, with critic values ``V [T, N, K]`` of the batch's observations:

* :func:`bootstrap`: what each step bootstraps from. Episodic streams stop at terminations and
  bootstrap from ``V(final observation)`` on truncations; non-episodic streams run on through
  episode ends into ``V`` of the next step (``V`` of the envs' current observations after the
  batch end);
* :func:`estimate`: ``ESTIMATORS[config.advantage]`` turns rewards and values into the combined
  advantage ``[T, N]``, value targets ``[T, N, K]`` and an optional step mask;
* :func:`clipped_loss`: ``L = -min(rho A, clip(rho, 1 - eps, 1 + eps) A) + c_v L_V - c_e H`` with
  ``rho = exp(log pi(a|s) - log pi_old(a|s))``, ``A`` normalised per minibatch (unmasked
  estimators) or as given and averaged over the mask's steps (group estimators), and a clipped
  value loss ``L_V = sum_k 0.5 mean max((V_k - G_k)^2, (V_k^clip - G_k)^2)``; with
  ``entropy_band = δ`` set (EPO), ``+ entropy_band_coef * max(|H - H_old| - δ, 0)^2`` where
  ``H_old = -mean log pi_old(a|s)`` estimates the behaviour policy's entropy on the minibatch;
  with ``objective="drift"`` the policy term is ``-mean(rho A - F_theta(rho, A, progress))``
  (``agents.drift``; ``progress`` = iteration / total iterations);
* :func:`run_epochs`: ``update_epochs`` passes of minibatch gradient steps, reporting
  ``loss/grad_norm`` (before clipping) with the loss terms, ``loss/approx_kl`` and ``loss/clip_fraction``;
* :func:`finish_iteration`: the transform learns (``update``), episodes are tracked and the
  iteration's metrics built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import distrax
import jax
import jax.numpy as jnp
import optax

from jaxrl_rewards.agents.drift import drift_objective
from jaxrl_rewards.agents.estimators import AdvantageInputs, Advantages, get_estimator
from jaxrl_rewards.agents.loop import iteration_metrics
from jaxrl_rewards.core.exact import exact_mean, exact_std, exact_sum, exact_tree_norm
from jaxrl_rewards.core.rollout import EpisodeTracker
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey, Streams, Transition


class Minibatch(NamedTuple):
    """Training data of the clipped objective; leading axes ``[B]`` (PPO) or ``[T, n]`` (recurrent).

    Attributes:
        obs: observations. action: behaviour actions. log_prob: their behaviour log-probs.
        advantage: combined advantages. value: behaviour values ``[..., K]``.
        target: value targets ``[..., K]``. mask: 1 on steps that count (group estimators), or None.
    """

    obs: Any
    action: Array
    log_prob: Array
    advantage: Array
    value: Array
    target: Array
    mask: Array | None = None


def bootstrap(
    values: Array, final_values: Array, last_values: Array, batch: Transition, episodic: Sequence[bool]
) -> tuple[Array, Array, Array]:
    """``(next_values, nonterminal, continues)``, each ``[T, N, K]``, from the critic's values of
    the batch's observations ``values [T, N, K]``, of its ``next_obs`` (true final observations on
    episode ends) ``final_values [T, N, K]``, and of the envs' observations after the batch
    ``last_values [N, K]``. Episodic streams: ``V' = final_values``, ``nonterminal = 1 - terminated``,
    ``continues = 1 - done``; non-episodic ones: ``V'`` = the next step's value, both flags 1."""
    following_values = jnp.concatenate([values[1:], last_values[None]], axis=0)
    episodic_mask = jnp.asarray(episodic)
    term = batch.terminated[..., None]
    done = batch.done[..., None]
    next_values = jnp.where(episodic_mask, final_values, following_values)
    nonterminal = jnp.where(episodic_mask, 1.0 - term, 1.0)
    continues = jnp.where(episodic_mask, 1.0 - done, 1.0)
    return next_values, nonterminal, continues


def estimate(
    config: Any,
    batch: Transition,
    rewards: Array,
    weights: Array,
    discounts: Array,
    episodic: Sequence[bool],
    values: Array,
    final_values: Array,
    last_values: Array,
) -> Advantages:
    """Advantages of ``config.advantage`` (dispatched through ``agents.estimators.ESTIMATORS``)
    from the stacked streams (``rewards [T, N, K]``, ``weights [K]``, ``discounts [K]``) and the
    critic's values (as :func:`bootstrap`)."""
    next_values, nonterminal, continues = bootstrap(values, final_values, last_values, batch, episodic)
    inputs = AdvantageInputs(rewards, values, next_values, nonterminal, continues, discounts, weights, batch)
    return get_estimator(config.advantage).advantages(config, inputs)


def clipped_loss(
    config: Any, dist: distrax.Distribution, value: Array, mb: Minibatch, progress: Array | None = None
) -> tuple[Array, dict[str, Array]]:
    """PPO's clipped objective (module doc) of the current policy ``dist`` and critic ``value
    [..., K]`` on ``mb``; ``config`` gives ``clip_eps``, ``vf_coef``, ``ent_coef``.

    Returns:
        The total loss and ``loss/policy``, ``loss/value``, ``loss/entropy``, ``loss/approx_kl``
        (``mean(rho - 1 - log rho)``) and ``loss/clip_fraction`` (share of ``|rho - 1| > eps``).
    """
    log_prob = dist.log_prob(mb.action)
    ratio = jnp.exp(log_prob - mb.log_prob)
    clipped = jnp.clip(ratio, 1.0 - config.clip_eps, 1.0 + config.clip_eps)
    if getattr(config, "objective", "clip") == "drift":  # a learned drift objective (agents.drift, LPO)
        adv = (mb.advantage - exact_mean(mb.advantage)) / (exact_std(mb.advantage) + 1e-8)
        policy_loss = drift_objective(config.drift_params, ratio, adv, 0.0 if progress is None else progress)
    elif mb.mask is None:
        adv = (mb.advantage - exact_mean(mb.advantage)) / (exact_std(mb.advantage) + 1e-8)
        policy_loss = -exact_mean(jnp.minimum(ratio * adv, clipped * adv))
    else:  # group estimators: already normalised within groups; only the masked steps count
        adv = mb.advantage
        count = jnp.maximum(exact_sum(mb.mask), 1.0)
        policy_loss = -exact_sum(mb.mask * jnp.minimum(ratio * adv, clipped * adv)) / count
    value_clipped = mb.value + jnp.clip(value - mb.value, -config.clip_eps, config.clip_eps)
    per_step = jnp.maximum((value - mb.target) ** 2, (value_clipped - mb.target) ** 2)
    steps = tuple(range(per_step.ndim - 1))
    value_loss = 0.5 * exact_sum(exact_mean(per_step, steps))  # mean over steps, sum over streams
    entropy = exact_mean(dist.entropy())
    total = policy_loss + config.vf_coef * value_loss - config.ent_coef * entropy
    aux = {
        "loss/policy": policy_loss,
        "loss/value": value_loss,
        "loss/entropy": entropy,
        "loss/approx_kl": exact_mean((ratio - 1.0) - jnp.log(ratio)),
        "loss/clip_fraction": exact_mean((jnp.abs(ratio - 1.0) > config.clip_eps).astype(jnp.float32)),
    }
    band = getattr(config, "entropy_band", None)
    if band is not None:  # EPO entropy smoothing (static switch: the default graph is unchanged)
        reference = jax.lax.stop_gradient(-exact_mean(mb.log_prob))  # behaviour policy's entropy, MC estimate
        penalty = entropy_band_penalty(entropy, reference, band)
        total = total + config.entropy_band_coef * penalty
        aux["loss/entropy_band"] = penalty
        aux["loss/entropy_reference"] = reference
    return total, aux


def entropy_band_penalty(entropy: Array, reference: Array, delta: Array | float) -> Array:
    """EPO's entropy smoothing: ``max(|H - H_ref| - δ, 0)^2``, zero inside the ``±δ`` band
    around the reference entropy and quadratic outside it (scalars)."""
    return jnp.maximum(jnp.abs(entropy - reference) - delta, 0.0) ** 2


def run_epochs(
    config: Any,
    tx: optax.GradientTransformation,
    loss_fn: Callable[[Any, Any], tuple[Array, dict[str, Array]]],
    params: Any,
    opt_state: Any,
    key: PRNGKey,
    minibatches: Callable[[PRNGKey], Any],
) -> tuple[tuple[Any, Any], dict[str, Array]]:
    """``config.update_epochs`` epochs (one key each) of gradient steps on ``loss_fn(params, mb)``
    for every ``mb`` of ``minibatches(epoch_key)`` (a pytree with a leading ``[num_minibatches]`` axis).

    Returns:
        ``(params, opt_state)`` after the last step and the loss aux plus ``loss/grad_norm``,
        each ``[update_epochs, num_minibatches]``.
    """
    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    def minibatch_step(carry, mb):
        params, opt_state = carry
        (_, aux), grads = grad_fn(params, mb)
        updates, opt_state = tx.update(grads, opt_state, params)
        aux["loss/grad_norm"] = exact_tree_norm(grads)
        return (optax.apply_updates(params, updates), opt_state), aux

    def epoch(carry, k):
        return jax.lax.scan(minibatch_step, carry, minibatches(k))

    return jax.lax.scan(epoch, (params, opt_state), jax.random.split(key, config.update_epochs))


def finish_iteration(
    config: Any,
    names: Sequence[str],
    state: Any,
    batch: Transition,
    streams: Streams,
    transform_state: Any,
    rewards: Array,
    weights: Array,
    opt_state: Any,
    aux: dict[str, Array],
    key: PRNGKey,
) -> tuple[Any, EpisodeTracker, Metrics]:
    """The tail of an iteration: the transform learns from the batch, episodes are tracked and
    the metrics built (``agents.loop.iteration_metrics``, plus the mean of every ``aux`` entry).
    ``state`` is the iteration's starting state (its ``tracker`` and ``iteration`` are read).

    Returns:
        ``(transform_state, tracker, metrics)``.
    """
    transform_state, transform_metrics = config.transform.update(transform_state, streams, batch, key)
    tracker, metrics = iteration_metrics(
        config, state.tracker, batch, rewards, weights, names, transform_metrics, opt_state, state.iteration
    )
    metrics.update({k: v.mean() for k, v in aux.items()})
    return transform_state, tracker, metrics
