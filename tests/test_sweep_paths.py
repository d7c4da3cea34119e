import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.experiments.paths import batch_config, leaf_paths
from jaxrl_rewards.transforms import chain, clip, lagrangian, scale


def test_paths_and_axes():
    t = chain(scale(2.0), clip(-1.0, 1.0))
    assert leaf_paths(t) == ["scale.factor", "clip.low", "clip.high"]
    assert leaf_paths(t, canonical=False) == ["transforms.0.factor", "transforms.1.low", "transforms.1.high"]
    for path in ("clip.high", "transforms.1.high"):
        batched, axes = batch_config(t, {path: [0.5, 2.0]})
        assert axes.transforms[1].high == 0 and axes.transforms[0].factor is None
        highs = jax.vmap(lambda tr: tr.transforms[1].high * 1.0, in_axes=(axes,))(batched)
        np.testing.assert_array_equal(highs, [0.5, 2.0])


def test_errors_name_the_key():
    t = scale(2.0)
    with pytest.raises(ConfigError, match=r"unknown parameter 'fator' \(did you mean 'factor'\?\).*\['factor'\]"):
        batch_config(t, {"fator": [1.0]})
    with pytest.raises(ConfigError, match=r"needs S >= 1 values of the leaf's shape \(\), an array of shape \[S\]"):
        batch_config(t, {"factor": []})
    with pytest.raises(ConfigError, match=r"shape \[S\]; got shape \(\)"):
        batch_config(t, {"factor": 1.0})
    with pytest.raises(ConfigError, match="the same number of values"):
        batch_config(chain(scale(1.0), clip()), {"scale.factor": [1.0], "transforms.1.low": jnp.zeros(2)})
    with pytest.raises(ConfigError, match="names the same leaf"):
        batch_config(chain(scale(1.0), clip()), {"scale.factor": [1.0], "transforms.0.factor": [2.0]})


def test_array_leaves_take_one_array_per_point():
    lag = lagrangian(limits=(1.0, 2.0), streams=("cost_0", "cost_1"))
    batched, axes = batch_config(lag, {"limits": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]})
    assert axes.limits == 0 and batched.limits.shape == (3, 2)
    np.testing.assert_array_equal(jax.vmap(lambda t: t.limits.sum(), in_axes=(axes,))(batched), [3.0, 7.0, 11.0])
    with pytest.raises(ConfigError, match=r"an array of shape \[S, 2\]; got shape \(2,\)"):
        batch_config(lag, {"limits": [1.0, 2.0]})
