"""Running a bandit algorithm on a bandit environment: one pure, jittable function per run,
vmapped over seeds (and, if you like, over hyperparameters) in one compiled call.

**How bandits use reward transforms.** Every pull is handed to the ``RewardTransform`` as a
``[1, 1]`` ``Transition`` batch (``T = 1`` step of ``N = 1`` environment; a run under ``vmap``
is one such stream per seed):

* ``obs = next_obs = context`` (``[1, 1, d]``; ``d = 0`` for non-contextual bandits),
* ``action = arm`` (int32), ``reward`` = the observed reward,
* ``terminated = truncated = False``,
* ``info = {"cost": cost}`` (zero for unconstrained bandits),

so ``env_streams`` gives the streams ``task`` (weight 1) and ``cost`` (weight 0), each with
discount ``discount`` (default 0: a pull is its own one-step problem). The transform's
``apply`` then runs on that batch and its ``update`` right after (one pull = one training
iteration). The learner sees:

* unconstrained algorithms: ``scalarize(streams)`` — the weighted sum of all streams (so a
  Lagrangian transform that prices the cost stream with ``-lambda`` is honoured);
* constrained algorithms (``algorithm.uses_cost``): the weighted sum of the non-cost streams
  as reward and the ``cost`` stream's value as cost.

Metrics (regret, violation, best-arm pulls) always use the environment's *expected* values,
never the transformed signal.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
from gymnax.environments import spaces

from jaxrl_rewards.bandits.algorithms import BanditAlgorithm
from jaxrl_rewards.bandits.envs import BanditEnv
from jaxrl_rewards.core import struct
from jaxrl_rewards.core.streams import env_streams, scalarize, stream_names
from jaxrl_rewards.core.types import Array, PRNGKey, TransformSpec, Transition
from jaxrl_rewards.core.validation import ConfigError, check_in_range, check_positive_int
from jaxrl_rewards.transforms.core import RewardTransform, identity


class BanditTrace(struct.PyTreeNode):
    """Per-round record of one run (``[T]``; ``[S, T]`` when vmapped over S seeds).

    Attributes:
        arm: arm played, int32.
        reward: observed reward. cost: observed cost.
        signal: the reward the learner saw (after the transform).
        regret: expected (pseudo-)regret of the round, ``E[r_best] - E[r_arm]``.
        expected_reward: expected reward of the arm played.
        expected_cost: expected cost of the arm played.
        violation: ``max(0, expected_cost - threshold)`` (0 when unconstrained).
        best: whether the comparator arm was played, bool.
        threshold: the cost threshold, scalar per run (``inf`` when unconstrained).
    """

    arm: Array
    reward: Array
    cost: Array
    signal: Array
    regret: Array
    expected_reward: Array
    expected_cost: Array
    violation: Array
    best: Array
    threshold: Array


def check_run(env: BanditEnv, algorithm: BanditAlgorithm, horizon: int, discount: Any = 0.0) -> None:
    """Raise ``ConfigError`` for a bad horizon or an algorithm/environment mismatch."""
    if not isinstance(env, BanditEnv):
        raise ConfigError(f"env must be a BanditEnv (see jaxrl_rewards.bandits.envs), got {type(env).__name__}")
    if not isinstance(algorithm, BanditAlgorithm):
        raise ConfigError(f"algorithm must be a BanditAlgorithm, got {type(algorithm).__name__}")
    check_positive_int(horizon, "horizon")
    if env.max_horizon is not None and horizon > env.max_horizon:
        raise ConfigError(f"horizon {horizon} exceeds the environment's reward table length {env.max_horizon}")
    check_in_range(discount, "discount", 0.0, 1.0)
    algorithm.check(env)


def transform_spec(env: BanditEnv, discount: Any = 0.0) -> TransformSpec:
    """The ``TransformSpec`` handed to a transform's ``init`` for bandit ``env`` (``N = 1``)."""
    example = _batch(jnp.zeros((env.context_dim,), jnp.float32), jnp.int32(0), jnp.float32(0), jnp.float32(0))
    return TransformSpec(
        observation_space=spaces.Box(-jnp.inf, jnp.inf, (env.context_dim,), jnp.float32),
        action_space=spaces.Discrete(env.num_arms),
        num_envs=1,
        streams=stream_names(env_streams(example, discount)),
        example=example,
    )


def _batch(x: Array, arm: Array, reward: Array, cost: Array) -> Transition:
    """One pull as a ``[1, 1]`` transition batch (see the module docstring)."""
    obs = x[None, None]
    false = jnp.zeros((1, 1), bool)
    return Transition(
        obs=obs,
        action=jnp.asarray(arm, jnp.int32).reshape(1, 1),
        next_obs=obs,
        reward=jnp.asarray(reward, jnp.float32).reshape(1, 1),
        terminated=false,
        truncated=false,
        info={"cost": jnp.asarray(cost, jnp.float32).reshape(1, 1)},
    )


def run(
    env: BanditEnv,
    algorithm: BanditAlgorithm,
    horizon: int,
    key: PRNGKey,
    transform: RewardTransform | None = None,
    discount: Any = 0.0,
) -> BanditTrace:
    """Play ``algorithm`` on ``env`` for ``horizon`` rounds. Pure and jittable (``horizon`` static).

    Args:
        env: a ``BanditEnv`` (its arrays are leaves: vmappable).
        algorithm: a ``BanditAlgorithm`` (its hyperparameters are leaves: vmappable).
        horizon: number of rounds T (static, positive).
        key: PRNG key; the same key gives the same trace bit for bit.
        transform: the reward transform the learner's signal goes through (default identity).
        discount: discount given to the env streams (default 0).

    Returns:
        ``BanditTrace`` with ``[T]`` arrays.
    """
    check_run(env, algorithm, horizon, discount)
    transform = identity() if transform is None else transform
    k_env, k_alg, k_tr, k_loop = jax.random.split(key, 4)
    carry0 = (
        env.init(k_env),
        algorithm.init(k_alg, env.num_arms, env.context_dim),
        transform.init(k_tr, transform_spec(env, discount)),
    )

    def round_(carry, inputs):
        env_state, alg_state, tr_state = carry
        t, k = inputs
        k_ctx, k_sel, k_pull, k_tr_update, k_learn = jax.random.split(k, 5)
        x = env.context(k_ctx, env_state, t)
        arm = algorithm.select(alg_state, x, t, k_sel)
        expected = env.expected(env_state, x, t)
        reward, cost = env.sample(k_pull, env_state, x, arm, t)
        batch = _batch(x, arm, reward, cost)
        streams, tr_state = transform.apply(tr_state, env_streams(batch, discount), batch)
        tr_state, _ = transform.update(tr_state, streams, batch, k_tr_update)
        if algorithm.uses_cost:
            signal = scalarize({n: s for n, s in streams.items() if s.kind != "cost"})[0, 0]
            cost_signal = streams["cost"].reward[0, 0] if "cost" in streams else cost
        else:
            signal, cost_signal = scalarize(streams)[0, 0], cost
        alg_state = algorithm.update(alg_state, x, arm, signal, cost_signal, t, k_learn)
        env_state = env.transition(env_state, arm, t)
        record = BanditTrace(
            arm=arm,
            reward=reward,
            cost=cost,
            signal=signal,
            regret=expected.reward[expected.best] - expected.reward[arm],
            expected_reward=expected.reward[arm],
            expected_cost=expected.cost[arm],
            violation=jnp.maximum(expected.cost[arm] - expected.threshold, 0.0),
            best=arm == expected.best,
            threshold=expected.threshold,
        )
        return (env_state, alg_state, tr_state), record

    steps = jnp.arange(horizon, dtype=jnp.int32)
    _, trace = jax.lax.scan(round_, carry0, (steps, jax.random.split(k_loop, horizon)))
    return trace.replace(threshold=trace.threshold[0])


@partial(jax.jit, static_argnames=("horizon",))
def _run_keys(env, algorithm, keys, transform, discount, horizon):
    return jax.vmap(lambda k: run(env, algorithm, horizon, k, transform, discount))(keys)


def seed_keys(seeds: int | Sequence[int]) -> Array:
    """PRNG keys ``[S]`` for ``seeds`` (an int S means seeds ``0 .. S-1``)."""
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if not seed_list:
        raise ConfigError("need at least one seed")
    return jax.vmap(jax.random.key)(jnp.asarray(seed_list, jnp.uint32))


def run_seeds(
    env: BanditEnv,
    algorithm: BanditAlgorithm,
    horizon: int,
    seeds: int | Sequence[int] = 8,
    transform: RewardTransform | None = None,
    discount: Any = 0.0,
) -> BanditTrace:
    """Run many seeds in one compiled call (``jit(vmap(run))``); returns a ``[S, T]`` trace.

    To sweep hyperparameters too, vmap ``run`` over the algorithm's leaves as well, e.g.
    ``per_seed = jax.vmap(lambda alg, k: run(env, alg, T, k), in_axes=(None, 0))`` then
    ``sweep = jax.jit(jax.vmap(per_seed, in_axes=(EpsilonGreedy(epsilon=0), None)))`` and
    ``sweep(epsilon_greedy(jnp.array([0.0, 0.1])), keys)`` gives ``[2, S, T]`` traces
    (see tests/bandits/test_bandit_algorithms.py).
    """
    check_run(env, algorithm, horizon, discount)
    if isinstance(seeds, int) and seeds < 1:
        raise ConfigError(f"seeds must be >= 1, got {seeds}")
    transform = identity() if transform is None else transform
    return _run_keys(env, algorithm, seed_keys(seeds), transform, jnp.float32(discount), horizon)


__all__ = ["BanditTrace", "check_run", "run", "run_seeds", "seed_keys", "transform_spec"]
