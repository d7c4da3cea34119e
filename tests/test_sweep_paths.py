import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.experiments.paths import batch_config, leaf_paths
from jaxrl_rewards.transforms import chain, clip, scale


def test_paths_and_axes():
    t = chain(scale(2.0), clip(-1.0, 1.0))
    assert leaf_paths(t) == ["transforms.0.factor", "transforms.1.low", "transforms.1.high"]
    batched, axes = batch_config(t, {"transforms.1.high": [0.5, 2.0]})
    assert axes.transforms[1].high == 0 and axes.transforms[0].factor is None
    highs = jax.vmap(lambda tr: tr.transforms[1].high * 1.0, in_axes=(axes,))(batched)
    np.testing.assert_array_equal(highs, [0.5, 2.0])


def test_errors_name_the_key():
    t = scale(2.0)
    with pytest.raises(ValueError, match=r"unknown sweep parameter\(s\) \['fator'\].*factor"):
        batch_config(t, {"fator": [1.0]})
    with pytest.raises(ValueError, match="non-empty"):
        batch_config(t, {"factor": []})
    with pytest.raises(ValueError, match="equal length"):
        batch_config(chain(scale(1.0), clip()), {"transforms.0.factor": [1.0], "transforms.1.low": jnp.zeros(2)})
