"""core.optim's Adam / RAdam: the textbook update (numpy, float64) and batch-exact rounding."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxrl_rewards.core import optim


def _numpy_adam(grads, lr, b1=0.9, b2=0.999, eps=1e-8, rectify=None):
    """Kingma & Ba's Adam (and Liu et al.'s RAdam when ``rectify`` is a threshold), float64."""
    m = np.zeros_like(grads[0])
    v = np.zeros_like(grads[0])
    rho_inf = 2.0 / (1.0 - b2) - 1.0
    out = []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        step = m_hat / (np.sqrt(v_hat) + eps)
        if rectify is not None:
            rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
            if rho >= rectify:
                step = step * np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            else:
                step = m_hat
        out.append(-lr * step)
    return out


@pytest.mark.parametrize("name", ["adam", "radam"])
def test_updates_follow_the_textbook_formula(name):
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=(3, 4)) for _ in range(8)]  # RAdam is rectified from step 6 on
    tx = optim.adam(1e-2) if name == "adam" else optim.radam(1e-2)
    state = tx.init(jnp.zeros((3, 4)))
    expected = _numpy_adam(grads, 1e-2, rectify=None if name == "adam" else 5.0)
    # RAdam's rho_t = rho_inf - 2 t b2^t / (1 - b2^t) cancels two numbers near 2000 (float32, as
    # in optax), so its first rectified steps carry ~1e-3 relative error against float64
    rtol = 2e-5 if name == "adam" else 1e-2
    for g, want in zip(grads, expected, strict=True):
        update, state = tx.update(jnp.asarray(g, jnp.float32), state)
        np.testing.assert_allclose(update, want, rtol=rtol, atol=1e-9)
    assert jax.tree.structure(state) == jax.tree.structure(getattr(optax, name)(1e-2).init(jnp.zeros((3, 4))))


def test_a_step_inside_vmap_rounds_as_the_step_alone():
    """Three leaves (optax's Adam rounds 1275 of these elements differently under vmap)."""
    keys = jax.random.split(jax.random.key(0), 3)
    grads = {"k": jax.random.normal(keys[0], (64, 64)), "b": jax.random.normal(keys[1], (64,)), "c": jnp.ones((4, 64))}
    tx = optim.adam(2.5e-4, eps=1e-5)
    state = tx.update(grads, tx.init(grads))[1]
    step = lambda g, s: tx.update(g, s)
    alone = jax.jit(step)(grads, state)
    batched = jax.jit(jax.vmap(step))(*jax.tree.map(lambda x: jnp.stack([x, x, x]), (grads, state)))
    for a, b in zip(jax.tree.leaves(alone), jax.tree.leaves(batched), strict=True):
        for i in range(3):
            np.testing.assert_array_equal(a, b[i])
