"""``core.networks.Dense``: flax's ``Dense`` with a batch-exact bias gradient (``core.exact.pairwise_sum``)."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_rewards.core.networks import MLP, Dense, add_bias


def test_add_bias_adds_and_its_bias_gradient_sums_the_cotangent_over_leading_axes():
    y = jnp.zeros((2, 3, 4))
    b = jnp.arange(4.0)
    np.testing.assert_array_equal(np.asarray(add_bias(y, b)), np.broadcast_to(np.arange(4.0), (2, 3, 4)))
    weights = jnp.arange(24.0).reshape(2, 3, 4)
    gy, gb = jax.grad(lambda y, b: jnp.sum(weights * add_bias(y, b)), argnums=(0, 1))(y, b)
    np.testing.assert_array_equal(np.asarray(gy), np.asarray(weights))
    np.testing.assert_array_equal(np.asarray(gb), np.arange(24.0).reshape(6, 4).sum(0))


def test_dense_has_flax_dense_parameters_and_forward_bits():
    x = jax.random.normal(jax.random.key(0), (5, 3))
    ours, theirs = Dense(4), nn.Dense(4)
    params = ours.init(jax.random.key(1), x)
    assert jax.tree.map(jnp.shape, params) == jax.tree.map(jnp.shape, theirs.init(jax.random.key(1), x))
    params = jax.tree.map(lambda p: p + 0.25, params)  # a non-zero bias
    np.testing.assert_array_equal(np.asarray(ours.apply(params, x)), np.asarray(theirs.apply(params, x)))
    grads = jax.grad(lambda p: jnp.sum(ours.apply(p, x) ** 2))(params)
    reference = jax.grad(lambda p: jnp.sum(theirs.apply(p, x) ** 2))(params)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(reference), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)
    assert Dense(4, use_bias=False).init(jax.random.key(1), x)["params"].keys() == {"kernel"}


def test_networks_keep_flax_parameter_names():
    params = MLP((4, 4)).init(jax.random.key(0), jnp.zeros((1, 2)))["params"]
    assert sorted(params) == ["Dense_0", "Dense_1"] and sorted(params["Dense_0"]) == ["bias", "kernel"]


def test_the_bias_gradient_is_the_same_inside_vmap_as_alone():
    xs = jax.random.normal(jax.random.key(2), (4, 16, 3))
    model = Dense(8)
    params = model.init(jax.random.key(3), xs[0])

    def grad(x):
        return jax.grad(lambda p: jnp.sum(jnp.tanh(model.apply(p, x))))(params)["params"]["bias"]

    batched = jax.jit(jax.vmap(grad))(xs)
    for i in range(4):
        np.testing.assert_array_equal(np.asarray(batched[i]), np.asarray(jax.jit(grad)(xs[i])))
