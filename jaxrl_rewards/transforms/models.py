"""The training loop shared by the learned transforms (bonuses, potentials, discriminators...).

Every transform that fits a model in ``update`` runs the same loop: ``num_updates`` gradient
steps in a ``lax.scan``, each ``loss, grads = value_and_grad(loss)(params, *inputs(x))``,
``updates, opt_state = tx.update(grads, opt_state, params)``, ``params <- apply(params,
updates)``, where ``x`` is the step's scan input (a PRNG key, usually) or nothing.
:func:`gradient_steps` is that loop, once. Two optimiser idioms are in use and both are kept
bit for bit:

* ``adam(learning_rate)`` with ``optax.apply_updates`` (RND, ICM, E3B, learning progress,
  learned potentials);
* unit Adam ``adam(1.0)`` with the step size applied outside the optimiser,
  ``params + learning_rate * updates`` (:func:`scaled_apply`; discriminators, mixture and
  annotator models), so ``learning_rate`` stays a sweepable leaf of the transform.

``guard`` (a boolean scalar) keeps the old parameters and optimiser state when false (no
training data yet).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxrl_rewards.core.types import Array


def adam(learning_rate: Array | float) -> optax.GradientTransformation:
    """The Adam optimiser of the learned transforms (``optax.adam``); build it with the same
    ``learning_rate`` in ``init`` (``adam(lr).init(params)``) and in ``update``."""
    return optax.adam(learning_rate)


def scaled_apply(learning_rate: Array | float) -> Callable[[Any, Any], Any]:
    """``(params, updates) -> params + learning_rate * updates`` (for a unit-step optimiser)."""

    def apply(params: Any, updates: Any) -> Any:
        return jax.tree.map(lambda p, u: p + learning_rate * u, params, updates)

    return apply


def gradient_steps(
    loss_fn: Callable[..., Any],
    tx: optax.GradientTransformation,
    params: Any,
    opt_state: Any,
    xs: Any = None,
    *,
    length: int | None = None,
    inputs: Callable[[Any], tuple[Any, ...]] | None = None,
    has_aux: bool = False,
    apply: Callable[[Any, Any], Any] = optax.apply_updates,
    pass_params: bool = True,
    guard: Array | None = None,
) -> tuple[Any, Any, Any]:
    """Run gradient steps in a ``lax.scan`` over ``xs`` (or ``length`` steps without inputs).

    Args:
        loss_fn: ``loss_fn(params, *inputs(x)) -> loss`` (``(loss, aux)`` with ``has_aux``).
        tx: the optimiser.
        params, opt_state: the starting parameters and optimiser state.
        xs: per-step scan inputs (e.g. ``jax.random.split(key, n)``), or ``None``.
        length: the number of steps when ``xs`` is ``None``.
        inputs: maps a step's ``x`` to the extra loss arguments, computed outside the
            gradient; default ``(x,)`` (``()`` when ``xs`` is ``None``).
        has_aux: ``loss_fn`` returns ``(loss, aux)``.
        apply: ``(params, updates) -> params``; default ``optax.apply_updates``.
        pass_params: hand ``params`` to ``tx.update`` (optax's third argument).
        guard: optional boolean scalar; where false the step keeps the old params and state.

    Returns:
        ``(params, opt_state, outputs)`` with ``outputs`` the per-step ``loss`` (or
        ``(loss, aux)``) stacked on a leading ``[num_steps]`` axis.
    """

    def step(carry, x):
        params, opt_state = carry
        args = (() if xs is None else (x,)) if inputs is None else inputs(x)
        out, grads = jax.value_and_grad(loss_fn, has_aux=has_aux)(params, *args)
        if pass_params:
            updates, new_opt = tx.update(grads, opt_state, params)
        else:
            updates, new_opt = tx.update(grads, opt_state)
        new_params = apply(params, updates)
        if guard is not None:
            keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(guard, a, b), new, old)
            new_params, new_opt = keep(new_params, params), keep(new_opt, opt_state)
        return (new_params, new_opt), out

    (params, opt_state), outs = jax.lax.scan(step, (params, opt_state), xs, length=length)
    return params, opt_state, outs


__all__ = ["adam", "gradient_steps", "scaled_apply"]
