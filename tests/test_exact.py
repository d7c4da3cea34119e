"""``core.exact``: sums, means, standard deviations and tree norms that round the same inside
``vmap`` as alone. Expected values are computed here with numpy (float64) or by hand."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.core.exact import exact_mean, exact_std, exact_sum, exact_tree_norm, pairwise_sum


@pytest.mark.parametrize("rows", [1, 2, 3, 5, 8, 13])
def test_pairwise_sum_is_the_column_sum(rows):
    x = np.arange(rows * 3, dtype=np.float32).reshape(rows, 3) - 4.0  # integers: every order sums exactly
    want = np.asarray([sum(x[r, c] for r in range(rows)) for c in range(3)], np.float32)
    np.testing.assert_array_equal(np.asarray(pairwise_sum(jnp.asarray(x))), want)


def test_pairwise_sum_adds_halves_in_a_fixed_order_and_an_empty_sum_is_zero():
    # rows 1e8, 1, -1e8, 1: halves (1e8 + -1e8) + (1 + 1) = 2 in float32; left to right gives 1
    x = jnp.asarray([[1e8], [1.0], [-1e8], [1.0]], jnp.float32)
    assert float(pairwise_sum(x)[0]) == 2.0
    np.testing.assert_array_equal(np.asarray(pairwise_sum(jnp.zeros((0, 2)))), [0.0, 0.0])


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), (2, 0)])
def test_sum_mean_and_std_match_numpy_over_any_axes(axis):
    x = np.random.default_rng(0).normal(size=(5, 3, 4)).astype(np.float32)
    wide = x.astype(np.float64)
    np.testing.assert_allclose(np.asarray(exact_sum(x, axis)), wide.sum(axis), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(exact_mean(x, axis)), wide.mean(axis), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(exact_std(x, axis)), wide.std(axis), rtol=1e-5, atol=1e-6)


def test_tree_norm_is_the_global_l2_norm():
    tree = {"a": jnp.full((3, 4), 1.0), "b": (jnp.asarray([3.0]), jnp.zeros((2,)))}
    assert float(exact_tree_norm(tree)) == pytest.approx(np.sqrt(12.0 + 9.0))


def test_bad_axis_is_a_clear_error():
    with pytest.raises(ValueError, match="axis 3 is out of range for an array of 2 dimensions"):
        exact_sum(jnp.ones((2, 2)), 3)


def test_inside_vmap_the_bits_are_those_of_the_call_alone():
    xs = jax.random.normal(jax.random.key(0), (4, 128, 3)) * jnp.asarray([1.0, 1e3, 1e-3])

    def stats(x):
        return exact_mean(x, 0), exact_std(x, 0), exact_tree_norm({"x": x})

    batched = jax.jit(jax.vmap(stats))(xs)
    for i in range(4):
        for got, want in zip(batched, jax.jit(stats)(xs[i]), strict=True):
            np.testing.assert_array_equal(np.asarray(got[i]), np.asarray(want))
