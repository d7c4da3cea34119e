"""A parameterised PPO drift function for learned policy-optimisation objectives (LPO, Lu et al.
2022; TA-LPO conditions it on training progress).

Mirror-learning view of PPO: maximise ``E[ρ A - F(ρ, A, p)]`` with a drift ``F >= 0`` that is 0
with zero slope at ``ρ = 1``. Here

    F_θ(ρ, A, p) = softplus(MLP_θ([ρ - 1, log ρ, A, p])) · (ρ - 1)^2

(``p`` = iteration / total iterations), which meets both conditions for every ``θ``, so every
member of an evolution-strategy population is a valid objective. ``init_drift`` starts at a
pure quadratic trust region ``c (ρ - 1)^2`` with ``c = 2.5`` (about PPO's ``|ρ - 1| ≈ 0.2`` for
unit advantages) plus small random first-layer weights.

>>> import jax, jax.numpy as jnp
>>> theta = init_drift(jax.random.key(0))
>>> float(drift(theta, jnp.ones(3), jnp.array([1.0, -1.0, 0.0]), 0.5).max())
0.0
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core.types import Array, PRNGKey
from jaxrl_rewards.core.validation import ConfigError

#: the drift network's parameter names and shapes for ``hidden`` units
DRIFT_KEYS = ("w1", "b1", "w2", "b2")
INITIAL_CURVATURE = 2.5


def init_drift(key: PRNGKey, hidden: int = 8, scale: float = 0.1) -> dict[str, Array]:
    """Parameters ``{"w1": [4, H], "b1": [H], "w2": [H], "b2": scalar}`` of the drift network,
    starting at ``F = 2.5 (ρ - 1)^2`` (``w2 = 0``)."""
    return {
        "w1": scale * jax.random.normal(key, (4, hidden), jnp.float32),
        "b1": jnp.zeros((hidden,), jnp.float32),
        "w2": jnp.zeros((hidden,), jnp.float32),
        "b2": jnp.float32(np.log(np.expm1(INITIAL_CURVATURE))),
    }


def check_drift(params: Any) -> None:
    """``ConfigError`` unless ``params`` has the drift network's keys and consistent shapes."""
    if not isinstance(params, dict) or set(params) != set(DRIFT_KEYS):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ConfigError(f"drift_params must be a dict with keys {list(DRIFT_KEYS)} (see init_drift), got {got}")
    hidden = np.shape(params["b1"])[-1:]
    if np.shape(params["w1"])[-2:] != (4, *hidden) or np.shape(params["w2"])[-1:] != hidden:
        raise ConfigError(
            f"drift_params shapes do not match: w1 {np.shape(params['w1'])}, b1 {np.shape(params['b1'])}, "
            f"w2 {np.shape(params['w2'])} (expected [4, H], [H], [H])"
        )


def drift(params: dict[str, Array], ratio: Array, advantage: Array, progress: Array | float) -> Array:
    """``F_θ(ρ, A, p)`` elementwise over ``ratio`` and ``advantage`` (same shape), ``>= 0``."""
    x = jnp.stack(
        [ratio - 1.0, jnp.log(ratio), advantage, jnp.broadcast_to(jnp.asarray(progress, ratio.dtype), ratio.shape)], -1
    )
    h = jnp.tanh(x @ params["w1"] + params["b1"])
    return jax.nn.softplus(h @ params["w2"] + params["b2"]) * (ratio - 1.0) ** 2


def drift_objective(params: dict[str, Array], ratio: Array, advantage: Array, progress: Array | float) -> Array:
    """The policy loss ``-mean(ρ A - F_θ(ρ, A, p))`` (to minimise)."""
    return -jnp.mean(ratio * advantage - drift(params, ratio, advantage, progress))


__all__ = ["DRIFT_KEYS", "check_drift", "drift", "drift_objective", "init_drift"]
