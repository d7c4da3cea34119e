"""One config-path scheme (``experiments.paths``): the same dotted path names the same leaf in
the CLI's ``--set``, a spec's ``[params]`` and Python's ``batch_config``, with one transform
and with several."""

import doctest

import jax
import numpy as np
import pytest
from conftest import TINY_PPO

from jaxrl_rewards.agents import ppo
from jaxrl_rewards.cli.train import build_train_config
from jaxrl_rewards.core.validation import ConfigError
from jaxrl_rewards.experiments import options, paths
from jaxrl_rewards.experiments.backends.local import batch_runs
from jaxrl_rewards.experiments.paths import batch_config, find_leaf, leaf_paths, resolve_path, set_leaves
from jaxrl_rewards.experiments.spec import check_spec, spec_from_dict
from jaxrl_rewards.transforms import Chain, chain, clip, scale
from jaxrl_rewards.transforms.registry import build_transforms

TINY_SETS = [f"{k}={v}" for k, v in TINY_PPO.items() if k not in ("hidden_sizes", "total_timesteps")]
ONE = ["scale:factor=1.0"]
TWO = ["scale:factor=1.0", "clip:low=-2.0,high=2.0"]


def _raw_paths(tree):
    """The real paths, computed straight from jax's own flattening (independently of paths.py)."""
    out = []
    for path, _ in jax.tree_util.tree_flatten_with_path(tree)[0]:
        out.append(".".join(str(getattr(e, "name", getattr(e, "idx", getattr(e, "key", e)))) for e in path))
    return out


@pytest.mark.parametrize("module", [paths, options])
def test_the_module_docstrings_run(module):
    assert doctest.testmod(module, raise_on_error=False).failed == 0


@pytest.mark.parametrize(
    "transform",
    [
        scale(0.5),
        chain(scale(0.5), clip()),
        Chain(transforms=(scale(1.0), Chain(transforms=(clip(), scale(2.0)), names=("inner_clip", "s"))),
              names=("outer", "nested")),
    ],
)  # fmt: skip
def test_real_paths_follow_jax_flattening_and_canonical_ones_name_members(transform):
    config = ppo.make_config("CartPole-v1", transform=transform)
    assert leaf_paths(config, canonical=False) == _raw_paths(config)
    canonical = leaf_paths(config)
    assert len(canonical) == len(set(canonical)) == len(jax.tree.leaves(config))
    for path, real in zip(canonical, leaf_paths(config, canonical=False), strict=True):
        assert resolve_path(config, path) == resolve_path(config, real) == real


def test_canonical_names_and_mixed_spellings_in_nested_chains():
    inner = Chain(transforms=(clip(), scale(2.0)), names=("inner_clip", "s"))
    t = Chain(transforms=(scale(1.0), inner), names=("outer", "nested"))
    assert leaf_paths(t) == ["outer.factor", "nested.inner_clip.low", "nested.inner_clip.high", "nested.s.factor"]
    for spelling in ("nested.s.factor", "transforms.1.s.factor", "nested.transforms.1.factor"):
        assert resolve_path(t, spelling) == "transforms.1.transforms.1.factor"
    repeated = build_transforms(["scale:factor=1.0", "scale:factor=3.0"])
    assert leaf_paths(repeated) == ["scale.factor", "scale_2.factor"]
    assert find_leaf(repeated, "scale_2.factor").value == 3.0


def test_unknown_paths_list_close_matches_and_the_valid_ones():
    config = ppo.make_config("CartPole-v1", transform=build_transforms(TWO))
    pattern = r"unknown parameter 'transform\.scale\.facter' \(did you mean 'transform\.scale\.factor'"
    with pytest.raises(ConfigError, match=pattern + r".*valid paths: \[.*'transform\.clip\.high'"):
        resolve_path(config, "transform.scale.facter")
    with pytest.raises(ConfigError, match=r"'num_envs' is a static option"):
        resolve_path(config, "num_envs")
    lag = ppo.make_config("PointTwoHazards-v0", transform=build_transforms(["lagrangian:limits=[1.0,2.0]"]))
    with pytest.raises(ConfigError, match=r"array leaf of shape \(2,\); element paths .* not supported"):
        resolve_path(lag, "transform.lagrangian.limits.1")


def test_set_leaves_casts_to_the_leaf_and_checks_shapes():
    lag = ppo.make_config("PointTwoHazards-v0", transform=build_transforms(["lagrangian:limits=[1.0,2.0]"]))
    new = set_leaves(
        lag, {"transform.lagrangian.limits": [3, 4], "learning_rate": 1, "env_params.max_steps_in_episode": 7}
    )
    limits = new.transform.transforms[0].limits
    assert isinstance(limits, jax.Array) and limits.dtype == np.float32 and limits.tolist() == [3.0, 4.0]
    assert new.learning_rate == 1.0 and isinstance(new.learning_rate, float)
    assert new.env_params.max_steps_in_episode == 7
    np.testing.assert_array_equal(lag.transform.transforms[0].limits, [1.0, 2.0])  # the input is unchanged
    with pytest.raises(ConfigError, match=r"limits: expected shape \(2,\)"):
        set_leaves(lag, {"transform.lagrangian.limits": [1.0, 2.0, 3.0]})
    with pytest.raises(ConfigError, match="expected a number"):
        set_leaves(lag, {"learning_rate": [1.0]})
    with pytest.raises(ConfigError, match="integer leaf"):
        set_leaves(lag, {"env_params.max_steps_in_episode": 7.5})


@pytest.mark.parametrize(("transforms", "path", "member"), [(ONE, "transform.scale.factor", 0),
                         (TWO, "transform.scale.factor", 0), (TWO, "transform.clip.high", 1)])  # fmt: skip
def test_one_path_names_one_leaf_in_set_params_and_batch_config(transforms, path, member):
    field = path.rsplit(".", 1)[1]
    index_form = f"transform.transforms.{member}.{field}"

    def leaf(config):
        return getattr(config.transform.transforms[member], field)

    for spelling in (path, index_form):
        # the CLI's --set (the function the train command calls)
        _, config = build_train_config("ppo", "CartPole-v1", 64, [*TINY_SETS, f"{spelling}=0.25"], [], transforms)
        assert leaf(config) == 0.25
        assert config.transform.member_names == tuple(t.split(":")[0] for t in transforms)
        # a spec's [params] (checked, then batched per run exactly as a chunk is)
        spec = spec_from_dict({"config": TINY_PPO, "transform": transforms, "params": {spelling: [0.25, 0.5]}})
        (base, dtypes), = check_spec(spec).values()  # fmt: skip
        runs, run_axes = batch_runs(base, [{spelling: 0.25}, {spelling: 0.5}], dtypes)
        np.testing.assert_array_equal(leaf(runs), np.float32([0.25, 0.5]))
        assert leaf(run_axes) == 0 and run_axes.learning_rate is None and runs.learning_rate == base.learning_rate
        # Python's batch_config
        batched, axes = batch_config(base, {spelling: [0.25, 0.5]})
        np.testing.assert_array_equal(leaf(batched), [0.25, 0.5])
        assert leaf(axes) == 0 and axes.learning_rate is None
