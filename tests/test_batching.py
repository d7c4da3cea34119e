"""``core.batching.vmap_exact``: ``jax.vmap`` over leading axes, except that a batch of one runs the
function alone (same values, the unbatched program's rounding)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.core.batching import vmap_exact


def _fn(config, key):
    """A config pytree shared or batched, a typed PRNG key; a dict of outputs, one of them a key."""
    noise = jax.random.normal(key, (3,))
    return {"y": config["scale"] * noise + config["shift"], "key": jax.random.split(key)[0]}


def test_batch_of_one_is_the_function_alone_with_a_leading_axis():
    config = {"scale": jnp.float32(2.0), "shift": jnp.arange(3.0)}
    key = jax.random.key(7)
    out = vmap_exact(_fn, in_axes=(None, 0))(config, key[None])
    alone = _fn(config, key)
    assert out["y"].shape == (1, 3)
    np.testing.assert_array_equal(np.asarray(out["y"][0]), np.asarray(alone["y"]))
    np.testing.assert_array_equal(jax.random.key_data(out["key"][0]), jax.random.key_data(alone["key"]))


def test_wider_batches_equal_jax_vmap_and_batched_configs_work():
    keys = jax.random.split(jax.random.key(0), 3)
    configs = {"scale": jnp.array([1.0, 2.0, 3.0]), "shift": jnp.zeros((3, 3))}
    got = vmap_exact(_fn)(configs, keys)
    want = jax.vmap(_fn)(configs, keys)
    np.testing.assert_array_equal(np.asarray(got["y"]), np.asarray(want["y"]))
    one = vmap_exact(_fn)(jax.tree.map(lambda x: x[:1], configs), keys[:1])  # every argument mapped, batch 1
    np.testing.assert_array_equal(
        np.asarray(one["y"][0]), np.asarray(_fn({"scale": 1.0, "shift": jnp.zeros(3)}, keys[0])["y"])
    )


def test_inside_jit_the_batch_of_one_is_traced_without_vmap():
    def reduced_shapes(mapped, x):
        eqns = jax.make_jaxpr(mapped)(x).eqns
        return [e.invars[0].aval.shape for e in eqns if e.primitive.name == "reduce_sum"]

    square_sum = lambda x: jnp.sum(x * x)
    assert reduced_shapes(vmap_exact(square_sum), jnp.ones((1, 4))) == [(4,)]  # the unbatched reduction
    assert reduced_shapes(jax.vmap(square_sum), jnp.ones((1, 4))) == [(1, 4)]  # what plain vmap traces
    assert reduced_shapes(vmap_exact(square_sum), jnp.ones((2, 4))) == [(2, 4)]
    assert vmap_exact(square_sum)(jnp.ones((1, 4))).shape == (1,)


def test_per_leaf_axes_share_unmapped_leaves_and_a_batch_of_one_indexes_only_mapped_ones():
    configs = {"scale": jnp.array([1.0, 2.0]), "shift": jnp.arange(3.0)}  # scale swept, shift shared
    axes = {"scale": 0, "shift": None}
    keys = jax.random.split(jax.random.key(3), 2)
    got = vmap_exact(_fn, in_axes=(axes, 0))(configs, keys)
    for i, scale in enumerate((1.0, 2.0)):
        noise = jax.random.normal(keys[i], (3,))
        np.testing.assert_array_equal(np.asarray(got["y"][i]), np.asarray(scale * noise + jnp.arange(3.0)))
    one = vmap_exact(_fn, in_axes=(axes, 0))({"scale": jnp.array([2.0]), "shift": jnp.arange(3.0)}, keys[:1])
    noise = jax.random.normal(keys[0], (3,))
    np.testing.assert_array_equal(np.asarray(one["y"][0]), np.asarray(2.0 * noise + jnp.arange(3.0)))
    with pytest.raises(ValueError, match="must be 0 or None, got 1"):
        vmap_exact(_fn, in_axes=({"scale": 1, "shift": None}, 0))(configs, keys)


def test_bad_axes_are_clear_errors():
    with pytest.raises(ValueError, match="must be 0 or None"):
        vmap_exact(_fn, in_axes=(None, 1))
    with pytest.raises(ValueError, match="names 3 arguments, got 2"):
        vmap_exact(_fn, in_axes=(None, 0, 0))({"scale": 1.0, "shift": 0.0}, jax.random.split(jax.random.key(0), 2))
