"""The training loop every agent shares: its optimiser guard, the metrics of one iteration,
``iterations_per_eval`` iterations plus one evaluation (a segment), and a whole run.

An agent provides ``iteration(state) -> (state, metrics)`` and ``evaluate(config, state, key)``;
:func:`run_segment` and :func:`run_training` turn them into the ``train_segment`` and ``train``
of the ``Agent`` protocol (``agents.base``), and :func:`merge_segments` is its ``merge_segments``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxrl_rewards.core.metrics import RunMetrics
from jaxrl_rewards.core.optim import clip_by_global_norm, skip_nonfinite
from jaxrl_rewards.core.rollout import EpisodeTracker
from jaxrl_rewards.core.types import Array, Metrics, PRNGKey, Transition


def guarded_optimizer(
    optimizer: Callable[[Any], optax.GradientTransformation],
    learning_rate: Array | float,
    max_grad_norm: Array | float,
    anneal_steps: int | None = None,
) -> optax.GradientTransformation:
    """``optimizer(lr)`` after global-norm clipping, skipping non-finite updates
    (``jaxrl_rewards.core.optim.skip_nonfinite``); ``lr`` decays linearly to 0 over
    ``anneal_steps`` updates when given, else stays ``learning_rate``."""
    lr = learning_rate if anneal_steps is None else optax.linear_schedule(learning_rate, 0.0, anneal_steps)
    return skip_nonfinite(optax.chain(clip_by_global_norm(max_grad_norm), optimizer(lr)))


def iteration_metrics(
    config: Any,
    tracker: EpisodeTracker,
    batch: Transition,
    rewards: Array,
    weights: Array,
    names: Sequence[str],
    transform_metrics: Metrics,
    opt_state: Any,
    iteration: Array,
) -> tuple[EpisodeTracker, Metrics]:
    """Track episodes of the raw reward and every stream (``rewards [T, N, K]``) and build the
    metrics every agent reports per iteration: ``train/episode_return``, ``train/episode_length``,
    ``train/episodes``, ``train/stream_return/<name>``, ``train/stream_weight/<name>``,
    ``transform/<metric>``, ``nonfinite_updates`` (from a ``skip_nonfinite`` ``opt_state``) and
    ``timesteps`` (after this iteration, the ``iteration``-th, counted from 0). Inside ``jit`` the
    step counts are float32 (x64 is off: exact only up to 2**24 steps); the host drivers
    (``experiments.runner.exact_timesteps``) replace them with exact int64 counts."""
    channels = jnp.concatenate([batch.reward[..., None], rewards], axis=-1)
    tracker, episodes = tracker.track(channels, batch.done)
    metrics = {
        "train/episode_return": tracker.last_return[0],
        "train/episode_length": tracker.last_length,
        "train/episodes": episodes,
        "nonfinite_updates": opt_state.total_notfinite.astype(jnp.float32),
        "timesteps": ((iteration + 1) * config.steps_per_iteration).astype(jnp.float32),
    }
    for i, name in enumerate(names):
        metrics[f"train/stream_return/{name}"] = tracker.last_return[1 + i]
        metrics[f"train/stream_weight/{name}"] = weights[i]
    metrics.update({f"transform/{k}": jnp.asarray(v, jnp.float32) for k, v in transform_metrics.items()})
    return tracker, metrics


def run_segment(
    config: Any,
    state: Any,
    iteration: Callable[[Any], tuple[Any, Metrics]],
    evaluate: Callable[[Any, Any, PRNGKey], dict[str, Array]],
) -> tuple[Any, RunMetrics]:
    """``iterations_per_eval`` calls of ``iteration(state) -> (state, metrics)`` (scanned), then
    ``evaluate(config, state, key)``. ``state`` needs ``key`` and ``iteration`` fields.

    Returns:
        The new state and a ``RunMetrics``: ``train`` holds the per-iteration metrics
        ``[iterations_per_eval]``, ``eval`` the evaluation ones (plus ``timesteps``) as scalars
        (read flat as ``eval/<name>``).
    """
    state, metrics = jax.lax.scan(lambda s, _: iteration(s), state, None, length=config.iterations_per_eval)
    eval_key, key = jax.random.split(state.key)
    evaluation = dict(evaluate(config, state, eval_key))
    evaluation["timesteps"] = (state.iteration * config.steps_per_iteration).astype(jnp.float32)
    return state.replace(key=key), RunMetrics(train=metrics, eval=evaluation)


def run_training(
    config: Any, state: Any, segment: Callable[[Any, Any], tuple[Any, RunMetrics]]
) -> tuple[Any, RunMetrics]:
    """``num_evals`` calls of ``segment(config, state)`` (scanned) from the initial ``state``;
    metrics merged with :func:`merge_segments`."""
    state, metrics = jax.lax.scan(lambda s, _: segment(config, s), state, None, length=config.num_evals)
    return state, merge_segments(metrics)


def merge_segments(metrics: RunMetrics) -> RunMetrics:
    """Flatten the ``[num_evals, iterations_per_eval, ...]`` training metrics of stacked segments
    into ``[num_iterations, ...]``; evaluation metrics stay ``[num_evals, ...]``. Leading batch
    axes are not allowed here (call it per run, or vmap it)."""
    train = {name: value.reshape((-1, *value.shape[2:])) for name, value in metrics.train.items()}
    return RunMetrics(train=train, eval=metrics.eval)
