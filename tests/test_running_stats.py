import jax
import numpy as np

from jaxrl_rewards.core.running_stats import RunningMeanStd


def test_matches_numpy_over_several_batches():
    rng = np.random.default_rng(0)
    batches = [rng.normal(loc=3.0, scale=2.0, size=(n, 4)) for n in (7, 1, 30)]
    stats = RunningMeanStd.create((4,))
    for b in batches:
        stats = stats.update(b)
    data = np.concatenate(batches)
    np.testing.assert_allclose(stats.mean, data.mean(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(stats.var, data.var(0), rtol=1e-3)
    assert float(stats.count) == np.float32(len(data) + 1e-4)


def test_leading_axes_are_flattened_and_jit_matches():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 3, 2)).astype(np.float32)
    eager = RunningMeanStd.create((2,)).update(x)
    jitted = jax.jit(lambda s, x: s.update(x))(RunningMeanStd.create((2,)), x)
    np.testing.assert_allclose(eager.mean, x.reshape(-1, 2).mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(eager.mean, jitted.mean)


def test_normalize_and_clip():
    stats = RunningMeanStd.create(()).update(np.array([0.0, 2.0, 4.0]))
    y = stats.normalize(np.array([100.0]), clip=5.0)
    assert float(y[0]) == 5.0
