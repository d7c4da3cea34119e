import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.experiments.paths import batch_config, leaf_paths
from jaxrl_rewards.transforms import chain, clip, scale


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
    with pytest.raises(ConfigError, match="non-empty"):
        batch_config(t, {"factor": []})
    with pytest.raises(ConfigError, match="equal length"):
        batch_config(chain(scale(1.0), clip()), {"scale.factor": [1.0], "transforms.1.low": jnp.zeros(2)})
    with pytest.raises(ConfigError, match="names the same leaf"):
        batch_config(chain(scale(1.0), clip()), {"scale.factor": [1.0], "transforms.0.factor": [2.0]})
